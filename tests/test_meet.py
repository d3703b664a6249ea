"""A sweep solved from both ends (svcplan.whatif.meet): every point once, each worker's
points consecutive and warm-started from their neighbour, the work split by what it costs,
and a broken worker's points finished by the chain path."""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import SimpleNamespace

import pytest
from inprocess import InProcessRunner
from test_sweep import _case, _scaled

from svcplan import solve
from svcplan.whatif import on_dask, runners
from svcplan.whatif.meet import HIGH, LOW, BothEnds, run_both_ends


def _shared(n: int) -> BothEnds:
    return BothEnds([0, n], threading.Lock(), queue.Queue())


def test_the_ends_take_points_until_they_meet():
    s = _shared(5)
    assert [s.take(e) for e in (LOW, HIGH, LOW, HIGH, LOW)] == [0, 4, 1, 3, 2]
    assert s.take(LOW) is None and s.take(HIGH) is None
    assert _shared(0).take(HIGH) is None


class _Threads:
    """Two workers as threads sharing plain objects: the protocol without processes."""

    workers = 2

    def __init__(self):
        self.pool = ThreadPoolExecutor(2)

    def both_ends(self, n: int) -> BothEnds:
        return _shared(n)

    def submit_from_end(self, *args) -> Future:
        return self.pool.submit(runners.solve_from_end, *args)

    def wait(self, futures):
        time.sleep(0.01)
        return {f for f in futures if f.done()}

    def result(self, fut):
        return fut.result()


def test_each_point_once_consecutive_warm_and_balanced(monkeypatch):
    """Points 0–2 cost 10× the others: the worker from the high end takes more of them, each
    worker's points are consecutive from its end, and each starts from its neighbour's plan."""
    calls = []  # (point, worker thread, start)

    def fake_solve(case, start, options, sweep):
        calls.append((case, threading.get_ident(), start))
        time.sleep(0.2 if case < 3 else 0.02)
        return SimpleNamespace(has_plan=True, assignment=f"plan{case}")

    monkeypatch.setattr(runners, "solve_task", fake_solve)
    recorded = []
    done = run_both_ends(_Threads(), [list(range(8))], {}, lambda k, i, r: recorded.append(i),
                         lambda: False)
    assert sorted(recorded) == list(range(8)) and done == {(0, i) for i in range(8)}
    by_worker: dict[int, list] = {}
    for point, worker, start in calls:
        by_worker.setdefault(worker, []).append((point, start))
    low, high = sorted(by_worker.values(), key=lambda pts: pts[0][0])
    assert [p for p, _ in low] == list(range(len(low)))  # upward from 0
    assert [p for p, _ in high] == list(range(7, 7 - len(high), -1))  # downward from 7
    for points, step in ((low, -1), (high, 1)):
        assert points[0][1] is None
        assert all(start == f"plan{p + step}" for p, start in points[1:])
    assert len(high) > len(low)  # the cheap end did more of the work


class _BreaksAfterOne(InProcessRunner):
    """A local runner whose pool breaks after the first point of a sweep solved from both
    ends; the rest must then run as chains (in process), after a restart."""

    workers = 2

    def both_ends(self, n: int) -> BothEnds:
        return _shared(n)

    def submit_from_end(self, cases, start, options, end, shared, destinations=None) -> Future:
        fut: Future = Future()
        if end == LOW:
            i = shared.take(end)
            r = runners.solve_task(cases[i], None, options)
            if destinations is not None:
                destinations[i].write(r)
            shared.put(i, r)
        fut.set_exception(BrokenProcessPool("worker died"))
        return fut


def test_a_broken_pool_leaves_the_rest_to_the_chains(tmp_path, monkeypatch):
    import svcplan.whatif.batch as batch
    from svcplan.whatif.batch import BatchOptions
    from svcplan.whatif.frontier import run_frontier

    made = []
    monkeypatch.setattr(batch, "_Local", lambda w: made.append(_BreaksAfterOne(w)) or made[-1])
    base = _case(seed=5, total=False)
    scales = [0.8, 0.9, 1.0, 1.1]
    res, front, _ = run_frontier(base, scales, tmp_path, BatchOptions(mip_gap=0, workers=2))
    runner = made[0]
    assert runner.restarts == 1 and sum(runner.tasks) == 3  # point 0 came back, 3 did not
    assert list(front["status"]) == ["optimal"] * 4
    for scale, objective in zip(front["scale"], front["objective"], strict=True):
        cold = solve(_scaled(base, scale), mip_gap=0, marginals=False)
        assert objective == pytest.approx(cold.objective, rel=1e-9)


class _Call:
    """What an actor's method call returns: ``result()`` gives its answer (or raises)."""

    def __init__(self, fn, *args):
        self._fn, self._args = fn, args

    def result(self, timeout=None):
        return self._fn(*self._args)


