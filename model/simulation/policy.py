"""The inventory policy of a service level, simulated day by day (SPEC §8): the engine.

Every unit-period of a plan is one independent inventory system run in steady state. Its
parameters come in as arrays (:class:`Policy`), one element per unit-period; the engine
knows nothing of cases, plans or SPEC §2 formulas, so its tests set the parameters directly.

One day ``t`` of one system, in this order:

1. orders due today arrive (``on_hand``/net inventory rises);
2. the day's demand ``d`` is taken from stock; what stock cannot cover is backordered
   (net inventory below zero); the units short today are the growth of the backlog;
3. at the end of the day the policy reviews the inventory position IP (net inventory plus
   everything on order): periodic review (``review_days`` R > 0) on days R-1, 2R-1, …
   orders ``S − IP`` (``level`` = S, the order-up-to level); continuous review (R = 0)
   orders the smallest multiple of ``quantity`` Q that lifts IP above ``level`` = r, the
   reorder point, whenever IP <= r;
4. an order placed at the end of day t with lead time L arrives at the start of day
   t + L + 1, so L whole days of demand fall between order and arrival.

**A replenishment cycle** is one order (for periodic review every review is one, even an
order of zero). It is *without stockout* when the net inventory at the end of the day
before the order arrives is not negative: nothing was backordered just before the stock it
brings. For periodic review with a fixed lead time that net inventory is exactly
``S − D(P)`` with P = R + LT days of demand, so the achieved cycle service estimates
``F(mu + ss)`` of SPEC §2 without approximation; continuous review reaches the reorder point
only at the end of a day, below r by the undershoot, which the formula ignores.

**Lead times** are drawn per order: ``x ~ normal(lead_time_days, lead_time_sd_days)``,
negative values set to 0, then rounded to whole days at random — up with probability equal
to the fraction — so a fixed 5.6-day lead time is 6 days 60% of the time and 5 days 40%
(mean kept, at most 0.25 day² of variance added). Lead times are capped at mean + 6 sd + 1.

**Random numbers.** Each unit-period has its own generator, seeded from the run's seed and a
64-bit key of the unit-period (``keys``): its numbers do not depend on which other
unit-periods are simulated with it, in which chunk, or in what order. Each asks its
generator for blocks of :data:`BLOCK_DAYS` days (standard demand variates, then lead-time
noise), so the
stream is consumed the same way whatever the chunking. The state update is vectorised over
the unit-periods of a chunk; the only Python loop is over days (and, per block, over units
to ask each generator for its block of numbers — the numbers themselves come in bulk).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .pool import chunk_outcomes

#: Days of random numbers drawn per generator call (fixed: the stream must not depend on
#: the chunking).
BLOCK_DAYS = 1024
#: Batches the measured days of each unit-period are cut into (interval estimates).
N_BATCHES = 20
#: Warm-up before measuring: this many cycles (at least a period each) plus the lead time.
WARMUP_CYCLES = 5
#: Unit-periods simulated together (bounded so the window snapshots stay small).
CHUNK_UNITS = 4096


@dataclass(frozen=True)
class Policy:
    """One element per unit-period: the policy and its demand (all in units and days)."""

    daily_mean: np.ndarray  # mean demand per day (> 0)
    daily_sd: np.ndarray  # standard deviation of one day's demand
    gamma: np.ndarray  # bool: gamma daily demand (else normal, which may be negative)
    review_days: np.ndarray  # int: R > 0 periodic review, 0 continuous review
    lead_time_days: np.ndarray  # mean lead time LT (may be fractional)
    lead_time_sd_days: np.ndarray  # spread of the lead time
    level: np.ndarray  # S (periodic) or the reorder point r (continuous)
    quantity: np.ndarray  # Q of continuous review (> 0 there; unused for periodic)
    keys: np.ndarray  # uint64: the stream key of the unit-period

    def __len__(self) -> int:
        return len(self.daily_mean)

    def take(self, idx: np.ndarray) -> Policy:
        """The policies at positions ``idx``."""
        return Policy(**{k: np.asarray(v)[idx] for k, v in self.__dict__.items()})


@dataclass(frozen=True)
class Windows:
    """A linear reward per window of ``period_days`` days, summed by group (e.g. profit per
    period of the plan): ``reward = shipped_coef·shipped + on_hand_coef·mean on-hand``."""

    shipped_coef: np.ndarray
    on_hand_coef: np.ndarray
    group: np.ndarray  # int, 0 <= group < n_groups
    n_groups: int

    def take(self, idx: np.ndarray) -> Windows:
        """The rewards of the unit-periods at positions ``idx`` (the same groups)."""
        return Windows(self.shipped_coef[idx], self.on_hand_coef[idx], self.group[idx],
                       self.n_groups)


@dataclass
class Outcome:
    """Measured counts per unit-period (totals and per batch, batches along axis 0)."""

    cycles: np.ndarray
    stockouts: np.ndarray
    demand: np.ndarray
    short: np.ndarray
    batch_cycles: np.ndarray  # (N_BATCHES, n)
    batch_stockouts: np.ndarray
    batch_demand: np.ndarray
    batch_short: np.ndarray
    rewards: np.ndarray | None  # (n_groups, windows): summed window rewards, if asked

    @classmethod
    def zeros(cls, n: int, cycles: int, windows: Windows | None) -> Outcome:
        """Nothing counted yet for ``n`` unit-periods (rewards only where ``windows``)."""
        return cls(*(np.zeros(n) for _ in range(4)), *(np.zeros((N_BATCHES, n)) for _ in range(4)),
                   rewards=None if windows is None else np.zeros((windows.n_groups, cycles)))

    def add(self, idx: np.ndarray, part: Outcome) -> None:
        """Put ``part`` (the outcome of the unit-periods at positions ``idx``) in place; its
        rewards add to these."""
        for name in ("cycles", "stockouts", "demand", "short"):
            getattr(self, name)[idx] = getattr(part, name)
            getattr(self, "batch_" + name)[:, idx] = getattr(part, "batch_" + name)
        if self.rewards is not None and part.rewards is not None:
            self.rewards += part.rewards


def cycle_days(p: Policy) -> np.ndarray:
    """Expected days between orders: R, or Q over the daily mean for continuous review."""
    return np.where(p.review_days > 0, p.review_days, p.quantity / p.daily_mean)


def schedule(p: Policy, cycles: int, period_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Warm-up days and measured days of each unit-period (its own, not its chunk's).

    Measured: ``cycles`` cycles but at least ``cycles`` periods, so every unit-period gives
    ``cycles`` whole windows for the profit percentiles; a multiple of :data:`N_BATCHES`.
    """
    span = np.maximum(cycle_days(p), period_days)
    warm = np.ceil(WARMUP_CYCLES * span + p.lead_time_days + 6 * p.lead_time_sd_days).astype(np.int64)
    meas = np.ceil(cycles * span / N_BATCHES).astype(np.int64) * N_BATCHES
    return warm, meas


