"""The Pyomo model of SPEC §3-4, built from prepared option tables in one flat sequence.

:func:`create_model` calls one small ``add_*`` block per term of the formulation. Every
block reads ready coefficient arrays from :class:`.data.ModelData` (made by :func:`.data.prepare`), so
economics live in one place (:mod:`svcplan.economics`) and the blocks contain only algebra,
written as arrays of (row, column, coefficient) handed to
:func:`.recorder.add_rows`: no per-element Python rules in the hot paths, and the
solver hand-off reads the same arrays (see :mod:`.recorder`).

Notation (as in the docstrings below): options ``i`` = allowed (u, l, t) rows of the
option table, ``x_i`` binary (column i); ``t`` periods; ``D_t`` discount; ``c_i`` option
cost; ``p_i`` option profit; ``q_i`` units; ``ss_i`` safety stock.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .data import ModelData
from .recorder import Formulation, add_rows, add_var, ranges, set_objective
from .rows import RowKind

_EMPTY = np.zeros(0, dtype=np.int64)


def add_assignment(f: Formulation, d: ModelData) -> None:
    """Exactly one level per unit and period: ``Σ_{l} x[u,l,t] = 1  ∀ (u,t)``.

    Only allowed options get a variable (sparse index): a policy-forbidden level has none.
    """
    n = len(d.options)
    add_var(f, "x", n, binary=True, owner=d.options["u"].to_numpy())
    gid = np.repeat(np.arange(len(d.group_start)), d.group_end - d.group_start)
    add_rows(f, RowKind.ASSIGN, (gid, np.arange(n), np.ones(n)), len(d.group_start), 1.0, 1.0)


def add_fixed_costs(f: Formulation, d: ModelData) -> None:
    """Fixed cost of offering level l in period t: ``y[l,t] ≥ x_i`` for options i of (l, t).

    Only levels with ``fixed_cost > 0`` get ``y``. The disaggregated form (one row per option)
    keeps the LP relaxation tight, which the rounding warm start relies on.
    """
    fixed = d.levels.set_index("level")["fixed_cost"]
    opt = d.options
    charged = np.flatnonzero(opt["level"].map(fixed).to_numpy() > 0)
    lv, t = opt["level"].to_numpy()[charged], opt["t"].to_numpy()[charged]
    pairs = sorted(set(zip(lv.tolist(), t.tolist(), strict=True)), key=str)
    # y[k] is offered level pairs[k] = (level, t)
    oy = add_var(f, "y", len(pairs), binary=True)
    table = pd.DataFrame(pairs, columns=["level", "t"]).reset_index()
    k = pd.DataFrame({"level": lv, "t": t}).merge(table, how="left")["index"].to_numpy()
    r = np.arange(len(charged))
    add_rows(f, RowKind.FIXED_LINK, (np.r_[r, r], np.r_[charged, oy + k],
                               np.r_[np.ones(len(r)), -np.ones(len(r))]), len(r), None, 0.0)
    cost = np.array([fixed[p[0]] for p in pairs], dtype=float)
    tt = np.array([p[1] for p in pairs], dtype=np.int64)
    f.add_terms("spend", tt, oy + np.arange(len(pairs)), cost)
    f.add_terms("profit", tt, oy + np.arange(len(pairs)), -cost)


def _option_at(d: ModelData, u: np.ndarray, level: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Option row of each (u, level, t), −1 where that option does not exist."""
    opt = d.options
    table = pd.DataFrame({"u": opt["u"], "level": opt["level"], "t": opt["t"]}).reset_index()
    q = pd.DataFrame({"u": u, "level": level, "t": t})
    return q.merge(table, how="left")["index"].fillna(-1).to_numpy().astype(np.int64)


