"""The product blocks solved on a Dask cluster (svcplan.solver.cluster, `solve --dask`): on a
LocalCluster on 127.0.0.1 the decomposed solve reaches the same optimum as the plain one, a
round answers exactly as the local threads do, and a lost cluster is reported as no answer,
never as a wrong one."""

from __future__ import annotations

import time

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from svcplan import Case, solve  # noqa: E402
from svcplan.formulation.blocks import create_model  # noqa: E402
from svcplan.formulation.data import prepare, product_clusters  # noqa: E402
from svcplan.formulation.hooks import UsageError  # noqa: E402
from svcplan.formulation.standard_form import standard_form  # noqa: E402
from svcplan.prep.generate import generate_case  # noqa: E402
from svcplan.solver import decompose, highs  # noqa: E402
from svcplan.solver import pricing as lagrange  # noqa: E402
from svcplan.solver.cluster import ClusterBlocks, check_cluster  # noqa: E402


def _case(shape=(3, 8, 3, 4), seed=4) -> Case:
    tables, settings = generate_case(*shape, seed=seed)
    levels = tables["levels"]
    levels["fixed_cost"] = np.where(np.arange(len(levels)) > 0, 500.0, 0.0)
    return Case.from_tables(tables, settings)


@pytest.fixture(scope="module")
def cluster():
    """Two in-process workers on loopback (the multi-process cluster is the slow test)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1", dashboard_address=":0") as c:
        yield c


def test_dask_solve_keeps_the_exact_optimum(cluster, monkeypatch):
    case = _case()
    plain = solve(case, mip_gap=0, warm_start=False, marginals=False)
    monkeypatch.setattr(lagrange, "MIN_COLUMNS", 0)
    monkeypatch.setattr(decompose, "BLOCK_COLUMNS", 30)
    on_dask = solve(case, mip_gap=0, marginals=False, dask=cluster.scheduler_address)
    assert on_dask.search["lp_method"] == "prices" and on_dask.search["blocks"] > 3
    assert on_dask.search["dask"] == cluster.scheduler_address  # summary.json says where
    assert on_dask.solver_objective == pytest.approx(plain.solver_objective, rel=1e-9)
    assert on_dask.bound >= plain.solver_objective - 1e-6 * abs(plain.solver_objective)


def _blocks():
    data = prepare(_case((4, 9, 4, 5), 3))
    sf = standard_form(create_model(data))
    dense = lagrange.dense_rows(sf)
    layout = decompose.split(sf, dense, decompose.product_blocks(sf, product_clusters(data), 40))
    return sf, layout


def test_a_round_on_the_cluster_answers_as_the_local_threads(cluster):
    sf, layout = _blocks()
    n = sf.n_cols + len(layout.copy_of)
    rng = np.random.default_rng(0)
    cost = np.r_[sf.cost, -rng.random(len(layout.copy_of)) * 100]
    here = highs.RepricedBlocks(layout.parts, n, 2).solve(cost, None, None)
    _answers_as(ClusterBlocks(layout.parts, n, cluster.scheduler_address), here, cost)


def _answers_as(there: ClusterBlocks, here, cost: np.ndarray) -> None:
    """A round on the cluster gives the local threads' answer (and the actors are closed)."""
    try:
        answer = there.solve(cost, 30.0, None)
        assert answer.optimal and here.optimal
        assert answer.objective == pytest.approx(here.objective, rel=1e-12)
        assert np.allclose(answer.x, here.x)
    finally:
        there.close()


def test_a_lost_worker_is_no_answer_not_a_wrong_one():
    sf, layout = _blocks()
    n = sf.n_cols + len(layout.copy_of)
    cost = np.r_[sf.cost, np.zeros(len(layout.copy_of))]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  protocol="tcp", host="127.0.0.1", dashboard_address=":0") as c:
        there = ClusterBlocks(layout.parts, n, c.scheduler_address)
        assert there.solve(cost, 30.0, None).optimal
        c.scale(0)  # the only worker, and the actor holding every block, goes away
        deadline = time.monotonic() + 20
        while c.scheduler_info["workers"] and time.monotonic() < deadline:
            time.sleep(0.1)
        lost = there.solve(cost, 5.0, None)
        there.close()
    assert not lost.optimal and lost.x is None and "Dask cluster failed" in lost.message


def test_an_address_without_a_scheduler_is_refused():
    with pytest.raises(UsageError, match="no Dask scheduler answers"):
        check_cluster("tcp://127.0.0.1:9", timeout=1.0)


@pytest.mark.slow
def test_dask_solve_on_worker_processes(monkeypatch):
    case = _case(seed=9)
    plain = solve(case, mip_gap=0, warm_start=False, marginals=False)
    monkeypatch.setattr(lagrange, "MIN_COLUMNS", 0)
    monkeypatch.setattr(decompose, "BLOCK_COLUMNS", 30)
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as c:
        on_dask = solve(case, mip_gap=0, marginals=False, dask=c.scheduler_address)
    assert on_dask.search["blocks"] > 3
    assert on_dask.solver_objective == pytest.approx(plain.solver_objective, rel=1e-9)


