"""Synthetic planning cases in the SPEC section 5 format (demo case and large benchmarks).

The generator is pure numpy/pandas and works on dense (segment, product, level, period) arrays, so
a 10 x 2000 x 5 x 12 case takes about a second. Every random draw comes from one
``numpy.random.Generator`` seeded by ``seed``, so a seed always gives the same case.

The numbers are shaped so that the optimisation is not trivial: key accounts reward high service
while occasional buyers are price driven, premium levels cost more per unit, and each period's
budget sits between the cheapest allowed plan and the plan where every unit takes its most
profitable level.

The case format (column names and order) is :data:`svcplan.case.schema.TABLES`; the level's
safety factor, the safety stock and the goodwill recursion are the model's own functions
(:mod:`svcplan.economics.service`, :mod:`svcplan.economics.goodwill`), so a generated budget
is measured with the economics the solver will use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..case.reader import write_case  # noqa: F401  (re-exported: generate, then write)
from ..case.schema import TABLES
from ..economics.goodwill import goodwill_stock
from ..economics.service import safety_stock, service_factors

DEMO_SEGMENTS = ("KEY", "LARGE", "MID", "SMALL", "OCCASIONAL")
DEMO_LEVELS = ("ECONOMY", "STANDARD", "EXPRESS", "PRIORITY", "PREMIUM")
CLASSES = ("star", "cash_cow", "question_mark", "dog")
# Share of the portfolio, volume factor, margin factor, demand_cv centre, monthly demand trend.
_CLASS_MIX = np.array([0.15, 0.30, 0.20, 0.35])
_CLASS_SIZE = np.array([1.2, 1.6, 0.6, 0.7])
_CLASS_MARGIN = np.array([1.3, 1.1, 0.9, 0.7])
_CLASS_CV = np.array([0.45, 0.30, 0.65, 0.55])
_CLASS_TREND = np.array([0.015, 0.002, 0.025, -0.010])
# Per class: (multiplier on steepness, shift of the floor, shift of the top) of the capture curve.
# Stars react strongly to service, dogs hardly; the other classes use the blank-class rows.
_CLASS_RESPONSE = {"star": (1.5, -0.05, 0.05), "dog": (0.5, 0.08, -0.05)}
PERIOD_DAYS = 30.0
RETENTION = 0.6  # goodwill retention when goodwill is on

def _positions(n: int) -> np.ndarray:
    """Place n items on [0, 1] (first = 0, last = 1) so curves do not depend on the count."""
    return np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)


def _period_ids(n: int, start_year: int = 2026) -> list[str]:
    """Monthly ids 2026-01, 2026-02, ... continuing into later years past twelve periods."""
    return [f"{start_year + t // 12}-{t % 12 + 1:02d}" for t in range(n)]


def _option_economics(
    demand: np.ndarray, capture: np.ndarray, margin: np.ndarray, base_cost: np.ndarray,
    multiplier: np.ndarray, holding: np.ndarray, cv: np.ndarray, z: np.ndarray,
    lead_days: np.ndarray, period_days: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Revenue and logistics cost of options; arrays broadcast over (segment, product, level, t).

    SPEC section 2 on dense arrays: q = demand * capture, revenue = q * margin, cost =
    q * base_cost * multiplier + holding_cost * ss with the model's :func:`safety_stock`.
    :func:`svcplan.economics.options.option_table` needs a validated Case, which does not
    exist yet (the budgets computed from these costs are part of the case); and it multiplies
    ``q * (base_cost * multiplier)``, a different rounding from the ``(q * base_cost) *
    multiplier`` here, so sharing it would change generated budgets in their last digits.
    """
    q = demand * capture
    return q * margin, q * base_cost * multiplier + holding * safety_stock(q, z, cv, lead_days, period_days)


