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
from dataclasses import dataclass, field

import numpy as np

from ..formulation.rows import DENSE
from ..formulation.standard_form import StandardForm
from .bound import LpPoint, SearchLog
from .decompose import SparseRest
from .neighbourhoods import unit_margins
from .options import SolverOptions
from .pricing_rules import PUSH_AFTER, Prices, converged, idle, mixed, pushed, settled
from .sweep import WarmState

#: below this many columns interior point on the whole LP is fast enough
MIN_COLUMNS = 100_000
#: marginal units the rounding frees at a warm start (cold: ``marginal``, 200)
WARM_MARGINAL = 50


def applies(sf: StandardForm, force: bool | None = None) -> bool:
    """Price the dense rows (rather than solve the whole LP) for this model?"""
    if force is False or not len(dense_rows(sf)):
        return False
    return bool(force) or sf.n_cols >= MIN_COLUMNS


def dense_rows(sf: StandardForm) -> np.ndarray:
    """The dense resource rows, if all of them are ``≤`` rows (else none: not applicable)."""
    rows = sf.rows_of(DENSE)
    return rows if np.all(np.isneginf(sf.row_lower[rows])) else rows[:0]


def _core_prices(sf: StandardForm, D, c: np.ndarray, b: np.ndarray, scale: np.ndarray,
                 iterations: int = 40) -> np.ndarray:
    """Start prices from the separable core: each unit-period alone picks its best option
    at prices λ (switching, goodwill, tiers and fixed costs ignored)."""
    cols, starts = sf.choices
    Dx, cx = D[:, cols].tocsc(), c[cols]
    prices = Prices(b, scale)
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
    :func:`~.pricing_rules.pushed`, make that rare).

    Stops once the best feasible point (at a warm start: its best LP-feasible mix with the
    best-bound point, :func:`~.pricing_rules.mixed`) is within ``gap / 2`` (relative) of the
    bound, or the bound has stalled (less than ``gap / 10`` in three re-solves; in
    one at a warm start) with the feasible point within ``2 × gap`` (stopping on the bound
    alone once left it 0.5% off at 300k, and rounding its 164 fence units took 72 s; at
    1M, 1.3% off left 1,655 units to round in 25 s, where a round of the product blocks
    takes 2 s) or, cold, with that point unimproved for a while (:func:`~.pricing_rules.idle`),
    after ``max_rounds``, or at ``seconds``. A warm start's stall is looser
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
    target = b - 1e-6 * np.maximum(np.abs(b), 1.0)  # aim just inside: the point stays feasible
    prices = Prices(target, _price_scale(D, sf.cost))
    st = _start(sf, D, dense, prices, target, opts, gap, marginal, warm, cluster, tighten)
    lam, rest = st.lam, st.rest
    if warm is not None:
        warm.core = st.core
    log.blocks, log.links_priced = rest.lps.n_blocks, len(rest.layout.copy_of) > 0
    log.dask = opts.dask
    where = "" if opts.dask is None else f" on the Dask cluster at {opts.dask}"
    opts.say(f"pricing the {len(dense)} dense budget rows ({sf.n_cols:,} columns, "
             f"{rest.lps.n_blocks} blocks{where})…")
    rounds = _Rounds(limit=b + 1e-7 * np.maximum(np.abs(b), 1.0), warm_start=st.warm,
                     best_lam=lam)
    pushes = 0  # rounds spent looking for prices that meet every row (:func:`pushed`)
    try:
        for rnd in range(max_rounds):
            left = None if seconds is None else seconds - (time.perf_counter() - start)
            if left is not None and left <= 0.5:
                break
            until = None if left is None else time.perf_counter() + left + 1.0
            lp = rest.solve(sf.cost - D.T @ lam, left, until)
            log.interrupted |= lp.interrupted
            if not lp.optimal:
                break
            spend = D @ lp.x
            bound = float(lp.objective + lam @ b)  # the rest's part includes the offset
            rounds.record(sf, rnd, lam, lp, spend, bound)
            log.trace.append(("price", rnd, round(time.perf_counter() - start, 1), bound,
                              rounds.reach))
            if rounds.done(rnd, gap, st.window, st.stall, pushed_before=pushes > 0):
                log.bound_loose = st.stall > 0.1 * gap and rounds.off > 0.5 * gap
                break
            lam = prices.step(lam, spend)
            if rounds.best_x is None and (converged(rounds.raw, rounds.best_bound, 0.1 * gap)
                                          or len(rounds.raw) >= PUSH_AFTER):
                # no price set has met every row yet, and the secant will not get there:
                # without one, pricing hands over to the whole LP relaxation (39 s at 300k)
                pushes += 1
                lam = pushed(prices.within(lam), rounds.best_lam, pushes)
    finally:
        if warm is None:
            rest.close()  # a Dask client and its actors go now; a sweep keeps them
    log.lp_seconds = time.perf_counter() - start
    log.lp_method = "prices"
    if warm is not None:
        warm.rest, warm.lam, warm.seen = rest, rounds.best_lam, rounds.seen
    if rounds.best_x is None or not np.isfinite(rounds.best_bound):
        return None
    log.lp_bound = rounds.best_bound
    # a warm start's prices stop at a loose stall: bound enough, yet at 300k a sweep point's
    # were 0.8% (up to 1.3%) off the local LP's duals, where a cold start's were within 3.3e-4
    log.prices = None if st.warm else rounds.best_lam
    return _fenced_point(sf, rounds, st.marginal, log)