def test_blocks_made_lazily_and_sent_in_chunks_answer_the_same(cluster):
    """The split made block by block (lazy) and sent in chunks of 3 to the actors gives the
    answer of the eager list on local threads (a round at random copy prices)."""
    sf, layout = _blocks()
    data = prepare(_case((4, 9, 4, 5), 3))
    lazy = decompose.split(sf, lagrange.dense_rows(sf),
                           decompose.product_blocks(sf, product_clusters(data), 40), lazy=True)
    assert len(lazy.sizes) == len(layout.parts) > 6
    n = sf.n_cols + len(layout.copy_of)
    rng = np.random.default_rng(1)
    cost = np.r_[sf.cost, -rng.random(len(layout.copy_of)) * 100]
    here = highs.RepricedBlocks(layout.parts, n, 2).solve(cost, None, None)
    there = ClusterBlocks(lazy.parts, n, cluster.scheduler_address, sizes=lazy.sizes, chunk=3)
    assert there.n_blocks == len(layout.parts)
    _answers_as(there, here, cost)


def _hold_block_solves(seconds: float) -> None:
    """Run in each worker process (``client.run``): every block solve waits ``seconds``
    first, so a round is still running there when the test kills the worker."""
    import time as clock

    from svcplan.solver import highs as worker_highs

    real_solve = worker_highs.RepricedBlocks.solve

    def held(self, *args, **kwargs):
        clock.sleep(seconds)
        return real_solve(self, *args, **kwargs)

    worker_highs.RepricedBlocks.solve = held


def _second_round_loses_a_worker(monkeypatch, delay: float | None = None, hold: float = 0.0):
    """Solve ``_case(seed=9)`` at gap 0 with its blocks on a LocalCluster of two worker
    processes, one of which is killed (SIGKILL) in the second pricing round: as the round
    starts (``delay`` None) or ``delay`` s after its calls went out, each worker holding its
    block solves ``hold`` s. Returns the plain solve, the one on Dask, the rounds as
    ``(began, answer, ended)`` and when the worker was killed."""
    import os
    import signal
    import threading

    from svcplan.solver import cluster as on_cluster

    case = _case(seed=9)
    plain = solve(case, mip_gap=0, warm_start=False, marginals=False)
    monkeypatch.setattr(lagrange, "MIN_COLUMNS", 0)
    monkeypatch.setattr(decompose, "BLOCK_COLUMNS", 30)
    rounds, killed = [], []
    real = on_cluster.ClusterBlocks.solve
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as c, \
            distributed.Client(c) as client:
        pids = client.run(os.getpid)  # worker address -> process id
        if hold:
            client.run(_hold_block_solves, hold)

        def kill() -> None:
            killed.append(time.perf_counter())
            os.kill(pids[min(pids)], signal.SIGKILL)

        def killing_in_the_second(self, *args, **kwargs):
            if len(rounds) == 1:
                if delay is None:
                    kill()
                else:
                    threading.Timer(delay, kill).start()
            began = time.perf_counter()
            rounds.append((began, real(self, *args, **kwargs), time.perf_counter()))
            return rounds[-1][1]

        monkeypatch.setattr(on_cluster.ClusterBlocks, "solve", killing_in_the_second)
        on_dask = solve(case, mip_gap=0, marginals=False, dask=c.scheduler_address)
    return plain, on_dask, rounds, killed


@pytest.mark.slow
def test_a_worker_process_killed_between_rounds_costs_a_bound_not_the_answer(monkeypatch):
    """A worker process holding blocks is killed (SIGKILL) as the second pricing round
    starts: that round reports the cluster failed instead of a bound, and the solve still
    ends proven at the plain optimum (gap 0), never at a wrong one."""
    plain, on_dask, rounds, _ = _second_round_loses_a_worker(monkeypatch)
    answers = [answer for _, answer, _ in rounds]
    assert len(answers) >= 2 and answers[0].optimal
    assert not answers[1].optimal and "Dask cluster failed" in answers[1].message
    assert on_dask.status == "optimal"
    assert on_dask.solver_objective == pytest.approx(plain.solver_objective, rel=1e-9)


@pytest.mark.slow
def test_a_worker_process_killed_within_a_round_costs_that_round_not_the_answer(monkeypatch):
    """As above, but the kill lands while the second round's block solves run on the
    workers: each worker holds every block solve 0.5 s, and one is killed (SIGKILL) 0.2 s
    after the round's calls went out. That round reports the cluster failed; the solve
    still ends proven at the plain optimum (gap 0)."""
    plain, on_dask, rounds, killed = _second_round_loses_a_worker(monkeypatch, delay=0.2,
                                                                  hold=0.5)
    (_, first, _), (began, second, ended) = rounds[:2]
    assert first.optimal
    assert began < killed[0] < ended  # the worker died while the round waited for it
    assert not second.optimal and "Dask cluster failed" in second.message
    assert on_dask.status == "optimal"
    assert on_dask.solver_objective == pytest.approx(plain.solver_objective, rel=1e-9)