def _plan_budget_use(
    choice: np.ndarray, demand: np.ndarray, cost: np.ndarray, fixed_cost: np.ndarray,
    goodwill: np.ndarray, retention: float, sensitivity: np.ndarray, base_cost: np.ndarray,
) -> np.ndarray:
    """Budget used per period (SPEC section 4) by a plan keeping level ``choice[s, p]`` throughout.

    Besides the option costs it counts the fixed costs of the levels in use and the cost of the
    goodwill lift (SPEC section 3), because the period budget constraint pays for those too: with
    tightness 0 the cheapest plan then fits its budget exactly.
    """
    n_per = cost.shape[3]
    chosen = np.take_along_axis(cost, choice[:, :, None, None], axis=2)[:, :, 0, :]
    use = chosen.sum(axis=(0, 1))
    used = np.zeros(len(fixed_cost), dtype=bool)
    used[np.unique(choice)] = True
    use = use + fixed_cost[used].sum()
    earned = np.broadcast_to(goodwill[choice][:, :, None], demand.shape)  # (S, P, T), level kept
    stock = goodwill_stock(earned, retention)
    for t in range(n_per):  # summed period by period: the same additions, so the same budgets
        lift = sensitivity[:, None] * demand[:, :, t] * stock[:, :, t]
        use[t] += (lift * base_cost[None, :]).sum()
    return use


def generate_case(
    segments: int = 5,
    products: int = 40,
    levels: int = 5,
    periods: int = 12,
    seed: int = 0,
    *,
    goodwill: bool = True,
    switching: bool = True,
    policies: bool = True,
    tightness: float = 0.75,
    demo_names: bool = False,
    capacity: bool = False,
    name: str | None = None,
) -> tuple[dict[str, pd.DataFrame], dict[str, Any]]:
    """Generate a synthetic case: ``(tables, settings)`` keyed by SPEC section 5 file stems.

    ``tightness`` places each period's budget between the cheapest allowed plan (0) and the plan
    where every unit takes its most profitable allowed level (1); values above 1 give slack.
    ``capacity`` adds capacity/usage tables (picking and express-fleet resources) placed the same
    way. ``demo_names`` uses readable segment and level ids when there are 5 of each. Tables
    ``policies`` and ``current`` exist only when ``policies`` / ``switching`` are on.

    The steps draw from one generator in a fixed order (segments, products, demand, capture):
    a seed gives the same case as long as that order stays.
    """
    if min(segments, products, periods) < 1 or levels < 2:
        raise ValueError("need segments, products, periods >= 1 and levels >= 2")
    if tightness < 0:
        raise ValueError("tightness must be >= 0")
    rng = np.random.default_rng(seed)
    seg = _draw_segments(rng, segments, goodwill, demo_names)
    prod = _draw_products(rng, products)
    lvl = _levels(levels, goodwill, demo_names)
    demand = _draw_demand(rng, seg, prod, periods)
    curves = _draw_capture_curves(rng, seg, lvl, prod.classes_present)
    class_curve = np.stack([curves.get(c, curves[None]) for c in CLASSES], axis=1)  # (S, C, L)
    capture = class_curve[:, prod.cls, :]  # (S, P, L)
    mid_level = levels // 2  # dogs' highest level, and every unit's current level
    econ = _economics(demand, capture, prod, lvl, _allowed(seg, prod, levels, mid_level, policies))
    retention = RETENTION if goodwill else 0.0
    use_args = (demand, econ.cost, econ.fixed, lvl.goodwill, retention, seg.sensitivity, prod.base_cost)
    low, high = _plan_budget_use(econ.cheapest, *use_args), _plan_budget_use(econ.best, *use_args)
    budget = np.round(low + tightness * (high - low), 2)

    per_ids = _period_ids(periods)
    tables = _case_tables(seg, prod, lvl, econ.fixed, per_ids, budget, demand, curves)
    if policies:
        tables["policies"] = _policies(seg, lvl, mid_level, "dog" in prod.classes_present)
    if switching:
        tables["current"] = pd.DataFrame({
            "segment": np.repeat(np.asarray(seg.ids, dtype=object), products),
            "product": np.tile(np.asarray(prod.ids, dtype=object), segments),
            "level": lvl.ids[mid_level]})
    if capacity:
        tables.update(_capacity_tables(
            econ.cheapest, econ.best, demand, capture, lvl.x, lvl.ids, per_ids, tightness))
    settings: dict[str, Any] = {
        "name": name or f"synthetic-{segments}x{products}x{levels}x{periods}-seed{seed}",
        "period_days": int(PERIOD_DAYS),
        "switching_cost": econ.switching_cost(mid_level) if switching else 0.0,
        "goodwill_retention": retention,
        "tier_ordering": True,
        "max_inventory_days": 45,
        "solver": {"mip_gap": 0.0001},
    }
    return _in_format(tables), settings


