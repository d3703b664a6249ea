"""The Pyomo model of SPEC §3-4, built from prepared option tables in one flat sequence.

:func:`create_model` calls one small ``add_*`` block per term of the formulation. Every
block reads ready coefficient arrays from :class:`ModelData` (made by :func:`prepare`), so
economics live in one place (:mod:`model.economics`) and the blocks contain only algebra.

Notation (as in the docstrings below): options ``i`` = allowed (u, l, t) rows of the
option table, ``x_i`` binary; ``t`` periods; ``D_t`` discount; ``c_i`` option cost;
``p_i`` option profit; ``q_i`` units; ``ss_i`` safety stock.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

from model.case import Case
from model.economics import level_table, option_table, unit_period_table


@dataclass
class ModelData:
    """Everything the blocks need, as arrays aligned with the option table rows."""

    case: Case
    options: pd.DataFrame  # economics.option_table
    unit_periods: pd.DataFrame  # economics.unit_period_table
    levels: pd.DataFrame  # economics.level_table
    group_start: np.ndarray  # first option row of each (u, t) group
    group_end: np.ndarray
    n_units: int
    n_periods: int

    @property
    def settings(self):
        return self.case.settings


def prepare(case: Case, options: pd.DataFrame | None = None) -> ModelData:
    """Compute the option economics and the (u, t) grouping the blocks index by."""
    opt = option_table(case) if options is None else options
    up = unit_period_table(case)
    key = opt["u"].to_numpy() * (len(case.periods) + 1) + opt["t"].to_numpy()
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.array([], int)
    end = np.r_[start[1:], len(key)].astype(int)
    n_units = int(up["u"].max()) + 1 if len(up) else 0
    return ModelData(case, opt, up, level_table(case), start, end, n_units, len(case.periods))


def _lin(coefs, variables) -> LinearExpression:
    """A linear expression built in one call (no operator overloading in the hot path)."""
    return LinearExpression(
        [MonomialTermExpression((float(c), v)) for c, v in zip(coefs, variables, strict=True)]
    )


def add_assignment(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Exactly one level per unit and period: ``Σ_{l} x[u,l,t] = 1  ∀ (u,t)``.

    Only allowed options get a variable (sparse index): a policy-forbidden level has none.
    """
    m.x = pyo.Var(range(len(d.options)), domain=pyo.Binary)
    xs = [m.x[i] for i in range(len(d.options))]
    m._xs = xs
    groups = list(zip(d.group_start, d.group_end, strict=True))
    m.assign = pyo.Constraint(
        range(len(groups)), rule=lambda m, k: sum(xs[groups[k][0] : groups[k][1]]) == 1
    )


