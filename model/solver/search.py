"""A structure-aware incumbent: LP relaxation, rounding by a small MIP, neighbourhood search.

The model is a multiple-choice knapsack with linking rows (budgets, inventory time, tier
ordering, switching, goodwill). Its LP relaxation is nearly integral: a handful of units
are fractional. Plain branch-and-bound spends minutes finding plans that good, so we build
the incumbent ourselves and hand it to HiGHS (``setSolution``):

1. :func:`.bound.relaxation` — the LP relaxation (simplex, or interior point + crossover: a
   vertex either way, so few fractional units); its value is a true upper bound on every plan;
2. :func:`round_fractional` — fix every unit the LP decided, solve the small MIP left over
   the fractional units (every linking row still holds: a feasible plan);
   :func:`.chunks.round_in_chunks` — the same units a chunk at a time, when HiGHS stalls
   on that one MIP; :func:`round_split` (:func:`round_periods`) — on small models first,
   only the unit-periods the LP split; :func:`round_in_steps` — the one, then the other;
   :func:`.respend.respend` — on small models, the fractional units fixed and the LP
   solved again, so the budget their rounding stranded is spent on other units, then
   rounded in turn;
3. :func:`neighbourhood_search` — free a few dozen units at a time (the products whose
   units are closest to changing level, by LP reduced cost), keep everything else at the
   incumbent and re-optimise them exactly; repeat while the gap to the LP bound is above
   target and time is left (a large-neighbourhood search; each sub-MIP is a small model
   built from the matrix, not the whole model with fixed bounds).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ..formulation.rows import RESOURCE
from ..formulation.standard_form import StandardForm
from . import highs
from .bound import SearchLog, least_proven
from .chunks import CHUNK_UNITS, round_in_chunks
from .memory import release
from .neighbourhoods import START_SIZE, View, next_size, pick_units, unit_margins
from .options import SolverOptions
from .status import Status

#: Above :data:`~.chunks.CHUNK_UNITS` units to round, the one sub-MIP gets this long, or
#: twice the bound's time if longer, before the units are rounded in chunks (:mod:`.chunks`),
#: which get as long again. Chunks are a rescue, not the rule: where HiGHS is stuck in its
#: root cut loop they are far faster (300k with every linking term at 0.8× budget: 332
#: units, 68 s as one sub-MIP, 7.5 s in chunks), but elsewhere slower (300k without linked
#: periods: 909 units, 1.9 s against 11 s) or stuck themselves (the warm 0.9 point after
#: 1.0: 842 units, 12.4 s as one, a chunk stuck past 80 s); docs/performance-rounds.md, tenth round.
ONE_SHOT_SECONDS = 30.0


def submip(
    sf: StandardForm, x: np.ndarray, free: np.ndarray, opts: SolverOptions, seconds: float,
    *, start: bool = True, abs_gap: float = 1e-6, log: SearchLog | None = None,
    enough: float | None = None,
) -> highs.MipSolution:
    """Re-optimise the columns ``free`` (bool per column) with every other column at ``x``.

    The sub-model is cut from the matrix (:meth:`StandardForm.restricted`). ``start``:
    ``x`` is feasible and is given to HiGHS as its first incumbent, so the result is never
    worse. ``enough``: an objective of the whole plan that ends the search (the LP bound
    proves it within the gap), so the sub-MIP stops at its first plan worth more instead
    of proving its own optimum (the demo at 1.1× budget: two 4 s sub-MIPs that timed out
    did reach it early). Returns HiGHS's answer with ``x`` the full column vector (None: no
    plan); its status says whether the time ran out first.
    """
    sub = sf.restricted(free, x)
    target = None
    if enough is not None:  # the fixed columns' share of the objective is a constant
        target = enough - (sf.objective(x) - float(sf.cost[free] @ x[free]))
    out = highs.solve_mip(sub, threads=opts.threads, rel_gap=1e-9, abs_gap=abs_gap,
                          seconds=max(0.05, float(seconds)),
                          deadline=time.perf_counter() + float(seconds) + 1.0,
                          start=x[free] if start else None, target=target)
    if log is not None:
        log.interrupted |= out.interrupted
    if out.x is None:
        return out
    full = x.copy()
    full[free] = out.x
    return replace(out, x=full)


def round_fractional(
    sf: StandardForm, xr: np.ndarray, opts: SolverOptions, seconds: float, log: SearchLog,
    gap: float = 0.0, say: bool = True, exact: bool = False,
) -> np.ndarray | None:
    """A plan from the LP: units the LP decided keep their levels, the rest is a small MIP.

    Units with any fractional period stay free in all periods (switching and goodwill link
    a unit's periods), with every column they own (changes, goodwill stocks), so those
    follow the rounded levels exactly; so do the shared columns (offered levels). Every
    other unit keeps its LP values, continuous columns included: they satisfy each row of
    that unit (its rows hold no other unit's columns), and where the LP point is integral
    they are the best values for its levels (a change or a stock the LP set higher than
    its levels need would cost it objective). The sub-MIP is then the fractional units and
    the shared columns only — not every continuous column of the model (3.3M of them at 5M
    binaries, the client's peak). A unit whose LP levels are integral only within 1e-6 is
    freed too (its continuous columns are recomputed), and a plan that breaks a row of the
    whole model — a model whose rows tie one unit's continuous columns to another's — is
    replaced by the sub-MIP with every continuous column free, as before.

    ``say``: announce the rounding (progress). ``exact``: solve the sub-MIP to its optimum
    unless the bound proves a plan within ``gap`` first (:func:`.respend.respend`),
    instead of to half the gap of the bound.
    """
    release(sf.n_cols)  # what pricing's rounds freed (≈ 240 MB at 1M binaries) back to the system
    frac_units = fractional_units(sf, xr)
    integer = sf.integer.astype(bool)
    if say:
        _announce(opts, log, len(frac_units))
    x0, abs_gap, enough = _rounding_targets(sf, xr, log, gap, exact)
    loose = fractional_units(sf, xr, 1e-9)
    start = time.perf_counter()
    chunked = not exact and enough is not None and len(loose) > CHUNK_UNITS
    cap = min(seconds, max(ONE_SHOT_SECONDS, 2 * log.lp_seconds)) if chunked else seconds
    one = submip(sf, x0, (sf.owner < 0) | np.isin(sf.owner, loose), opts, cap, start=False,
                 abs_gap=abs_gap, log=log, enough=enough)
    out = one.x
    # stopped by its time (HiGHS's limit, or ours just after it when HiGHS does not look at
    # the clock in its root cut loop), not by the gap: a finished sub-MIP's plan is the
    # best of the sub-model, which chunks cannot better
    stopped = one.status in (Status.TIME_LIMIT, Status.FEASIBLE) and (
        out is None or sf.objective(out) < enough)
    if chunked and stopped and not log.interrupted:
        opts.say(f"rounding the {len(loose)} units in chunks…")
        left = min(cap, seconds - (time.perf_counter() - start))  # chunks can stick too
        out = _better(sf, out, round_in_chunks(sf, x0, loose, opts, left, log, gap))
    if out is None or not sf.meets(out):
        left = seconds - (time.perf_counter() - start)
        free = ~integer | (sf.owner < 0) | np.isin(sf.owner, frac_units)
        out = None if log.interrupted else submip(sf, x0, free, opts, max(left, 0.05),
                                                  start=False, abs_gap=abs_gap, log=log,
                                                  enough=enough).x
    if out is not None:
        log.rounded_objective = sf.objective(out)
    return out


def round_split(
    sf: StandardForm, xr: np.ndarray, opts: SolverOptions, seconds: float, log: SearchLog,
    gap: float = 0.0, say: bool = True, exact: bool = False,
) -> np.ndarray | None:
    """A plan from the LP rounded over the unit-periods it split only (:func:`round_periods`,
    to the same targets as :func:`round_fractional`), proven or not; None without an LP
    bound or when it finds no plan that meets every row."""
    if say:
        _announce(opts, log, len(fractional_units(sf, xr)))
    x0, abs_gap, enough = _rounding_targets(sf, xr, log, gap, exact)
    if enough is None:
        return None
    plan = round_periods(sf, x0, xr, opts, seconds, log, abs_gap, enough)
    if plan is not None:
        log.rounded_objective = sf.objective(plan)
    return plan


def round_in_steps(
    sf: StandardForm, xr: np.ndarray, opts: SolverOptions, seconds: float, log: SearchLog,
    gap: float = 0.0, exact: bool = False,
) -> np.ndarray | None:
    """The split unit-periods rounded first (:func:`round_split`, half the time), the whole
    fractional units (:func:`round_fractional`) only when that plan is not proven; the
    better of the two plans. Silent (for :func:`.respend.respend`)."""
    start = time.perf_counter()
    narrow = round_split(sf, xr, opts, 0.5 * seconds, log, gap, say=False, exact=exact)
    if narrow is not None and (log.interrupted
                               or sf.objective(narrow) >= least_proven(log.lp_bound, gap)):
        return narrow
    left = max(0.05, seconds - (time.perf_counter() - start))
    out = round_fractional(sf, xr, opts, left, log, gap, say=False, exact=exact)
    out = _better(sf, out, narrow) if narrow is not None else out  # no second check at scale
    if out is not None:
        log.rounded_objective = sf.objective(out)
    return out


def _announce(opts: SolverOptions, log: SearchLog, units: int) -> None:
    """The progress line of a rounding: the LP bound and how many units it rounds."""
    opts.say(f"LP bound {log.lp_bound:,.2f} ({log.lp_seconds:.1f} s); rounding "
             f"{units} fractional units…")


def _rounding_targets(sf: StandardForm, xr: np.ndarray, log: SearchLog, gap: float,
                      exact: bool) -> tuple[np.ndarray, float, float | None]:
    """What a rounding's sub-MIPs start from and aim at: the LP point ``xr`` with its
    integers rounded, their absolute gap, and the objective of the whole plan that ends
    them (the least the bound proves within ``gap``; None without a bound)."""
    x0 = np.where(sf.integer.astype(bool), np.round(xr), xr)
    # solved to half the target gap (of the bound), not to 1e-9: with 205 free units the
    # sub-MIP ran into its 80 s limit at 300k, at a tenth of the gap too
    abs_gap = 1e-6 if exact else max(1e-6, 0.5 * gap * abs(log.lp_bound or 0.0))
    enough = None if log.lp_bound is None else least_proven(log.lp_bound, gap)
    return x0, abs_gap, enough


def round_periods(
    sf: StandardForm, x0: np.ndarray, xr: np.ndarray, opts: SolverOptions, seconds: float,
    log: SearchLog, abs_gap: float, enough: float,
) -> np.ndarray | None:
    """The LP point ``xr`` rounded by a sub-MIP over its fractional unit-periods only (their
    options, the fractional units' continuous columns, the shared columns); every other
    column at ``x0`` (``xr`` with its integers rounded). None when it finds no plan that
    meets every row.

    Freeing a fractional unit in all its periods (:func:`round_fractional`) leaves HiGHS
    a sub-MIP of 400–550 binaries on the demo, which at tight budgets took 1.2–2.1 s in its
    root (cuts, then its own sub-MIP heuristic) to reach a plan the bound proves; the
    fractional unit-periods alone are 80–150 binaries, solved in 0.01–0.03 s, and after a
    re-spend their plan was proven at 0.7× and 1.1× the demo's budget (0.48% and 0.14%
    below the bound, against 0.36% and 0.39% from the whole units), but not at 0.6× or
    0.8× (1.06% and 0.57%), where the whole units are rounded next, as before.
    """
    split = np.unique(sf.groups[sf.x_cols][_split_options(sf, xr)])
    continuous = ~sf.integer.astype(bool) & np.isin(sf.owner, fractional_units(sf, xr))
    free = (sf.owner < 0) | continuous | (np.isin(sf.groups, split) & (sf.groups >= 0))
    out = submip(sf, x0, free, opts, seconds, start=False, abs_gap=abs_gap, log=log,
                 enough=enough).x
    return out if out is not None and sf.meets(out) else None


def _better(sf: StandardForm, a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
    """The plan of higher objective of ``a`` and ``b`` that meets every row; ``a`` as it is
    when neither does (the rounding's fallback then judges it)."""
    plans = [x for x in (a, b) if x is not None and sf.meets(x)]
    return max(plans, key=sf.objective, default=a)


def fractional_units(sf: StandardForm, xr: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """The units with an option column more than ``tol`` from 0 and 1 in the LP point
    ``xr`` (sorted)."""
    return np.unique(sf.owner[sf.x_cols][_split_options(sf, xr, tol)])


def _split_options(sf: StandardForm, xr: np.ndarray, tol: float = 1e-6) -> np.ndarray:
    """Per option column: is it more than ``tol`` from 0 and 1 in the LP point ``xr``?"""
    values = xr[sf.x_cols]
    return np.minimum(values, 1 - values) > tol


def neighbourhood_search(
    sf: StandardForm, x: np.ndarray, reduced_cost: np.ndarray, cluster: np.ndarray | None,
    target_gap: float, opts: SolverOptions, seconds: float, log: SearchLog,
    seed: int = 0, lp_units: np.ndarray | None = None,
) -> np.ndarray:
    """Improve the plan ``x`` by re-optimising a few dozen units at a time.

    Which units: a unit is *marginal* when one of its unchosen options has a small LP
    reduced cost (the LP is nearly indifferent to moving it). Rounds alternate between
    freeing single units and freeing whole ``cluster``s (the product: tier ordering links
    a product's segments, so some moves need them together), about ``size`` units from the
    most marginal, with noise so that rounds differ. ``size`` grows when sub-MIPs finish
    well inside their time and shrinks when they time out. Stops at ``target_gap`` to the
    LP bound, after ``seconds``, or after 12 rounds in a row without improvement.
    On a 100k-binary case single units did better than products alone (0.055% vs 0.068%
    in the same time, docs/performance.md).

    ``lp_units``: the units the LP left fractional (the rounding decided them blindly).
    Every second round frees them too, with single units of the starting size: where
    rounding them strands budget, only a sub-MIP that moves them together with others can
    re-spend it (demo at 1.1× budget: freeing them with the units of one segment closed the
    gap from 0.64% to 0.18% in 0.6 s, the same units without them gained nothing; the
    solve of that point went from 28.6 s to 11.5 s; points done in one round are unchanged).
    """
    start = time.perf_counter()
    if not len(sf.x_cols):
        return x
    rng = np.random.default_rng(seed)
    units = sf.owner[sf.x_cols]
    n_units = int(units.max()) + 1
    size = START_SIZE
    if n_units <= 2 * size:  # small model: branch-and-bound on all of it does better
        return x
    unit_score = unit_margins(sf, x, reduced_cost)
    views = [View.of(np.arange(n_units), unit_score)]
    if cluster is not None:
        views.append(View.of(np.asarray(cluster), unit_score))
    best = sf.objective(x)
    enough = None if log.lp_bound is None else least_proven(log.lp_bound, target_gap)
    step_limit, stale = _step_limit(log.lp_seconds), 0
    while True:
        left = seconds - (time.perf_counter() - start)
        gap = np.inf if log.lp_bound is None else (log.lp_bound - best) / max(abs(best), 1e-9)
        if gap <= target_gap or left < 0.5 or log.interrupted:
            break
        free_units = pick_units(views, log.rounds, size, rng, lp_units)
        free = (sf.owner < 0) | (free_units[np.maximum(sf.owner, 0)] & (sf.owner >= 0))
        limit = min(step_limit, left)
        t0 = time.perf_counter()
        new = submip(sf, x, free, opts, limit, abs_gap=max(1e-6, 0.1 * target_gap * abs(best)),
                     log=log, enough=enough).x
        took = time.perf_counter() - t0
        log.rounds += 1
        log.trace.append((round(time.perf_counter() - start, 1), int(free_units.sum()), round(took, 2)))
        value = sf.objective(new) if new is not None else -np.inf
        if value > best + 1e-9 * max(1.0, abs(best)):
            x, best = new, value
            log.improved += 1
            log.objectives.append(best)
            stale = 0
            opts.say(f"neighbourhood search: objective {best:,.2f}" if log.lp_bound is None else
                     f"neighbourhood search: gap {100 * (log.lp_bound - best) / abs(best):.4f}% "
                     f"to the LP bound (round {log.rounds})…")
        else:
            stale += 1
        size = next_size(size, took, limit)
        if stale >= 12:
            break
    log.seconds = time.perf_counter() - start
    return x


def _step_limit(lp_seconds: float) -> float:
    """Seconds the first sub-MIP of the search gets: 4 s, but on a model whose LP takes
    well under a second, 2.5 LPs (at least 1.5 s). There a sub-MIP that has not reached
    the target in that time rarely does (the demo at 1.1× budget: three 4 s sub-MIPs timed
    out before a 1.3 s one closed the gap; 11.5 s against 6.4 s with 1.5 s steps)."""
    return min(4.0, max(1.5, 2.5 * lp_seconds))


def from_start(
    sf: StandardForm, x_start: np.ndarray, opts: SolverOptions, seconds: float = 10.0
) -> np.ndarray | None:
    """Complete a given plan (option columns fixed) to all columns; None if infeasible.

    The other columns (changes, goodwill stocks, offered levels, an elastic model's slacks)
    are solved as the sub-model :func:`submip` cuts from the matrix, not as the whole model
    with the options' bounds fixed: HiGHS then neither reads nor presolves every option
    column (the elastic model of 246k binaries at a fifth of their budget: 0.7 s instead of
    3.5–3.9 s, for the same completion). The sub-model leaves out the rows of options only,
    which the plan alone must meet, so the whole plan is checked against every row here.
    """
    ok = sf.x_cols >= 0
    x = np.zeros(sf.n_cols)
    x[sf.x_cols[ok]] = np.round(x_start[ok])
    free = np.ones(sf.n_cols, dtype=bool)
    free[sf.x_cols[ok]] = False
    out = submip(sf, x, free, opts, seconds, start=False)
    return out.x if out.x is not None and sf.meets(out.x) else None


def thrifty_plan(sf: StandardForm) -> np.ndarray:
    """0/1 per option: in every unit-period the allowed level using the least resources.

    The fallback when the LP relaxation does not finish in its share of the time limit
    (1M binaries under a short limit): a plan far from optimal but nearly always feasible
    (it spends least on every budget and capacity row); :func:`from_start` checks it and
    completes the other columns, the neighbourhood search then improves it. Use is each
    resource row's coefficient scaled by that row's limit; ties go to profit. Inventory
    rows (``Σ (ss − k·q) x ≤ 0``) are left out: their right-hand side is 0, they have no
    scale, and higher levels sell more, so they rarely bind where budgets do.
    """
    n_opt = len(sf.x_cols)
    res = sf.rows_of(RESOURCE)
    A = sf.A.tocsr()
    upper = np.abs(sf.row_upper[res])
    cols = np.where(sf.x_cols >= 0, sf.x_cols, 0)
    use = np.zeros(n_opt)
    if len(res):
        scale = sp.diags(1.0 / np.where(np.isfinite(upper) & (upper > 0), upper, 1.0))
        use = np.asarray((scale @ A[res]).sum(axis=0)).ravel()[cols]
    profit = sf.cost[cols]
    og = sf.groups[cols]
    order = np.lexsort((-profit, use, og))  # per group: least use, then most profit
    first = order[np.r_[True, og[order][1:] != og[order][:-1]]]
    x = np.zeros(n_opt)
    x[first[og[first] >= 0]] = 1.0
    return x