def add_switching(f: Formulation, d: ModelData) -> None:
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
    if s.switching_cost <= 0 and s.max_changes is None:
        return
    opt = d.options
    ou, ot = opt["u"].to_numpy(), opt["t"].to_numpy()
    later = np.flatnonzero(ot > 0)
    od = add_var(f, "d", len(later), lb=0.0, owner=ou[later])
    prev = _option_at(d, ou[later], opt["level"].to_numpy()[later], ot[later] - 1)
    r = np.arange(len(later))
    has = prev >= 0
    add_rows(f, RowKind.SWITCH, (np.r_[r, r, r[has]], np.r_[od + r, later, prev[has]],
                           np.r_[np.ones(len(r)), -np.ones(len(r)), np.ones(has.sum())]),
             len(r), 0.0, None)
    change_u, change_col, change_t = [ou[later]], [od + r], [ot[later]]
    if "current" in d.case.tables:
        upos = d.unit_periods.drop_duplicates("u")[["segment", "product", "u"]]
        cur = d.case.tables["current"][["segment", "product", "level"]].merge(upos)
        cu = cur["u"].to_numpy().astype(np.int64)
        c = _option_at(d, cu, cur["level"].to_numpy(), np.zeros(len(cu), dtype=np.int64))
        ow = add_var(f, "w0", len(cu), lb=0.0, ub=1.0, owner=cu)
        k, has = np.arange(len(cu)), c >= 0
        add_rows(f, RowKind.SWITCH_FIRST, (np.r_[k, k[has]], np.r_[ow + k, c[has]], np.ones(
            len(k) + has.sum())), len(k), 1.0, None)
        change_u.append(cu)
        change_col.append(ow + k)
        change_t.append(np.zeros(len(cu), dtype=np.int64))
    cols, tt = np.concatenate(change_col), np.concatenate(change_t)
    if s.switching_cost > 0:
        f.add_terms("profit", tt, cols, np.full(len(cols), -float(s.switching_cost)))
        f.add_terms("switching", tt, cols, np.full(len(cols), float(s.switching_cost)))
    if s.max_changes is not None:
        units, row = np.unique(np.concatenate(change_u), return_inverse=True)
        add_rows(f, RowKind.MAX_CHANGES, (row, cols, np.ones(len(cols))), len(units), None,
                 float(s.max_changes), index=units.tolist())


def add_goodwill(f: Formulation, d: ModelData) -> None:
    """Goodwill carry-over: ``G[u,1] = 0``, ``G[u,t] = ρ·G[u,t−1] + Σ_l g_l·x[u,l,t−1]``.

    Extra units ``lift[u,t] = σ_s·b[u,t]·G[u,t]`` earn ``lift·(margin − base_unit_cost)``
    and use ``lift·base_unit_cost`` of the budget. ``G`` is only created for units whose
    demand goodwill can move (σ_s > 0, some later demand, some level with goodwill ≠ 0);
    ``G[k]`` is the stock of the k-th goodwill row, ``m.goodwill[u, t]``. ``G ≥ 0`` when no
    level has negative goodwill (the recursion keeps it there anyway); with negative goodwill
    ``G`` is free and the lift may be negative: poor service loses demand later (validation,
    :mod:`svcplan.case.demand_floor`, made sure units cannot go below zero).
    """
    g = d.levels.set_index("level")["goodwill"]
    up = d.unit_periods
    gain = (up["sensitivity"] > 0) & (up["base_demand"] > 0) & (up["t"] > 0)
    if d.n_periods < 2 or not (g != 0).any() or not gain.any():
        return
    rows = up.loc[up["u"].isin(set(up.loc[gain, "u"])) & (up["t"] > 0)]
    gu, gt = rows["u"].to_numpy(), rows["t"].to_numpy()
    g_index = list(zip(gu.tolist(), gt.tolist(), strict=True))
    og = add_var(f, "G", len(rows), lb=0.0 if (g >= 0).all() else None, owner=gu)
    T = d.n_periods
    pos = np.full(d.n_units * T, -1, dtype=np.int64)
    pos[gu * T + gt] = np.arange(len(rows))
    opt = d.options
    gl = opt["level"].map(g).to_numpy()
    ou, ot = opt["u"].to_numpy(), opt["t"].to_numpy()
    i = np.flatnonzero((gl != 0) & (ot < T - 1))
    row_x = pos[ou[i] * T + ot[i] + 1]
    i, row_x = i[row_x >= 0], row_x[row_x >= 0]
    k = np.arange(len(rows))
    carry = np.flatnonzero(gt > 1)
    rho = float(d.settings.goodwill_retention)
    add_rows(f, RowKind.GOODWILL, (np.r_[k, carry, row_x], np.r_[og + k, og + carry - 1, i],
                             np.r_[np.ones(len(k)), np.full(len(carry), -rho), -gl[i]]),
             len(k), 0.0, 0.0, index=g_index)
    lift = (rows["sensitivity"] * rows["base_demand"]).to_numpy()
    margin = (rows["unit_margin"] - rows["base_unit_cost"]).to_numpy()
    f.add_terms("profit", gt, og + k, lift * margin)
    f.add_terms("spend", gt, og + k, lift * rows["base_unit_cost"].to_numpy())


