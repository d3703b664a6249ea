"""Where a batch's solves run: local worker processes, and Ctrl-C.

A runner takes tasks (the validated cases of one chain, a starting plan, solver options)
and hands back their :class:`SolveResult` objects in order (:func:`solve_chain`: one worker
solves a whole chain, so what one point learned stays in that process for the next);
:mod:`.batch` decides what runs when. Local workers share this machine's disk, so each
writes the folder of a scenario it solved itself (its :class:`Destination`), in parallel
with the others. The Dask runner (:mod:`.on_dask`: its workers may be other machines, so
the client writes) offers the same small interface (``submit``, ``wait``, ``result``,
``restart``, ``stop``, ``close``). A worker's stop (SIGTERM) waits for the folder it is
writing (:func:`_whole_folder`), so a batch stops cleanly: finished scenarios stay
finished, running solves are ended, nothing is half-written.
"""

from __future__ import annotations

import gc
import os
import signal
import time
import traceback
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from multiprocessing.managers import SyncManager
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from threadpoolctl import threadpool_limits

from ..api import solve
from ..case.case import Case
from ..outputs.files import write_outputs
from ..outputs.result import SolveResult
from ..processes import (
    SCRIPT_GUARD,
    WORKER_DEATH_CAUSES,
    leave_ctrl_c_to_parent,
    start_fork_server,
    stop_now,
    worker_context,
)
from ..solver.interrupts import Deferred
from ..solver.status import Status
from .meet import BothEnds


def _worker_setup() -> None:
    """What a local worker process sets once: its signals and one BLAS thread."""
    _worker_signals()
    one_blas_thread()


def _worker_signals() -> None:
    """Worker processes leave Ctrl-C to the client, which stops them itself with SIGTERM, on
    which they exit tidily (:func:`_exit_tidily`)."""
    leave_ctrl_c_to_parent()
    signal.signal(signal.SIGTERM, _exit_tidily)


def one_blas_thread() -> None:
    """Limit numpy's BLAS to one thread in this process, for the rest of its life.

    A batch runs one solve per core already. OpenBLAS keeps a helper thread per core that
    spins after every call (numpy's dot products of a solve), and in a worker that spinning
    takes the core another worker is solving on: the demo frontier spent about 2 s more CPU
    in 19 s, and 0.9 s more wall. (Dask's nanny starts its workers with
    ``OPENBLAS_NUM_THREADS=1`` for the same reason.)
    """
    threadpool_limits(limits=1, user_api="blas")


def _exit_tidily(signum: int, frame: Any) -> None:
    """Leave now, but run multiprocessing's exit finalizers first: Pyomo creates a
    multiprocessing lock on import, and a worker killed outright leaves it to the resource
    tracker, which then warns about "leaked semaphore objects" on the planner's console."""
    from multiprocessing import util

    util._run_finalizers()  # no public equivalent; os._exit skips them
    os._exit(0)


@dataclass(frozen=True)
class Destination:
    """A scenario's folder and what its summary.json records beside the solve: the
    scenario's name, its input hash (``resume`` compares it), why it has no plan when the
    scenario itself is the reason, and the changes it made to the case; ``xlsx_rows``: a
    table longer than this stays out of its results.xlsx (None: Excel's limit)."""

    folder: Path
    scenario: str
    input_hash: str
    reason: str = ""
    changes: dict = field(default_factory=dict)
    xlsx_rows: int | None = None

    def write(self, r: SolveResult) -> None:
        """Every output file of ``r`` into :attr:`folder`, summary.json last (atomically):
        a folder without it is unfinished, and ``resume`` solves that scenario again."""
        reason = self.reason or ("" if r.has_plan else r.message)
        extra = {"scenario": self.scenario, "input_hash": self.input_hash, "reason": reason,
                 "warm_start": r.warm_start, "changes": self.changes}
        write_outputs(r, self.folder, extra=extra, xlsx_rows=self.xlsx_rows)


@contextmanager
def _whole_folder() -> Iterator[None]:
    """A stop (SIGTERM from :meth:`LocalRunner.stop`) that comes while a worker writes a
    folder takes effect once the folder is complete: a finished scenario stays finished.
    The runner kills a worker that has not exited 5 s after the stop (a very large
    workbook): that folder lacks its summary.json, and ``resume`` solves it again."""
    stop = Deferred(signal.SIGTERM)
    try:
        with stop:
            yield
    finally:
        if stop.requested:
            _exit_tidily(signal.SIGTERM, None)