def simulate_policies(p: Policy, cycles: int, seed: int, period_days: int,
                      windows: Windows | None = None,
                      progress: Callable[[int], None] | None = None, workers: int = 1,
                      dask: str | None = None) -> Outcome:
    """Simulate every unit-period of ``p`` for ``cycles`` cycles after its warm-up.

    ``progress`` is called with the number of unit-days just simulated (for a progress bar;
    :func:`total_unit_days` gives the total). ``workers`` > 1 simulates the chunks of
    :data:`CHUNK_UNITS` unit-periods in that many processes, ``dask`` (a scheduler address)
    on that cluster's workers (:mod:`.pool`). The results do not depend on
    :data:`CHUNK_UNITS`, ``workers`` or ``dask``: every unit-period draws from its own
    stream, and the chunks' outcomes are put together in one order whoever ran them.
    """
    warm, meas, chunks = _chunks(p, cycles, period_days)
    tasks = [ChunkTask(p.take(idx), warm[idx], meas[idx], seed, period_days, cycles,
                       None if windows is None else windows.take(idx)) for idx in chunks]
    out = Outcome.zeros(len(p), cycles, windows)
    for idx, part in zip(chunks, chunk_outcomes(tasks, workers, progress, dask), strict=True):
        out.add(idx, part)
    return out


@dataclass(frozen=True)
class ChunkTask:
    """One chunk of unit-periods to simulate, all it needs (sent to a worker process whole)."""

    policy: Policy
    warm: np.ndarray
    meas: np.ndarray
    seed: int
    period_days: int
    cycles: int
    windows: Windows | None

    @property
    def unit_days(self) -> int:
        """The unit-days the chunk runs (:func:`_unit_days`)."""
        return _unit_days(self.warm + self.meas)

    def run(self, progress: Callable[[int], None] | None = None) -> Outcome:
        """The chunk's outcome (positions as in the chunk)."""
        chunk = _Chunk(self.policy, self.warm, self.meas, self.seed, self.period_days, self.cycles)
        return chunk.run(self.windows, progress)