class _LostActor:
    """A Meeting held by a worker that is lost once ``lose_after`` results were put: from
    then on every call fails, as with an actor whose worker is gone."""

    def __init__(self, n: int, lose_after: int):
        from svcplan.whatif.meet import Meeting

        self._m, self._left = Meeting(n), lose_after

    def _call(self, name, *args):
        if self._left <= 0:
            raise OSError("the worker holding the actor is gone")
        if name == "put":
            self._left -= 1
        return getattr(self._m, name)(*args)

    def take(self, end):
        return _Call(self._call, "take", end)

    def put(self, point, result):
        return _Call(self._call, "put", point, result)

    def drain(self):
        return _Call(self._call, "drain")


class _DaskLosesTheMeeting(InProcessRunner):
    """A Dask runner in process: the client writes the folders, a failed task is an error
    result (as DaskRunner.result makes it), and the Meeting's worker is lost after the low
    end's first point, before the client has collected it."""

    workers = 2
    writes_outputs = False

    def both_ends(self, n: int):
        return on_dask.OnActor(_LostActor(n, lose_after=1))

    def submit_from_end(self, cases, start, options, end, shared, destinations=None) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(runners.solve_from_end(cases, start, options, end, shared,
                                                  destinations))
        except Exception as exc:
            fut.set_exception(exc)
        return fut

    def result(self, fut):
        try:
            return fut.result()
        except Exception as exc:
            return [runners.error_result("?", f"worker failed: {exc}")]


def test_a_lost_meeting_on_dask_reruns_its_points_as_chains(tmp_path, monkeypatch):
    """The Meeting's worker is lost with one solved point not yet collected: no point is
    reported from it, every point is solved again by the chains (each recorded once), and
    each equals its cold optimum."""
    import svcplan.whatif.batch as batch
    from svcplan.whatif.batch import BatchOptions
    from svcplan.whatif.frontier import run_frontier

    made = []
    monkeypatch.setattr(batch, "_Dask", lambda a: made.append(_DaskLosesTheMeeting(2)) or made[-1])
    base = _case(seed=5, total=False)
    scales = [0.8, 0.9, 1.0, 1.1]
    res, front, _ = run_frontier(base, scales, tmp_path,
                                 BatchOptions(mip_gap=0, workers=2, dask="tcp://nowhere:1"))
    assert sum(made[0].tasks) == 4  # all four points went to the chains
    assert sorted(res.ran) == sorted(f"budget={s:g}" for s in scales)
    assert list(front["status"]) == ["optimal"] * 4
    for scale, objective in zip(front["scale"], front["objective"], strict=True):
        cold = solve(_scaled(base, scale), mip_gap=0, marginals=False)
        assert objective == pytest.approx(cold.objective, rel=1e-9)


@pytest.mark.slow
def test_frontier_on_two_worker_processes_equals_cold_solves(tmp_path):
    """The real thing: two spawned workers and a manager process; every point is the cold
    optimum, and no process is left behind."""
    import multiprocessing as mp

    from svcplan.whatif.batch import BatchOptions
    from svcplan.whatif.frontier import run_frontier

    base = _case(seed=5, total=False)
    scales = [0.8, 0.9, 1.0, 1.1, 1.2]
    res, front, _ = run_frontier(base, scales, tmp_path, BatchOptions(mip_gap=0, workers=2))
    assert not res.interrupted and list(front["status"]) == ["optimal"] * 5
    for scale, objective in zip(front["scale"], front["objective"], strict=True):
        cold = solve(_scaled(base, scale), mip_gap=0, marginals=False)
        assert objective == pytest.approx(cold.objective, rel=1e-9)
    assert not mp.active_children()


def test_a_meeting_is_both_ends_in_one_object():
    """What a Dask actor holds: the ends meet as with shared objects, and the results come
    back once each, in the order they were handed back."""
    from svcplan.whatif.meet import Meeting

    m = Meeting(4)
    assert [m.take(e) for e in (HIGH, LOW, HIGH, LOW, HIGH)] == [3, 0, 2, 1, None]
    m.put(3, "r3")
    m.put(0, "r0")
    assert m.drain() == [(3, "r3"), (0, "r0")] and m.drain() == []


def test_a_lost_actor_hands_back_nothing_more():
    """The worker holding the Meeting is gone: drain gives nothing (its points are not
    reported solved, and the batch runs them again as chains) instead of failing the run."""

    class Lost:
        def drain(self):
            raise OSError("the worker holding the actor is gone")

    assert on_dask.OnActor(Lost()).drain() == []