@dataclass(frozen=True)
class _Economics:
    """Options' revenue and cost (S, P, L, T), each unit's best and cheapest allowed level (S, P), fixed cost (L)."""

    revenue: np.ndarray
    cost: np.ndarray
    best: np.ndarray
    cheapest: np.ndarray
    fixed: np.ndarray

    def switching_cost(self, current: int) -> float:
        """About half the median unit's monthly profit at its current level."""
        return round(float(0.5 * np.median((self.revenue - self.cost)[:, :, current, :].mean(axis=2))), 2)


def _economics(demand: np.ndarray, capture: np.ndarray, prod: _Products, lvl: _Levels,
               allowed: np.ndarray) -> _Economics:
    """The options' economics (SPEC §2) and the two plans (cheapest, best) the budgets lie between."""
    revenue, cost = _option_economics(
        demand[:, :, None, :], capture[:, :, :, None], prod.margin[None, :, None, None],
        prod.base_cost[None, :, None, None], lvl.multiplier[None, None, :, None],
        prod.holding[None, :, None, None], prod.cv[None, :, None, None],
        lvl.z[None, None, :, None], lvl.lead[None, None, :, None], PERIOD_DAYS)
    profit = np.where(allowed, (revenue - cost).sum(axis=3), -np.inf)
    cheapest = np.where(allowed, cost.sum(axis=3), np.inf).argmin(axis=2)
    # Small fixed cost for the upper half of the levels, scaled to the size of the business.
    scale = revenue.sum(axis=(0, 1, 3)).max() / demand.shape[2]
    fixed = np.where(lvl.x > 0.5, np.round(0.004 * scale * (2 * lvl.x - 1)), 0.0)
    return _Economics(revenue, cost, profit.argmax(axis=2), cheapest, fixed)


@dataclass(frozen=True)
class _Segments:
    """Key accounts (position ``x`` 0) down to occasional buyers (position 1)."""

    ids: list[str]
    x: np.ndarray
    tier: np.ndarray
    sensitivity: np.ndarray  # goodwill sensitivity
    share: np.ndarray  # share of each product's demand


def _draw_segments(rng: np.random.Generator, n: int, goodwill: bool, demo_names: bool
                   ) -> _Segments:
    """Tiers 1–5 in order, goodwill sensitivity falling and demand share falling with position."""
    x = _positions(n)
    n_tiers = min(n, 5)
    tier = 1 + (np.arange(n) * n_tiers) // n
    ids = list(DEMO_SEGMENTS) if demo_names and n == len(DEMO_SEGMENTS) else [
        f"S{i + 1:0{max(2, len(str(n)))}d}" for i in range(n)]
    jitter = rng.uniform(-0.01, 0.01, n)  # drawn without goodwill too: the same later draws
    sensitivity = np.round(np.clip(0.1 - 0.08 * x + jitter, 0.02, 0.1), 3) if goodwill \
        else np.zeros(n)
    share = np.exp(-1.4 * x) * rng.uniform(0.9, 1.1, n)
    return _Segments(ids, x, tier, sensitivity, share / share.sum())


@dataclass(frozen=True)
class _Products:
    """Per product: class (index into :data:`CLASSES`), economics and size."""

    ids: list[str]
    cls: np.ndarray
    margin: np.ndarray
    base_cost: np.ndarray
    holding: np.ndarray
    cv: np.ndarray
    size: np.ndarray

    @property
    def classes_present(self) -> set[str]:
        return {CLASSES[i] for i in self.cls}


def _draw_products(rng: np.random.Generator, n: int) -> _Products:
    """Classes by fixed quota (so small portfolios still contain every class), shuffled."""
    quota = np.searchsorted(np.cumsum(_CLASS_MIX), (np.arange(n) + 0.5) / n)
    cls = rng.permutation(np.minimum(quota, len(CLASSES) - 1))
    ids = [f"SKU-{i + 1:0{max(3, len(str(n)))}d}" for i in range(n)]
    margin = np.round(rng.lognormal(np.log(25.0), 0.6, n) * _CLASS_MARGIN[cls], 2)
    margin = np.maximum(margin, 1.0)
    base_cost = np.round(margin * rng.uniform(0.15, 0.35, n), 2)
    holding = np.maximum(np.round(base_cost * rng.uniform(0.1, 0.3, n), 2), 0.01)
    cv = np.round(np.clip(_CLASS_CV[cls] + rng.uniform(-0.15, 0.15, n), 0.2, 0.8), 2)
    size = rng.lognormal(np.log(300.0), 1.0, n) * _CLASS_SIZE[cls]
    return _Products(ids, cls, margin, base_cost, holding, cv, size)


