"""The upper bound of a solve: the LP relaxation, and the log of how the plan was found.

The model is a multiple-choice knapsack with linking rows; its LP relaxation is nearly
integral, and its value is a true upper bound on every plan. For large models the bound
comes from pricing the dense rows instead (:mod:`.pricing`); both record what they did
in one :class:`SearchLog`, which the solve summary reports.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from ..formulation.rows import PERIOD_LINKS
from ..formulation.standard_form import StandardForm
from . import highs
from .options import SolverOptions
from .sweep import WarmState


@dataclass
class SearchLog:
    """What the incumbent search did, for the solve summary and the benchmark."""

    lp_seconds: float = 0.0
    lp_bound: float | None = None
    lp_method: str = ""  # "lp" (the whole LP relaxation) or "prices" (.pricing)
    blocks: int = 0  # independent blocks of the sparse rest (priced bound only)
    links_priced: bool = False  # fixed-cost links priced, so the rest split by product
    dask: str | None = None  # the Dask scheduler the blocks were solved on (None: here)
    rounded_objective: float | None = None
    rounds: int = 0
    improved: int = 0
    seconds: float = 0.0
    objectives: list[float] = field(default_factory=list)
    interrupted: bool = False
    trace: list = field(default_factory=list)
    #: the LP relaxation has no solution: no plan can exist (the MIP is infeasible too)
    lp_infeasible: bool = False
    #: the limits no plan can meet (:func:`.floors.unmet_limits`), which prove that first
    unmet: list = field(default_factory=list)
    #: pricing stopped on a warm start's loose stall test: more rounds may tighten the bound
    bound_loose: bool = False
    #: the prices of the dense rows at ``lp_bound`` when it was priced from a cold start
    #: (:mod:`.pricing`), one per row of ``sf.rows_of(DENSE)``: a priced solve's marginal values
    prices: np.ndarray | None = None
    #: the whole LP relaxation's optimal basis as plain status codes (:func:`.highs.basis_codes`;
    #: none for a priced bound), where the local LP of the marginal values starts
    #: (:func:`.outcome.record_search` hands it on)
    basis: np.ndarray | None = None


class LpPoint(NamedTuple):
    """The point a bound hands the rounding: column values ``x``, ``reduced`` costs, and
    the optimal ``basis`` where the whole LP was solved (by simplex, or interior point with
    its crossover; None for a priced bound): an LP re-solved with a few columns fixed starts
    there (:func:`.respend.respend`)."""

    x: np.ndarray
    reduced: np.ndarray
    basis: object | None = None


#: Below this many columns the LP relaxation is solved by dual simplex, cold, whatever the
#: rows (:func:`relaxation`): the measured crossover with interior point is 50k–85k columns.
SIMPLEX_BELOW = 50_000


def least_proven(bound: float, gap: float) -> float:
    """The least objective ``v`` that ``bound`` proves within the relative ``gap``
    (``bound − v ≤ gap·|v|``): a search may stop at the first plan worth more."""
    return bound / (1.0 + gap) if bound >= 0 else bound / (1.0 - gap)


def relaxation(
    sf: StandardForm, opts: SolverOptions, seconds: float | None, log: SearchLog,
    warm: WarmState | None = None,
) -> LpPoint | None:
    """Optimal LP relaxation, or None (time out, interrupted, …).

    ``warm``: a sweep's state. A large model's basis (the last point's optimal one, same
    matrix) starts dual simplex, and the new optimal basis is left there for the next point.
    A small model's LP stays loaded in HiGHS from point to point (an instance that ended
    without an optimum is dropped: the next point starts cold)."""
    # Interior point + crossover when periods are linked (switching, goodwill): on such a
    # 84k-binary LP it takes 23 s where dual simplex takes 148 s. Without those rows, and on
    # small models even with them, dual simplex (after presolve) is faster: generated linked
    # cases at 21k / 32k / 43k / 53k / 84k / 159k columns took 0.8 / 1.6 / 3.3 / 5.5 / 7.0 /
    # 56 s by simplex against 1.4 / 2.2 / 3.5 / 5.3 / 7.8 / 25 s by interior point
    # (docs/performance.md).
    #
    # A small model's sweep keeps its LP loaded in HiGHS (:class:`.highs.HotLp`): the demo's
    # frontier, point by point from its ends, 0.64 (a new instance) / 0.50 / 0.43 s at 0.6 /
    # 0.7 / 0.8× and 0.60 / 0.17 / 0.48 s at 1.1 / 1.0 / 0.9×, against 0.66 / 0.60 / 0.54 and
    # 0.59 / 0.71 / 0.70 s cold (4.3 → 3.2 s over its 11 points); where the budgets no longer
    # bind it has nothing to do (0.01 s). A basis handed to a fresh instance instead skips
    # presolve and rebuilds HiGHS's factorisation and edge weights: 0.9 s where cold took 0.6 s.
    small = sf.n_cols < SIMPLEX_BELOW
    opts.say(f"LP relaxation ({sf.n_cols:,} columns, {sf.n_rows:,} rows)…")
    start = time.perf_counter()
    until = None if seconds is None else start + seconds + 1.0
    if small and warm is not None:
        warm.lp, lp = highs.solve_kept(warm.lp, sf, seconds, until, opts.threads)
    else:
        basis = warm.basis if warm is not None and warm.reused else None
        lp = highs.solve_lp(sf, threads=opts.threads, method=lp_method(sf),
                            seconds=seconds, deadline=until, basis=basis,
                            keep_basis=True)
        if warm is not None and lp.optimal:
            # the basis that proved a point infeasible is a poor start for the next one
            warm.basis = lp.basis
    log.interrupted |= lp.interrupted
    log.lp_seconds = time.perf_counter() - start
    log.lp_method = "lp"
    if not lp.optimal:
        log.lp_infeasible = lp.infeasible and not lp.interrupted
        return None
    log.lp_bound = sf.objective(lp.x)
    # as plain codes now, inside the search, which catches a Ctrl-C and keeps its plans
    # (the outcome's record_search only copies them)
    log.basis = None if lp.basis is None else highs.basis_codes(lp.basis)
    return LpPoint(lp.x, lp.col_dual, lp.basis)


def lp_method(sf: StandardForm) -> str:
    """``"ipm"`` for an LP with linked periods (switching, goodwill) from
    :data:`SIMPLEX_BELOW` columns, else ``"simplex"`` (the measurements are in
    :func:`relaxation`)."""
    return "ipm" if links_periods(sf) and sf.n_cols >= SIMPLEX_BELOW else "simplex"


def links_periods(sf: StandardForm) -> bool:
    """Does a row of ``sf`` link a unit's periods (switching, goodwill)?"""
    return len(sf.rows_of(PERIOD_LINKS)) > 0
