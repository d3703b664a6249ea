"""svcplan simulate (SPEC §8): the policy engine against exact results, and the command.

Statistical tests run a fixed seed, so each gives the same answer every time; what the
comments state is how often the check would fail *by chance* for a correct engine, i.e. how
likely the seed we happened to pick is to mislead. Every check can fail: the understocked
plan and the continuous-review bound check the direction and the size of an effect.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from svcplan.simulation import estimate, policy
from svcplan.simulation.policy import Policy, simulate_policies

PD = 7  # period days of the engine tests: only the profit windows read it (short = fast)


def _gamma_setup(q, cv, review, lead, target, pd=PD):
    """Periodic-review policies with S at the exact gamma quantile of P-day demand, and the
    SPEC §2 promises computed here independently (scipy), to test the engine from outside."""
    q, cv, review, lead, target = map(np.asarray, (q, cv, review, lead, target))
    m = q / pd
    sd_day = q * cv / np.sqrt(pd)
    prot = review + lead
    mu, sig = m * prot, sd_day * np.sqrt(prot)
    k, theta = (mu / sig) ** 2, sig**2 / mu
    s_level = stats.gamma.ppf(target, k, scale=theta)
    es = mu * stats.gamma.sf(s_level, k + 1, scale=theta) - s_level * stats.gamma.sf(s_level, k, scale=theta)
    with np.errstate(divide="ignore"):  # review 0 (continuous review): no periodic fill here
        fill = 1 - es / (m * review)
    n = len(q)
    pol = Policy(daily_mean=m, daily_sd=sd_day, gamma=np.ones(n, bool), review_days=review.astype(np.int64),
                 lead_time_days=lead.astype(float), lead_time_sd_days=np.zeros(n), level=s_level,
                 quantity=np.zeros(n), keys=np.arange(11, 11 + n, dtype=np.uint64))
    return pol, fill


def _run(pol, cycles, seed=3):
    out = simulate_policies(pol, cycles, seed, PD)
    return (out, estimate.cycle_service(out.batch_cycles, out.batch_stockouts),
            estimate.fill_rate(out.batch_demand, out.batch_short))


@pytest.fixture(scope="module")
def periodic_gamma():
    # R, LT and cv chosen to cover overlapping protection intervals (LT > 0), none (LT = 0)
    # and a long lead time; targets from 80% to 95%.
    target = np.array([0.9, 0.8, 0.95, 0.9])
    pol, fill = _gamma_setup(q=[70.0, 140, 21, 70], cv=[0.5, 0.3, 0.8, 0.5], review=[7, 14, 5, 1],
                             lead=[3, 0, 6, 2], target=target)
    return target, fill, *_run(pol, cycles=600)


def test_periodic_gamma_cycle_service_is_the_formula(periodic_gamma):
    """Periodic review, gamma demand, fixed whole-day lead time: D(P) is exactly gamma, so
    the achieved cycle service must be F(mu + ss). Each of the 4 checks is within 3 standard
    errors (batch-means corrected): a correct engine fails one by chance with probability
    about 4 × 0.27% ≈ 1%."""
    target, _, out, cs, _ = periodic_gamma
    assert (out.cycles >= 600).all()
    z = (cs.value - target) / cs.se
    assert np.all(np.abs(z) <= 3), (cs.value, target, z)


def test_periodic_gamma_fill_rate_not_below_promise(periodic_gamma):
    """The §2 fill rate counts a backlog carried over from the previous cycle again, so it
    is pessimistic: the achieved fill rate must not lie below the promise beyond its 95%
    interval (a correct engine with an exact formula would fail each check with 2.5%)."""
    _, fill, _, _, fr = periodic_gamma
    assert np.all(fr.hi >= fill), (fr.value, fr.hi, fill)
    assert np.all(fr.value < 1)  # shortages happen: the check is not vacuous


def test_understocked_policy_falls_short():
    """Order-up-to level cut by 1.5 sigma below what 95% needs: the shortfall must show as a
    promise above the interval (a correct engine misses a shortfall this large, ~10 standard
    errors, with negligible probability)."""
    pol, _ = _gamma_setup(q=[70.0], cv=[0.5], review=[7], lead=[3], target=[0.95])
    sigma = pol.daily_sd * np.sqrt(10)
    low = Policy(**{**pol.__dict__, "level": pol.level - 1.5 * sigma})
    _, cs, _ = _run(low, cycles=300)
    assert cs.hi[0] < 0.95 - 0.1, cs


def test_same_seed_same_numbers_whatever_the_chunking(monkeypatch):
    """Per unit-period generators: the numbers do not depend on the seed of other rows, the
    chunk size or the subset simulated; another seed changes them."""
    pol, _ = _gamma_setup(q=[70.0, 140, 21], cv=[0.5, 0.3, 0.8], review=[7, 14, 5], lead=[3, 0, 6],
                          target=[0.9, 0.8, 0.95])
    a = simulate_policies(pol, 100, 5, PD)
    monkeypatch.setattr(policy, "CHUNK_UNITS", 1)
    b = simulate_policies(pol, 100, 5, PD)
    alone = simulate_policies(pol.take(np.array([2])), 100, 5, PD)
    other = simulate_policies(pol, 100, 6, PD)
    for name in ("batch_cycles", "batch_stockouts", "batch_demand", "batch_short"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(getattr(a, name)[:, 2], getattr(alone, name)[:, 0])
    assert not np.array_equal(a.batch_demand, other.batch_demand)


def test_worker_processes_give_the_same_numbers_to_the_bit(monkeypatch):
    """A plan of several chunks simulated in two processes equals the same plan simulated
    here: counts per unit-period and batch, and the profit windows summed by group (the
    chunks' outcomes are put together in one order, whoever ran them). Progress counts every
    unit-day either way."""
    pol, _ = _gamma_setup(q=[70.0, 140, 21, 35, 90], cv=[0.5, 0.3, 0.8, 0.4, 0.6],
                          review=[7, 14, 5, 0, 7], lead=[3, 0, 6, 2, 4],
                          target=[0.9, 0.8, 0.95, 0.9, 0.85])
    pol = Policy(**{**pol.__dict__, "quantity": np.where(pol.review_days > 0, 0.0, 200.0)})
    windows = policy.Windows(shipped_coef=np.linspace(1.0, 2.0, 5), on_hand_coef=-np.full(5, 0.1),
                             group=np.array([0, 1, 0, 1, 1]), n_groups=2)
    monkeypatch.setattr(policy, "CHUNK_UNITS", 2)  # three chunks
    heard: dict[int, list[int]] = {1: [], 2: []}
    here = simulate_policies(pol, 100, 5, PD, windows, heard[1].append, workers=1)
    pooled = simulate_policies(pol, 100, 5, PD, windows, heard[2].append, workers=2)
    for name in ("cycles", "stockouts", "demand", "short", "batch_cycles", "batch_stockouts",
                 "batch_demand", "batch_short", "rewards"):
        np.testing.assert_array_equal(getattr(here, name), getattr(pooled, name), err_msg=name)
    assert sum(heard[1]) == sum(heard[2]) == policy.total_unit_days(pol, 100, PD)
    assert len(heard[2]) == 3  # one report per chunk from the pool


def test_the_pool_hands_chunks_back_in_their_order():
    """The first chunk runs longest (2,000 cycles against 100), so the two workers finish
    the others first; the outcomes still come back in the tasks' order."""
    from svcplan.simulation.pool import chunk_outcomes

    pol, _ = _gamma_setup(q=[70.0, 140, 21], cv=[0.5, 0.3, 0.8], review=[7, 14, 5],
                          lead=[3, 0, 6], target=[0.9, 0.8, 0.95])

    def task(i: int, cycles: int) -> policy.ChunkTask:
        one = pol.take(np.array([i]))
        warm, meas = policy.schedule(one, cycles, PD)
        return policy.ChunkTask(one, warm, meas, 5, PD, cycles, None)

    tasks = [task(0, 2000), task(1, 100), task(2, 100)]
    for t, out in zip(tasks, chunk_outcomes(tasks, workers=2), strict=True):
        np.testing.assert_array_equal(out.batch_demand, t.run().batch_demand)


def test_a_dask_cluster_gives_the_same_numbers_to_the_bit(monkeypatch):
    """The chunks run by the workers of a LocalCluster on 127.0.0.1 give what one process
    gives, profit windows included; progress hears every chunk."""
    distributed = pytest.importorskip("distributed")
    pol, _ = _gamma_setup(q=[70.0, 140, 21, 35], cv=[0.5, 0.3, 0.8, 0.4], review=[7, 14, 5, 7],
                          lead=[3, 0, 6, 2], target=[0.9, 0.8, 0.95, 0.9])
    windows = policy.Windows(shipped_coef=np.linspace(1.0, 2.0, 4), on_hand_coef=-np.full(4, 0.1),
                             group=np.array([0, 1, 0, 1]), n_groups=2)
    monkeypatch.setattr(policy, "CHUNK_UNITS", 1)
    here = simulate_policies(pol, 100, 5, PD, windows)
    heard: list[int] = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1", dashboard_address=":0") as c:
        on_dask = simulate_policies(pol, 100, 5, PD, windows, heard.append,
                                    dask=c.scheduler_address)
    for name in ("cycles", "batch_demand", "batch_short", "rewards"):
        np.testing.assert_array_equal(getattr(here, name), getattr(on_dask, name), err_msg=name)
    assert len(heard) == 4 and sum(heard) == policy.total_unit_days(pol, 100, PD)


def test_cli_refuses_a_dask_address_where_nothing_answers(solved):
    pytest.importorskip("distributed")
    root, _ = solved
    code, out = _cli(root / "run", "--dask", "tcp://127.0.0.1:9", "--quiet")
    assert code == 2 and "no Dask scheduler answers at tcp://127.0.0.1:9" in out, out


class _DiesInWorker:
    """A chunk whose worker process is killed (as the kernel's out-of-memory killer would)."""

    unit_days = 1

    def run(self, progress=None):
        import os
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def test_a_killed_worker_is_reported_not_waited_for():
    from concurrent.futures.process import BrokenProcessPool

    from svcplan.simulation.pool import chunk_outcomes

    pol, _ = _gamma_setup(q=[70.0], cv=[0.5], review=[7], lead=[3], target=[0.9])
    warm, meas = policy.schedule(pol, 100, PD)
    fine = policy.ChunkTask(pol, warm, meas, 5, PD, 100, None)
    with pytest.raises(BrokenProcessPool, match="ended abruptly: killed, for example out of memory"):
        list(chunk_outcomes([fine, _DiesInWorker(), fine], workers=2))


_TOP_LEVEL = '''
import numpy as np
from svcplan.simulation import policy

def main():
    n = 2
    pol = policy.Policy(daily_mean=np.full(n, 10.0), daily_sd=np.full(n, 3.0), gamma=np.zeros(n, bool),
                        review_days=np.full(n, 7), lead_time_days=np.full(n, 2.0),
                        lead_time_sd_days=np.zeros(n), level=np.full(n, 120.0),
                        quantity=np.zeros(n), keys=np.arange(n, dtype=np.uint64))
    policy.CHUNK_UNITS = 1  # two chunks, two worker processes
    out = policy.simulate_policies(pol, 10, 1, 7, workers=2)
    print("simulated", int(out.cycles.sum()))

'''


@pytest.mark.parametrize("guarded", [False, True])
def test_a_script_that_simulates_on_workers_is_told_to_guard_its_top_level(tmp_path, guarded):
    """A script that simulates on worker processes from its top level fails (each worker
    imports the script again, as every multiprocessing child does, and may not start
    processes of its own), and the error says how to write it; guarded by
    ``if __name__ == "__main__":`` it runs."""
    import subprocess
    import sys

    script = tmp_path / "plan_check.py"
    script.write_text(_TOP_LEVEL + ('if __name__ == "__main__":\n    main()\n' if guarded else "main()\n"))
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    if guarded:
        assert run.returncode == 0 and run.stdout.startswith("simulated"), run.stderr[-2000:]
    else:
        assert run.returncode != 0
        assert "each worker process imports the script again" in run.stderr, run.stderr[-2000:]


def test_continuous_review_undershoot_bias_is_bounded():
    """Continuous review with daily demand reaches the reorder point r only at the end of a
    day, below r by the undershoot U, which the §2 formula P(D(LT) <= r) ignores. Renewal
    theory gives U's distribution when r is far below the order-up point (here Q is 30 days
    of demand): P(U > x) = integral from x of (1 - F_day(y)) / m dy, independent of the
    lead-time demand, so the achieved cycle service is P(D(LT) + U <= r) — the formula with
    the undershoot added (docs/simulation.md). The simulation must agree with that within 3
    standard errors (a correct engine fails this by chance with < 0.3%, plus the small error
    of the asymptotic U), and the bias must be real: the promise lies above the interval."""
    pd, lead, cv, target = 30, 4, 0.4, 0.9
    q = 300.0
    m, sd_day = q / pd, q * cv / np.sqrt(pd)
    k_day, theta = (m / sd_day) ** 2, sd_day**2 / m
    r = stats.gamma.ppf(target, lead * k_day, scale=theta)
    pol = Policy(daily_mean=np.array([m]), daily_sd=np.array([sd_day]), gamma=np.array([True]),
                 review_days=np.array([0]), lead_time_days=np.array([float(lead)]),
                 lead_time_sd_days=np.array([0.0]), level=np.array([r]), quantity=np.array([q]),
                 keys=np.array([99], dtype=np.uint64))
    out = simulate_policies(pol, 600, 1, PD)
    cs = estimate.cycle_service(out.batch_cycles, out.batch_stockouts)

    def density(u: float) -> float:
        return stats.gamma.cdf(r - u, lead * k_day, scale=theta) * stats.gamma.sf(u, k_day, scale=theta) / m

    with_undershoot = integrate.quad(density, 0, r, limit=200)[0]  # 0.760
    assert cs.hi[0] < target  # the bias exists (0.90 promised)
    assert abs(cs.value[0] - with_undershoot) <= 3 * cs.se[0], (cs.value, with_undershoot)


# --------------------------------------------------------------------------------------------
# A solved plan: the run folder, the case, the command

CASE = {
    "case.yaml": "name: sim\nperiod_days: 28",
    "segments.csv": "segment\nS1",
    "products.csv": """
        product,unit_margin,base_unit_cost,holding_cost,demand_cv,demand_distribution
        P1,10,4,1,0.5,gamma
        P2,10,4,1,0.5,gamma
    """,
    "levels.csv": """
        level,rank,service_target,review_days,lead_time_days
        L1,1,0.9,7,3
    """,
    "periods.csv": "period\nT1\nT2",
    "demand.csv": """
        segment,product,period,base_demand
        S1,P1,T1,280
        S1,P1,T2,560
    """,
    # P2 is the planner's own option: it promises 95% with no safety stock at all.
    "options.csv": """
        segment,product,period,level,revenue,cost,units,safety_stock,cycle_service,fill_rate
        S1,P2,T1,L1,2800,1200,280,0,0.95,0.99
        S1,P2,T2,L1,2800,1200,280,0,0.95,0.99
    """,
}


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    from casefiles import write_case

    import svcplan

    root = tmp_path_factory.mktemp("sim")
    case = write_case(root, CASE)
    res = svcplan.solve(svcplan.load_case(case))
    assert res.has_plan
    res.write(root / "run")
    return root, case


@pytest.fixture(scope="module")
def simulated(solved):
    import svcplan

    root, _ = solved
    return svcplan.simulate(root / "run", cycles=300, seed=1)


def test_plan_gamma_units_keep_and_understocked_units_break_their_promise(simulated):
    """The derived P1 options (gamma, periodic review, whole-day lead time) keep their 90%
    (3 standard errors, 2 checks: ~0.5% chance of a false failure); P2, whose options.csv
    row promises 95% on zero safety stock, falls short on both metrics (the order-up-to
    level is the mean, so about half the cycles stock out: far outside any interval)."""
    t = simulated.table.set_index(["product", "period"])
    p1 = t.loc["P1"]
    se = (p1["achieved_cycle_service_hi"] - p1["achieved_cycle_service_lo"]) / (2 * 1.96)
    assert np.all(np.abs(p1["achieved_cycle_service"] - 0.9) <= 3 * se), p1
    assert not p1["cycle_service_short"].any()
    p2 = t.loc["P2"]
    assert p2["cycle_service_short"].all() and p2["fill_rate_short"].all(), p2
    assert (p2["achieved_cycle_service"] < 0.7).all()
    m = simulated.summary["metrics"]["cycle_service"]
    assert m["promise_above_interval"] >= 2 and m["achieved"] < m["promised"]


def test_a_loaded_case_and_the_same_seed_give_the_same_table(solved, simulated):
    import svcplan

    root, case = solved
    again = svcplan.simulate(root / "run", svcplan.load_case(case), cycles=300, seed=1)
    pd.testing.assert_frame_equal(again.table, simulated.table)
    other = svcplan.simulate(root / "run", cycles=300, seed=2)
    assert not other.table["achieved_fill_rate"].equals(simulated.table["achieved_fill_rate"])


def test_simulation_files_sheet_and_report(solved, simulated):
    from openpyxl import load_workbook

    from svcplan.outputs.html import write_report

    root, _ = solved
    simulated.write(root / "run")
    csv = (root / "run" / "simulation.csv").read_text(encoding="utf-8-sig")  # outputs carry a BOM
    assert csv.splitlines()[0].startswith("segment,product,period,level")
    assert "simulation" in load_workbook(root / "run" / "results.xlsx").sheetnames
    profit = simulated.profit
    assert list(profit["period"]) == ["T1", "T2"] and (profit["p5"] <= profit["p95"]).all()
    html = write_report(root / "run").read_text()
    assert 'data-chart="simulation-cycle_service"' in html and "fall short (2 of 4)" in html


def _cli(*args):
    from typer.testing import CliRunner

    from svcplan.cli.app import app

    r = CliRunner().invoke(app, ["simulate", *map(str, args)])
    return r.exit_code, " ".join(r.output.split())  # rich wraps long lines


def test_cli_workers_give_the_same_file(solved, monkeypatch):
    """``--workers 2`` on a plan cut into four chunks writes the simulation.csv that one
    process writes, byte for byte (the CLI hands the count down to the pool)."""
    root, _ = solved
    monkeypatch.setattr(policy, "CHUNK_UNITS", 1)  # the fixture's 4 unit-periods: 4 chunks
    asked: list[int] = []
    pooled = policy.chunk_outcomes

    def counting(tasks, workers, *rest):
        asked.append(workers)
        return pooled(tasks, workers, *rest)

    monkeypatch.setattr(policy, "chunk_outcomes", counting)
    written = {}
    for workers in (1, 2):
        code, out = _cli(root / "run", "--cycles", 100, "--workers", workers, "--quiet")
        assert code == 0, out
        written[workers] = (root / "run" / "simulation.csv").read_bytes()
    assert asked == [1, 2] and written[1] == written[2]
    code, out = _cli(root / "run", "--workers", 0, "--quiet")
    assert code == 2 and "--workers" in out, out


def test_cli_says_a_lost_worker_without_a_traceback(solved, monkeypatch):
    """A worker process lost mid-run (killed: out of memory, say) is exit 1 and the pool's
    explanation, never a traceback; nothing is written."""
    from concurrent.futures.process import BrokenProcessPool

    from svcplan.simulation.pool import WORKER_LOST

    root, _ = solved
    csv = root / "run" / "simulation.csv"
    stamp = csv.stat().st_mtime_ns if csv.exists() else None

    def lost(*args, **kwargs):
        raise BrokenProcessPool(WORKER_LOST)

    monkeypatch.setattr(policy, "chunk_outcomes", lost)
    code, out = _cli(root / "run", "--cycles", 100, "--quiet")
    assert code == 1 and "ended abruptly: killed, for example out of memory" in out, out
    assert "Traceback" not in out
    assert (csv.stat().st_mtime_ns if csv.exists() else None) == stamp


def test_cli_simulates_and_refuses_bad_input(solved, tmp_path):
    from casefiles import write_case

    root, case = solved
    code, out = _cli(root / "run", "--cycles", 100, "--quiet")
    assert code == 0 and "S1" in out and "simulation.csv" in out, out
    code, out = _cli(root / "run", "--cycles", 99)
    assert code == 2 and "below 100" in out, out
    other = write_case(tmp_path, {**CASE, "periods.csv": "period\nT1\nT2\nT3"}, name="other")
    code, out = _cli(root / "run", "--case", other, "--quiet")
    assert code == 2 and "period T3 of the case is not in the run" in out, out
    other = write_case(tmp_path, {**CASE, "segments.csv": "segment\nS1\nS2",
                                  "demand.csv": textwrap.dedent(CASE["demand.csv"]) + "S2,P1,T1,5"}, name="more")
    code, out = _cli(root / "run", "--case", other, "--quiet")
    assert code == 2 and "unit S2/P1 of the case is not in the run" in out, out
    empty = tmp_path / "infeasible"
    empty.mkdir()
    (empty / "summary.json").write_text(json.dumps({"status": "infeasible", "case_path": str(case)}))
    code, out = _cli(empty, "--quiet")
    assert code == 2 and "no plan to simulate (status infeasible, no assignment.csv)" in out, out
