"""Batches: a broken scenario among good ones, SIGKILL then --resume, Dask vs local, warm starts.

All on a small generated case solved to proven optimality (gap 0), so two runs of the same
inputs must agree on every non-timing column of the summary.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from inprocess import InProcessRunner

from svcplan import load_case, solve
from svcplan.prep.generate import generate_case, write_case
from svcplan.solver.warmstart import start_vector
from svcplan.whatif.batch import BatchOptions, run_batch
from svcplan.whatif.frontier import parse_range, run_frontier
from svcplan.whatif.scenarios import Scenario, apply, parse_scenarios
from svcplan.whatif.summary import VOLATILE

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = {
    "scenarios": [
        {"name": "cut", "scale": {"periods.budget": 0.8}},
        {"name": "no-switching", "set": {"case.switching_cost": 0}},
    ],
    "sweeps": [{"name": "budget", "scale": {"periods.budget": [0.75, 0.85, 1.0, 1.15]}}],
}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_case(*generate_case(3, 6, 3, 3, seed=11), tmp_path_factory.mktemp("c") / "case")


@pytest.fixture(scope="module")
def case(folder):
    return load_case(folder)


def stable(summary: pd.DataFrame) -> pd.DataFrame:
    return summary.drop(columns=VOLATILE).reset_index(drop=True)


def test_broken_and_infeasible_scenarios_are_reported_and_the_rest_complete(case, tmp_path):
    scenarios, chains = parse_scenarios({"scenarios": [
        {"name": "good", "scale": {"periods.budget": 0.9}},
        {"name": "broken", "set": {"levels.cost_multiplier": -1}},
        {"name": "starved", "scale": {"periods.budget": 0.01}},
        {"name": "margin", "scale": {"products.unit_margin": 1.1}},
    ]})
    res = run_batch(case, scenarios, chains, tmp_path / "out", BatchOptions(mip_gap=0, workers=2))
    s = res.summary.set_index("scenario")
    assert list(s.index) == ["base", "good", "broken", "starved", "margin"]
    assert s.loc["broken", "status"] == "error" and "out of range" in s.loc["broken", "reason"]
    assert s.loc["starved", "status"] == "infeasible"
    assert (s.loc[["base", "good", "margin"], "status"] == "optimal").all()
    assert res.exit_code == 1
    for name in ("good", "margin"):
        direct = solve(apply(case, next(x for x in scenarios if x.name == name)), mip_gap=0)
        assert s.loc[name, "objective"] == pytest.approx(direct.objective, rel=1e-9)
    broken = json.loads((tmp_path / "out" / "broken" / "summary.json").read_text())
    assert broken["status"] == "error" and broken["input_hash"]
    assert (tmp_path / "out" / "summary.csv").exists() and (tmp_path / "out" / "summary.xlsx").exists()
    # comparison with the base: profit delta and changed unit-periods are consistent
    assert s.loc["base", "profit_delta"] == 0 and s.loc["base", "changed_unit_periods"] == 0
    assert s.loc["good", "profit_delta"] == pytest.approx(s.loc["good", "profit"] - s.loc["base", "profit"])


def _files(folder: Path) -> dict[str, tuple[float, str]]:
    return {p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
            for p in sorted(folder.iterdir())}


def _batch_cmd(folder: Path, sc: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "svcplan", "batch", str(folder), str(sc), "--out", str(out),
            "--gap", "0", "--workers", "1", "--quiet", *extra]


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_same_summary_and_recomputes_nothing(folder, tmp_path):
    import yaml

    sc = tmp_path / "s.yaml"
    spec = {"sweeps": [{"name": "budget", "scale": {"periods.budget": [0.75, 0.8, 0.85, 0.9, 0.95,
                                                                        1.0, 1.05, 1.1, 1.15]}}]}
    sc.write_text(yaml.safe_dump(spec))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    ref = subprocess.run(_batch_cmd(folder, sc, tmp_path / "ref"), cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300)
    assert ref.returncode == 0, ref.stdout + ref.stderr
    out = tmp_path / "killed"
    proc = subprocess.Popen(_batch_cmd(folder, sc, out), cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    deadline = time.time() + 120
    while time.time() < deadline and len(list(out.glob("*/summary.json"))) < 3:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)  # the batch and its worker processes, no clean-up
    proc.wait()
    done = sorted(p.parent for p in out.glob("*/summary.json"))
    assert 3 <= len(done) < 10, "the kill should land mid-batch"
    assert not (out / "summary.csv").exists()
    before = {d.name: _files(d) for d in done}
    again = subprocess.run(_batch_cmd(folder, sc, out, "--resume"), cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert f"{len(done)} already done" in again.stdout
    for d in done:
        assert _files(d) == before[d.name], f"{d.name} was recomputed"
    pd.testing.assert_frame_equal(stable(pd.read_csv(out / "summary.csv")),
                                  stable(pd.read_csv(tmp_path / "ref" / "summary.csv")))


@pytest.mark.slow
def test_resume_reruns_a_scenario_whose_inputs_changed(case, tmp_path):
    scenarios, chains = parse_scenarios({"scenarios": [{"name": "cut", "scale": {"periods.budget": 0.8}}]})
    run_batch(case, scenarios, chains, tmp_path, BatchOptions(mip_gap=0, workers=1))
    again = run_batch(case, scenarios, chains, tmp_path, BatchOptions(mip_gap=0, workers=1, resume=True))
    assert again.ran == [] and again.skipped == ["base", "cut"]
    changed, chains = parse_scenarios({"scenarios": [{"name": "cut", "scale": {"periods.budget": 0.75}}]})
    third = run_batch(case, changed, chains, tmp_path, BatchOptions(mip_gap=0, workers=1, resume=True))
    assert third.ran == ["cut"] and third.skipped == ["base"]


def test_a_finished_batch_resumed_starts_no_workers(case, tmp_path, monkeypatch):
    """Resuming a batch whose every scenario is done starts no worker (each costs ~2 s to
    load svcplan); one whose inputs changed since starts them and runs only that scenario."""
    import svcplan.whatif.batch as batch

    started: list[InProcessRunner] = []

    class Counting(InProcessRunner):
        def __init__(self, workers: int):
            super().__init__(workers)
            started.append(self)

    monkeypatch.setattr(batch, "_Local", Counting)
    scenarios, chains = parse_scenarios({"scenarios": [{"name": "cut", "scale": {"periods.budget": 0.8}}]})
    opts = BatchOptions(mip_gap=0.01, workers=1, resume=True)
    first = run_batch(case, scenarios, chains, tmp_path, opts)
    assert sorted(first.ran) == ["base", "cut"] and len(started) == 1
    again = run_batch(case, scenarios, chains, tmp_path, opts)
    assert sorted(again.skipped) == ["base", "cut"] and again.ran == [] and len(started) == 1
    assert (tmp_path / "summary.csv").exists()
    changed, chains = parse_scenarios({"scenarios": [{"name": "cut", "scale": {"periods.budget": 0.75}}]})
    third = run_batch(case, changed, chains, tmp_path, opts)
    assert third.ran == ["cut"] and third.skipped == ["base"] and len(started) == 2


@pytest.mark.slow
def test_dask_local_cluster_gives_the_same_summary_as_local_processes(case, tmp_path):
    distributed = pytest.importorskip("distributed")
    scenarios, chains = parse_scenarios(SCENARIOS)
    local = run_batch(case, scenarios, dict(chains), tmp_path / "local",
                      BatchOptions(mip_gap=0, workers=2))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0", processes=True) as cluster:
        remote = run_batch(case, scenarios, dict(chains), tmp_path / "dask",
                           BatchOptions(mip_gap=0, workers=2, dask=cluster.scheduler_address))
    assert local.exit_code == remote.exit_code == 0
    pd.testing.assert_frame_equal(stable(local.summary), stable(remote.summary))
    a = pd.read_csv(tmp_path / "local" / "budget=0.85" / "assignment.csv")
    b = pd.read_csv(tmp_path / "dask" / "budget=0.85" / "assignment.csv")
    pd.testing.assert_frame_equal(a, b)


def test_warm_start_from_previous_plan_keeps_the_optimum(case):
    cases = [apply(case, Scenario(name=str(s), scale={"periods.budget": s})) for s in (1.0, 0.75, 1.1)]
    prev = solve(cases[0], mip_gap=0)
    for c in cases[1:]:
        cold = solve(c, mip_gap=0)
        warm = solve(c, mip_gap=0, start=prev.assignment)
        assert warm.objective == pytest.approx(cold.objective, rel=1e-9)
        assert warm.warm_start.startswith(("previous plan", "lp rounding"))
        prev = warm
    # the optimum itself as the previous plan: it completes to a start worth the optimum
    again = solve(cases[-1], mip_gap=0, start=prev.assignment)
    assert again.warm_start_objective == pytest.approx(prev.objective, rel=1e-9)


def test_repair_brings_a_plan_within_a_smaller_budget(case):
    from svcplan.formulation.data import prepare

    rich = solve(case, mip_gap=0)
    tight = apply(case, Scenario(name="t", scale={"periods.budget": 0.75}))
    opt = prepare(tight).options
    x = start_vector(opt, rich.assignment, tight)
    budget = tight.tables["periods"]["budget"].to_numpy()
    spend = np.bincount(opt["t"], weights=opt["cost"] * x, minlength=len(budget))
    assert (spend <= budget + 1e-6).all()
    # one level per unit-period
    assert (pd.Series(x).groupby([opt["u"], opt["t"]]).sum() == 1).all()


def test_frontier_is_monotone_and_marginals_match(case, tmp_path):
    assert parse_range("0.5:1.5:11")[:3] == [0.5, 0.6, 0.7] and parse_range("0.6,1") == [0.6, 1.0]
    res, front, diff = run_frontier(case, [0.75, 0.85, 1.0, 1.15], tmp_path,
                                    BatchOptions(mip_gap=0, workers=2))
    assert res.exit_code == 0 and list(front["scale"]) == [0.75, 0.85, 1.0, 1.15]
    assert front["objective"].is_monotonic_increasing
    k = 2
    expected = ((front["objective"][k] - front["objective"][k - 1])
                / (front["budget"][k] - front["budget"][k - 1]))
    assert front["marginal_per_budget"][k] == pytest.approx(expected)
    assert {"segment", "product_class", "first_loss_scale", "rank@0.75"} <= set(diff.columns)
    assert (tmp_path / "frontier.csv").exists() and (tmp_path / "differentiation.csv").exists()


class _CrashingRunner(InProcessRunner):
    """In-process stand-in for the process pool: a case named 'crash' kills its worker."""

    workers = 2

    def run(self, cases, start, options, destinations=None):
        from concurrent.futures.process import BrokenProcessPool

        if any(case.name == "crash" for case in cases):
            raise BrokenProcessPool("worker died")
        return super().run(cases, start, options, destinations)


def test_a_crashing_worker_is_retried_then_recorded_and_the_rest_complete(case, tmp_path, monkeypatch):
    import svcplan.whatif.batch as batch

    monkeypatch.setattr(batch, "_Local", _CrashingRunner)
    assert _a_batch_where_one_dies(case, tmp_path).exit_code == 1


def _a_batch_where_one_dies(case, out):
    """Run base, 'dies' (its case kills the worker) and 'cut' on 2 workers: only 'dies' is
    recorded as crashed, the others are solved."""
    scenarios, chains = parse_scenarios({"scenarios": [
        {"name": "dies", "set": {"case.name": "crash"}},
        {"name": "cut", "scale": {"periods.budget": 0.9}},
    ]})
    res = run_batch(case, scenarios, chains, out, BatchOptions(mip_gap=0, workers=2))
    s = res.summary.set_index("scenario")
    assert s.loc["dies", "status"] == "error" and "crashed" in s.loc["dies", "reason"]
    assert s.loc["base", "status"] == s.loc["cut", "status"] == "optimal"
    return res


def _loaded_before_the_task() -> tuple[int, bool, list[int]]:
    """In a worker: its parent, whether svcplan's solver stages were loaded already (the
    task itself imports only this test module, which does not load them), and the threads
    of each BLAS library loaded."""
    from threadpoolctl import threadpool_info

    blas = [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
    return os.getppid(), "svcplan.solver.sweep" in sys.modules, blas


@pytest.mark.skipif(sys.platform == "win32", reason="no fork server on Windows")
def test_local_workers_come_ready_from_a_fork_server():
    """Local workers are forked from a fork server that imported svcplan once: not this
    process's children (it runs threads: no plain fork), and not spawned (each would import
    svcplan again, ~0.9 s of CPU). A worker solves on one core: numpy's BLAS gets one thread
    there (its helper threads would spin on the core another worker solves on)."""
    from svcplan.whatif.runners import LocalRunner

    runner = LocalRunner(1)
    try:
        parent, loaded, blas = runner.pool.submit(_loaded_before_the_task).result(timeout=60)
    finally:
        runner.close()
    assert parent != os.getpid()
    assert loaded
    assert blas and set(blas) == {1}


_SLOW_PRELOAD = '''
import sys, time
from pathlib import Path
slow = Path(sys.argv[1]) / "slow_preload.py"
slow.write_text("import time\\ntime.sleep(3)\\n")
probe = Path(sys.argv[1]) / "preload_probe.py"
probe.write_text("import sys\\ndef loaded():\\n    return 'slow_preload' in sys.modules\\n")
from svcplan import processes
from svcplan.whatif import runners
processes.WORKER_MODULES = [*processes.WORKER_MODULES, "slow_preload"]
t0 = time.perf_counter()
runner = runners.LocalRunner(2)
started = time.perf_counter() - t0
try:
    import preload_probe
    loaded = runner.pool.submit(preload_probe.loaded).result(timeout=60)
finally:
    runner.close()
print(started, loaded)
'''


@pytest.mark.skipif(sys.platform == "win32", reason="no fork server on Windows")
def test_local_runner_does_not_wait_for_the_fork_servers_imports(tmp_path):
    """The runner starts the fork server and returns at once, so the fork server imports
    svcplan while the batch plans its scenarios; its workers still come with everything
    imported. Here the fork server imports a module that takes 3 s: the runner returns well
    before that (it took 0.6 s on the demo frontier when it waited for the real imports)."""
    # on PYTHONPATH: the fork server imports its modules before it applies our sys.path
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run([sys.executable, "-c", _SLOW_PRELOAD, str(tmp_path)], check=True,
                         capture_output=True, text=True, timeout=120, env=env).stdout.split()
    started, loaded = float(out[0]), out[1] == "True"
    assert started < 1.5
    assert loaded


_SIMULATE_THEN_BATCH = '''
import sys
from pathlib import Path
import numpy as np
probe = Path(sys.argv[1]) / "solver_probe.py"
probe.write_text("import sys\\ndef loaded():\\n    return 'svcplan.solver.sweep' in sys.modules\\n")
from svcplan.simulation import policy
from svcplan.whatif.runners import LocalRunner
n = 2
pol = policy.Policy(daily_mean=np.full(n, 10.0), daily_sd=np.full(n, 3.0), gamma=np.zeros(n, bool),
                    review_days=np.full(n, 7), lead_time_days=np.full(n, 2.0),
                    lead_time_sd_days=np.zeros(n), level=np.full(n, 120.0),
                    quantity=np.zeros(n), keys=np.arange(n, dtype=np.uint64))
policy.CHUNK_UNITS = 1  # two chunks: the simulation forks two workers, starting the fork server
policy.simulate_policies(pol, 10, 1, 7, workers=2)
import solver_probe
runner = LocalRunner(1)
try:
    print(runner.pool.submit(solver_probe.loaded).result(timeout=60))
finally:
    runner.close()
'''


@pytest.mark.skipif(sys.platform == "win32", reason="no fork server on Windows")
def test_a_simulation_first_leaves_the_batch_workers_ready(tmp_path):
    """Python keeps one fork server per process, preloading what was asked when it started.
    A simulation on worker processes, run before a batch in the same session, starts it:
    the batch's workers still come with the solver stages loaded (the preload list is one,
    svcplan.processes.WORKER_MODULES). Before it was one, this order left them without."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(tmp_path), *filter(None, [os.environ.get("PYTHONPATH")])])}
    out = subprocess.run([sys.executable, "-c", _SIMULATE_THEN_BATCH, str(tmp_path)], check=True,
                         capture_output=True, text=True, timeout=120, env=env).stdout.split()
    assert out == ["True"]


