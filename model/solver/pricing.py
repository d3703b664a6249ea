"""The LP bound of a large case by pricing its few dense resource rows (Lagrangian).

A case has a handful of *dense* rows — budgets, capacities, inventory time, one per period
and resource, each touching every option of its period — and a very large, sparse rest
(assignment, switching, goodwill, tier ordering, fixed-cost links). Interior point on the
whole LP takes 127 s at 300k binaries; without the dense rows dual simplex solves the rest
in 8–10 s, and re-solves it in about 2 s after a change of objective. So we *price* the
dense rows instead of imposing them. For prices ``λ ≥ 0`` on rows ``D x ≤ b``::

    L(λ) = λ·b + max { (c − Dᵀλ)·x : x in the sparse rest }  ≥  LP optimum  ≥  any plan

(weak duality: every ``L(λ)`` is a valid upper bound), with equality at the LP's own row
duals. ``L`` is flat near its minimum: on the 300k case prices 2% off gave a bound only
1.7e-5 above the LP optimum, 5% off 9e-5. A price set whose solution ``x(λ)`` meets every
dense row is LP-feasible, so ``c·x(λ)`` is a lower bound on the LP: the two bracket it
and tell us when to stop.

Prices are found per row by safeguarded secant steps on ``spend_r(λ) = b_r`` (a row's
spend falls as its price rises; rows of different periods barely interact), started from
the same iteration on the *separable core* (every unit-period picks its best option
alone: numpy, milliseconds).

The sparse rest itself is held as independent product blocks (:mod:`.decompose`: each
block has its own copy of the offered-level columns, priced too), solved side by side: at
1M binaries a round takes 2 s instead of 10 s, and the first 7.5 s instead of 46 s.
"""

from __future__ import annotations

import time

import numpy as np

from ..formulation.rows import DENSE
from ..formulation.standard_form import StandardForm
from .bound import LpPoint, SearchLog
from .decompose import SparseRest
from .neighbourhoods import unit_margins
from .options import SolverOptions
from .sweep import WarmState

#: below this many columns interior point on the whole LP is fast enough
MIN_COLUMNS = 100_000
#: marginal units the rounding frees at a warm start (cold: ``marginal``, 200)
WARM_MARGINAL = 50
#: rounds without a price set that meets every row before :func:`_pushed` prices are tried
PUSH_AFTER = 8
#: the first push raises the best bound's prices by this share, each further one doubles it
PUSH = 0.005
#: pricing has settled when each of the last rounds' own bounds is within this share of
#: the gap of the best bound (:func:`settled`)
SETTLED = 0.01
#: rounds without a better LP-feasible point that end a cold, stalled pricing (:func:`idle`)
IDLE_ROUNDS = 6


def applies(sf: StandardForm, force: bool | None = None) -> bool:
    """Price the dense rows (rather than solve the whole LP) for this model?"""
    if force is False or not len(dense_rows(sf)):
        return False
    return bool(force) or sf.n_cols >= MIN_COLUMNS


def dense_rows(sf: StandardForm) -> np.ndarray:
    """The dense resource rows, if all of them are ``≤`` rows (else none: not applicable)."""
    rows = sf.rows_of(DENSE)
    return rows if np.all(np.isneginf(sf.row_lower[rows])) else rows[:0]