@dataclass(frozen=True)
class _Levels:
    """Economy (position ``x`` 0) to premium (position 1), every value rounded as written."""

    ids: list[str]
    x: np.ndarray
    target: np.ndarray  # cycle service target
    lead: np.ndarray  # lead time, days
    multiplier: np.ndarray  # cost multiplier
    goodwill: np.ndarray
    z: np.ndarray  # safety factor of the target


def _levels(n: int, goodwill: bool, demo_names: bool) -> _Levels:
    """Higher levels: higher target, shorter lead time, dearer, more goodwill (no draws)."""
    x = _positions(n)
    ids = list(DEMO_LEVELS) if demo_names and n == len(DEMO_LEVELS) else [
        f"L{i + 1}" for i in range(n)]
    target = np.round(0.80 + 0.19 * x, 3)
    return _Levels(ids, x, target, lead=np.round(10.0 * 0.1 ** x, 1),
                   multiplier=np.round(1.0 + 0.8 * x ** 1.5, 3),
                   goodwill=np.round(0.2 * x, 3) if goodwill else np.zeros(n),
                   z=service_factors(target, np.nan).z)


def _draw_demand(rng: np.random.Generator, seg: _Segments, prod: _Products, periods: int
                 ) -> np.ndarray:
    """Demand (S, P, T): size × segment share × affinity × seasonality × class trend × noise."""
    n_seg, n_prod = len(seg.ids), len(prod.ids)
    month = np.arange(periods) % 12
    peak = rng.integers(0, 12, n_prod)
    amplitude = rng.uniform(0.05, 0.35, n_prod)
    season = 1 + amplitude[:, None] * np.cos(2 * np.pi * (month[None, :] - peak[:, None]) / 12)
    trend = (1 + _CLASS_TREND[prod.cls][:, None]) ** np.arange(periods)[None, :]
    affinity = rng.lognormal(-0.125, 0.5, (n_seg, n_prod))
    noise = rng.lognormal(0.0, 0.05, (n_seg, n_prod, periods))
    return np.rint(seg.share[:, None, None] * (prod.size * affinity)[:, :, None]
                   * (season * trend)[None, :, :] * noise)


def _draw_capture_curves(rng: np.random.Generator, seg: _Segments, lvl: _Levels,
                         present: set[str]) -> dict[str | None, np.ndarray]:
    """Capture (S, L) per product class (None: the blank-class rows), logistic in the level's
    position: key accounts steep with a low floor, occasional buyers flat."""
    floor = 0.35 + 0.5 * seg.x
    top = 1.15 - 0.15 * seg.x
    steep = 9.0 - 5.0 * seg.x
    mid = 0.45 + 0.1 * seg.x + rng.uniform(-0.03, 0.03, len(seg.ids))

    def curve(k: float, d_floor: float, d_top: float) -> np.ndarray:
        s = 1 / (1 + np.exp(-(steep * k)[:, None] * (lvl.x[None, :] - mid[:, None])))
        lo, hi = (floor + d_floor)[:, None], (top + d_top)[:, None]
        return np.round(np.clip(lo + (hi - lo) * s, 0.0, 1.2), 3)

    classes = [c for c in _CLASS_RESPONSE if c in present]
    return {None: curve(1.0, 0.0, 0.0)} | {c: curve(*_CLASS_RESPONSE[c]) for c in classes}


def _allowed(seg: _Segments, prod: _Products, levels: int, mid_level: int, policies: bool
             ) -> np.ndarray:
    """Allowed levels (S, P, L): dogs at most ``mid_level``, tier-1 segments at least the
    second (the policies table, :func:`_policies`, states the same)."""
    allowed = np.ones((len(seg.ids), len(prod.ids), levels), dtype=bool)
    if policies:
        allowed[:, np.asarray(prod.cls) == CLASSES.index("dog"), mid_level + 1:] = False
        allowed[seg.tier == 1, :, :1] = False
    return allowed


def _policies(seg: _Segments, lvl: _Levels, mid_level: int, has_dogs: bool) -> pd.DataFrame:
    """The policies :func:`_allowed` applies, as the case's table."""
    rows = [{"segment": None, "product_class": "dog", "min_level": None,
             "max_level": lvl.ids[mid_level]}] if has_dogs else []
    rows += [{"segment": s, "product_class": None, "min_level": lvl.ids[1],
              "max_level": None} for s, k in zip(seg.ids, seg.tier, strict=True) if k == 1]
    return pd.DataFrame(rows, columns=TABLES["policies"].names)


