"""HiGHS, behind one door: the only module that imports highspy.

Every other module hands this one a solver-neutral
:class:`~svcplan.formulation.standard_form.StandardForm` and gets plain numpy back:

- :func:`solve_lp` — an LP (relaxation, local LP of the marginals) with primal and duals;
- :func:`solve_mip` — a MIP (the main branch-and-bound, a search sub-model, a completion of
  a given plan, the elastic model of an explanation), with an honest :class:`Status`;
- :class:`RepricedBlocks` — independent LPs kept in HiGHS while their objective changes
  (pricing rounds), solved side by side on threads;
- :func:`write_model` — the model as HiGHS would solve it, to ``.mps`` or ``.lp``.

Here live the HiGHS options, the banner, Ctrl-C and deadline handling
(:func:`_run_interruptible`) and the mapping of HiGHS's model status onto ours.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np

from ..formulation.standard_form import StandardForm
from .status import Status

_INF = highspy.kHighsInf
_FEASIBLE = 2  # HiGHS kSolutionStatusFeasible
_KINDS = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)


@dataclass
class LpSolution:
    """An LP's answer: ``optimal`` with primal ``x``, reduced costs and row duals, or not."""

    optimal: bool
    x: np.ndarray | None = None
    col_dual: np.ndarray | None = None
    row_dual: np.ndarray | None = None
    objective: float | None = None
    message: str = ""
    interrupted: bool = False
    basis: object | None = None  # HiGHS's optimal basis, opaque: handed back to solve_lp
    infeasible: bool = False  # HiGHS proved that the LP has no solution
    out_of_time: bool = False  # HiGHS stopped at its time limit (``seconds``)


@dataclass
class MipSolution:
    """A MIP's answer, mapped onto :class:`Status`; ``x`` is every column (None: no plan)."""

    status: Status
    x: np.ndarray | None
    objective: float | None
    bound: float | None
    gap: float | None
    message: str
    interrupted: bool = False


@contextlib.contextmanager
def _fd_silenced(fd: int):
    """Silence a C-level file descriptor (stdout) for the duration of the block."""
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _new_highs(threads: int | None = None, log: bool = False) -> highspy.Highs:
    """A HiGHS instance with our options. HiGHS prints a banner when it is constructed,
    before any option can silence it; we route it away unless logging."""
    if log:
        h = highspy.Highs()
    else:
        with _fd_silenced(1):
            h = highspy.Highs()
    h.setOptionValue("output_flag", bool(log))
    if threads:
        h.setOptionValue("threads", int(threads))
    return h


