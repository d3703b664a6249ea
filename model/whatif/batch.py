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

import json
import os
import re
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
from ..case.schema import ID_DTYPES
from ..outputs.excel import write_xlsx
from ..outputs.files import CSV_ENCODING, write_csv
from ..outputs.result import SolveResult
from ..solver.interrupts import Deferred
from .meet import run_both_ends
from .on_dask import DaskRunner
from .runners import Destination, LocalRunner, error_result
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


def folder_names(names: list[str]) -> dict[str, str]:
    """A safe, unique folder name per scenario (``budget=0.8`` stays readable)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        safe = re.sub(r"[^\w.=,+-]+", "_", name).strip("._") or "scenario"
        candidate, k = safe, 2
        while candidate.lower() in used:
            candidate, k = f"{safe}-{k}", k + 1
        used.add(candidate.lower())
        out[name] = candidate
    return out


def is_done(folder: Path, input_hash: str) -> bool:
    """A scenario is done when summary.json exists and records the same input hash."""
    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return data.get("input_hash") == input_hash


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
    early = not (opts.resume and _all_written(out, folders))
    runner = _runner(opts, len(scenarios)) if early else None
    try:
        planned = plan(case, scenarios, chains, opts.solve_options())
        out.mkdir(parents=True, exist_ok=True)
        total = len(planned)
        res = BatchResult(pd.DataFrame(), out)

        def destination(p: Planned) -> Destination:
            return Destination(out / folders[p.name], p.name, p.input_hash, p.error or "",
                               p.scenario.model_dump(by_alias=True), opts.xlsx_rows)

        def record(p: Planned, r: SolveResult, written: bool = False) -> None:
            """``written``: the worker that solved it wrote its folder already."""
            if not written:
                destination(p).write(r)
            res.ran.append(p.name)
            if on_progress:
                on_progress(p.name, r, len(res.ran) + len(res.skipped), total)

        # Ctrl-C: a request, not an exception; as before, also where the process was
        # started ignoring it (in the background), so `kill -INT` still stops it cleanly
        with Deferred(signal.SIGINT, even_if_ignored=True) as stop:
            runnable = _skip_done(planned, folders, out, opts, res, record, on_progress, case.name)
            interrupted = stop.requested
            if runnable and not interrupted:
                runner = runner or _runner(opts, len(runnable))
                interrupted = not _run_chains(runner, planned, runnable, folders, out, opts,
                                              record, destination, stop)
    finally:
        if runner is not None:
            runner.close()
    res.total = total
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


def _skip_done(planned, folders, out, opts, res, record, on_progress, name) -> list[Planned]:
    """Scenarios to run: those ``resume`` finds done are skipped and ones whose change made the
    case invalid are recorded as errors right away."""
    runnable = []
    for p in planned:
        if opts.resume and is_done(out / folders[p.name], p.input_hash):
            res.skipped.append(p.name)
            if on_progress:
                on_progress(p.name, None, len(res.ran) + len(res.skipped), len(planned))
        elif p.case is None:
            record(p, error_result(name, p.error))
        else:
            runnable.append(p)
    return runnable


def _all_written(out: Path, folders: dict[str, str]) -> bool:
    """Every scenario's folder holds a summary.json (whether each is done for these inputs is
    known only once planned: :func:`is_done`)."""
    return all((out / folder / "summary.json").exists() for folder in folders.values())


def _runner(opts: BatchOptions, n_tasks: int):
    """The workers: a Dask cluster's, or local processes (at most one per task)."""
    return _Dask(opts.dask) if opts.dask else _Local(_n_workers(opts, n_tasks))


def _n_workers(opts: BatchOptions, n_tasks: int) -> int:
    return max(1, min(opts.workers or os.cpu_count() or 1, n_tasks))


def _run_chains(runner, planned, runnable, folders, out, opts, record, destination,
                stop: Deferred) -> bool:
    """Submit the head of every chain (with ``reuse``: the whole rest of it, as one task);
    when a task finishes, the chain goes on from its last plan.

    Returns False when Ctrl-C stopped the run: the running solves are ended and not recorded
    (a cut-short result recorded with the scenario's input hash would count as done).
    """
    try:
        workers = opts.workers or runner.workers
        if _from_both_ends(runner, runnable, opts, workers):
            runnable = _both_ends(runner, runnable, workers, opts, record, destination, stop)
        if runnable and not stop.requested:
            _chain_loop(runner, planned, runnable, folders, out, opts, record, destination, stop)
    except KeyboardInterrupt:  # not in the main thread: no handler, the exception instead
        stop.requested = True
    if stop.requested:
        runner.stop()
    return not stop.requested


