"""Running a batch of scenarios: local worker processes or a Dask cluster, resumable.

Workers receive data (a validated :class:`Case`, picklable) and return a
:class:`SolveResult` (plain pandas). Local workers also write the folder of each scenario
they solve (:class:`~.runners.Destination`), so the workbooks of a batch are written in
parallel rather than one after the other here; a Dask cluster's workers share no disk with
this process, the client, which writes their folders. A scenario is *done* when its
``summary.json`` exists (written last, atomically) with the scenario's input hash;
``resume`` skips those and runs the rest, so a batch killed at any moment and resumed ends
with the same summary and recomputes nothing that had finished.

Consecutive scenarios of a sweep form a *chain*: each one starts from the previous one's
plan (see :mod:`svcplan.solver.warmstart`). A long sweep is cut into as many contiguous chains as
there are workers so that chains run in parallel. Each worker solves with one HiGHS thread.
With ``reuse`` (the frontier) a chain runs as one task in one worker
(:func:`.runners.solve_chain`), so what a point learned stays in that process for the
next: when only budgets differ the model is not rebuilt and the bound starts from the last
point's prices and LP basis (:mod:`svcplan.solver.sweep`); the client records a chain's
points when its task returns. On workers that pair up (local processes or a Dask cluster),
such a sweep is instead solved from both ends (:mod:`.meet`): two workers walk toward each
other, so the split follows the work, and each point is recorded as soon as it is solved.

Ctrl-C stops a batch cleanly (a request the loop reads between scenarios,
:class:`~svcplan.solver.interrupts.Deferred`): the running solves are ended
and not recorded, every finished scenario keeps its folder, no summary file is written, and
``resume`` later runs the rest.
"""

from __future__ import annotations

import os
import signal
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..case.case import Case
from ..outputs.excel import write_xlsx
from ..outputs.files import read_table, write_csv
from ..outputs.result import SolveResult
from ..solver.interrupts import Deferred
from .folders import all_written, folder_names, is_done
from .meet import run_both_ends
from .on_dask import DaskRunner
from .runners import WORKER_CRASHED, Destination, LocalRunner, Runner, error_result
from .runners import solve_task as solve_task  # what a worker runs; imported from here by scripts
from .scenarios import BASE, Planned, Scenario, check, plan
from .summary import collect

