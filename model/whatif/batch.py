"""Running a batch of scenarios: local worker processes or a Dask cluster, resumable.

Workers receive data (a validated :class:`Case`, picklable) and return a
:class:`SolveResult` (plain pandas); this process, the client, writes every output, so no
shared filesystem is assumed and a worker never leaves a half-written folder. A scenario
is *done* when its ``summary.json`` exists (written last, atomically) with the scenario's
input hash; ``resume`` skips those and runs the rest, so a batch killed at any moment and
resumed ends with the same summary and recomputes nothing that had finished.

Consecutive scenarios of a sweep form a *chain*: each one starts from the previous one's
plan (see :mod:`svcplan.solver.warmstart`). A long sweep is cut into as many contiguous chains as
there are workers so that chains run in parallel. Each worker solves with one HiGHS thread.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import time
import traceback
from collections import deque
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..api import solve
from ..case.case import Case
from ..case.schema import ID_DTYPES
from ..outputs.excel import write_xlsx
from ..outputs.files import CSV_ENCODING, write_csv, write_outputs
from ..outputs.result import SolveResult
from ..solver.status import Status
from .scenarios import BASE, Planned, Scenario, check, plan
from .summary import collect

#: A task that broke its worker process this many times is recorded as crashed.
MAX_ATTEMPTS = 2


@dataclass(frozen=True)
class BatchOptions:
    """How to run: solver controls (part of every input hash) and where to run."""

    time_limit: float | None = None
    mip_gap: float | None = None
    workers: int | None = None
    dask: str | None = None
    resume: bool = False
    warm: bool = True

    def solve_options(self) -> dict[str, Any]:
        return {"time_limit": self.time_limit, "mip_gap": self.mip_gap}


@dataclass
class BatchResult:
    """The summary (one row per scenario, with the comparison to the base) and the exit code."""

    summary: pd.DataFrame
    out: Path
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        return 0 if self.summary["has_plan"].all() else 1


def solve_task(case: Case, start: pd.DataFrame | None, options: dict[str, Any]) -> SolveResult:
    """What a worker runs: one single-threaded solve; any exception becomes an error result."""
    t0 = time.perf_counter()
    try:
        return solve(case, threads=1, start=start, **options)
    except Exception as exc:  # a worker must always answer: the batch goes on
        detail = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=3)}"
        return _error_result(case.name, detail, time.perf_counter() - t0)


def _error_result(name: str, message: str, seconds: float = 0.0) -> SolveResult:
    """The result of a scenario that could not be solved (invalid after its change, crashed
    worker, exception): recorded like any other, so the batch summary has a row for it."""
    return SolveResult(case_name=name, status=Status.ERROR, objective=None, bound=None, mip_gap=None,
                       build_seconds=0.0, solve_seconds=0.0, total_seconds=seconds, message=message)


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


class _Local:
    """Local worker processes; a crashed worker is replaced and its task retried once."""

    def __init__(self, workers: int):
        self.workers = workers
        self._ctx = mp.get_context("spawn")  # no fork of a process with threads (progress bar)
        self.pool = ProcessPoolExecutor(workers, mp_context=self._ctx)

    def submit(self, *args):
        return self.pool.submit(solve_task, *args)

    def wait(self, futures):
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        return done

    def result(self, fut) -> SolveResult:
        return fut.result()

    def restart(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.pool = ProcessPoolExecutor(self.workers, mp_context=self._ctx)

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


class _Dask:
    """An existing Dask distributed cluster (``tcp://host:port``); needs the ``dask`` extra."""

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the environment
            msg = "--dask needs the optional extra: pip install 'svcplan[dask]'"
            raise RuntimeError(msg) from exc
        self.client = Client(address, timeout="20s")
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def submit(self, *args):
        return self.client.submit(solve_task, *args, pure=False)

    def wait(self, futures):
        from distributed import wait as dwait

        return dwait(list(futures), return_when="FIRST_COMPLETED").done

    def result(self, fut) -> SolveResult:
        try:
            return fut.result()
        except Exception as exc:  # KilledWorker and friends: recorded, the batch goes on
            return _error_result("?", f"worker failed: {type(exc).__name__}: {exc}")

    def restart(self) -> None:  # Dask reschedules lost tasks itself
        pass

    def close(self) -> None:
        self.client.close()


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
    planned = plan(case, scenarios, chains, opts.solve_options())
    folders = folder_names([p.name for p in planned])
    out.mkdir(parents=True, exist_ok=True)
    total, finished = len(planned), 0
    res = BatchResult(pd.DataFrame(), out)

    def record(p: Planned, r: SolveResult) -> None:
        nonlocal finished
        extra = {"scenario": p.name, "input_hash": p.input_hash, "reason": p.error or "",
                 "warm_start": r.warm_start, "changes": p.scenario.model_dump(by_alias=True)}
        if not r.has_plan and not extra["reason"]:
            extra["reason"] = r.message
        write_outputs(r, out / folders[p.name], extra=extra)
        finished += 1
        res.ran.append(p.name)
        if on_progress:
            on_progress(p.name, r, finished, total)

    runnable = []
    for p in planned:
        if opts.resume and is_done(out / folders[p.name], p.input_hash):
            finished += 1
            res.skipped.append(p.name)
            if on_progress:
                on_progress(p.name, None, finished, total)
        elif p.case is None:
            record(p, _error_result(case.name, p.error))
        else:
            runnable.append(p)
    if runnable:
        runner = _Dask(opts.dask) if opts.dask else _Local(_n_workers(opts, len(runnable)))
        try:
            _run_chains(runner, planned, runnable, folders, out, opts, record)
        finally:
            runner.close()
    res.summary = collect(out, [(p.name, folders[p.name]) for p in planned])
    write_csv(res.summary, out / "summary.csv")
    write_xlsx(out / "summary.xlsx", {"summary": res.summary}, freeze="B2")  # scenario stays in view
    res.seconds = time.perf_counter() - t0
    return res


def _n_workers(opts: BatchOptions, n_tasks: int) -> int:
    return max(1, min(opts.workers or os.cpu_count() or 1, n_tasks))


def _run_chains(runner, planned, runnable, folders, out, opts, record) -> None:
    """Submit the head of every chain; when one finishes, its successor starts from its plan."""
    workers = opts.workers or runner.workers
    chains = split_chains(runnable, workers, opts.warm)
    prev_of = {}
    for members in split_chains(planned, workers, opts.warm):
        for a, b in zip(members[:-1], members[1:], strict=True):
            prev_of[b.name] = a
    solve_kw = {k: v for k, v in opts.solve_options().items() if v is not None}
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
            p = chains[ci][pos]
            pending[runner.submit(p.case, start_for(p), solve_kw)] = (ci, pos, attempts)

    def finish(ci: int, pos: int, r: SolveResult) -> None:
        p = chains[ci][pos]
        plans[p.name] = r.assignment if r.has_plan else None
        record(p, r)
        if pos + 1 < len(chains[ci]):
            queue.append((ci, pos + 1, 0))

    fill()
    while pending:
        broken = []
        for fut in runner.wait(list(pending)):
            ci, pos, attempts = pending.pop(fut)
            try:
                r = runner.result(fut)
            except BrokenProcessPool:
                broken.append((ci, pos, attempts + 1))
                continue
            finish(ci, pos, r)
        if broken:
            runner.restart()
            broken += [(ci, pos, a + 1) for ci, pos, a in pending.values()]
            pending.clear()
            for ci, pos, attempts in sorted(broken):
                if attempts >= MAX_ATTEMPTS or (isolate and len(broken) == 1):
                    p = chains[ci][pos]
                    finish(ci, pos, _error_result(p.case.name, "the worker process crashed"))
                else:
                    queue.appendleft((ci, pos, attempts))
            isolate = True
        fill()