@dataclass
class _Start:
    """Where the rounds of :func:`lagrangian` start: prices ``lam``, the sparse ``rest``
    (held in HiGHS), the separable core's prices ``core`` at these budgets, the stall test
    (the bound moved less than ``stall``, relative, in ``window`` rounds) and how many
    ``marginal`` units the rounding frees."""

    lam: np.ndarray
    rest: SparseRest
    core: np.ndarray
    warm: bool
    window: int
    stall: float
    marginal: int


def _start(sf: StandardForm, D, dense: np.ndarray, prices: Prices, target: np.ndarray,
           opts: SolverOptions, gap: float, marginal: int, warm: WarmState | None,
           cluster: np.ndarray | None, tighten: bool) -> _Start:
    """A warm start where the sweep's last point had the same matrix and left its sparse
    rest and prices (``tighten``: the same point again, from its own core prices), else
    the core's prices and a new sparse rest (split into product blocks by ``cluster``)."""
    warm_start = (warm is not None and warm.reused and warm.rest is not None
                  and warm.lam is not None)
    again = tighten and warm_start and warm.core is not None  # the same targets as last time
    core = warm.core if again else _core_prices(sf, D, sf.cost, target, prices.scale)
    if not warm_start:
        rest = SparseRest.of(sf, dense, cluster, opts.threads, opts.dask)
        return _Start(core, rest, core, False, 3, 0.1 * gap, marginal)
    # warm prices start within a few % of the root, where the bound is flat: one round is
    # the window (300k, budget 1.0 → 0.9: the bound settled within 0.015% after two rounds,
    # and five more moved it 0.005%), and a first pass stops at half the gap
    return _Start(_warm_prices(prices, warm, core), warm.rest, core, True, 1,
                  0.1 * gap if tighten else 0.5 * gap, min(marginal, WARM_MARGINAL))


def _price_scale(D, c: np.ndarray) -> np.ndarray:
    """Each dense row's natural price scale: objective per unit of that row's use, over
    its columns (the secant's first step where no price is known yet)."""
    absD = abs(D)
    return (absD.sign() @ np.abs(c)) / np.maximum(np.asarray(absD.sum(axis=1)).ravel(), 1e-12)