def add_tier_ordering(f: Formulation, d: ModelData) -> None:
    """Tier ordering: per product and period, ``rank(u) ≥ rank(v)`` when tier(u) < tier(v).

    Stated in cumulative form, one row per rank threshold θ above the lowest rank:
    ``Σ_{l: rank_l ≥ θ} x[u,l,t] ≥ Σ_{l: rank_l ≥ θ} x[v,l,t]`` ("if v is served at θ or
    better, so is u"). For 0/1 plans this is exactly ``Σ_l rank_l·x[u,l,t] ≥ Σ_l
    rank_l·x[v,l,t]``, but its LP relaxation is much tighter: the single rank row lets a
    fractional mix of a low and a high level pass for a middle rank, which left a 0.29%
    integrality gap on a 10k case minimising cost under a service target (0.008% without
    tiers); the cumulative rows remove that mixing. Only consecutive tiers present for the
    product are linked (the order is transitive); segments without a tier are free; a
    threshold no option of v reaches gives no row.
    """
    if not d.settings.tier_ordering:
        return
    tiers = d.case.tables["segments"].set_index("segment")["tier"].dropna()
    opt = d.options
    units = opt.drop_duplicates("u")[["u", "segment", "product"]]
    units = units[units["segment"].isin(tiers.index)].assign(tier=lambda f: f["segment"].map(tiers))
    units["step"] = units.groupby("product")["tier"].rank(method="dense").astype(int)
    a = units.rename(columns={"u": "a"})
    b = units.assign(step=units["step"] - 1).rename(columns={"u": "b"})
    pairs = a[["a", "product", "step"]].merge(b[["b", "product", "step"]])
    T = d.n_periods
    pa = np.repeat(pairs["a"].to_numpy(), T)
    pb = np.repeat(pairs["b"].to_numpy(), T)
    t = np.tile(np.arange(T), len(pairs))
    gid = d.group_of()
    ga, gb = gid[pa * T + t], gid[pb * T + t]
    ok = (ga >= 0) & (gb >= 0)
    ga, gb = ga[ok], gb[ok]
    start, size = d.group_start, d.group_end - d.group_start
    rank = opt["rank"].to_numpy().astype(float)
    n = len(ga)
    ca, cb = ranges(start[ga], size[ga]), ranges(start[gb], size[gb])
    ra, rb = np.repeat(np.arange(n), size[ga]), np.repeat(np.arange(n), size[gb])
    rank_a, rank_b = rank[ca], rank[cb]
    rows, cols, vals = [], [], []
    used = 0
    for theta in np.unique(rank)[1:]:
        ib = rank_b >= theta
        # a row only where some option of v reaches θ (else it reads "0 ≤ Σ x[u]": always
        # true); made only for those (making all and dropping them peaked at +560 MB at 1M)
        has = np.bincount(rb[ib], minlength=n) > 0
        row = np.full(n, -1, dtype=np.int64)
        row[has] = used + np.arange(int(has.sum()))
        used += int(has.sum())
        ia = (rank_a >= theta) & has[ra]
        rows += [row[ra[ia]], row[rb[ib]]]
        cols += [ca[ia], cb[ib]]
        vals += [np.ones(int(ia.sum())), -np.ones(int(ib.sum()))]
    trip = tuple(np.concatenate(v) if v else _EMPTY for v in (rows, cols, vals))
    add_rows(f, RowKind.TIER_ORDER, trip, used, 0.0, None)


