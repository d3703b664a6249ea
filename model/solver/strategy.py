"""Solving the Pyomo model with HiGHS, and mapping every outcome to an honest status.

The flow of one solve (:func:`solve_model`), all within one deadline:

1. hand the model to HiGHS as one matrix (:mod:`model.highs_matrix`);
2. build an incumbent from the structure (:mod:`model.incumbent`): the LP relaxation (for
   large models its bound by pricing the dense budget rows, :mod:`model.lagrange`),
   rounded by a small MIP over its fractional units, improved by a neighbourhood search;
   the LP value is a true bound, so when the plan is within the requested gap of it we
   are done without branch-and-bound;
3. otherwise give the plan to HiGHS (``setSolution``) and let its MIP close the gap with
   whatever time is left; report the tighter of its bound and the LP bound.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import highspy
import numpy as np
import pyomo.environ as pyo

from . import pricing as lagrange
from .highs import (  # noqa: F401 (re-exported: the public solver surface)
    SolverOptions,
    _Matrix,
    _new_highs,
    run_interruptible,
    to_highs,
)
from .search import (
    SearchLog,
    from_start,
    neighbourhood_search,
    relaxation,
    round_fractional,
    thrifty_plan,
)

#: HiGHS's own default relative gap; ``0`` proves optimality exactly.
DEFAULT_GAP = 1e-4


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


def solve_model(
    m: pyo.ConcreteModel,
    groups: list[np.ndarray],
    group_unit: np.ndarray,
    opts: SolverOptions,
    initial: np.ndarray | None = None,
    cluster: np.ndarray | None = None,
) -> SolveOutcome:
    """Solve and classify the outcome.

    ``groups`` lists the option rows of each unit-period, ``group_unit`` its unit (kept
    for callers; the matrix knows each column's unit). ``initial`` (0/1 per option, e.g.
    the previous scenario's plan) is completed to a full solution and used when it beats
    the LP-rounding start. ``cluster`` (per unit, e.g. its product) groups the units the
    neighbourhood search frees together.
    """
    if opts.deadline is None and opts.time_limit is not None:
        opts = replace(opts, deadline=time.perf_counter() + float(opts.time_limit))
    mat = to_highs(m)
    lp = mat.lp
    gap = DEFAULT_GAP if opts.mip_gap is None else opts.mip_gap
    if opts.write_model:
        _main_highs(lp, opts, gap).writeModel(str(opts.write_model))
    start = time.perf_counter()
    warm_obj, source = None, "none"
    log = SearchLog()
    if opts.warm_start and mat.integrality.any() and lp.num_row_:
        best, warm_obj, source = _incumbent(mat, opts, float(gap), initial, cluster, log)
        if warm_obj is not None and log.lp_bound is not None and not log.interrupted and (
            log.lp_bound - warm_obj <= max(float(gap) * abs(warm_obj), 1e-6)
        ):
            # The LP bound already proves the plan within the gap: no branch-and-bound.
            by = "LP bound from priced budget rows" if log.lp_method == "prices" else (
                "LP relaxation bound")
            out = _proven_by_lp(mat, best, warm_obj, log.lp_bound, time.perf_counter() - start,
                                message=f"Optimal (warm-start plan proven within the gap by the {by})")
            _record(out, source, log)
            return out
        left = opts.remaining()
        if warm_obj is not None and not log.interrupted and log.lp_method == "prices":
            # Priced bound: the model is too large for HiGHS's branch-and-bound (its root
            # LP alone took > 200 s at 300k, past the deadline and deaf to cancelSolve).
            out = _proven_by_lp(mat, best, warm_obj, log.lp_bound, time.perf_counter() - start,
                                "feasible", "searched plan within the reported gap of the LP "
                                "bound (priced budget rows); branch-and-bound skipped at this size")
            _record(out, source, log)
            return out
        if (warm_obj is not None and not log.interrupted and left is not None
                and (log.lp_bound is None or left < 2 * log.lp_seconds)):
            # HiGHS's root LP takes longer than the LP relaxation did (dual simplex) — and
            # when that relaxation did not even finish, HiGHS's MIP ignores its time limit
            # (1M binaries: still in presolve 500 s past it): stop with the plan we have.
            message = ("time limit: returning the searched plan, bound from the LP relaxation"
                       if log.lp_bound is not None else "time limit: the LP relaxation did not "
                       "finish; returning the searched thriftiest plan (no bound)")
            out = _proven_by_lp(mat, best, warm_obj, log.lp_bound,
                                time.perf_counter() - start, "time_limit", message)
            _record(out, source, log)
            return out
    # HiGHS's own copy of the model (1–1.5 GB at 1M binaries) only when its MIP runs
    h = _main_highs(lp, opts, gap)
    if warm_obj is not None:
        sol = highspy.HighsSolution()
        sol.col_value = list(best)
        sol.value_valid = True
        h.setSolution(sol)
    left = opts.remaining()
    if left is not None:
        h.setOptionValue("time_limit", max(0.01, left))
    opts.say("branch-and-bound (HiGHS)…")
    interrupted = run_interruptible(h, cancel=log.interrupted, deadline=opts.deadline)
    interrupted = interrupted or log.interrupted
    seconds = time.perf_counter() - start
    out = _outcome(h, mat, seconds, warm_obj)
    if not interrupted and out.status == "feasible" and opts.remaining() == 0.0:
        out.status, out.message = "time_limit", "Time limit reached"  # cancelled by us
    _record(out, source, log)
    _honest_bound(out, log.lp_bound, log.lp_method)
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


def _main_highs(lp: highspy.HighsLp, opts: SolverOptions, gap: float) -> highspy.Highs:
    h = _new_highs(opts)
    h.passModel(lp)
    h.setOptionValue("mip_rel_gap", float(gap))
    h.setOptionValue("mip_abs_gap", 1e-6)
    return h


def _incumbent(
    mat: _Matrix, opts: SolverOptions, gap: float, initial: np.ndarray | None,
    cluster: np.ndarray | None, log: SearchLog,
) -> tuple[np.ndarray | None, float | None, str]:
    """The best plan we can build before branch-and-bound: ``(columns, objective, source)``.

    Time shares (of what is left before the deadline): pricing the budget rows (large
    models) up to 50%, else or then the whole LP relaxation up to 70% (without a bound and
    a point to round there is no good plan), rounding up to 30%, neighbourhood search up to
    85% of the rest (HiGHS's branch-and-bound rarely improves a searched plan on these
    models; it gets the remainder). Without a deadline the search gets 2× the LP time (at
    least 5 s) and branch-and-bound runs to the gap. If no LP point is found at all, the
    thriftiest plan is completed and searched instead.
    """
    def share(frac: float, default: float | None) -> float | None:
        left = opts.remaining()
        return default if left is None else frac * left

    candidates = []
    lp = None
    if lagrange.applies(mat, opts.prices):
        lp = lagrange.lagrangian(mat, opts, share(0.5, None), log, gap)
    if lp is None and not log.interrupted:
        lp = relaxation(mat, opts, share(0.7, None), log)
    if lp is not None and not log.interrupted:
        xr, reduced = lp
        x = round_fractional(mat, xr, opts, share(0.3, 10.0), log, gap)
        if x is not None:
            candidates.append((x, "lp rounding"))
    if lp is None and not log.interrupted and opts.remaining() != 0.0:
        opts.say("LP relaxation did not finish in time; starting from the thriftiest plan…")
        thrifty = from_start(mat, thrifty_plan(mat), opts, share(0.3, 30.0) or 0.0)
        candidates.append((thrifty, "thrifty plan"))
    if initial is not None and not log.interrupted:
        candidates.append((from_start(mat, initial, opts), "previous plan"))
    best, value, source = None, None, "none"
    for x, name in candidates:
        if x is None:
            continue
        v = float(np.dot(mat.lp.col_cost_, x) + mat.lp.offset_)
        if value is None or v > value + 1e-9 * max(1.0, abs(value)):
            best, value, source = x, v, name
    if best is not None and not log.interrupted:
        seconds = share(0.85, max(5.0, 2.0 * log.lp_seconds))
        reduced = lp[1] if lp is not None else np.zeros(mat.lp.num_col_)
        improved = neighbourhood_search(mat, best, reduced, cluster, gap, opts, seconds, log)
        v = float(np.dot(mat.lp.col_cost_, improved) + mat.lp.offset_)
        if v > value:
            best, value = improved, v
            source += " + neighbourhood search"
    return best, value, source


def _record(out: SolveOutcome, source: str, log: SearchLog) -> None:
    out.details["warm_start"] = source
    out.details["search"] = {
        "lp_seconds": round(log.lp_seconds, 3), "lp_bound": log.lp_bound,
        "lp_method": log.lp_method,
        "rounded_objective": log.rounded_objective, "rounds": log.rounds,
        "improved": log.improved, "search_seconds": round(log.seconds, 3),
        "objectives": log.objectives, "trace": log.trace,
    }


def _honest_bound(out: SolveOutcome, lp_bound: float | None, lp_method: str = "lp") -> None:
    """A MIP stopped early may have no dual bound yet, or only a weak one (root LP
    unfinished); the warm start's LP relaxation is a true bound too: report the tighter."""
    if lp_bound is None or not np.isfinite(lp_bound):
        return
    if out.bound is not None and out.bound <= lp_bound + 1e-9 * max(1.0, abs(lp_bound)):
        return
    out.bound = lp_bound
    if out.objective is not None:
        out.mip_gap = max(0.0, lp_bound - out.objective) / max(abs(out.objective), 1e-9)
    out.details["bound_from"] = "LP relaxation" if lp_method != "prices" else "priced budget rows"


def _proven_by_lp(
    mat: _Matrix, plan: np.ndarray, objective: float, bound: float | None, seconds: float,
    status: str = "optimal",
    message: str = "Optimal (warm-start plan proven within the gap by the LP relaxation bound)",
) -> SolveOutcome:
    """The incumbent as the answer, with the LP relaxation value as its bound (if any)."""
    bound = None if bound is None else max(bound, objective)
    return SolveOutcome(
        status=status,
        objective=objective,
        bound=bound,
        mip_gap=None if bound is None else (bound - objective) / max(abs(objective), 1e-12),
        x=plan[mat.x_cols],
        solve_seconds=seconds,
        n_variables=mat.lp.num_col_,
        n_binaries=int(mat.integrality.sum()),
        n_constraints=mat.lp.num_row_,
        message=message,
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