def _write_folder(destination: Destination, r: SolveResult) -> None:
    """Write ``r``'s folder; a stop that comes meanwhile waits for it (:func:`_whole_folder`)."""
    with _whole_folder():
        destination.write(r)


def solve_task(case: Case, start: pd.DataFrame | None, options: dict[str, Any],
               sweep: Any = None) -> SolveResult:
    """One single-threaded solve; any exception becomes an error result. ``sweep``: the
    :class:`~svcplan.solver.sweep.Sweep` of the chain this solve belongs to."""
    t0 = time.perf_counter()
    try:
        return solve(case, threads=1, start=start, sweep=sweep, **options)
    except Exception as exc:  # a worker must always answer: the batch goes on
        detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        return error_result(case.name, detail, time.perf_counter() - t0)


def solve_chain(cases: list[Case], start: pd.DataFrame | None, options: dict[str, Any],
                destinations: list[Destination] | None = None) -> list[SolveResult]:
    """What a worker runs: the scenarios of one chain in order (:func:`_in_turn`), each
    written to its destination when there are some."""
    return [r for _, r in _in_turn(enumerate(cases), start, options, destinations)]


def solve_from_end(cases: list[Case], start: pd.DataFrame | None, options: dict[str, Any],
                   end: int, shared: Any, destinations: list[Destination] | None = None) -> int:
    """What a worker of a sweep solved from both ends runs (:mod:`.meet`): the next untaken
    point at its ``end`` of the sweep, again and again (:func:`_in_turn`); every result goes
    back through ``shared.results`` as soon as it is known (and written). Returns how many
    it solved.

    Where workers write (``destinations``) and ``shared`` can pass folders between them
    (:class:`~.meet.BothEnds` ``unwritten``), the worker that takes the last point leaves
    the folder of the point before it to a worker with nothing left to solve, and each
    worker, done with its own points, writes what the others left until none is solving."""
    taken = ((i, cases[i]) for i in iter(partial(shared.take, end), None))
    if destinations is None or getattr(shared, "unwritten", None) is None:
        solved = 0
        for i, r in _in_turn(taken, start, options, destinations):
            shared.put(i, r)
            solved += 1
        return solved
    return _sharing_folders(taken, start, options, shared, destinations)


def _sharing_folders(taken: Iterable[tuple[int, Case]], start: pd.DataFrame | None,
                     options: dict[str, Any], shared: Any,
                     destinations: list[Destination]) -> int:
    """:func:`solve_from_end` for local workers that write, passing the folder before the
    sweep's last point to an idle worker (:class:`~.meet.BothEnds`)."""

    def written(i: int, r: SolveResult) -> None:
        _write_folder(destinations[i], r)
        shared.put(i, r)

    solved = 0
    try:
        for i, r in _in_turn(taken, start, options, None):
            solved += 1
            if shared.untaken() == 1:  # the next point is the last: the other may be idle
                shared.leave_unwritten(i, r)
            else:
                written(i, r)
    finally:  # also when a write fails: the other worker must not wait for this one
        shared.done_solving()
    while True:  # write what was left (ours too, if nobody was free) until none is solving
        offer = shared.take_unwritten(timeout=0.05)
        if offer is not None:
            written(*offer)
        elif not shared.still_solving():
            return solved


def _in_turn(cases: Iterable[tuple[int, Case]], start: pd.DataFrame | None,
             options: dict[str, Any],
             destinations: list[Destination] | None) -> Iterator[tuple[int, SolveResult]]:
    """Solve ``(point, case)`` pairs one after the other, each from the previous plan, all
    sharing one :class:`~svcplan.solver.sweep.Sweep` (the model, the prices of the dense
    rows, the LP basis), so a budget sweep reuses what it learned; write point ``i`` to
    ``destinations[i]`` before going on."""
    from ..solver.sweep import Sweep  # loads the solver stages: only in the worker, on its first task

    sweep = Sweep()
    for i, case in cases:
        r = solve_task(case, start, options, sweep)
        if destinations is not None:
            _write_folder(destinations[i], r)
        yield i, r
        start = r.assignment if r.has_plan else None


#: Why a scenario has no result when its local worker process died twice (the pool breaks:
#: Python says no more). Dask reports its own reason (:meth:`.on_dask.DaskRunner.result`).
WORKER_CRASHED = f"the worker process crashed: {WORKER_DEATH_CAUSES}"