def add_fixed_costs(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Fixed cost of offering level l in period t: ``y[l,t] ≥ x_i`` for options i of (l, t).

    Only levels with ``fixed_cost > 0`` get ``y``. The disaggregated form (one row per option)
    keeps the LP relaxation tight, which the rounding warm start relies on.
    """
    fixed = d.levels.set_index("level")["fixed_cost"]
    opt = d.options
    charged = opt["level"].map(fixed).to_numpy() > 0
    pairs = sorted(set(zip(opt["level"][charged], opt["t"][charged], strict=True)), key=str)
    m._y_index = pairs
    m.y = pyo.Var(range(len(pairs)), domain=pyo.Binary)
    pos = {p: k for k, p in enumerate(pairs)}
    sel = np.flatnonzero(charged)
    rows = [(i, pos[(lv, t)]) for i, lv, t in zip(sel, opt["level"].iloc[sel], opt["t"].iloc[sel], strict=True)]
    m.fixed_link = pyo.Constraint(range(len(rows)), rule=lambda m, r: m._xs[rows[r][0]] <= m.y[rows[r][1]])
    cost = np.array([fixed[lv] for lv, _ in pairs], dtype=float)
    m._fixed_by_t = [
        _lin(cost[[k for k, (_, t) in enumerate(pairs) if t == tt]],
             [m.y[k] for k, (_, t) in enumerate(pairs) if t == tt])
        for tt in range(d.n_periods)
    ]


def add_switching(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Changes of level, for the switching cost and ``max_changes``.

    Per option i = (u,l,t), t ≥ 2: ``d_i ≥ x[u,l,t] − x[u,l,t−1]``, ``d_i ≥ 0`` (an absent
    option counts as 0); the unit changes in t by ``Σ_l d[u,l,t]``, which is 1 exactly when
    it moves to a new level. Summing the positive parts over l (rather than one ``w ≥`` row
    per level) makes the LP charge the total-variation distance between fractional plans,
    the same bound as a transition-flow formulation with L² variables: the relaxation stays
    tight. First period with a current level c: ``w[u] ≥ 1 − x[u,c,1]``.
    ``max_changes`` K: ``Σ_t changes[u,t] ≤ K``.
    """
    s = d.settings
    m._changes_by_t = [[] for _ in range(d.n_periods)]
    m.switch = pyo.ConstraintList()
    if s.switching_cost <= 0 and s.max_changes is None:
        return
    opt = d.options
    idx = {(u, lv, t): i for i, u, lv, t in zip(opt.index, opt["u"], opt["level"], opt["t"], strict=True)}
    later = np.flatnonzero(opt["t"].to_numpy() > 0)
    m.d = pyo.Var(later.tolist(), domain=pyo.NonNegativeReals)
    per_unit: dict[int, list] = {}
    for i, u, lv, t in zip(later, opt["u"].iloc[later], opt["level"].iloc[later], opt["t"].iloc[later], strict=True):
        prev = idx.get((u, lv, t - 1))
        m.switch.add(m.d[i] >= m._xs[i] - (m._xs[prev] if prev is not None else 0))
        m._changes_by_t[t].append(m.d[i])
        per_unit.setdefault(u, []).append(m.d[i])
    m.w0 = pyo.Var(pyo.Any, dense=False, bounds=(0, 1))
    if "current" in d.case.tables:
        upos = d.unit_periods.drop_duplicates("u").set_index(["segment", "product"])["u"]
        cur = d.case.tables["current"]
        for seg, prod, lv in cur[["segment", "product", "level"]].itertuples(index=False):
            if (seg, prod) not in upos.index:
                continue
            u = int(upos[(seg, prod)])
            c = idx.get((u, lv, 0))
            m.switch.add(m.w0[u] >= 1 - (m._xs[c] if c is not None else 0))
            m._changes_by_t[0].append(m.w0[u])
            per_unit.setdefault(u, []).append(m.w0[u])
    if s.max_changes is not None:
        m.max_changes = pyo.Constraint(
            list(per_unit), rule=lambda m, u: sum(per_unit[u]) <= s.max_changes
        )


def add_goodwill(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Goodwill carry-over: ``G[u,1] = 0``, ``G[u,t] = ρ·G[u,t−1] + Σ_l g_l·x[u,l,t−1]``.

    Extra units ``lift[u,t] = σ_s·b[u,t]·G[u,t]`` earn ``lift·(margin − base_unit_cost)``
    and use ``lift·base_unit_cost`` of the budget. ``G`` is only created for units that can
    gain (σ_s > 0, some later demand, some level with goodwill > 0).
    """
    m._lift_profit_by_t = [[] for _ in range(d.n_periods)]
    m._lift_cost_by_t = [[] for _ in range(d.n_periods)]
    m.G = pyo.Var(pyo.Any, dense=False, domain=pyo.NonNegativeReals)
    m.goodwill = pyo.ConstraintList()
    g = d.levels.set_index("level")["goodwill"]
    if d.n_periods < 2 or not (g > 0).any():
        return
    up = d.unit_periods
    gain = (up["sensitivity"] > 0) & (up["base_demand"] > 0) & (up["t"] > 0)
    units = set(up.loc[gain, "u"])
    if not units:
        return
    rho = d.settings.goodwill_retention
    opt = d.options
    gl = opt["level"].map(g).to_numpy()
    by_ut: dict[tuple[int, int], list[int]] = {}
    for i in np.flatnonzero(gl > 0):
        u, t = int(opt["u"].iat[i]), int(opt["t"].iat[i])
        if u in units:
            by_ut.setdefault((u, t), []).append(i)
    for r in up.loc[up["u"].isin(units) & (up["t"] > 0)].itertuples(index=False):
        u, t = int(r.u), int(r.t)
        prev = by_ut.get((u, t - 1), [])
        carry = rho * m.G[u, t - 1] if t > 1 else 0
        m.goodwill.add(m.G[u, t] == carry + _lin(gl[prev], [m._xs[i] for i in prev]))
        k = r.sensitivity * r.base_demand
        if k > 0:
            m._lift_profit_by_t[t].append(k * (r.unit_margin - r.base_unit_cost) * m.G[u, t])
            m._lift_cost_by_t[t].append(k * r.base_unit_cost * m.G[u, t])


def add_tier_ordering(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Tier ordering: per product and period, ``rank(u) ≥ rank(v)`` when tier(u) < tier(v).

    ``rank(u,t) = Σ_l rank_l·x[u,l,t]``. Only consecutive tiers present for the product are
    linked (the order is transitive); segments without a tier are free.
    """
    m.tier_order = pyo.ConstraintList()
    if not d.settings.tier_ordering:
        return
    tiers = d.case.tables["segments"].set_index("segment")["tier"].dropna()
    opt = d.options
    rank_expr = {}
    for (u, t), grp in opt.groupby(["u", "t"], sort=False):
        rank_expr[(u, t)] = _lin(grp["rank"], [m._xs[i] for i in grp.index])
    units = opt.drop_duplicates("u")[["u", "segment", "product"]]
    units = units[units["segment"].isin(tiers.index)].assign(tier=lambda f: f["segment"].map(tiers))
    for _, grp in units.groupby("product", sort=False):
        levels = sorted(grp["tier"].unique())
        for hi, lo in zip(levels[:-1], levels[1:], strict=True):
            better = grp.loc[grp["tier"] == hi, "u"]
            worse = grp.loc[grp["tier"] == lo, "u"]
            for t in range(d.n_periods):
                for a in better:
                    for b in worse:
                        m.tier_order.add(rank_expr[(a, t)] >= rank_expr[(b, t)])


def _period_sum(m: pyo.ConcreteModel, d: ModelData, column: str | np.ndarray) -> list:
    """``Σ_i v_i·x_i`` per period, for a column of the option table (or an array)."""
    v = d.options[column].to_numpy() if isinstance(column, str) else column
    t = d.options["t"].to_numpy()
    out = []
    for tt in range(d.n_periods):
        sel = np.flatnonzero((t == tt) & (v != 0))
        out.append(_lin(v[sel], [m._xs[i] for i in sel]))
    return out


def add_budget(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Budgets: per period ``Σ c_i x_i + Σ lift·buc + Σ F_l y[l,t] ≤ B_t`` (blank B_t = none),
    and over the horizon the same summed over t ``≤ total_budget`` (undiscounted)."""
    cost = _period_sum(m, d, "cost")
    m._spend_by_t = [
        cost[t] + sum(m._lift_cost_by_t[t]) + m._fixed_by_t[t] for t in range(d.n_periods)
    ]
    budget = d.case.tables["periods"]["budget"].to_numpy()
    rows = [t for t in range(d.n_periods) if not np.isnan(budget[t])]
    m.budget = pyo.Constraint(rows, rule=lambda m, t: m._spend_by_t[t] <= float(budget[t]))
    total = d.settings.total_budget
    if total is not None:
        m.total_budget = pyo.Constraint(expr=sum(m._spend_by_t) <= total)


def add_capacity(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Resource capacity: ``Σ_i q_i·per_unit[l_i,r]·x_i ≤ cap[r,t]`` for given (r, t)."""
    cap, usage = d.case.tables.get("capacity"), d.case.tables.get("usage")
    m.capacity = pyo.ConstraintList()
    m._capacity_rows = []
    if cap is None or usage is None:
        return
    q = d.options["units"].to_numpy()
    for r, grp in usage.groupby("resource", sort=False):
        per = d.options["level"].map(grp.set_index("level")["per_unit"]).fillna(0.0).to_numpy()
        load = _period_sum(m, d, q * per)
        tpos = {p: k for k, p in enumerate(d.case.periods)}
        for period, c in cap.loc[cap["resource"] == r, ["period", "capacity"]].itertuples(index=False):
            m._capacity_rows.append((r, period, m.capacity.add(load[tpos[period]] <= float(c))))


def add_inventory_limit(m: pyo.ConcreteModel, d: ModelData) -> None:
    """Inventory time: ``Σ ss_i x_i ≤ (D / period_days)·Σ q_i x_i`` per period."""
    days = d.settings.max_inventory_days
    if days is None:
        return
    k = days / d.settings.period_days
    coef = d.options["safety_stock"].to_numpy() - k * d.options["units"].to_numpy()
    rows = _period_sum(m, d, coef)
    m.inventory = pyo.Constraint(range(d.n_periods), rule=lambda m, t: rows[t] <= 0)


def add_objective(m: pyo.ConcreteModel, d: ModelData) -> None:
    """``max Σ_t D_t·(Σ p_i x_i + Σ lift·(margin−buc) − Σ F_l y[l,t] − S·Σ_u w[u,t])``."""
    disc = d.case.tables["periods"]["discount"].to_numpy()
    profit = _period_sum(m, d, "profit")
    sc = d.settings.switching_cost
    terms = []
    for t in range(d.n_periods):
        per = profit[t] + sum(m._lift_profit_by_t[t]) - m._fixed_by_t[t]
        if sc > 0 and m._changes_by_t[t]:
            per = per - sc * sum(m._changes_by_t[t])
        terms.append(float(disc[t]) * per)
    m.profit = pyo.Objective(expr=sum(terms), sense=pyo.maximize)


def create_model(d: ModelData) -> pyo.ConcreteModel:
    """The whole MILP: one flat sequence of blocks, each documenting its own algebra."""
    m = pyo.ConcreteModel(name=d.case.name)
    add_assignment(m, d)
    add_fixed_costs(m, d)
    add_switching(m, d)
    add_goodwill(m, d)
    add_tier_ordering(m, d)
    add_budget(m, d)
    add_capacity(m, d)
    add_inventory_limit(m, d)
    add_objective(m, d)
    return m