def _per_period(f: Formulation, d: ModelData, name: str, option_coef: np.ndarray):
    """Per-period COO triplets ``Σ_i v_i x_i + (recorded terms of name)``."""
    t = d.options["t"].to_numpy()
    parts = [(t, np.arange(len(t)), option_coef), *f.terms.get(name, [])]
    return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))


def add_budget(f: Formulation, d: ModelData) -> None:
    """Budgets: per period ``Σ c_i x_i + Σ lift·buc + Σ F_l y[l,t] ≤ B_t`` (blank B_t = none),
    and over the horizon the same summed over t ``≤ total_budget`` (undiscounted)."""
    rows, cols, vals = _per_period(f, d, "spend", d.options["cost"].to_numpy())
    budget = d.case.tables["periods"]["budget"].to_numpy()
    given = np.flatnonzero(~np.isnan(budget))
    pos = np.full(d.n_periods, -1)
    pos[given] = np.arange(len(given))
    sel = pos[rows] >= 0
    add_rows(f, RowKind.BUDGET, (pos[rows[sel]], cols[sel], vals[sel]), len(given),
             None, budget[given], index=given.tolist())
    total = d.settings.total_budget
    if total is not None:
        add_rows(f, RowKind.TOTAL_BUDGET, (np.zeros(len(rows), dtype=np.int64), cols, vals), 1,
                 None, float(total), index=[None])


def add_capacity(f: Formulation, d: ModelData) -> None:
    """Resource capacity: ``Σ_i q_i·per_unit[l_i,r]·x_i ≤ cap[r,t]`` for given (r, t).

    Rows are named by ``(resource, period)``: ``m.capacity["truck", "2026-03"]``.
    """
    cap, usage = d.case.tables.get("capacity"), d.case.tables.get("usage")
    if cap is None or usage is None:
        return
    q, t = d.options["units"].to_numpy(), d.options["t"].to_numpy()
    tpos = {p: k for k, p in enumerate(d.case.periods)}
    rows, cols, vals, limit, names = [], [], [], [], []
    for r, grp in usage.groupby("resource", sort=False):
        per = d.options["level"].map(grp.set_index("level")["per_unit"]).fillna(0.0).to_numpy()
        for period, c in cap.loc[cap["resource"] == r, ["period", "capacity"]].itertuples(
                index=False):
            i = np.flatnonzero(t == tpos[period])
            rows.append(np.full(len(i), len(limit)))
            cols.append(i)
            vals.append(q[i] * per[i])
            limit.append(float(c))
            names.append((r, period))
    trip = tuple(np.concatenate(a) if a else _EMPTY for a in (rows, cols, vals))
    add_rows(f, RowKind.CAPACITY, trip, len(limit), None, np.array(limit), index=names)


def add_inventory_limit(f: Formulation, d: ModelData) -> None:
    """Inventory time: ``Σ ss_i x_i ≤ (D / period_days)·Σ q_i x_i`` per period."""
    days = d.settings.max_inventory_days
    if days is None:
        return
    k = days / d.settings.period_days
    coef = d.options["safety_stock"].to_numpy() - k * d.options["units"].to_numpy()
    t = d.options["t"].to_numpy()
    add_rows(f, RowKind.INVENTORY, (t, np.arange(len(t)), coef), d.n_periods, None, 0.0)