def error_result(name: str, message: str, seconds: float = 0.0) -> SolveResult:
    """The result of a scenario that could not be solved (invalid after its change, crashed
    worker, exception): recorded like any other, so the batch summary has a row for it."""
    return SolveResult(case_name=name, status=Status.ERROR, objective=None, bound=None, mip_gap=None,
                       build_seconds=0.0, solve_seconds=0.0, total_seconds=seconds, message=message)


def _start_early(pool: ProcessPoolExecutor, ctx, workers: int) -> None:
    """Get the workers going and return at once, so they load svcplan while the caller
    plans the scenarios. The fork server forks the workers on the first task; starting a
    worker here would wait for its import (the 11-point demo frontier waited 0.6 s before
    planning). Spawned workers (no fork server) each import on their own, so they are
    started now."""
    if ctx.get_start_method() == "forkserver":
        start_fork_server()
    else:
        for _ in range(workers):
            pool.submit(os.getpid)


class Runner(Protocol):
    """What a batch needs of the workers that solve its chains: :class:`LocalRunner` here,
    :class:`~.on_dask.DaskRunner` on a cluster. A runner that can solve a sweep from both
    ends (:mod:`.meet`) also has ``both_ends`` and ``submit_from_end``."""

    workers: int
    #: its workers write the scenario folders themselves (they share this machine's disk)
    writes_outputs: bool

    def submit(self, cases: list[Case], start: pd.DataFrame | None, options: dict[str, Any],
               destinations: list[Destination] | None = None) -> Any:
        """Solve ``cases`` as one chain from the plan ``start``: a future of their results."""

    def wait(self, futures: list[Any]) -> Iterable[Any]:
        """Some of ``futures`` that are done (none after a short wait: Ctrl-C is read)."""

    def result(self, fut: Any) -> list[SolveResult]:
        """The results of a finished chain; BrokenProcessPool where its worker died."""

    def restart(self) -> None:
        """New workers after one died."""

    def stop(self) -> None:
        """End the running solves now (Ctrl-C)."""

    def close(self) -> None:
        """Let the workers go."""


class LocalRunner:
    """Local worker processes; a crashed worker is replaced and its task retried once.
    They write the folders of the scenarios they solve (:class:`Destination`)."""

    writes_outputs = True

    def __init__(self, workers: int):
        self.workers = workers
        self._ctx = worker_context()
        self.pool: ProcessPoolExecutor | None = self._new_pool()
        self._manager = None  # a sweep solved from both ends shares its state through it
        _start_early(self.pool, self._ctx, workers)

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=self._ctx, initializer=_worker_setup)

    def submit(self, *args):
        return self.pool.submit(solve_chain, *args)

    def both_ends(self, n: int) -> BothEnds:
        """The shared state of a sweep of ``n`` points solved from both ends (:mod:`.meet`),
        held by a manager process (started on first use, stopped by :meth:`close`)."""
        if self._manager is None:
            manager = SyncManager(ctx=self._ctx)
            try:
                manager.start(leave_ctrl_c_to_parent)  # Ctrl-C is the client's to handle
            except EOFError:  # it died as it started: a script without its guard, most likely
                raise RuntimeError(f"the sweep's manager process ended as it started. {SCRIPT_GUARD}") from None
            self._manager = manager  # only once started: close() shuts down a started one
        m = self._manager
        return BothEnds(m.list([0, n]), m.Lock(), m.Queue(), m.Queue(), m.list([2]))

    def submit_from_end(self, *args):
        return self.pool.submit(solve_from_end, *args)

    def wait(self, futures):
        done, _ = wait(futures, timeout=0.25, return_when=FIRST_COMPLETED)  # short: Ctrl-C is seen
        return done

    def result(self, fut) -> list[SolveResult]:
        return fut.result()

    def restart(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = self._new_pool()

    def stop(self) -> None:
        """Ctrl-C: end the running solves now (their results would be cut short anyway)."""
        stop_now(self.pool)
        self.pool = None
        gc.collect()  # frees the pool's queue semaphores now, not at exit

    def close(self) -> None:
        if self.pool is not None:  # None after stop()
            self.pool.shutdown(wait=True, cancel_futures=True)
        if self._manager is not None:
            self._manager.shutdown()
            self._manager = None