@pytest.mark.skipif(sys.platform == "win32", reason="no fork server on Windows")
def test_a_script_that_runs_a_frontier_unguarded_is_told_why_it_failed(tmp_path):
    """A frontier of three points on two workers (solved from both ends, through a manager
    process) started from a script's top level: the manager imports the script again and
    dies as it starts. The error says to guard the call (not the bare EOFError it was)."""
    script = tmp_path / "sweep.py"
    script.write_text(
        "import svcplan\n"
        "from svcplan.whatif.batch import BatchOptions\n"
        "from svcplan.whatif.frontier import run_frontier\n"
        f"case = svcplan.load_case({str(ROOT / 'data' / 'demo')!r})\n"
        f"run_frontier(case, [0.9, 1.0, 1.1], {str(tmp_path / 'out')!r}, BatchOptions(workers=2))\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.returncode != 0
    last = run.stderr.strip().splitlines()[-1]
    assert last.startswith("RuntimeError: the sweep's manager process ended as it started"), last
    assert 'must be under `if __name__ == "__main__":`' in last


@pytest.mark.skipif(sys.platform == "win32", reason="no fork server on Windows")
def test_a_script_that_runs_a_batch_unguarded_records_why_its_scenarios_failed(tmp_path):
    """Scenarios on worker processes started from a script's top level: each worker imports
    the script again and dies, twice, and each scenario is recorded as crashed with the
    reason that names the guard (it said only "the worker process crashed")."""
    script = tmp_path / "batch_script.py"
    script.write_text(
        "import svcplan\n"
        "from svcplan.whatif.batch import BatchOptions, run_batch\n"
        "from svcplan.whatif.scenarios import parse_scenarios\n"
        f"case = svcplan.load_case({str(ROOT / 'data' / 'demo')!r})\n"
        "scenarios, chains = parse_scenarios({'scenarios': [{'name': 'cut', "
        "'scale': {'periods.budget': 0.9}}]})\n"
        f"res = run_batch(case, scenarios, chains, {str(tmp_path / 'out')!r}, "
        "BatchOptions(workers=2))\n"
        "print(res.exit_code)\n")
    run = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert run.stdout.split()[-1:] == ["1"]
    s = pd.read_csv(tmp_path / "out" / "summary.csv").set_index("scenario")
    assert list(s["status"]) == ["error", "error"]
    for reason in s["reason"]:
        assert reason.startswith("the worker process crashed: killed"), reason
        assert 'must be under `if __name__ == "__main__":`' in reason


_FIRST_SOLVE = '''
import sys
from svcplan.processes import WORKER_MODULES
for name in WORKER_MODULES:
    __import__(name)
before = set(sys.modules)
from svcplan.api import load_case, solve
solve(load_case(sys.argv[1]), threads=1)
new = sorted(m for m in set(sys.modules) - before
             if m.split(".")[0] in ("svcplan", "highspy", "scipy", "pyomo"))
print(" ".join(new))
'''


def test_worker_modules_cover_what_a_first_solve_imports():
    """A batch worker forked from the fork server has every module a solve needs: its first
    point imports nothing more of svcplan, HiGHS or scipy (each would cost that worker's
    first point its import time, 0.2 s on the demo)."""
    out = subprocess.run([sys.executable, "-c", _FIRST_SOLVE, str(ROOT / "data" / "demo")], check=True,
                         capture_output=True, text=True, timeout=120).stdout.split()
    assert out == []


def test_a_frontiers_workbooks_leave_out_tables_longer_than_asked(folder, tmp_path):
    """``--xlsx-rows`` reaches the workers that write each point's folder: the 54-row
    assignment stays out of every results.xlsx (in its CSV), the 18-row plan sheet stays in."""
    import openpyxl
    from typer.testing import CliRunner

    from svcplan.cli.app import app

    out = tmp_path / "front"
    result = CliRunner().invoke(app, ["frontier", str(folder), "--budget", "0.9,1.0", "--workers",
                                      "2", "--xlsx-rows", "20", "--quiet", "--out", str(out)])
    assert result.exit_code == 0, result.output
    for point in ("budget=0.9", "budget=1"):
        book = openpyxl.load_workbook(out / point / "results.xlsx", read_only=True)
        assert "assignment" not in book.sheetnames and "plan" in book.sheetnames
        assert len(pd.read_csv(out / point / "assignment.csv", encoding="utf-8-sig")) == 54
    with pytest.raises(ValueError, match="xlsx_rows"):
        BatchOptions(xlsx_rows=-1)


class _Recording(InProcessRunner):
    """In-process workers that note each task's scenarios and the plan it started from."""

    workers = 1

    def __init__(self, workers: int):
        super().__init__(workers)
        self.submitted: list[tuple[list[str], pd.DataFrame | None]] = []

    def submit(self, cases, start, options, destinations=None):
        self.submitted.append(([d.scenario for d in destinations], start))
        return super().submit(cases, start, options, destinations)


def _sweep(scales):
    return parse_scenarios({"sweeps": [{"name": "budget", "scale": {"periods.budget": scales}}]})


def test_a_sweep_runs_point_by_point_each_from_the_plan_before_it(case, tmp_path, monkeypatch):
    """Without ``reuse`` a warm chain is one task per point; each after the first starts from
    its predecessor's plan, and a resumed batch reads that plan back from its folder."""
    import svcplan.whatif.batch as batch

    runners: list[_Recording] = []
    monkeypatch.setattr(batch, "_Local", lambda n: runners.append(_Recording(n)) or runners[-1])
    scenarios, chains = _sweep([0.8, 0.9, 1.0])
    res = run_batch(case, scenarios, chains, tmp_path, BatchOptions(mip_gap=0, workers=1))
    assert res.exit_code == 0
    names = [names for names, _ in runners[0].submitted]
    assert sorted(names) == [["base"], ["budget=0.8"], ["budget=0.9"], ["budget=1"]]
    assert names.index(["budget=0.8"]) < names.index(["budget=0.9"]) < names.index(["budget=1"])
    start = {name: plan for [name], plan in runners[0].submitted}
    assert start["base"] is None and start["budget=0.8"] is None  # the chains' heads: cold
    for point, before in (("budget=0.9", "budget=0.8"), ("budget=1", "budget=0.9")):
        saved = pd.read_csv(tmp_path / before / "assignment.csv")
        assert start[point] is not None and list(start[point]["level"]) == list(saved["level"])

    (tmp_path / "budget=1" / "summary.json").unlink()  # as if killed before its last write
    again = run_batch(case, scenarios, chains, tmp_path,
                      BatchOptions(mip_gap=0, workers=1, resume=True))
    assert again.ran == ["budget=1"] and sorted(again.skipped) == ["base", "budget=0.8", "budget=0.9"]
    [(names, start)] = runners[1].submitted
    saved = pd.read_csv(tmp_path / "budget=0.9" / "assignment.csv")
    assert names == ["budget=1"] and list(start["level"]) == list(saved["level"])


class _PoolBreaker(InProcessRunner):
    """Like a process pool: a task that kills its worker breaks every task running beside it
    (their futures fail together); ``together`` lists the scenarios of each round of tasks."""

    workers = 2

    def __init__(self, workers: int):
        super().__init__(workers)
        self.queued: dict = {}
        self.together: list[list[str]] = []

    def submit(self, cases, start, options, destinations=None):
        from concurrent.futures import Future

        fut: Future = Future()
        self.queued[fut] = (cases, start, options, destinations)
        return fut

    def wait(self, futures):
        from concurrent.futures.process import BrokenProcessPool

        tasks = {f: self.queued.pop(f) for f in futures if f in self.queued}
        self.together.append(sorted(d.scenario for *_, ds in tasks.values() for d in ds))
        crash = any(c.name == "crash" for cases, *_ in tasks.values() for c in cases)
        for fut, (cases, start, options, destinations) in tasks.items():
            if crash:
                fut.set_exception(BrokenProcessPool("worker died"))
            else:
                fut.set_result(self.run(cases, start, options, destinations))
        return set(futures)


def test_a_crash_that_breaks_the_pool_is_pinned_on_its_task_alone(case, tmp_path, monkeypatch):
    """A dying worker takes every running task down with it; they are run again one at a
    time, so only the task that kills its worker is recorded as crashed."""
    import svcplan.whatif.batch as batch

    pools: list[_PoolBreaker] = []
    monkeypatch.setattr(batch, "_Local", lambda n: pools.append(_PoolBreaker(n)) or pools[-1])
    _a_batch_where_one_dies(case, tmp_path)
    [pool] = pools
    assert pool.together[0] == ["base", "cut", "dies"]  # all three broke together
    assert all(len(names) == 1 for names in pool.together[1:])  # then one at a time
    assert pool.restarts == 2