def _highs_lp(sf: StandardForm, cost: np.ndarray | None = None) -> highspy.HighsLp:
    """The standard form as a HighsLp (maximisation); integrality only for a MIP."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = sf.n_cols, sf.n_rows
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.offset_ = float(sf.offset)
    lp.col_cost_ = np.asarray(sf.cost if cost is None else cost, dtype=float)
    lp.col_lower_ = np.clip(sf.col_lower, -_INF, _INF)
    lp.col_upper_ = np.clip(sf.col_upper, -_INF, _INF)
    lp.row_lower_ = np.clip(sf.row_lower, -_INF, _INF)
    lp.row_upper_ = np.clip(sf.row_upper, -_INF, _INF)
    A = sf.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    if sf.is_mip:
        lp.integrality_ = [_KINDS[i] for i in sf.integer.astype(int).tolist()]
    return lp


def _loaded(sf: StandardForm, threads: int | None, log: bool = False) -> highspy.Highs:
    h = _new_highs(threads, log)
    h.passModel(_highs_lp(sf))
    return h


def _run_interruptible(
    h: highspy.Highs, cancel: bool = False, deadline: float | None = None
) -> bool:
    """Run HiGHS in its worker thread so Ctrl-C stops the search instead of killing us.

    The main thread waits in short slices; a ``KeyboardInterrupt`` (SIGINT) asks HiGHS to
    stop at its next interrupt check (``cancelSolve``) and we keep waiting, so the caller
    still gets the incumbent, the bound and an honest status. Returns True if interrupted.
    ``cancel`` stops at once (Ctrl-C came during an earlier phase): HiGHS still reports the
    solution it was given. ``deadline`` (a ``time.perf_counter()`` value) is enforced here
    too: on large MIPs HiGHS checks its own ``time_limit`` only between phases and was
    seen to run 575 s past a 140 s limit (300k binaries, presolve and root LP).
    """
    h.HandleUserInterrupt = True
    thread = h.startSolve()
    if cancel:
        h.cancelSolve()
    interrupted = timed_out = False
    while True:
        try:
            done, _ = h.wait(0.1)
        except KeyboardInterrupt:
            interrupted = True
            h.cancelSolve()
            continue
        if done:
            break
        if deadline is not None and not timed_out and time.perf_counter() > deadline:
            timed_out = True
            h.cancelSolve()
    thread.join()
    return interrupted


def _lp_answer(h: highspy.Highs, interrupted: bool, keep_basis: bool = False) -> LpSolution:
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        return LpSolution(False, message=h.modelStatusToString(status), interrupted=interrupted,
                          infeasible=status == highspy.HighsModelStatus.kInfeasible,
                          out_of_time=status == highspy.HighsModelStatus.kTimeLimit)
    sol = h.getSolution()
    return LpSolution(True, np.asarray(sol.col_value), np.asarray(sol.col_dual),
                      np.asarray(sol.row_dual, dtype=float),
                      float(h.getInfo().objective_function_value), interrupted=interrupted,
                      basis=h.getBasis() if keep_basis else None)


def solve_lp(
    sf: StandardForm, *, threads: int | None = None, method: str | None = None,
    seconds: float | None = None, deadline: float | None = None,
    row_shift: dict[int, float] | None = None, basis: object | None = None,
    keep_basis: bool = False,
) -> LpSolution:
    """Solve the LP relaxation of ``sf``. ``method``: ``"ipm"`` or ``"simplex"`` (HiGHS's
    choice if None); ``seconds`` is HiGHS's own limit, ``deadline`` ours (see
    :func:`_run_interruptible`); ``row_shift`` adds to both bounds of rows by position.
    ``basis`` (an earlier answer's ``basis``, same rows and columns) starts dual simplex
    there; ``keep_basis`` returns the optimal basis with the answer."""
    h = _loaded(sf.relaxed(), threads)
    if basis is not None:
        method = "simplex"
        h.setBasis(basis)
    if method:
        h.setOptionValue("solver", method)
    if seconds is not None:
        h.setOptionValue("time_limit", max(0.01, float(seconds)))
    for k, delta in (row_shift or {}).items():
        h.changeRowBounds(int(k), float(sf.row_lower[k] + delta), float(sf.row_upper[k] + delta))
    return _lp_answer(h, _run_interruptible(h, deadline=deadline), keep_basis)


class RepricedBlocks:
    """Independent LPs re-solved by HiGHS (dual simplex) after each change of objective:
    the sparse rest of a model whose dense rows are priced (:mod:`.pricing`), split into
    product blocks (:mod:`.decompose`; one block when it does not split).

    Only each block's LP and its last optimal basis are kept between rounds; a round gives
    every block a fresh HiGHS instance started from that basis. A solved instance keeps
    ~200 bytes per nonzero of workspace: 2.4 GB over the 176 blocks of the 1M case if they
    all stayed alive, 80 MB this way, for a round time of 1.3–2.2 s instead of 0.9–1.2 s.
    Blocks are solved side by side on ``workers`` threads: HiGHS releases the GIL while it
    runs, so threads share the model's memory with no copy, and each instance runs on one
    thread. (highspy's ``startSolve`` cannot be used here: its locks are class attributes,
    so two instances cannot run at once through it.) Ctrl-C or the deadline stops the
    round: no further block starts.
    """

    def __init__(self, blocks: Iterable[tuple[np.ndarray, StandardForm]], n_cols: int,
                 workers: int | None = None):
        self._cols: list[np.ndarray] = []
        self._lps: list[highspy.HighsLp] = []
        self._bases: list[object | None] = []
        self._n_cols = n_cols
        self._threads = workers or os.cpu_count() or 1
        self.add(blocks)

    def add(self, blocks: Iterable[tuple[np.ndarray, StandardForm]]) -> None:
        """Hold more blocks. Each is kept as its HiGHS LP only, so a lazy ``blocks``
        (:func:`svcplan.solver.decompose.split`) never has more than one alive here; on a
        Dask cluster the blocks arrive in chunks (:mod:`.cluster`)."""
        for cols, part in blocks:
            self._cols.append(np.asarray(cols))
            self._lps.append(_highs_lp(part.relaxed()))
            self._bases.append(None)

    @property
    def n_blocks(self) -> int:
        return len(self._lps)

    @property
    def _workers(self) -> int:
        return max(1, min(self._threads, self.n_blocks))

    def solve(self, cost: np.ndarray, seconds: float | None, deadline: float | None) -> LpSolution:
        """Every block at objective ``cost`` (one entry per column of the whole model).

        The answer is the blocks' answers side by side: ``x`` and ``col_dual`` per column of
        the whole model (0 for columns in no block), ``objective`` their sum (no offset);
        optimal only if every block is."""
        cost = np.asarray(cost, dtype=float)
        if deadline is None and seconds is not None:
            deadline = time.perf_counter() + seconds
        x, dual = np.zeros(self._n_cols), np.zeros(self._n_cols)
        answers: list[tuple[bool, str, float]] = [(False, "not run", 0.0)] * self.n_blocks

        def run(k: int) -> None:
            if stop:
                return
            h = self._instance(k, seconds)
            cols = self._cols[k]
            h.changeColsCost(len(cols), np.arange(len(cols), dtype=np.int32), cost[cols])
            h.run()
            status = h.getModelStatus()
            ok = status == highspy.HighsModelStatus.kOptimal
            if ok:
                sol = h.getSolution()
                x[cols], dual[cols] = sol.col_value, sol.col_dual
                self._bases[k] = h.getBasis()
            answers[k] = (ok, h.modelStatusToString(status),
                          float(h.getInfo().objective_function_value))

        # Ctrl-C or the deadline: no block starts any more; a running block is small and
        # ends within its time limit (its instance has no interrupt callback, see below)
        stop = interrupted = False
        with ThreadPoolExecutor(self._workers) as pool:
            futures = [pool.submit(run, k) for k in range(self.n_blocks)]
            pending = set(futures)
            while pending:
                try:
                    _, pending = wait(pending, timeout=0.1)
                except KeyboardInterrupt:
                    stop = interrupted = True
                    continue
                if deadline is not None and time.perf_counter() > deadline:
                    stop = True
        for future in futures:
            future.result()  # a block that raised raises here
        failed = [message for ok, message, _ in answers if not ok]
        if failed:
            return LpSolution(False, message=failed[0], interrupted=interrupted)
        objective = sum(value for _, _, value in answers)
        return LpSolution(True, x, dual, None, objective, interrupted=interrupted)

    def close(self) -> None:
        """Nothing to release: no HiGHS instance outlives a round."""

    def _instance(self, k: int, seconds: float | None) -> highspy._core._Highs:
        """A fresh instance of block ``k``, started from its last optimal basis.

        highspy's own ``Highs`` class would hold its interrupt callbacks, and they it: a
        reference cycle, so every block's workspace would wait for the garbage collector.
        The bare class has no callbacks (and prints no banner): freed when ``run`` ends."""
        h = highspy._core._Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("solver", "simplex")
        # presolve of a block costs more than it saves (at 1M binaries the first solve of
        # the blocks took 15.2 s with it, 7.5 s without)
        h.setOptionValue("presolve", "off")
        if seconds is not None:
            h.setOptionValue("time_limit", max(0.5, float(seconds)))
        h.passModel(self._lps[k])
        if self._bases[k] is not None:
            h.setBasis(self._bases[k])
        return h


def solve_mip(
    sf: StandardForm, *, threads: int | None = None, log: bool = False,
    rel_gap: float | None = None, abs_gap: float | None = None,
    seconds: float | None = None, deadline: float | None = None,
    start: np.ndarray | None = None, cancel: bool = False, target: float | None = None,
) -> MipSolution:
    """Solve ``sf`` as a MIP (an LP if it has no integer column) and classify the outcome.

    ``start`` (every column) is handed to HiGHS as its first incumbent; ``cancel`` stops
    at once (HiGHS still reports that incumbent); ``target``: stop at the first plan worth
    more than this (HiGHS's ``objective_target``). Gaps and limits left None keep HiGHS's
    defaults. Never "unknown": a plan without a proof is ``feasible``, no plan ``error``.
    An answer whose columns do not give its objective is never returned: on a tiny case
    HiGHS, started from a plan, reported the optimum (−1) but handed back the start's
    columns (−2); the MIP is then solved again without the start.
    """
    until = None if seconds is None else time.perf_counter() + float(seconds)
    out = _solve_mip_once(sf, threads, log, rel_gap, abs_gap, seconds, deadline, start, cancel,
                          target)
    if start is None or out.x is None or out.interrupted or abs(
            sf.objective(out.x) - out.objective) <= 1e-7 * max(1.0, abs(out.objective)):
        return out
    left = None if until is None else max(1.0, until - time.perf_counter())
    return _solve_mip_once(sf, threads, log, rel_gap, abs_gap, left, deadline, None, cancel, target)


def _solve_mip_once(
    sf: StandardForm, threads: int | None, log: bool, rel_gap: float | None,
    abs_gap: float | None, seconds: float | None, deadline: float | None,
    start: np.ndarray | None, cancel: bool, target: float | None = None,
) -> MipSolution:
    h = _loaded(sf, threads, log)
    if target is not None:
        h.setOptionValue("objective_target", float(target))
    if rel_gap is not None:
        h.setOptionValue("mip_rel_gap", float(rel_gap))
    if abs_gap is not None:
        h.setOptionValue("mip_abs_gap", float(abs_gap))
    if seconds is not None:
        h.setOptionValue("time_limit", max(0.01, float(seconds)))
    if start is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(start)
        sol.value_valid = True
        h.setSolution(sol)
    interrupted = _run_interruptible(h, cancel=cancel, deadline=deadline)
    return _mip_answer(h, sf.is_mip, interrupted)


def _mip_answer(h: highspy.Highs, is_mip: bool, interrupted: bool) -> MipSolution:
    S = highspy.HighsModelStatus
    ms = h.getModelStatus()
    info = h.getInfo()
    has_plan = info.primal_solution_status == _FEASIBLE
    objective = float(info.objective_function_value) if has_plan else None
    bound = float(info.mip_dual_bound) if is_mip else objective
    gap = None
    if has_plan:
        gap = float(info.mip_gap) if is_mip else 0.0
        if not np.isfinite(gap):
            gap = None
    if ms == S.kOptimal:
        status = Status.OPTIMAL
    elif ms == S.kInfeasible:
        status = Status.INFEASIBLE
    elif ms in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit):
        status = Status.TIME_LIMIT
    elif ms in (S.kInterrupt, S.kHighsInterrupt, S.kObjectiveBound, S.kObjectiveTarget):
        status = Status.FEASIBLE if has_plan else Status.TIME_LIMIT
    elif ms == S.kUnboundedOrInfeasible and not has_plan:
        status = Status.INFEASIBLE
    else:
        status = Status.FEASIBLE if has_plan else Status.ERROR
    if bound is not None and not np.isfinite(bound):
        bound = None
    x = np.asarray(h.getSolution().col_value) if has_plan else None
    return MipSolution(status, x, objective, bound, gap, h.modelStatusToString(ms),
                       interrupted=interrupted)


def write_model(sf: StandardForm, path: Path) -> None:
    """Write the model as HiGHS solves it (``.mps`` or ``.lp`` by the file's suffix)."""
    h = _loaded(sf, None)
    h.writeModel(str(path))