def add_targets(f: Formulation, d: ModelData) -> None:
    """Service targets (targets.csv), one row per target and period (or pooled horizon):
    ``Σ_{i of its units and periods} w_i·(s_i − m)·x_i ≥ 0``, i.e. the weighted mean
    promise ``Σ w·s·x / Σ w`` (``Σ_l x = 1`` per unit-period) is at least ``m``.

    Stated divided by the mean weight ``w̄`` and negated, ``Σ (w_i/w̄)·(m − s_i)·x_i ≤ 0``,
    so it is a dense ``≤`` row like a budget (coefficients from :mod:`svcplan.economics.targets`).
    Rows are named ``(target name, period id or "*")``: ``m.service_target["KEY", "*"]``.
    """
    t = d.targets
    if t is None or not len(t.table):
        return
    add_rows(f, RowKind.TARGET, (t.rows, t.cols, t.coef), len(t.table), None, 0.0,
             index=t.keys)


def add_objective(f: Formulation, d: ModelData) -> None:
    """The objective of case.yaml's ``objective``, always stated as a maximisation:

    - profit: ``max Σ_t D_t·(Σ p_i x_i + Σ lift·(margin−buc) − Σ F_l y[l,t] − S·Σ_u w[u,t])``;
    - cost: ``max −Σ_t D_t·(Σ c_i x_i + Σ lift·buc + Σ F_l y[l,t] + S·Σ_u w[u,t])``
      (minimising the cost; the budget's spend terms plus switching);
    - service: ``max Σ_i w_i·s_i·x_i / Σ w`` (no discount), the weighted mean promise.

    One sense for every mode keeps every solve path (bounds, pricing, rounding, search,
    marginals) unchanged; the result reports the mode's own value and sign.
    """
    mode = d.settings.objective
    if mode == "service":
        cost = np.zeros(f.form.n_cols)
        x0 = f.form.offsets["x"]
        cost[x0: x0 + len(d.options)] = d.service
        set_objective(f, cost)
        return
    disc = d.case.tables["periods"]["discount"].to_numpy().astype(float)
    if mode == "cost":
        rows, cols, vals = _per_period(f, d, "spend", d.options["cost"].to_numpy())
        sw = f.terms.get("switching", [])
        rows, cols, vals = (np.concatenate([a, *(p[j] for p in sw)]) for j, a in
                            enumerate((rows, cols, vals)))
        vals = -vals
    else:
        rows, cols, vals = _per_period(f, d, "profit", d.options["profit"].to_numpy())
    cost = np.zeros(f.form.n_cols)
    np.add.at(cost, cols, disc[rows] * vals)
    set_objective(f, cost)


def create_model(d: ModelData, pyomo: bool = False) -> Formulation:
    """The whole MILP: one flat sequence of blocks, each documenting its own algebra.

    ``pyomo``: create the Pyomo components too, for what reads the Pyomo model itself (an
    extension, a solver called through Pyomo). svcplan's own pipeline reads only the arrays
    the blocks record either way (``tests/test_fast_build.py``), so it skips them: they are
    ~95% of the build (demo: 0.6 s of 0.63 s; 1M binaries: ~70%)."""
    if pyomo:
        import pyomo.environ as pyo  # only here: 0.4 s of imports a recorded-only build skips

        f = Formulation(pyo.ConcreteModel(name=d.case.name))
    else:
        f = Formulation(None)
    add_assignment(f, d)
    add_fixed_costs(f, d)
    add_switching(f, d)
    add_goodwill(f, d)
    add_tier_ordering(f, d)
    add_budget(f, d)
    add_capacity(f, d)
    add_inventory_limit(f, d)
    add_targets(f, d)
    add_objective(f, d)
    return f
