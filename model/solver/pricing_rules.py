"""Where pricing's prices go next, and when it stops (the rounds of
:func:`svcplan.solver.pricing.lagrangian`).

- :class:`Prices`: per dense row a safeguarded secant on its spend against its target;
- :func:`pushed`: prices for a point that meets every row when the secant will not find one;
- :func:`mixed`: what the rounding can reach from the best feasible and best-bound points;
- :func:`settled`, :func:`idle`, :func:`converged`: the stop rules.

Pure numpy: each rule is tested on its own (``tests/test_lagrange.py``,
``tests/test_sweep_warm.py``).
"""

from __future__ import annotations

import numpy as np

#: rounds without a price set that meets every row before :func:`pushed` prices are tried
PUSH_AFTER = 8
#: the first push raises the best bound's prices by this share, each further one doubles it
PUSH = 0.005
#: pricing has settled when each of the last rounds' own bounds is within this share of
#: the gap of the best bound (:func:`settled`)
SETTLED = 0.01
#: rounds without a better LP-feasible point that end a cold, stalled pricing (:func:`idle`)
IDLE_ROUNDS = 6


class Prices:
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
        another just over (:func:`svcplan.solver.pricing.lagrangian`)."""
        return np.where(np.isfinite(self.hi), self.hi, lam)


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
    sides leaves some row just over its target at every round (:func:`pushed`); within
    :data:`SETTLED` × the gap, pricing has settled (:func:`settled`)."""
    return len(raw) > window and max(raw[-window:]) - best <= tol * abs(best)


def pushed(within: np.ndarray, best_lam: np.ndarray, k: int) -> np.ndarray:
    """Prices for the ``k``-th try at a point that meets every dense row, once the secant
    has converged (:func:`converged`) or run :data:`PUSH_AFTER` rounds without one.

    First the prices each row was last within at (:meth:`Prices.within`): enough where the
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


def mixed(value: float, spend: np.ndarray, bound_value: float, bound_spend: np.ndarray,
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