def _case_tables(seg: _Segments, prod: _Products, lvl: _Levels, fixed: np.ndarray,
                 per_ids: list[str], budget: np.ndarray, demand: np.ndarray,
                 curves: dict[str | None, np.ndarray]) -> dict[str, pd.DataFrame]:
    """The tables every generated case has: segments, products, levels, periods, demand,
    response."""
    n_seg, n_prod, n_lvl, n_per = len(seg.ids), len(prod.ids), len(lvl.ids), len(per_ids)
    seg_a, prod_a, per_a = (np.asarray(v, dtype=object) for v in (seg.ids, prod.ids, per_ids))
    return {
        "segments": pd.DataFrame(
            {"segment": seg.ids, "tier": seg.tier, "goodwill_sensitivity": seg.sensitivity}),
        "products": pd.DataFrame({
            "product": prod.ids, "product_class": [CLASSES[i] for i in prod.cls],
            "unit_margin": prod.margin, "base_unit_cost": prod.base_cost,
            "holding_cost": prod.holding, "demand_cv": prod.cv}),
        "levels": pd.DataFrame({
            "level": lvl.ids, "rank": np.arange(1, n_lvl + 1), "service_target": lvl.target,
            "safety_factor": np.nan, "lead_time_days": lvl.lead,
            "cost_multiplier": lvl.multiplier, "fixed_cost": fixed, "goodwill": lvl.goodwill}),
        "periods": pd.DataFrame({
            "period": per_ids, "budget": budget,
            "discount": np.round(0.99 ** np.arange(n_per), 6)}),
        "demand": pd.DataFrame({
            "segment": np.repeat(seg_a, n_prod * n_per),
            "product": np.tile(np.repeat(prod_a, n_per), n_seg),
            "period": np.tile(per_a, n_seg * n_prod),
            "base_demand": demand.reshape(-1).astype(np.int64)}),
        "response": pd.concat([pd.DataFrame({
            "segment": np.repeat(seg_a, n_lvl), "level": lvl.ids * n_seg,
            "capture": c.reshape(-1), "product_class": k}) for k, c in curves.items()],
            ignore_index=True),
    }


def _in_format(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The tables with their columns in SPEC order (:data:`TABLES`), the one definition of the
    format; a column the format does not know is a bug here, not something to write."""
    out = {}
    for name, df in tables.items():
        unknown = set(df.columns) - set(TABLES[name].names)
        if unknown:
            raise AssertionError(f"generated {name} has columns outside the format: {sorted(unknown)}")
        out[name] = df[[c for c in TABLES[name].names if c in df.columns]]
    return out


def _capacity_tables(
    cheapest: np.ndarray, best: np.ndarray, demand: np.ndarray, capture: np.ndarray,
    lvl_x: np.ndarray, lvl_ids: list[str], per_ids: list[str], tightness: float,
) -> dict[str, pd.DataFrame]:
    """Picking (all levels, more handling for faster service) and an express fleet (upper half).

    Capacity per period sits between the use of the cheapest and of the most profitable plan,
    like the budget; a resource neither plan uses gets the best plan's use plus one unit.
    """
    per_unit = {"PICKING": np.round(1.0 + 0.5 * lvl_x, 3),
                "EXPRESS_FLEET": np.where(lvl_x > 0.5, np.round(lvl_x, 3), 0.0)}
    usage = pd.DataFrame([(lv, r, float(v[i])) for r, v in per_unit.items()
                          for i, lv in enumerate(lvl_ids) if v[i] > 0],
                         columns=TABLES["usage"].names)
    rows = []
    for r, v in per_unit.items():
        def use(choice: np.ndarray, v: np.ndarray = v) -> np.ndarray:
            q = demand * np.take_along_axis(capture, choice[:, :, None], axis=2)
            return (q * v[choice][:, :, None]).sum(axis=(0, 1))
        lo, hi = use(cheapest), use(best)
        cap = np.where(hi > lo, lo + tightness * (hi - lo), hi + 1.0)
        rows += [(r, p, float(c)) for p, c in zip(per_ids, np.round(cap, 1), strict=True)]
    return {"capacity": pd.DataFrame(rows, columns=TABLES["capacity"].names), "usage": usage}
