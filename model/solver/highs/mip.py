"""MIPs (:func:`solve_mip`) with an honest :class:`~svcplan.solver.status.Status`, and the
model as HiGHS solves it (:func:`write_model`)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import highspy
import numpy as np

from ...formulation.standard_form import StandardForm
from ..status import Status
from .instance import FEASIBLE, loaded, run_interruptible


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


def solve_mip(
    sf: StandardForm, *, threads: int | None = None, log: bool = False,
    rel_gap: float | None = None, abs_gap: float | None = None,
    seconds: float | None = None, deadline: float | None = None,
    start: np.ndarray | None = None, target: float | None = None,
) -> MipSolution:
    """Solve ``sf`` as a MIP (an LP if it has no integer column) and classify the outcome.

    ``start`` (every column) is handed to HiGHS as its first incumbent; ``target``: stop at
    the first plan worth more than this (HiGHS's ``objective_target``). Gaps and limits left
    None keep HiGHS's defaults. Never "unknown": a plan without a proof is ``feasible``, no plan ``error``.
    An answer whose columns do not give its objective is never returned: on a tiny case
    HiGHS, started from a plan, reported the optimum (−1) but handed back the start's
    columns (−2); the MIP is then solved again without the start.
    """
    until = None if seconds is None else time.perf_counter() + float(seconds)
    out = _solve_mip_once(sf, threads, log, rel_gap, abs_gap, seconds, deadline, start, target)
    if start is None or out.x is None or out.interrupted or abs(
            sf.objective(out.x) - out.objective) <= 1e-7 * max(1.0, abs(out.objective)):
        return out
    left = None if until is None else max(1.0, until - time.perf_counter())
    return _solve_mip_once(sf, threads, log, rel_gap, abs_gap, left, deadline, None, target)


def _solve_mip_once(
    sf: StandardForm, threads: int | None, log: bool, rel_gap: float | None,
    abs_gap: float | None, seconds: float | None, deadline: float | None,
    start: np.ndarray | None, target: float | None = None,
) -> MipSolution:
    h = loaded(sf, threads, log)
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
    interrupted = run_interruptible(h, deadline=deadline)
    return _mip_answer(h, sf.is_mip, interrupted)


def _mip_answer(h: highspy.Highs, is_mip: bool, interrupted: bool) -> MipSolution:
    S = highspy.HighsModelStatus
    ms = h.getModelStatus()
    info = h.getInfo()
    has_plan = info.primal_solution_status == FEASIBLE
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
    h = loaded(sf, None)
    h.writeModel(str(path))
