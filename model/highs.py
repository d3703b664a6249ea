"""Solving the Pyomo model with HiGHS, and mapping every outcome to an honest status.

The model is defined once, in Pyomo. It is handed to HiGHS as one standard-form matrix
(Pyomo's ``LinearStandardFormCompiler`` → ``highspy.passModel``) instead of row by row,
which keeps the hand-off cheap and lets us run a structure-aware warm start:

1. solve the LP relaxation (a multiple-choice knapsack LP: nearly integral, only a few
   units per linking row are fractional);
2. fix every unit-period whose LP choice is already integral and solve the small MIP left
   over: a feasible plan with every linking term (budgets, switching, goodwill …) respected;
3. give that plan to HiGHS (``setSolution``) so the gap closes at the root.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp

#: HiGHS's own default relative gap; ``0`` proves optimality exactly.
DEFAULT_GAP = 1e-4
_INF = highspy.kHighsInf


@dataclass(frozen=True)
class SolverOptions:
    """Solver controls (CLI flags override case.yaml ``solver:``)."""

    time_limit: float | None = None
    mip_gap: float | None = None
    threads: int | None = None
    write_model: Path | None = None
    warm_start: bool = True
    log: bool = False


@dataclass
class SolveOutcome:
    """What the solver found, as plain numbers (no solver objects leave this module)."""

    status: str  # optimal | feasible | infeasible | time_limit | error
    objective: float | None
    bound: float | None
    mip_gap: float | None
    x: np.ndarray | None  # value of each option variable, aligned with the option table
    solve_seconds: float
    n_variables: int
    n_binaries: int
    n_constraints: int
    message: str = ""
    warm_start_objective: float | None = None
    col_values: np.ndarray | None = None  # every column of the HiGHS model, for re-solves
    details: dict = field(default_factory=dict)


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


@dataclass
class _Matrix:
    """The model as HiGHS sees it, plus the maps back to Pyomo names.

    ``rows[k]`` is (constraint component name, index) of row k, e.g. ``("budget", 3)``;
    ``x_cols[i]`` is the column of option i.
    """

    lp: highspy.HighsLp
    x_cols: np.ndarray
    integrality: np.ndarray
    rows: list[tuple[str, object]]


def to_highs(m: pyo.ConcreteModel) -> _Matrix:
    """The Pyomo model as one HiGHS LP/MIP, from the arrays its blocks were built from.

    :mod:`model.build_arrays` records every constraint's (row, column, coefficient) arrays
    while creating it in Pyomo, so the hand-off is one sparse stack instead of a walk over
    Pyomo expressions (``LinearStandardFormCompiler`` costs ~10 µs per nonzero).
    """
    form = m._form
    n = form.n_cols
    blocks = form.blocks
    nnz = [len(b.cols) for b in blocks]
    ptr = np.concatenate([[0]] + [b.ptr[1:] + off for b, off in
                                  zip(blocks, np.cumsum([0, *nnz[:-1]]), strict=True)])
    cols = np.concatenate([b.cols for b in blocks]) if blocks else np.zeros(0, np.int64)
    vals = np.concatenate([b.vals for b in blocks]) if blocks else np.zeros(0)
    A = sp.csr_matrix((vals, cols, ptr), shape=(len(ptr) - 1, n)).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, A.shape[0]
    lp.col_cost_ = form.cost if form.cost is not None else np.zeros(n)
    lp.offset_ = 0.0
    lp.sense_ = highspy.ObjSense.kMaximize

    def inf(a: np.ndarray) -> np.ndarray:
        return np.clip(a, -_INF, _INF)

    lp.col_lower_ = inf(np.concatenate(form.lb))
    lp.col_upper_ = inf(np.concatenate(form.ub))
    lp.row_lower_ = inf(np.concatenate([b.lo for b in blocks]))
    lp.row_upper_ = inf(np.concatenate([b.hi for b in blocks]))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    integ = np.concatenate(form.integer)
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    lp.integrality_ = [kinds[i] for i in integ.tolist()]
    x_cols = form.offsets["x"] + np.arange(len(m._xs))
    rows = [(b.name, k) for b in blocks for k in b.index]
    return _Matrix(lp, x_cols, integ, rows)


_BANNER_SHOWN = False


def _new_highs(opts: SolverOptions) -> highspy.Highs:
    """A HiGHS instance with our options. HiGHS prints a banner on the first construction
    in a process, before any option can silence it; we route it away unless logging."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN or opts.log:
        h = highspy.Highs()
    else:
        with _fd_silenced(1):
            h = highspy.Highs()
    _BANNER_SHOWN = True
    h.setOptionValue("output_flag", bool(opts.log))
    if opts.threads:
        h.setOptionValue("threads", int(opts.threads))
    return h