@pytest.mark.slow
def test_a_dask_cluster_solves_a_sweep_from_both_ends(tmp_path, monkeypatch):
    """On a LocalCluster of two worker processes (127.0.0.1) the frontier is solved from both
    ends too, its Meeting an actor on one of them; every point equals the cold optimum."""
    distributed = pytest.importorskip("distributed")
    import svcplan.whatif.batch as batch
    from svcplan.whatif.batch import BatchOptions
    from svcplan.whatif.frontier import run_frontier

    used = []
    real = batch.run_both_ends
    monkeypatch.setattr(batch, "run_both_ends",
                        lambda runner, *a, **k: used.append(type(runner).__name__)
                        or real(runner, *a, **k))
    base = _case(seed=5, total=False)
    scales = [0.8, 0.9, 1.0, 1.1, 1.2]
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                  dashboard_address=":0", processes=True) as cluster:
        res, front, _ = run_frontier(base, scales, tmp_path,
                                     BatchOptions(mip_gap=0, dask=cluster.scheduler_address))
    assert used == ["DaskRunner"]
    assert not res.interrupted and list(front["status"]) == ["optimal"] * 5
    for scale, objective in zip(front["scale"], front["objective"], strict=True):
        cold = solve(_scaled(base, scale), mip_gap=0, marginals=False)
        assert objective == pytest.approx(cold.objective, rel=1e-9)
    assert all((tmp_path / f"budget={s:g}" / "results.xlsx").exists() for s in scales)


def _sharing(n: int) -> BothEnds:
    """Both ends with the queue through which a worker leaves a folder to another."""
    return BothEnds([0, n], threading.Lock(), queue.Queue(), queue.Queue(), [2])


@pytest.mark.parametrize("idle", [True, False])
def test_the_folder_before_the_last_point_goes_to_a_worker_with_nothing_left(monkeypatch, idle):
    """Points 0–3; the low end solves 0 (slow), the high end 3 and 2 (fast), then takes 1,
    the last point. When the low end is done first (``idle``), it writes point 2's folder
    while the high end solves 1; when the high end is done first, it writes 2 itself. Either
    way every folder is written once and every result handed back once."""
    cost = {0: 0.3 if idle else 0.05, 1: 0.6, 2: 0.02, 3: 0.02}
    if not idle:
        cost[0], cost[1] = 0.9, 0.1

    def fake_solve(case, start, options, sweep):
        time.sleep(cost[case])
        return SimpleNamespace(has_plan=True, assignment=f"plan{case}")

    writers: dict[int, list] = {}

    class _Folder:
        def __init__(self, point):
            self.point = point

        def write(self, r):
            writers.setdefault(self.point, []).append(threading.current_thread().name)

    monkeypatch.setattr(runners, "solve_task", fake_solve)
    shared = _sharing(4)
    folders = [_Folder(i) for i in range(4)]
    with ThreadPoolExecutor(2, thread_name_prefix="worker") as pool:
        low = pool.submit(runners.solve_from_end, list(range(4)), None, {}, LOW, shared, folders)
        time.sleep(0.01)  # the low end takes point 0 first
        high = pool.submit(runners.solve_from_end, list(range(4)), None, {}, HIGH, shared,
                           folders)
        solved = {LOW: low.result(timeout=10), HIGH: high.result(timeout=10)}
    assert sorted(writers) == [0, 1, 2, 3] and all(len(w) == 1 for w in writers.values())
    assert sorted(i for i, _ in shared.drain()) == [0, 1, 2, 3]
    assert solved == {LOW: 1, HIGH: 3}
    writer_of = {i: w[0] for i, w in writers.items()}
    assert writer_of[3] == writer_of[1] != writer_of[0]  # each solved point written by its solver…
    assert (writer_of[2] == writer_of[0]) is idle  # …but 2, left to whoever was free first


def test_a_worker_whose_write_fails_does_not_keep_the_other_waiting(monkeypatch):
    """The low end's folder write fails: its task ends with the error, and the high end,
    done with its own points, does not wait for it forever (daemon threads: a hang fails
    the test instead of holding the run)."""

    def fake_solve(case, start, options, sweep):
        time.sleep(0.02)
        return SimpleNamespace(has_plan=True, assignment=f"plan{case}")

    class _Folder:
        def write(self, r):
            if threading.current_thread().name == "low":
                raise OSError("disk full")

    monkeypatch.setattr(runners, "solve_task", fake_solve)
    shared = _sharing(6)
    outcome: dict[str, object] = {}

    def run(name, end):
        try:
            outcome[name] = runners.solve_from_end(list(range(6)), None, {}, end, shared,
                                                   [_Folder() for _ in range(6)])
        except OSError as exc:
            outcome[name] = exc

    threads = [threading.Thread(target=run, args=(n, e), name=n, daemon=True)
               for n, e in (("low", LOW), ("high", HIGH))]
    for t in threads:
        t.start()
        time.sleep(0.01)
    for t in threads:
        t.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "a worker still waits"
    assert isinstance(outcome["low"], OSError) and outcome["high"] >= 1
