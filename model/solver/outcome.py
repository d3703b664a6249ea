"""The outcome of a solve as plain numbers, and the ways :mod:`.strategy` ends one.

No solver object leaves the solver stage: every path of :func:`.strategy.solve_model` (a
plan the LP bound proves, an infeasible LP, HiGHS's branch-and-bound, Ctrl-C) ends in a
:class:`SolveOutcome` made here, so each is classified by one function with one message.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..formulation.standard_form import StandardForm
from . import highs
from .bound import SearchLog
from .floors import describe
from .status import Status

#: What a run cut short by Ctrl-C says, with and without a plan.
WITH_PLAN_SO_FAR = "interrupted (Ctrl-C); returning the best plan found so far"
NO_PLAN_YET = "interrupted (Ctrl-C) before any plan was found"


@dataclass
class SolveOutcome:
    """What the solver found, as plain numbers (no solver objects leave the solver stage)."""

    status: Status
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
    col_values: np.ndarray | None = None  # every column of the standard form, for re-solves
    #: the prices of the dense rows at a priced bound (per ``sf.rows_of(DENSE)``), else None
    dense_prices: np.ndarray | None = None
    #: the whole LP relaxation's optimal basis (:func:`.highs.basis_codes`), else None
    lp_basis: np.ndarray | None = None
    details: dict = field(default_factory=dict)


def record_search(out: SolveOutcome, source: str, log: SearchLog) -> None:
    """Where the plan came from and what the search before branch-and-bound did, into
    ``out.details`` (summary.json's ``search``)."""
    out.dense_prices = log.prices if log.lp_method == "prices" else None
    out.lp_basis = log.basis
    out.details["warm_start"] = source
    out.details["search"] = {
        "lp_seconds": round(log.lp_seconds, 3), "lp_bound": log.lp_bound,
        "lp_method": log.lp_method, "blocks": log.blocks, "links_priced": log.links_priced,
        "dask": log.dask,
        "rounded_objective": log.rounded_objective, "rounds": log.rounds,
        "improved": log.improved, "search_seconds": round(log.seconds, 3),
        "objectives": log.objectives, "trace": log.trace,
    }


def honest_bound(out: SolveOutcome, lp_bound: float | None, lp_method: str = "lp") -> None:
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


def proven_by_lp(
    sf: StandardForm, plan: np.ndarray, objective: float, bound: float | None, seconds: float,
    status: Status, message: str,
) -> SolveOutcome:
    """The incumbent as the answer, with the LP relaxation value as its bound (if any)."""
    bound = None if bound is None else max(bound, objective)
    return SolveOutcome(
        status=status,
        objective=objective,
        bound=bound,
        mip_gap=None if bound is None else (bound - objective) / max(abs(objective), 1e-12),
        x=plan[sf.x_cols],
        solve_seconds=seconds,
        n_variables=sf.n_cols,
        n_binaries=int(sf.integer.sum()),
        n_constraints=sf.n_rows,
        message=message,
        warm_start_objective=objective,
        col_values=plan,
    )


def interrupted(sf: StandardForm, plan: np.ndarray | None, objective: float | None,
                bound: float | None, seconds: float) -> SolveOutcome:
    """Ctrl-C before branch-and-bound: the best plan built so far (``feasible``, never
    ``optimal``: the run was cut short), or none (``time_limit``). Handing that plan to
    HiGHS's MIP only to stop it would load and presolve the whole model first (1.3 s of a
    7,344-binary case; gigabytes at 1M binaries)."""
    if plan is None:
        out = no_plan(sf, Status.TIME_LIMIT, seconds)
    else:
        out = proven_by_lp(sf, plan, objective, bound, seconds, Status.FEASIBLE, "")
    return mark_interrupted(out)


def mark_interrupted(out: SolveOutcome) -> SolveOutcome:
    """Say that Ctrl-C cut ``out`` short (``interrupted`` in summary.json), and whether a
    plan came of it: the one wording for Ctrl-C before and during branch-and-bound."""
    out.details["interrupted"] = True
    out.message = WITH_PLAN_SO_FAR if out.x is not None else NO_PLAN_YET
    return out


def infeasible(sf: StandardForm, seconds: float, log: SearchLog) -> SolveOutcome:
    """No plan exists: the LP relaxation of the model is infeasible (or a limit is unmet)."""
    return no_plan(sf, Status.INFEASIBLE, seconds, describe(sf, log.unmet) if log.unmet else
                   "Infeasible (the LP relaxation has no solution)")


def no_plan(sf: StandardForm, status: Status, seconds: float, message: str = "") -> SolveOutcome:
    """An outcome without a plan (infeasible, Ctrl-C or a solver error before any plan): no
    objective, bound or gap, and the model's sizes as every outcome reports them."""
    return SolveOutcome(status=status, objective=None, bound=None, mip_gap=None, x=None,
                        solve_seconds=seconds, n_variables=sf.n_cols,
                        n_binaries=int(sf.integer.sum()), n_constraints=sf.n_rows,
                        message=message)


def from_mip(
    sf: StandardForm, mip: highs.MipSolution, seconds: float, warm_obj: float | None
) -> SolveOutcome:
    """HiGHS's answer as an outcome: the option columns picked out of the full solution."""
    x = None if mip.x is None else mip.x[sf.x_cols]
    return SolveOutcome(
        status=mip.status,
        objective=mip.objective,
        bound=mip.bound,
        mip_gap=mip.gap,
        x=x,
        solve_seconds=seconds,
        n_variables=sf.n_cols,
        n_binaries=int(sf.integer.sum()),
        n_constraints=sf.n_rows,
        message=mip.message,
        warm_start_objective=warm_obj,
        col_values=mip.x,
    )
