"""The re-spend: the LP solved again with its fractional units fixed, then rounded.

Rounding a fractional unit strands the budget the LP gave its fraction, or overspends it;
the LP solved again around the fixed units spends what they freed, or pays for what they
took, with other units, and its few fractional units are rounded in turn
(:func:`.search.round_in_steps`). Where LPs are cheap (small models), :func:`round_cheaply`
rounds the LP point in steps, the re-spend among them: around the levels the LP leans to
(:func:`leaning`), and around the better rounding's levels.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..formulation.standard_form import StandardForm
from . import highs
from .bound import LpPoint, SearchLog
from .candidates import any_proven, best_candidate
from .options import SolverOptions
from .search import fractional_units, round_fractional, round_in_steps, round_split

#: Up to this many binaries in the sub-MIP over the whole fractional units (their option
#: columns), :func:`round_cheaply` rounds them before it re-spends. On the demo, its
#: scenarios and four generated cases, 1–3 fractional units (16–156 binaries) took
#: 0.01–0.04 s, and proved the plan where key accounts buy 30% more (132 binaries, 0.02 s,
#: where the re-spend took 1.25 s); 5–10 units (192–516 binaries) took 0.23–1.9 s, a
#: re-spend 1.0–1.9 s (docs/performance-rounds.md, twenty-second round).
FEW_BINARIES = 160


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


def round_cheaply(
    sf: StandardForm, lp: LpPoint, opts: SolverOptions, seconds: float,
    respend_seconds: Callable[[], float], log: SearchLog, gap: float, candidates: list,
) -> None:
    """Where LPs are cheap, the LP point rounded in steps, cheapest first, until a plan is
    proven; each step's plan is appended to ``candidates`` as ``(plan, source)`` (None where
    it found none):

    1. only the unit-periods the LP split (:func:`.search.round_split`, 0.01–0.1 s on the
       demo);
    2. the whole fractional units, in every period (:func:`.search.round_fractional`),
       where that sub-MIP is small (:data:`FEW_BINARIES`);
    3. the LP solved again with the fractional units fixed at the levels it leans to, so
       the budget their rounding strands is spent on other units, and rounded in turn
       (:func:`respend`, about 1 s on the demo, within ``respend_seconds()``);
    4. the whole fractional units, where that sub-MIP is large (the demo at 0.6× budget:
       10 units, 516 binaries, 1.3–1.9 s);
    5. the re-spend again, around the levels of the better of the two roundings' plans.

    The demo at 0.6 / 0.7 / 0.8 / 1.1× budget: the first rounding 0.49 / 1.25 / 1.49 /
    0.64% below the bound; leaning levels 0.43 / 0.35 / 0.55 / 0.39%; rounded levels
    0.49 / 0.40 / 0.36 / 0.55% — so every point was proven within 0.5% without a search
    (1.1×: 6–8 s of search before). Until the twenty-second round the whole units always
    came before the re-spend; at 0.6× the re-spend proves a better plan (0.39% against
    0.49%) in about 1 s instead of the whole units' 1.3–1.9 s."""
    rounded = [(round_split(sf, lp.x, opts, seconds, log, gap), "lp rounding")]
    candidates.append(rounded[0])
    units = fractional_units(sf, lp.x, 1e-9)  # what the whole-unit rounding frees
    few = int(np.isin(sf.owner[sf.x_cols], units).sum()) <= FEW_BINARIES
    steps = ("whole units", "leaning", "rounded") if few else (
        "leaning", "whole units", "rounded")
    for step in steps:
        if log.interrupted or any_proven(sf, candidates, log.lp_bound, gap):
            break
        if step == "whole units":
            rounded.append((round_fractional(sf, lp.x, opts, seconds, log, gap, say=False),
                            "lp rounding"))
            candidates.append(rounded[-1])
            continue
        fixed = leaning(sf, lp.x) if step == "leaning" else best_candidate(sf, rounded)[0]
        if fixed is None:
            continue
        opts.say(f"re-spending around the fractional units at their {step} levels…")
        plan = respend(sf, lp.x, fixed, opts, respend_seconds(), log, gap, basis=lp.basis)
        candidates.append((plan, f"lp rounding, re-spent around {step} levels"))
    log.rounded_objective = best_candidate(sf, candidates)[1]