class _Prices:
    """Per-row safeguarded secant on ``spend_r(λ_r) = target_r`` (``λ_r = 0`` if slack).

    ``lo`` is the highest price seen with the row over target, ``hi`` the lowest with it
    within; a new price is the secant between them, kept inside the bracket, or a ×1.3 /
    ×0.7 step while one side is missing (the start is close: at 1M a ×2 step cost a 37 s
    re-solve and moved the bound 1% away).
    """

    def __init__(self, target: np.ndarray, scale: np.ndarray):
        self.target, self.scale = target, scale
        n = len(target)
        self.lo, self.s_lo = np.zeros(n), np.full(n, np.nan)
        self.hi, self.s_hi = np.full(n, np.inf), np.full(n, np.nan)
        self.last = np.zeros(n, dtype=np.int8)  # +1: lo moved last step, −1: hi moved

    def step(self, lam: np.ndarray, spend: np.ndarray) -> np.ndarray:
        over = spend > self.target
        raise_lo, lower_hi = over & (lam >= self.lo), ~over & (lam <= self.hi)
        # Illinois rule: when the same end moves twice running, halve the other end's
        # residual, so the secant does not stall on one side (plain regula falsi does)
        t = self.target
        self.s_hi = np.where(raise_lo & (self.last == 1), t + 0.5 * (self.s_hi - t), self.s_hi)
        self.s_lo = np.where(lower_hi & (self.last == -1), t + 0.5 * (self.s_lo - t), self.s_lo)
        self.last = np.where(raise_lo, 1, np.where(lower_hi, -1, 0))
        self.lo, self.s_lo = np.where(raise_lo, lam, self.lo), np.where(raise_lo, spend, self.s_lo)
        self.hi, self.s_hi = np.where(lower_hi, lam, self.hi), np.where(lower_hi, spend, self.s_hi)
        stale = self.lo >= self.hi  # other rows moved: the bracket no longer holds, restart
        self.lo, self.s_lo = np.where(stale, 0.0, self.lo), np.where(stale, np.nan, self.s_lo)
        self.hi, self.s_hi = np.where(stale, np.inf, self.hi), np.where(stale, np.nan, self.s_hi)
        both = np.isfinite(self.hi) & ~np.isnan(self.s_lo)
        w = np.where(both, self.hi - self.lo, 0.0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            sec = self.lo + (self.s_lo - t) * w / (self.s_lo - self.s_hi)
        sec = np.where(np.isfinite(sec), sec, self.lo + 0.5 * w)
        new = np.where(both, np.clip(sec, self.lo + 1e-3 * w, self.hi - 1e-3 * w), lam)
        up = over & ~np.isfinite(self.hi)  # still over target: no upper price known yet
        new = np.where(up, np.where(lam > 0, 1.3 * lam, self.scale), new)
        down = ~over & np.isnan(self.s_lo)  # within target, no lower price known: halve
        new = np.where(down, np.where(lam > 1e-9 * self.scale, 0.7 * lam, 0.0), new)
        return new

    def within(self, lam: np.ndarray) -> np.ndarray:
        """Per row the lowest price at which it was seen within its target (``lam``, the
        secant's next price, for a row never seen within). For a point that meets every
        dense row when the secant, converging from both sides at once, keeps one row or
        another just over (:func:`lagrangian`)."""
        return np.where(np.isfinite(self.hi), self.hi, lam)


def _core_prices(sf: StandardForm, D, c: np.ndarray, b: np.ndarray, scale: np.ndarray,
                 iterations: int = 40) -> np.ndarray:
    """Start prices from the separable core: each unit-period alone picks its best option
    at prices λ (switching, goodwill, tiers and fixed costs ignored)."""
    cols, starts = sf.choices
    Dx, cx = D[:, cols].tocsc(), c[cols]
    prices = _Prices(b, scale)
    lam = np.zeros(len(b))
    pos = np.arange(len(cols))
    for _ in range(iterations):
        score = cx - Dx.T @ lam
        best = np.maximum.reduceat(score, starts)
        top = np.where(score >= np.repeat(best, np.diff(np.r_[starts, len(cols)])), pos, len(cols))
        pick = np.minimum.reduceat(top, starts)
        x = np.zeros(len(cols))
        x[pick] = 1.0
        lam = prices.step(lam, Dx @ x)
    return lam


def lagrangian(
    sf: StandardForm, opts: SolverOptions, seconds: float | None, log: SearchLog,
    gap: float = 1e-4, max_rounds: int = 30, marginal: int = 200,
    warm: WarmState | None = None, cluster: np.ndarray | None = None, tighten: bool = False,
) -> LpPoint | None:
    """The point ``(x, reduced costs)`` for the rounding, with ``log.lp_bound`` the best ``L(λ)`` (a
    valid bound); None if the sparse rest cannot be solved to optimality in time or no
    price set met the dense rows (the caller then solves the whole LP; pushed prices,
    :func:`_pushed`, make that rare).

    Stops once the best feasible point (at a warm start: its best LP-feasible mix with the
    best-bound point, :func:`_mixed`) is within ``gap / 2`` (relative) of the bound, or the
    bound has stalled (less than ``gap / 10`` in three re-solves; in
    one at a warm start) with the feasible point within ``2 × gap`` (stopping on the bound
    alone once left it 0.5% off at 300k, and rounding its 164 fence units took 72 s; at
    1M, 1.3% off left 1,655 units to round in 25 s, where a round of the product blocks
    takes 2 s) or, cold, with that point unimproved for a while (:func:`idle`), after
    ``max_rounds``, or at ``seconds``. A warm start's stall is looser
    (less than ``gap / 2`` in one re-solve) and sets ``log.bound_loose``: when the rounding
    then does not prove its plan, the caller prices on (``tighten``: the same point again,
    from its own prices, with the tolerance ``gap / 10``).

    ``warm`` (a sweep's state, :mod:`.sweep`): when the last point had the same matrix,
    its sparse rest (held in HiGHS with its optimal basis) and its prices are the start;
    the sparse rest and the prices of the best bound are left there for the next point.
    ``cluster`` (product per unit) splits the sparse rest into product blocks.
    """
    start = time.perf_counter()
    dense = dense_rows(sf)
    D = sf.A[dense].tocsr()
    b = sf.row_upper[dense]
    c = sf.cost
    # a row's natural price scale: objective per unit of that row's use, over its columns
    absD = abs(D)
    scale = (absD.sign() @ np.abs(c)) / np.maximum(np.asarray(absD.sum(axis=1)).ravel(), 1e-12)
    target = b - 1e-6 * np.maximum(np.abs(b), 1.0)  # aim just inside: the point stays feasible
    prices = _Prices(target, scale)
    warm_start = (warm is not None and warm.reused and warm.rest is not None
                  and warm.lam is not None)
    again = tighten and warm_start and warm.core is not None  # the same targets as last time
    core = warm.core if again else _core_prices(sf, D, c, target, scale)
    window, stall = 3, 0.1 * gap  # a stall: the bound moved less than `stall` in `window` rounds
    if warm_start:
        lam, rest = _warm_prices(prices, warm, core), warm.rest
        # warm prices start within a few % of the root, where the bound is flat: one round
        # is the window (300k, budget 1.0 → 0.9: the bound settled within 0.015% after two
        # rounds, and five more moved it 0.005%), and a first pass stops at half the gap
        window, stall = 1, 0.1 * gap if tighten else 0.5 * gap
        marginal = min(marginal, WARM_MARGINAL)
    else:
        lam = core
        rest = SparseRest.of(sf, dense, cluster, opts.threads, opts.dask)
    if warm is not None:
        warm.core = core
    log.blocks, log.links_priced = rest.lps.n_blocks, len(rest.layout.copy_of) > 0
    log.dask = opts.dask
    where = "" if opts.dask is None else f" on the Dask cluster at {opts.dask}"
    opts.say(f"pricing the {len(dense)} dense budget rows ({sf.n_cols:,} columns, "
             f"{rest.lps.n_blocks} blocks{where})…")
    best_lam, seen = lam, []
    bounds: list[float] = []  # the best bound after each round
    raw: list[float] = []  # each round's own bound
    best_bound, best_x, best_value, best_rc, bound_x = np.inf, None, -np.inf, None, None
    limit = b + 1e-7 * np.maximum(np.abs(b), 1.0)
    best_spend = bound_spend = None
    bound_value = reach = -np.inf
    improved_at = 0  # the round that found the best LP-feasible point
    pushes = 0  # rounds spent looking for prices that meet every row (:func:`_pushed`)
    try:
        for rnd in range(max_rounds):
            left = None if seconds is None else seconds - (time.perf_counter() - start)
            if left is not None and left <= 0.5:
                break
            until = None if left is None else time.perf_counter() + left + 1.0
            lp = rest.solve(c - D.T @ lam, left, until)
            log.interrupted |= lp.interrupted
            if not lp.optimal:
                break
            x = lp.x
            spend = D @ x
            seen.append((lam, spend))
            bound = float(lp.objective + lam @ b)  # the rest's part includes the offset
            if bound < best_bound:
                best_bound, bound_x, best_rc, best_lam = bound, x, lp.col_dual, lam
                bound_value, bound_spend = sf.objective(x), spend
            if np.all(spend <= limit):
                value = sf.objective(x)
                if value > best_value:
                    best_x, best_value, best_spend = x, value, spend
                    improved_at = rnd
            # what the rounding can reach: at a warm start (prices near the root, few units
            # on the fence) the LP-feasible mix of the feasible and best-bound points; cold,
            # the feasible point itself — the mix stopped cold pricing at 5M after 76 s with
            # 5,273 units on the fence (772 otherwise), the rounding found no plan in 161 s
            reach = best_value
            if warm_start and best_x is not None:
                reach = _mixed(best_value, best_spend, bound_value, bound_spend, limit)
            log.trace.append(("price", rnd, round(time.perf_counter() - start, 1), bound, reach))
            bounds.append(best_bound)
            off = np.inf if best_x is None else (best_bound - reach) / abs(best_bound)
            stalled = (len(bounds) > window
                       and bounds[-1 - window] - best_bound <= stall * abs(best_bound))
            raw.append(bound)
            # a point found by pushing prices is as good as this secant gets: where it swings
            # between groups of rows (:func:`_pushed`), 21 more rounds at 300k found no better
            found_by_push = pushes > 0 and best_x is not None
            if (off <= 0.5 * gap or (stalled and (off <= 2 * gap or found_by_push))
                    or idle(stalled, rnd - improved_at, cold=not warm_start,
                            feasible=best_x is not None)
                    or settled(raw, best_bound, gap, window, cold=not warm_start,
                               feasible=best_x is not None)):
                log.bound_loose = stall > 0.1 * gap and off > 0.5 * gap
                break
            lam = prices.step(lam, spend)
            if best_x is None and (converged(raw, best_bound, 0.1 * gap)
                                   or len(raw) >= PUSH_AFTER):
                # no price set has met every row yet, and the secant will not get there:
                # without one, pricing hands over to the whole LP relaxation (39 s at 300k)
                pushes += 1
                lam = _pushed(prices.within(lam), best_lam, pushes)
    finally:
        if warm is None:
            rest.close()  # a Dask client and its actors go now; a sweep keeps them
    log.lp_seconds = time.perf_counter() - start
    log.lp_method = "prices"
    if warm is not None:
        warm.rest, warm.lam, warm.seen = rest, best_lam, seen
    if best_x is None or not np.isfinite(best_bound):
        return None
    log.lp_bound = best_bound
    # a warm start's prices stop at a loose stall: bound enough, yet at 300k a sweep point's
    # were 0.8% (up to 1.3%) off the local LP's duals, where a cold start's were within 3.3e-4
    log.prices = None if warm_start else best_lam
    differ = np.abs(best_x - bound_x) > 1e-9
    free = np.zeros(int(sf.owner.max()) + 1, dtype=bool)
    free[sf.owner[differ & (sf.owner >= 0)]] = True
    log.trace.append(("fence", int(free.sum()), reach))
    free[_marginal_units(sf, bound_x, best_rc, marginal)] = True
    # The rounding frees every unit that is fractional in the returned point. Free (set to
    # ½) the units on the fence — where the best feasible point and the best-bound point
    # differ — and the most marginal units by reduced cost, so the budget slack left by
    # the feasible point can be spent; every other unit is fixed where both points agree
    # (the feasible point proves the fixed part leaves room).
    on = (sf.owner >= 0) & free[np.maximum(sf.owner, 0)] & sf.integer.astype(bool)
    return LpPoint(np.where(on, 0.5, best_x), best_rc)


def settled(raw: list[float], best: float, gap: float, window: int, *, cold: bool = True,
            feasible: bool = True) -> bool:
    """Has pricing converged? Each of the last ``window`` rounds' own bounds ``raw`` lies
    within :data:`SETTLED` × ``gap`` (relative) of the ``best`` bound: more rounds would
    only polish a bound the plan is proven against anyway, whatever the best LP-feasible
    price point (which cold pricing rarely improves after its first rounds; the rounding
    works from the bound's point). At 300k binaries without linking terms, cold, that
    point stayed 1.7% below the bound from round 1, and rounds 12–29 moved the bound by
    3.4e-7: 2.6 s of a 9.3 s run. Not the best bound's own history: it stands still
    while the secant overshoots (rounds 1–3 there), which is no convergence.

    Only a ``cold`` start with a ``feasible`` price point stops on it. Without such a point
    there is nothing to round, and pricing hands over to the whole LP relaxation: a warm
    sweep point at 300k with every linking term (budget 0.9 → 1.0) settled after two rounds
    without one, and its whole LP took 292 s by interior point, where pricing on found its
    point in four rounds (2.4 s). A warm start's prices begin near the root and stop on
    their own loose stall."""
    return cold and feasible and converged(raw, best, SETTLED * gap, window)


def idle(stalled: bool, since: int, *, cold: bool = True, feasible: bool = True) -> bool:
    """Is neither side of the bracket moving? The best bound has ``stalled`` and the best
    LP-feasible point was found ``since`` rounds ago, at least :data:`IDLE_ROUNDS`.

    A stalled bound alone stops pricing only with that point within twice the gap: a point
    far below it leaves many units to round. But cold pricing rarely improves the point
    after its first rounds: 300k without linking terms at 0.6 / 0.8 / 0.9× budget ran all
    30 rounds (5.8–6.2 s) around a bound that had stalled by round 7. Stopped here after
    8–9 rounds, the solves took 4.0 / 4.1 / 6.1 s instead of 7.8 / 8.2 / 9.8 s, still
    proven within the gap (0.1%). Only a ``cold`` start with a ``feasible`` point (as
    :func:`settled`)."""
    return cold and feasible and stalled and since >= IDLE_ROUNDS


def converged(raw: list[float], best: float, tol: float, window: int = 3) -> bool:
    """Have the last ``window`` rounds' own bounds ``raw`` all come within ``tol``
    (relative) of the ``best`` bound? Within a tenth of the gap, with no price set that
    meets every row yet, the prices sit at the root, where a secant converging from both
    sides leaves some row just over its target at every round (:func:`_pushed`); within
    :data:`SETTLED` × the gap, pricing has settled (:func:`settled`)."""
    return len(raw) > window and max(raw[-window:]) - best <= tol * abs(best)


def _pushed(within: np.ndarray, best_lam: np.ndarray, k: int) -> np.ndarray:
    """Prices for the ``k``-th try at a point that meets every dense row, once the secant
    has converged (:func:`converged`) or run :data:`PUSH_AFTER` rounds without one.

    First the prices each row was last within at (:meth:`_Prices.within`): enough where the
    rows barely interact (300k core, warm, budget 1.0 → 1.1: the next round met every row,
    0.006% under the bound). Where they do — a product's offered-level column carries its
    fixed cost into every period — the secant swings between groups of rows (300k core,
    warm, 0.9 → 0.8: rows 0, 1, 5–8 over in one round, 2–4, 9–11 in the next, for 30
    rounds) and those prices, gathered from different rounds, do not meet every row
    together. Then the best bound's prices raised on every row, by :data:`PUSH` and twice
    as much at each further try: a dearer budget in every period at once lowers the spend
    in every period."""
    if k <= 1:
        return within
    base = np.where(best_lam > 0, best_lam, within)
    return base * (1.0 + PUSH * 2.0 ** (k - 2))


def _mixed(value: float, spend: np.ndarray, bound_value: float, bound_spend: np.ndarray,
           limit: np.ndarray) -> float:
    """The value of the best LP-feasible mix of the best feasible point and the best-bound
    point: ``(1 − α)·x_f + α·x_b`` with the largest ``α ≤ 1`` that keeps every dense row
    within its limit (the sparse rest is convex, so the mix meets it too).

    This is what the rounding can reach: it frees the units where the two points differ
    (the fence) and fixes the rest where they agree, so the mix is a point of its sub-MIP's
    LP. The feasible point alone undersells it: a price set that meets every row at once
    is rare near the root (300k, budget 1.0 → 0.9, warm: the first round's point stayed
    the best feasible one for ten rounds, 0.25% under a bound that had settled within
    0.015% after two), so pricing went on for rounds the rounding did not need.
    """
    over = bound_spend > limit
    if not over.any():
        return bound_value
    with np.errstate(divide="ignore", invalid="ignore"):
        room = (limit[over] - spend[over]) / (bound_spend[over] - spend[over])
    alpha = float(np.clip(np.nan_to_num(room.min(), nan=0.0), 0.0, 1.0))
    return (1.0 - alpha) * value + alpha * bound_value


def _warm_prices(prices: _Prices, warm: WarmState, core: np.ndarray) -> np.ndarray:
    """The first prices of a sweep point whose only change since the last is the budgets.

    The sparse rest is the same LP, so each row's spend at the last point's prices is still
    its spend now; only the targets moved. Those (price, spend) pairs bracket the new root
    where they can. A budget cut by 10% moves the root outside every pair (all of them
    overspend now), and the secant then only steps ×1.3 from the last price: six rounds
    at 300k, as many as cold. The separable core moves almost as the whole rest does (300k,
    budget 1.0 → 0.9: core prices +0.18 per row, the rest's +0.18–0.19 on the first
    periods and +0.15 on the last, against the core's ratio 1.43–1.52 and the rest's
    1.36–1.44), so the last prices shifted by the change of the core prices start
    within 0–5% of the new root; kept inside the bracket of the pairs seen.
    """
    lam = warm.lam
    for seen_lam, seen_spend in warm.seen:  # also brackets the root in ``prices``
        lam = prices.step(seen_lam, seen_spend)
    if warm.core is None:
        return lam
    shifted = np.maximum(0.0, warm.lam + core - warm.core)
    return np.clip(shifted, prices.lo, prices.hi)


def _marginal_units(sf: StandardForm, x: np.ndarray, rc: np.ndarray, n: int) -> np.ndarray:
    """The ``n`` units with an unchosen option of smallest |reduced cost|."""
    margin = unit_margins(sf, x, rc)
    order = np.argsort(margin, kind="stable")[:n]
    return order[np.isfinite(margin[order])]