def _relaxation(mat: _Matrix, opts: SolverOptions, info: dict | None = None) -> np.ndarray | None:
    h = _new_highs(SolverOptions(threads=opts.threads))
    lp = mat.lp
    saved = lp.integrality_
    lp.integrality_ = []
    h.passModel(lp)
    lp.integrality_ = saved
    # Interior point + crossover: on the switching/goodwill LP of a 84k-binary case it takes
    # 24 s where dual simplex had not finished after 180 s (docs/performance.md).
    h.setOptionValue("solver", "ipm")
    if opts.time_limit is not None:  # the LP gets 60% of the user's limit, the rest the MIP
        h.setOptionValue("time_limit", 0.6 * float(opts.time_limit))
    if run_interruptible(h) and info is not None:
        info["interrupted"] = True
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        return None
    return np.asarray(h.getSolution().col_value)


def _warm_start(
    mat: _Matrix, groups: list[np.ndarray], group_unit: np.ndarray, opts: SolverOptions,
    info: dict | None = None,
) -> np.ndarray | None:
    """LP relaxation, then a small MIP over the units the LP left fractional.

    Every unit whose LP choice is integral in every period is fixed to it; units with any
    fractional period stay free in all periods (switching and goodwill link a unit's
    periods). The MIP left over has a few dozen free units and solves in a fraction of a
    second, giving a plan that respects every linking term. The LP bound goes to ``info``.
    """
    xr = _relaxation(mat, opts, info)
    if xr is None or (info or {}).get("interrupted"):
        return None
    if info is not None:  # the LP optimum bounds every plan: a true bound even if the MIP stops
        info["lp_bound"] = float(np.dot(mat.lp.col_cost_, xr) + mat.lp.offset_)
    lp = mat.lp
    lower, upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
    sizes = np.array([len(g) for g in groups], dtype=np.int64)
    options = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
    unit_of = np.repeat(np.asarray(group_unit, dtype=np.int64), sizes)
    cols = mat.x_cols[options]
    vals = xr[cols]
    frac = np.minimum(vals, 1 - vals) > 1e-6
    fractional = np.zeros(int(unit_of.max()) + 1 if len(unit_of) else 0, dtype=bool)
    fractional[unit_of[frac]] = True
    fix = cols[~fractional[unit_of]]
    fix_lo, fix_hi = lower.copy(), upper.copy()
    fix_lo[fix] = fix_hi[fix] = np.round(xr[fix])
    h = _new_highs(SolverOptions(threads=opts.threads))
    h.passModel(lp)
    h.changeColsBounds(len(lower), np.arange(len(lower), dtype=np.int32), fix_lo, fix_hi)
    h.setOptionValue("mip_rel_gap", 1e-5)
    limit = 10.0 if opts.time_limit is None else max(0.5, opts.time_limit / 5)
    h.setOptionValue("time_limit", limit)
    if run_interruptible(h) and info is not None:
        info["interrupted"] = True
    if h.getInfo().primal_solution_status != 2:  # kSolutionStatusFeasible
        return None
    return np.asarray(h.getSolution().col_value)