#: The runners this module starts (module names, so a test can put an in-process one here).
_Local, _Dask = LocalRunner, DaskRunner
#: A task that broke its worker process this many times is recorded as crashed.
MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class BatchOptions:
    """How to run: solver controls (part of every input hash) and where to run.

    The solver controls are checked and held as floats, so ``time_limit=20`` from Python and
    ``--time-limit 20`` from the command line are one setting (and one input hash).
    """

    time_limit: float | None = None
    mip_gap: float | None = None
    workers: int | None = None
    dask: str | None = None
    resume: bool = False
    warm: bool = True
    #: run each warm chain as one task, so the model, prices and LP basis of one point serve
    #: the next (:mod:`svcplan.solver.sweep`); the frontier does. Ctrl-C then ends a running
    #: chain as a whole (its points are re-run by ``resume``) instead of between points.
    reuse: bool = False
    #: a table longer than this stays out of each scenario's results.xlsx (in its CSV only);
    #: None: as many rows as an Excel sheet holds. Not a solver control: not in the hash.
    xlsx_rows: int | None = None

    def __post_init__(self) -> None:
        if self.xlsx_rows is not None and (isinstance(self.xlsx_rows, bool)
                                           or not isinstance(self.xlsx_rows, int)
                                           or self.xlsx_rows < 0):
            raise ValueError(f"xlsx_rows must be a whole number >= 0, got {self.xlsx_rows!r}")
        for name in ("time_limit", "mip_gap"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
            object.__setattr__(self, name, float(value))

    def solve_options(self) -> dict[str, Any]:
        return {"time_limit": self.time_limit, "mip_gap": self.mip_gap}

    def given_solve_options(self) -> dict[str, Any]:
        """The solver controls that were set: what a worker passes to ``solve``."""
        return {k: v for k, v in self.solve_options().items() if v is not None}


@dataclass
class BatchResult:
    """The summary (one row per scenario, with the comparison to the base) and the exit code."""

    summary: pd.DataFrame
    out: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0
    #: Stopped by Ctrl-C: ``summary`` has the finished scenarios only, no summary file was
    #: written, and ``total`` says how many the whole batch has.
    interrupted: bool = False
    total: int = 0

    @property
    def exit_code(self) -> int:
        if self.interrupted:
            return 130  # the shell's code for a run ended by Ctrl-C (128 + SIGINT)
        return 0 if self.summary["has_plan"].all() else 1


def with_base(scenarios: list[Scenario], chains: dict[str, str]) -> list[Scenario]:
    """Scenarios with an unchanged ``base`` first if the file has none (comparisons need it)."""
    if any(s.name == BASE for s in scenarios):
        return scenarios
    chains[BASE] = f"scenario:{BASE}"
    return [Scenario(name=BASE), *scenarios]


def split_chains(planned: list[Planned], workers: int, warm: bool) -> list[list[Planned]]:
    """Group runnable scenarios into chains; a sweep is cut into ``workers`` contiguous parts."""
    by_chain: dict[str, list[Planned]] = {}
    for p in planned:
        by_chain.setdefault(p.chain if warm else p.name, []).append(p)
    chains = []
    for members in by_chain.values():
        k = max(1, min(workers, len(members)))
        size = -(-len(members) // k)
        chains += [members[i : i + size] for i in range(0, len(members), size)]
    return chains


def run_batch(
    case: Case,
    scenarios: list[Scenario],
    chains: dict[str, str],
    out: str | Path,
    options: BatchOptions | None = None,
    on_progress: Callable[[str, SolveResult | None, int, int], None] | None = None,
    add_base: bool = True,
) -> BatchResult:
    """Check, plan and run the scenarios; write one folder each plus summary.csv/.xlsx.

    Raises :class:`~.scenarios.ScenarioError` (before anything runs) for an invalid
    scenario file. ``on_progress(name, result, done, total)`` is called after each scenario
    (result None for one skipped by ``resume``). ``add_base`` puts an unchanged ``base``
    first when the file has none, so every scenario can be compared with it.
    """
    opts = options or BatchOptions()
    t0 = time.perf_counter()
    out = Path(out)
    if add_base:
        scenarios = with_base(scenarios, chains)
    check(case, scenarios)
    # the workers start now, so they load svcplan while this process plans the scenarios
    # (validating every scenario's case: ~2 s for an 11-point frontier of the demo), unless
    # a resumed batch looks finished: then they start only if planning finds work left
    folders = folder_names([s.name for s in scenarios])  # a planned scenario keeps its name
    early = not (opts.resume and all_written(out, folders))
    runner = _runner(opts, len(scenarios)) if early else None
    try:
        planned = plan(case, scenarios, chains, opts.solve_options())
        out.mkdir(parents=True, exist_ok=True)
        books = _Books(out, folders, opts, BatchResult(pd.DataFrame(), out), len(planned),
                       on_progress)
        # Ctrl-C: a request, not an exception; as before, also where the process was
        # started ignoring it (in the background), so `kill -INT` still stops it cleanly
        with Deferred(signal.SIGINT, even_if_ignored=True) as stop:
            runnable = books.to_run(planned, case.name)
            interrupted = stop.requested
            if runnable and not interrupted:
                runner = runner or _runner(opts, len(runnable))
                interrupted = not _run_chains(runner, books, planned, runnable, stop)
    finally:
        if runner is not None:
            runner.close()
    res = books.res
    res.total = books.total
    finished = {*res.ran, *res.skipped}
    res.summary = collect(out, [(p.name, folders[p.name]) for p in planned
                                if not interrupted or p.name in finished])
    res.seconds = time.perf_counter() - t0
    if interrupted:  # no summary file: it would look like the batch's result
        res.interrupted = True
        return res
    write_csv(res.summary, out / "summary.csv")
    write_xlsx(out / "summary.xlsx", {"summary": res.summary}, freeze="B2")  # scenario stays in view
    return res


@dataclass
class _Books:
    """What one batch run has recorded, and where each scenario's folder goes.

    ``res`` collects the names of the scenarios run (``ran``) and skipped by ``resume``
    (``skipped``); after each, ``on_progress(name, result, done, total)`` hears of it.
    """

    out: Path
    folders: dict[str, str]
    opts: BatchOptions
    res: BatchResult
    total: int
    on_progress: Callable[[str, SolveResult | None, int, int], None] | None = None

    def destination(self, p: Planned) -> Destination:
        """Where scenario ``p``'s folder is written, and what its summary.json records."""
        return Destination(self.out / self.folders[p.name], p.name, p.input_hash, p.error or "",
                           p.scenario.model_dump(by_alias=True), self.opts.xlsx_rows)

    def targets(self, runner: Runner, members: list[Planned]) -> list[Destination] | None:
        """Where the runner's workers write these scenarios' folders; None where the client
        writes them (a Dask cluster's workers share no disk with it)."""
        return [self.destination(p) for p in members] if runner.writes_outputs else None

    def record(self, p: Planned, r: SolveResult, written: bool = False) -> None:
        """Scenario ``p`` ran with result ``r`` (``written``: its worker wrote the folder)."""
        if not written:
            self.destination(p).write(r)
        self.res.ran.append(p.name)
        self._progress(p.name, r)

    def to_run(self, planned: list[Planned], case_name: str) -> list[Planned]:
        """Scenarios to run: those ``resume`` finds done are skipped and ones whose change
        made the case invalid are recorded as errors right away."""
        runnable = []
        for p in planned:
            if self.opts.resume and is_done(self.out / self.folders[p.name], p.input_hash):
                self.res.skipped.append(p.name)
                self._progress(p.name, None)
            elif p.case is None:
                self.record(p, error_result(case_name, p.error))
            else:
                runnable.append(p)
        return runnable

    def _progress(self, name: str, r: SolveResult | None) -> None:
        if self.on_progress:
            self.on_progress(name, r, len(self.res.ran) + len(self.res.skipped), self.total)


def _runner(opts: BatchOptions, n_tasks: int) -> Runner:
    """The workers: a Dask cluster's, or local processes (at most one per task)."""
    return _Dask(opts.dask) if opts.dask else _Local(_n_workers(opts, n_tasks))


def _n_workers(opts: BatchOptions, n_tasks: int) -> int:
    return max(1, min(opts.workers or os.cpu_count() or 1, n_tasks))


def _run_chains(runner: Runner, books: _Books, planned: list[Planned], runnable: list[Planned],
                stop: Deferred) -> bool:
    """Submit the head of every chain (with ``reuse``: the whole rest of it, as one task);
    when a task finishes, the chain goes on from its last plan.

    Returns False when Ctrl-C stopped the run: the running solves are ended and not recorded
    (a cut-short result recorded with the scenario's input hash would count as done).
    """
    try:
        workers = books.opts.workers or runner.workers
        if _from_both_ends(runner, runnable, books.opts, workers):
            runnable = _both_ends(runner, books, runnable, workers, stop)
        if runnable and not stop.requested:
            _Chains(runner, books, planned, runnable, stop).run()
    except KeyboardInterrupt:  # not in the main thread: no handler, the exception instead
        stop.requested = True
    if stop.requested:
        runner.stop()
    return not stop.requested


def _from_both_ends(runner: Runner, runnable: list[Planned], opts: BatchOptions, workers: int) -> bool:
    """A sweep whose chain runs as one task (``reuse``) is solved from both ends
    (:mod:`.meet`; local workers or a Dask cluster) when it is one chain of at least 3
    points and the workers pair up (an even number)."""
    return (opts.reuse and opts.warm and hasattr(runner, "both_ends") and workers >= 2
            and workers % 2 == 0 and len(runnable) >= 3
            and len({p.chain for p in runnable}) == 1)


def _both_ends(runner: Runner, books: _Books, runnable: list[Planned], workers: int,
               stop: Deferred) -> list[Planned]:
    """Solve the sweep in ``workers / 2`` contiguous segments, each from both ends; returns
    the points left unsolved because a worker process broke (the pool is restarted and the
    caller runs them as chains) or a stop was requested."""
    segments = split_chains(runnable, workers // 2, warm=True)
    done = run_both_ends(runner, [[p.case for p in seg] for seg in segments],
                         books.opts.given_solve_options(),
                         lambda k, i, r: books.record(segments[k][i], r,
                                                      written=runner.writes_outputs),
                         lambda: stop.requested,
                         [books.targets(runner, seg) for seg in segments])
    left = [p for k, seg in enumerate(segments) for i, p in enumerate(seg) if (k, i) not in done]
    if left and not stop.requested:
        runner.restart()
    return left


class _Chains:
    """The scheduling loop of :func:`_run_chains`: chains of scenarios on the runner's workers.

    A task is a chain from a position on (with ``reuse`` and ``warm``: the rest of the
    chain, else one scenario), started from the plan of the scenario before it. When a
    task returns, its chain goes on where it ended. When a worker process breaks, every
    task it took with it is tried again, one task at a time from then on (so the culprit
    is known), and a task that broke its worker ``MAX_ATTEMPTS`` times is recorded as
    crashed. :meth:`run` returns early when a stop is requested.
    """

    def __init__(self, runner: Runner, books: _Books, planned: list[Planned], runnable: list[Planned],
                 stop: Deferred) -> None:
        self.runner, self.books, self.stop = runner, books, stop
        opts = books.opts
        workers = opts.workers or runner.workers
        self.chains = split_chains(runnable, workers, opts.warm)
        # each scenario's predecessor in its whole chain, scenarios done earlier included
        self.prev_of = {b.name: a for members in split_chains(planned, workers, opts.warm)
                        for a, b in zip(members[:-1], members[1:], strict=True)}
        self.solve_kw = opts.given_solve_options()
        self.plans: dict[str, pd.DataFrame | None] = {}
        self.pending: dict[Any, tuple[int, int, int]] = {}  # future -> (chain, position, attempts)
        self.queue: deque[tuple[int, int, int]] = deque((ci, 0, 0) for ci in range(len(self.chains)))
        self.isolate = False  # after a crash: one task at a time

    def run(self) -> None:
        """Submit, collect and resubmit until every chain is done or a stop is requested."""
        self.fill()
        while self.pending and not self.stop.requested:
            broken = []
            for fut in self.runner.wait(list(self.pending)):
                ci, pos, attempts = self.pending.pop(fut)
                try:
                    r = self.runner.result(fut)
                except BrokenProcessPool:
                    broken.append((ci, pos, attempts + 1))
                    continue
                self.finish(ci, pos, r, written=self.runner.writes_outputs)
            if broken:
                self.retry(broken)
            if not self.stop.requested:
                self.fill()

    def start_for(self, p: Planned) -> pd.DataFrame | None:
        """The plan ``p`` starts from: its predecessor's (read back from its folder when an
        earlier run solved it), None without one or without ``warm``."""
        prev = self.prev_of.get(p.name) if self.books.opts.warm else None
        if prev is None:
            return None
        if prev.name not in self.plans:
            folder = self.books.out / self.books.folders[prev.name]
            self.plans[prev.name] = read_table(folder, "assignment.csv")
        return self.plans[prev.name]

    def fill(self) -> None:
        """Submit queued tasks (after a crash: only while none is running)."""
        opts = self.books.opts
        while self.queue and not (self.isolate and self.pending):
            ci, pos, attempts = self.queue.popleft()
            members = self.chains[ci][pos:] if opts.reuse and opts.warm else [self.chains[ci][pos]]
            fut = self.runner.submit([p.case for p in members], self.start_for(members[0]),
                                     self.solve_kw, self.books.targets(self.runner, members))
            self.pending[fut] = (ci, pos, attempts)

    def finish(self, ci: int, pos: int, results: list[SolveResult], written: bool) -> None:
        """Record a task's results; its chain goes on after them."""
        for k, r in enumerate(results):
            p = self.chains[ci][pos + k]
            self.plans[p.name] = r.assignment if r.has_plan else None
            self.books.record(p, r, written=written)
        if pos + len(results) < len(self.chains[ci]):
            self.queue.append((ci, pos + len(results), 0))

    def retry(self, broken: list[tuple[int, int, int]]) -> None:
        """A worker process broke: restart the pool, and queue again the tasks it took with
        it (those still running count an attempt too) or record them as crashed."""
        self.runner.restart()
        broken += [(ci, pos, a + 1) for ci, pos, a in self.pending.values()]
        self.pending.clear()
        for ci, pos, attempts in sorted(broken):
            if attempts >= MAX_ATTEMPTS or (self.isolate and len(broken) == 1):
                p = self.chains[ci][pos]
                self.finish(ci, pos, [error_result(p.case.name, WORKER_CRASHED)], written=False)
            else:
                self.queue.appendleft((ci, pos, attempts))
        self.isolate = True
