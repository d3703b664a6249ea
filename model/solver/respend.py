"""The re-spend: the LP solved again with its fractional units fixed, then rounded.

Rounding a fractional unit strands the budget the LP gave its fraction, or overspends it;
the LP solved again around the fixed units spends what they freed, or pays for what they
took, with other units, and its few fractional units are rounded in turn
(:func:`.search.round_in_steps`). Where LPs are cheap (small models),
:func:`.strategy._round_cheaply` runs it around the levels the LP leans to
(:func:`leaning`) and around the best plan's.
"""

from __future__ import annotations

import time

import numpy as np

from ..formulation.standard_form import StandardForm
from . import highs
from .bound import SearchLog
from .options import SolverOptions
from .search import fractional_units, round_in_steps


def respend(
    sf: StandardForm, xr: np.ndarray, fixed: np.ndarray, opts: SolverOptions, seconds: float,
    log: SearchLog, gap: float = 0.0, basis: object | None = None,
) -> np.ndarray | None:
    """Round again after the LP has re-spent around the units it left fractional.

    Rounding a fractional unit down strands the budget the LP gave its fraction: at 0.7× the
    demo's budget two units rounded left 4–10k unspent in every period, 1.25% below the LP
    bound, and the neighbourhood search needed five sub-MIPs (6–7 s) to reach 0.5%. Here
    the units the LP ``xr`` left fractional are fixed at the levels ``fixed`` gives them
    (:func:`leaning`, or the rounded plan's), the LP relaxation of the rest is solved
    again — it spends what they freed, or pays for what they took, with other units, a few
    of which are left fractional — and those are rounded in turn, for one more LP (~0.6 s
    on the demo). That second LP is no bound (some units are fixed): the proof stays the
    first one's. None when it fails (e.g. the fixed levels leave no plan).

    ``basis``: the first LP's optimal basis (same rows and columns). Fixing a few columns
    leaves it dual feasible, so dual simplex starts there: on the demo ~1,000 iterations,
    0.41–0.49 s, where a cold solve with presolve took 0.80–0.99 s (on 2026-12-02, a
    slower machine: 0.9–1.4 s against 2.0–2.2 s).
    """
    cols = sf.x_cols[np.isin(sf.owner[sf.x_cols], fractional_units(sf, xr))]
    if not len(cols):
        return None
    lower, upper = sf.col_lower.copy(), sf.col_upper.copy()
    lower[cols] = upper[cols] = np.round(fixed[cols])
    start = time.perf_counter()
    lp = highs.solve_lp(sf.with_bounds(lower, upper), threads=opts.threads, method="simplex",
                        seconds=seconds, deadline=start + seconds + 1.0, basis=basis)
    log.interrupted |= lp.interrupted
    if not lp.optimal or log.interrupted:
        return None
    left = max(0.05, seconds - (time.perf_counter() - start))
    # to the first plan the bound proves within the gap, else to the sub-MIP's optimum: its
    # usual gap (half the target's, of the bound) is too loose here, where this LP is
    # already below the bound (the demo at 0.7×: 0.71% below the bound instead of 0.34%)
    return round_in_steps(sf, lp.x, opts, left, log, gap, exact=True)


def leaning(sf: StandardForm, xr: np.ndarray) -> np.ndarray:
    """0/1 per column: in every unit-period the option the LP point ``xr`` gives the largest
    share (the level it leans to); 0 elsewhere. For :func:`respend`: fixing the fractional
    units there makes the LP pay for them with other units instead of stranding budget."""
    cols = sf.x_cols
    groups = sf.groups[cols]
    order = np.lexsort((-xr[cols], groups))
    first = order[np.r_[True, groups[order][1:] != groups[order][:-1]]]
    out = np.zeros(sf.n_cols)
    out[cols[first]] = 1.0
    return out