def _from_start(mat: _Matrix, x_start: np.ndarray, opts: SolverOptions) -> np.ndarray | None:
    """Complete a given plan (x fixed) to all columns; None if it is infeasible."""
    lp = mat.lp
    lower, upper = np.array(lp.col_lower_), np.array(lp.col_upper_)
    ok = mat.x_cols >= 0
    lower[mat.x_cols[ok]] = upper[mat.x_cols[ok]] = np.round(x_start[ok])
    h = _new_highs(SolverOptions(threads=opts.threads))
    h.passModel(lp)
    h.changeColsBounds(len(lower), np.arange(len(lower), dtype=np.int32), lower, upper)
    h.setOptionValue("time_limit", 10.0)
    h.run()
    if h.getInfo().primal_solution_status != 2:
        return None
    return np.asarray(h.getSolution().col_value)


def solve_model(
    m: pyo.ConcreteModel,
    groups: list[np.ndarray],
    group_unit: np.ndarray,
    opts: SolverOptions,
    initial: np.ndarray | None = None,
) -> SolveOutcome:
    """Solve and classify the outcome.

    ``groups`` lists the option rows of each unit-period, ``group_unit`` its unit.
    ``initial`` (0/1 per option, e.g. the previous scenario's plan) is completed to a full
    solution; HiGHS starts from it when it beats the LP-rounding start.
    """
    mat = to_highs(m)
    lp = mat.lp
    h = _new_highs(opts)
    h.passModel(lp)
    gap = DEFAULT_GAP if opts.mip_gap is None else opts.mip_gap
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("mip_abs_gap", 1e-6)
    if opts.write_model:
        h.writeModel(str(opts.write_model))
    start = time.perf_counter()
    warm_obj, source = None, "none"
    info: dict = {}
    if opts.warm_start and mat.integrality.any() and lp.num_row_:
        candidates = [(_warm_start(mat, groups, group_unit, opts, info), "lp rounding")]
        if initial is not None:  # the better of the two starts goes to HiGHS
            candidates.append((_from_start(mat, initial, opts), "previous plan"))
        for warm, name in candidates:
            if warm is None:
                continue
            value = float(np.dot(lp.col_cost_, warm) + lp.offset_)
            if warm_obj is None or value > warm_obj + 1e-9 * max(1.0, abs(warm_obj)):
                best, warm_obj, source = warm, value, name
        lp_bound = info.get("lp_bound")
        if warm_obj is not None and lp_bound is not None and not info.get("interrupted") and (
            lp_bound - warm_obj <= max(float(gap) * abs(warm_obj), 1e-6)
        ):
            # The LP bound already proves the warm plan within the gap: no MIP needed.
            out = _proven_by_lp(mat, best, warm_obj, lp_bound, time.perf_counter() - start)
            out.details["warm_start"] = source
            return out
        if warm_obj is not None:
            sol = highspy.HighsSolution()
            sol.col_value = list(best)
            sol.value_valid = True
            h.setSolution(sol)
    if opts.time_limit is not None:
        spent = time.perf_counter() - start
        h.setOptionValue("time_limit", max(0.01, float(opts.time_limit) - spent))
    interrupted = run_interruptible(h, cancel=bool(info.get("interrupted"))) or bool(
        info.get("interrupted"))
    seconds = time.perf_counter() - start
    out = _outcome(h, mat, seconds, warm_obj)
    out.details["warm_start"] = source
    _honest_bound(out, info.get("lp_bound"))
    if interrupted:
        out.details["interrupted"] = True
        out.message = (
            "interrupted (Ctrl-C); returning the best plan found so far"
            if out.x is not None
            else "interrupted (Ctrl-C) before any plan was found"
        )
    elif out.status == "time_limit" and out.x is None:
        out.message = "no plan found within the time limit"
    return out


def _honest_bound(out: SolveOutcome, lp_bound: float | None) -> None:
    """A MIP stopped early may have no dual bound yet, or only a weak one (root LP
    unfinished); the warm start's LP relaxation is a true bound too: report the tighter."""
    if lp_bound is None or not np.isfinite(lp_bound):
        return
    if out.bound is not None and out.bound <= lp_bound + 1e-9 * max(1.0, abs(lp_bound)):
        return
    out.bound = lp_bound
    if out.objective is not None:
        out.mip_gap = max(0.0, lp_bound - out.objective) / max(abs(out.objective), 1e-9)
    out.details["bound_from"] = "LP relaxation"