def total_unit_days(p: Policy, cycles: int, period_days: int) -> int:
    """The unit-days :func:`simulate_policies` runs (what ``progress`` counts up to)."""
    warm, meas, chunks = _chunks(p, cycles, period_days)
    return sum(_unit_days(warm[idx] + meas[idx]) for idx in chunks)


def _chunks(p: Policy, cycles: int, period_days: int
            ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """Each unit-period's warm-up and measured days (:func:`schedule`), and the chunks: the
    positions of :data:`CHUNK_UNITS` unit-periods at a time, similar lengths together."""
    warm, meas = schedule(p, cycles, period_days)
    order = np.argsort(warm + meas, kind="stable")
    return warm, meas, [order[start:start + CHUNK_UNITS] for start in range(0, len(p), CHUNK_UNITS)]


def _unit_days(ends: np.ndarray) -> int:
    """The unit-days of a chunk whose unit-periods end after ``ends`` days: each runs as
    long as the longest (the day loop is shared)."""
    return int(ends.max()) * len(ends) if len(ends) else 0


def _generators(keys: np.ndarray, seed: int) -> list[np.random.Generator]:
    """One generator per unit-period from the run's seed and its 64-bit key."""
    return [np.random.Generator(np.random.PCG64(np.random.SeedSequence(
        int(seed), spawn_key=(int(k) >> 32, int(k) & 0xFFFFFFFF)))) for k in keys]


class _Chunk:
    """The state of a chunk of unit-periods, advanced one day at a time."""

    def __init__(self, p: Policy, warm: np.ndarray, meas: np.ndarray, seed: int,
                 period_days: int, cycles: int) -> None:
        self.p, self.warm, self.meas, self.pd, self.cycles = p, warm, meas, period_days, cycles
        n = len(p)
        self.periodic = p.review_days > 0
        self.review = np.maximum(p.review_days, 1)
        self.lt_cap = np.ceil(p.lead_time_days + 6 * p.lead_time_sd_days).astype(np.int64) + 1
        self.fixed_lt = (p.lead_time_sd_days == 0) & (p.lead_time_days == np.round(p.lead_time_days))
        self.ring = int(self.lt_cap.max()) + 2 if n else 2
        self.pipe = np.zeros((self.ring, n))  # quantity arriving at the start of day t (slot t % ring)
        self.checks = np.zeros((self.ring, n))  # cycles checked at the end of day t
        self.net = np.where(self.periodic, p.level, p.level + p.quantity).astype(float)
        self.position = self.net.copy()
        self.gens = _generators(p.keys, seed)
        self.gamma_draw = p.gamma & (p.daily_sd > 0)
        self.shape = np.where(self.gamma_draw, (p.daily_mean / np.where(self.gamma_draw, p.daily_sd, 1.0)) ** 2, 1.0)
        # Cumulative counts since day 0: cycles, stockouts, demand, short, on-hand, backlog.
        self.cum = np.zeros((6, n))
        self.blen = meas // N_BATCHES
        self.batch_snap = np.zeros((N_BATCHES + 1, 4, n))
        self.win_snap = np.zeros((cycles + 1, 3, n))
        # The next day (its end) each unit takes a batch / window snapshot, and the earliest.
        self.next_batch, self.n_batch = warm - 1, np.zeros(n, dtype=np.int64)
        self.next_win, self.n_win = warm - 1, np.zeros(n, dtype=np.int64)
        self.next_snap = int(self.next_batch.min()) if n else 0
        self.any_periodic, self.any_continuous = bool(self.periodic.any()), bool((~self.periodic).any())

    def _draw(self, days: int) -> tuple[np.ndarray, np.ndarray]:
        """The next ``days`` days of demand and lead times (day-major), each unit from its own
        stream: per block a unit draws its standard variates (demand, then the lead-time noise
        when its lead time is random or fractional), transformed for all units at once."""
        p, n, b = self.p, len(self.p), BLOCK_DAYS
        z = np.empty((n, b))  # standard normal (normal demand) or gamma(shape, 1) variates
        noise = np.zeros((n, b))  # standard normal lead-time noise
        up = np.zeros((n, b))  # uniforms of the random rounding
        for i, g in enumerate(self.gens):
            z[i] = g.standard_gamma(self.shape[i], b) if self.gamma_draw[i] else g.standard_normal(b)
            if self.fixed_lt[i]:
                continue
            if p.lead_time_sd_days[i] > 0:
                noise[i] = g.standard_normal(b)
            up[i] = g.random(b)
        m, s = p.daily_mean[:, None], p.daily_sd[:, None]
        demand = np.where(self.gamma_draw[:, None], z * (m / self.shape[:, None]), m + s * z)
        x = np.maximum(p.lead_time_days[:, None] + p.lead_time_sd_days[:, None] * noise, 0.0)
        whole = np.floor(x)
        lead = np.minimum(whole + (up < x - whole), self.lt_cap[:, None]).astype(np.int64)
        return np.ascontiguousarray(demand[:, :days].T), np.ascontiguousarray(lead[:, :days].T)

    def run(self, windows: Windows | None, progress: Callable[[int], None] | None) -> Outcome:
        n = len(self.p)
        end = int((self.warm + self.meas).max()) if n else 0
        for b0 in range(0, end, BLOCK_DAYS):
            days = min(BLOCK_DAYS, end - b0)
            demand, lead = self._draw(days)
            for j in range(days):
                self._day(b0 + j, demand[j], lead[j])
            if progress is not None:
                progress(days * n)
        return self._collect(windows)

    def _day(self, t: int, d: np.ndarray, lead: np.ndarray) -> None:
        p, slot = self.p, t % self.ring
        net = self.net
        net += self.pipe[slot]
        self.pipe[slot] = 0.0
        backlog0 = np.maximum(-net, 0.0)
        net -= d
        self.position -= d
        backlog = np.maximum(-net, 0.0)
        gap = p.level - self.position
        qty = np.zeros(len(net))
        ordered = np.zeros(len(net), dtype=bool)
        if self.any_continuous:
            ordered = ~self.periodic & (gap >= 0)
            qty = np.where(ordered, (np.floor(gap / np.where(ordered, p.quantity, 1.0)) + 1) * p.quantity, 0.0)
        if self.any_periodic:
            due = self.periodic & ((t + 1) % self.review == 0)
            qty = np.where(due, np.maximum(gap, 0.0), qty)
            ordered = ordered | due
        who = np.flatnonzero(ordered)
        if who.size:
            lt = lead[who]
            self.pipe[(t + lt + 1) % self.ring, who] += qty[who]
            self.checks[(t + lt) % self.ring, who] += 1.0
            self.position += qty
        n_checks = self.checks[slot]
        c = self.cum
        c[0] += n_checks
        c[1] += n_checks * (net < 0)
        c[2] += d
        backlog -= backlog0
        c[3] += np.maximum(backlog, 0.0)
        c[4] += np.maximum(net, 0.0)
        c[5] = backlog + backlog0
        self.checks[slot] = 0.0
        if t >= self.next_snap:
            self._snapshot(t)

    def _snapshot(self, t: int) -> None:
        """Record the cumulative counts at batch and window boundaries (end of day t):
        batch k of a unit ends on day warm + k·blen − 1, window w on day warm + w·pd − 1."""
        hit = np.flatnonzero(self.next_batch == t)
        if hit.size:
            k = self.n_batch[hit]
            self.batch_snap[k, :, hit] = self.cum[:4, hit].T
            self.n_batch[hit] += 1
            self.next_batch[hit] = np.where(k < N_BATCHES, t + self.blen[hit], np.iinfo(np.int64).max)
        hit = np.flatnonzero(self.next_win == t)
        if hit.size:
            w = self.n_win[hit]
            self.win_snap[w, :, hit] = self.cum[[2, 5, 4]][:, hit].T
            self.n_win[hit] += 1
            self.next_win[hit] = np.where(w < self.cycles, t + self.pd, np.iinfo(np.int64).max)
        self.next_snap = int(min(self.next_batch.min(), self.next_win.min()))

    def _collect(self, windows: Windows | None) -> Outcome:
        out = Outcome.zeros(len(self.p), self.cycles, windows)
        per_batch = np.diff(self.batch_snap, axis=0)  # (batches, 4, n)
        for k, name in enumerate(("cycles", "stockouts", "demand", "short")):
            getattr(out, "batch_" + name)[:] = per_batch[:, k]
            getattr(out, name)[:] = per_batch[:, k].sum(axis=0)
        if windows is None or out.rewards is None:
            return out
        w = np.diff(self.win_snap, axis=0)  # (windows, 3, n): demand, backlog change, on-hand
        shipped = w[:, 0] - w[:, 1]
        on_hand = w[:, 2] / self.pd
        reward = windows.shipped_coef * shipped + windows.on_hand_coef * on_hand
        np.add.at(out.rewards, windows.group, reward.T)
        return out