def _from_both_ends(runner, runnable: list[Planned], opts: BatchOptions, workers: int) -> bool:
    """A sweep whose chain runs as one task (``reuse``) is solved from both ends
    (:mod:`.meet`; local workers or a Dask cluster) when it is one chain of at least 3
    points and the workers pair up (an even number)."""
    return (opts.reuse and opts.warm and hasattr(runner, "both_ends") and workers >= 2
            and workers % 2 == 0 and len(runnable) >= 3
            and len({p.chain for p in runnable}) == 1)


def _both_ends(runner, runnable: list[Planned], workers: int, opts: BatchOptions, record,
               destination, stop: Deferred) -> list[Planned]:
    """Solve the sweep in ``workers / 2`` contiguous segments, each from both ends; returns
    the points left unsolved because a worker process broke (the pool is restarted and the
    caller runs them as chains) or a stop was requested."""
    segments = split_chains(runnable, workers // 2, warm=True)
    solve_kw = opts.given_solve_options()
    done = run_both_ends(runner, [[p.case for p in seg] for seg in segments], solve_kw,
                         lambda k, i, r: record(segments[k][i], r, written=runner.writes_outputs),
                         lambda: stop.requested,
                         [_targets(runner, seg, destination) for seg in segments])
    left = [p for k, seg in enumerate(segments) for i, p in enumerate(seg) if (k, i) not in done]
    if left and not stop.requested:
        runner.restart()
    return left


def _targets(runner, members: list[Planned], destination) -> list[Destination] | None:
    """Where the runner's workers write these scenarios' folders; None where the client
    writes them (a Dask cluster's workers share no disk with it)."""
    return [destination(p) for p in members] if runner.writes_outputs else None


def _chain_loop(runner, planned, runnable, folders, out, opts, record, destination,
                stop: Deferred) -> None:
    """The scheduling loop of :func:`_run_chains`; it returns early when a stop is requested."""
    workers = opts.workers or runner.workers
    chains = split_chains(runnable, workers, opts.warm)
    prev_of = {}
    for members in split_chains(planned, workers, opts.warm):
        for a, b in zip(members[:-1], members[1:], strict=True):
            prev_of[b.name] = a
    solve_kw = opts.given_solve_options()
    plans: dict[str, pd.DataFrame | None] = {}

    def start_for(p: Planned) -> pd.DataFrame | None:
        prev = prev_of.get(p.name) if opts.warm else None
        if prev is None:
            return None
        if prev.name not in plans:  # done in an earlier run: read its plan back
            f = out / folders[prev.name] / "assignment.csv"
            plans[prev.name] = pd.read_csv(f, dtype=ID_DTYPES, encoding=CSV_ENCODING) if f.exists() else None
        return plans[prev.name]

    pending = {}  # future -> (chain index, position, attempts)
    queue: deque[tuple[int, int, int]] = deque((ci, 0, 0) for ci in range(len(chains)))
    isolate = False  # after a crash: one task at a time, so the culprit is known

    def fill() -> None:
        while queue and not (isolate and pending):
            ci, pos, attempts = queue.popleft()
            members = chains[ci][pos:] if opts.reuse and opts.warm else [chains[ci][pos]]
            pending[runner.submit([p.case for p in members], start_for(members[0]), solve_kw,
                                  _targets(runner, members, destination))] = (ci, pos, attempts)

    def finish(ci: int, pos: int, results: list[SolveResult], written: bool) -> None:
        for k, r in enumerate(results):
            p = chains[ci][pos + k]
            plans[p.name] = r.assignment if r.has_plan else None
            record(p, r, written=written)
        if pos + len(results) < len(chains[ci]):
            queue.append((ci, pos + len(results), 0))

    fill()
    while pending and not stop.requested:
        broken = []
        for fut in runner.wait(list(pending)):
            ci, pos, attempts = pending.pop(fut)
            try:
                r = runner.result(fut)
            except BrokenProcessPool:
                broken.append((ci, pos, attempts + 1))
                continue
            finish(ci, pos, r, written=runner.writes_outputs)
        if broken:
            runner.restart()
            broken += [(ci, pos, a + 1) for ci, pos, a in pending.values()]
            pending.clear()
            for ci, pos, attempts in sorted(broken):
                if attempts >= MAX_ATTEMPTS or (isolate and len(broken) == 1):
                    p = chains[ci][pos]
                    finish(ci, pos, [error_result(p.case.name, "the worker process crashed")],
                           written=False)
                else:
                    queue.appendleft((ci, pos, attempts))
            isolate = True
        if not stop.requested:
            fill()