@dataclass
class _Rounds:
    """What pricing's rounds have found so far: the best bound ``L(λ)`` with its point,
    prices and reduced costs; the best LP-feasible point; each round's own bound."""

    limit: np.ndarray  # the dense rows' right-hand sides, with a hair of tolerance
    warm_start: bool
    best_lam: np.ndarray  # the prices of the best bound (the start's until a round is in)
    best_bound: float = np.inf
    bound_x: np.ndarray | None = None
    best_rc: np.ndarray | None = None
    bound_value: float = -np.inf  # the objective at the best bound's point
    bound_spend: np.ndarray | None = None
    best_x: np.ndarray | None = None  # the best point that meets every dense row
    best_value: float = -np.inf
    best_spend: np.ndarray | None = None
    improved_at: int = 0  # the round that found the best LP-feasible point
    reach: float = -np.inf  # what the rounding can reach (:meth:`record`)
    bounds: list[float] = field(default_factory=list)  # the best bound after each round
    raw: list[float] = field(default_factory=list)  # each round's own bound
    seen: list = field(default_factory=list)  # (prices, spend per dense row) of each round

    def record(self, sf: StandardForm, rnd: int, lam: np.ndarray, lp, spend: np.ndarray,
               bound: float) -> None:
        """Round ``rnd``: prices ``lam``, the sparse rest's answer ``lp``, its ``spend``
        per dense row and the bound ``L(lam)``.

        What the rounding can reach: at a warm start (prices near the root, few units on
        the fence) the LP-feasible mix of the feasible and best-bound points; cold, the
        feasible point itself — the mix stopped cold pricing at 5M after 76 s with 5,273
        units on the fence (772 otherwise), the rounding found no plan in 161 s."""
        self.seen.append((lam, spend))
        if bound < self.best_bound:
            self.best_bound, self.bound_x, self.best_rc, self.best_lam = (
                bound, lp.x, lp.col_dual, lam)
            self.bound_value, self.bound_spend = sf.objective(lp.x), spend
        if np.all(spend <= self.limit):
            value = sf.objective(lp.x)
            if value > self.best_value:
                self.best_x, self.best_value, self.best_spend = lp.x, value, spend
                self.improved_at = rnd
        self.reach = self.best_value
        if self.warm_start and self.best_x is not None:
            self.reach = mixed(self.best_value, self.best_spend, self.bound_value,
                               self.bound_spend, self.limit)
        self.bounds.append(self.best_bound)
        self.raw.append(bound)

    @property
    def off(self) -> float:
        """How far (relative) what the rounding can reach lies below the best bound."""
        return np.inf if self.best_x is None else (self.best_bound - self.reach) / abs(
            self.best_bound)

    def done(self, rnd: int, gap: float, window: int, stall: float, pushed_before: bool) -> bool:
        """Stop after round ``rnd``? Within half the gap; or stalled (the best bound moved
        less than ``stall`` in ``window`` rounds) with the reach within twice the gap or
        found by pushed prices — where the secant swings between groups of rows
        (:func:`pushed`), 21 more rounds at 300k found no better; or idle, or settled
        (:func:`idle`, :func:`settled`: cold starts only)."""
        feasible, cold = self.best_x is not None, not self.warm_start
        stalled = (len(self.bounds) > window
                   and self.bounds[-1 - window] - self.best_bound <= stall * abs(self.best_bound))
        return (self.off <= 0.5 * gap
                or (stalled and (self.off <= 2 * gap or (pushed_before and feasible)))
                or idle(stalled, rnd - self.improved_at, cold=cold, feasible=feasible)
                or settled(self.raw, self.best_bound, gap, window, cold=cold, feasible=feasible))


def _fenced_point(sf: StandardForm, rounds: _Rounds, marginal: int, log: SearchLog) -> LpPoint:
    """The best feasible point with the units on the fence freed (set to ½), for the
    rounding: it frees every unit that is fractional in the point it gets.

    On the fence are the units where the best feasible point and the best-bound point
    differ, and the ``marginal`` most marginal units by reduced cost, so the budget slack
    left by the feasible point can be spent; every other unit is fixed where both points
    agree (the feasible point proves the fixed part leaves room)."""
    differ = np.abs(rounds.best_x - rounds.bound_x) > 1e-9
    free = np.zeros(int(sf.owner.max()) + 1, dtype=bool)
    free[sf.owner[differ & (sf.owner >= 0)]] = True
    log.trace.append(("fence", int(free.sum()), rounds.reach))
    free[_marginal_units(sf, rounds.bound_x, rounds.best_rc, marginal)] = True
    on = (sf.owner >= 0) & free[np.maximum(sf.owner, 0)] & sf.integer.astype(bool)
    return LpPoint(np.where(on, 0.5, rounds.best_x), rounds.best_rc)


def _warm_prices(prices: Prices, warm: WarmState, core: np.ndarray) -> np.ndarray:
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
