"""A Dask worker process killed in the middle of a frontier: the points it held are solved
again, never reported from a worker that is gone, and every point keeps its promise.

The in-process tests (test_meet) lose a stand-in actor at a chosen call. Here the processes
are real: a LocalCluster of two worker processes on 127.0.0.1 (each under a nanny, which
starts a new one), and one of them is killed with SIGKILL as the first point comes back —
either the worker holding the sweep's Meeting (the shared state of both ends) or the other.
"""

from __future__ import annotations

import os
import signal
import threading

import pytest
from test_sweep import _scaled

from svcplan import load_case, solve
from svcplan.whatif.batch import BatchOptions
from svcplan.whatif.frontier import run_frontier

distributed = pytest.importorskip("distributed")

#: The demo's tightest budgets: each point needs an LP, a rounding and often a re-spend
#: (about 1–3 s), so both sweep tasks are still running when the first point comes back.
SCALES = [0.6, 0.7, 0.8, 0.9, 1.0]
GAP = 0.005  # the demo's own gap (case.yaml)
#: Far beyond a frontier that recovers (~20 s, of which 30 s or less waiting for a lost call).
HANG_SECONDS = 240


def _actors(dask_worker) -> list[str]:
    """Run on each worker: the keys of the actors it holds (the sweep's Meeting)."""
    return [str(k) for k in dask_worker.state.actors]


@pytest.mark.slow
@pytest.mark.parametrize("victim", ["meeting", "other"])
def test_a_worker_killed_mid_frontier_loses_no_point_and_reports_none_wrongly(tmp_path, victim):
    case = load_case("data/demo")
    killed: list[tuple[str, list[str]]] = []
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0", processes=True) as cluster, \
            distributed.Client(cluster) as client:

        def kill_one(name, result, done, total) -> None:
            if killed:
                return
            held = client.run(_actors)  # worker address -> the actors it holds
            pids = client.run(os.getpid)  # worker address -> process id
            target = next(a for a in pids if bool(held[a]) == (victim == "meeting"))
            running = [str(k) for k in client.processing()[target]]
            os.kill(pids[target], signal.SIGKILL)
            killed.append((target, running))

        answers: list = []
        run = threading.Thread(target=lambda: answers.append(run_frontier(
            case, SCALES, tmp_path, BatchOptions(mip_gap=GAP, dask=cluster.scheduler_address),
            on_progress=kill_one)), daemon=True)
        run.start()
        run.join(HANG_SECONDS)  # a hang fails the test instead of stalling the suite
        assert not run.is_alive(), f"the frontier hung after a worker was killed: {killed}"
    res, front, _ = answers[0]
    assert killed, "no point came back, so no worker was killed"
    target, running = killed[0]
    # the kill took work with it: the victim was running one end of the sweep
    assert any("from_end" in k for k in running), running
    assert not res.interrupted
    assert sorted(res.ran) == sorted(f"budget={s:g}" for s in SCALES)  # each recorded once
    assert list(front["status"]) == ["optimal"] * len(SCALES)
    for scale, objective in zip(front["scale"], front["objective"], strict=True):
        cold = solve(_scaled(case, scale), mip_gap=GAP, marginals=False)
        # both plans are proven within the gap of the same optimum: never better than the
        # cold bound, never further below it than the gap
        assert objective <= cold.bound * (1 + 1e-9)
        assert objective >= cold.bound * (1 - GAP) - 1e-6
    for s in SCALES:
        assert (tmp_path / f"budget={s:g}" / "summary.json").exists()