def run_interruptible(h: highspy.Highs, cancel: bool = False) -> bool:
    """Run HiGHS in its worker thread so Ctrl-C stops the search instead of killing us.

    The main thread waits in short slices; a ``KeyboardInterrupt`` (SIGINT) asks HiGHS to
    stop at its next interrupt check (``cancelSolve``) and we keep waiting, so the caller
    still gets the incumbent, the bound and an honest status. Returns True if interrupted.
    ``cancel`` stops at once (Ctrl-C came during an earlier phase): HiGHS still reports the
    solution it was given.
    """
    h.HandleUserInterrupt = True
    thread = h.startSolve()
    if cancel:
        h.cancelSolve()
    interrupted = False
    while True:
        try:
            done, _ = h.wait(0.1)
        except KeyboardInterrupt:
            interrupted = True
            h.cancelSolve()
            continue
        if done:
            break
    thread.join()
    return interrupted


def _proven_by_lp(
    mat: _Matrix, plan: np.ndarray, objective: float, bound: float, seconds: float
) -> SolveOutcome:
    """A warm-start plan whose gap to the LP relaxation bound is within the target."""
    bound = max(bound, objective)
    return SolveOutcome(
        status="optimal",
        objective=objective,
        bound=bound,
        mip_gap=(bound - objective) / max(abs(objective), 1e-12),
        x=plan[mat.x_cols],
        solve_seconds=seconds,
        n_variables=mat.lp.num_col_,
        n_binaries=int(mat.integrality.sum()),
        n_constraints=mat.lp.num_row_,
        message="Optimal (warm-start plan proven within the gap by the LP relaxation bound)",
        warm_start_objective=objective,
        col_values=plan,
    )


def _outcome(
    h: highspy.Highs, mat: _Matrix, seconds: float, warm_obj: float | None
) -> SolveOutcome:
    S = highspy.HighsModelStatus
    ms = h.getModelStatus()
    info = h.getInfo()
    has_plan = info.primal_solution_status == 2
    is_mip = bool(mat.integrality.any())
    objective = float(info.objective_function_value) if has_plan else None
    bound = float(info.mip_dual_bound) if is_mip else objective
    gap = None
    if has_plan:
        gap = float(info.mip_gap) if is_mip else 0.0
        if gap is not None and not np.isfinite(gap):
            gap = None
    if ms == S.kOptimal:
        status = "optimal"
    elif ms in (S.kInfeasible,):
        status = "infeasible"
    elif ms in (S.kTimeLimit, S.kIterationLimit, S.kSolutionLimit):
        status = "time_limit"
    elif ms in (S.kInterrupt, S.kHighsInterrupt, S.kObjectiveBound, S.kObjectiveTarget):
        status = "feasible" if has_plan else "time_limit"
    elif ms == S.kUnboundedOrInfeasible and not has_plan:
        status = "infeasible"
    else:  # never "unknown": a plan without a proof is "feasible", no plan is an error
        status = "feasible" if has_plan else "error"
    if bound is not None and not np.isfinite(bound):
        bound = None
    x = values = None
    if has_plan:
        values = np.asarray(h.getSolution().col_value)
        x = np.where(mat.x_cols >= 0, values[np.maximum(mat.x_cols, 0)], 0.0)
    return SolveOutcome(
        status=status,
        objective=objective,
        bound=bound,
        mip_gap=gap,
        x=x,
        solve_seconds=seconds,
        n_variables=mat.lp.num_col_,
        n_binaries=int(mat.integrality.sum()),
        n_constraints=mat.lp.num_row_,
        message=h.modelStatusToString(ms),
        warm_start_objective=warm_obj,
        col_values=values,
    )
