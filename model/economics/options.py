"""Option economics (SPEC §1-2): which options exist and what each one earns and costs.

An *option* is one (unit, level, period) the model may choose, where a unit is a
(segment, product) pair. This module turns a validated case into one tidy table with a
row per option, so that the model builder only reads prepared coefficient columns and
never recomputes economics. Pure pandas/numpy: it is tested without a solver.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pandas as pd

from ..case.case import Case

UNIT = ["segment", "product"]
_NORMAL = NormalDist()


def units_frame(case: Case) -> pd.DataFrame:
    """Every unit (SPEC §1: pairs in demand.csv or options.csv) with its product class.

    Columns: segment, product, product_class, in_options. Order: first appearance.
    """
    t = case.tables
    frames = [t[n][UNIT] for n in ("demand", "options") if n in t]
    units = pd.concat(frames, ignore_index=True).drop_duplicates(ignore_index=True)
    units = units.merge(t["products"][["product", "product_class"]], on="product", how="left")
    if "options" in t:
        listed = t["options"][UNIT].drop_duplicates()
        units = units.merge(listed.assign(in_options=True), on=UNIT, how="left")
        units["in_options"] = units["in_options"].fillna(False).astype(bool)
    else:
        units["in_options"] = False
    return units


def level_table(case: Case) -> pd.DataFrame:
    """Levels with the derived safety factor ``z`` and a reportable ``service`` probability.

    ``z`` = safety_factor if given, else the standard normal quantile of service_target
    (a cycle service level), else 0 (no safety stock). ``service`` is the reverse, so a
    level given only by its safety factor still reports a service level.
    """
    lv = case.tables["levels"].copy()
    target = lv["service_target"]
    sf = lv["safety_factor"]
    z_from_target = target.map(lambda p: _NORMAL.inv_cdf(p) if pd.notna(p) else np.nan)
    lv["z"] = sf.fillna(z_from_target).fillna(0.0).astype(float)
    lv["service"] = target.fillna(sf.map(lambda z: _NORMAL.cdf(z) if pd.notna(z) else np.nan))
    return lv.sort_values("rank").reset_index(drop=True)


def allowed_options(case: Case) -> pd.DataFrame:
    """Every unit × level with ``allowed`` (policies and options.csv narrowing, SPEC §1).

    All matching policy rows apply (their rank ranges intersect). A unit listed in
    options.csv may only use the levels listed for it there (in any period).
    """
    units = units_frame(case)
    lv = case.tables["levels"][["level", "rank"]]
    pairs = units.merge(lv, how="cross")
    ok = np.ones(len(pairs), dtype=bool)
    rank_of = dict(zip(lv["level"], lv["rank"], strict=True))
    pol = case.tables.get("policies")
    if pol is not None:
        for seg, cls, lo, hi in pol[["segment", "product_class", "min_level", "max_level"]].itertuples(
            index=False
        ):
            match = np.ones(len(pairs), dtype=bool)
            if seg is not None:
                match &= (pairs["segment"] == seg).to_numpy()
            if cls is not None:
                match &= (pairs["product_class"] == cls).to_numpy()
            out = np.zeros(len(pairs), dtype=bool)
            if lo is not None:
                out |= (pairs["rank"] < rank_of[lo]).to_numpy()
            if hi is not None:
                out |= (pairs["rank"] > rank_of[hi]).to_numpy()
            ok &= ~(match & out)
    if "options" in case.tables:
        listed = case.tables["options"][[*UNIT, "level"]].drop_duplicates().assign(_listed=True)
        flag = pairs.merge(listed, on=[*UNIT, "level"], how="left")["_listed"]
        flag = flag.fillna(False).astype(bool).to_numpy()
        ok &= ~pairs["in_options"].to_numpy() | flag
    pairs["allowed"] = ok
    return pairs


def _with_capture(case: Case, pairs: pd.DataFrame) -> pd.Series:
    """capture[s,l] for each row of ``pairs`` (class-specific row wins over blank class)."""
    resp = case.tables.get("response")
    if resp is None:
        return pd.Series(1.0, index=pairs.index)
    keys = ["segment", "level"]
    blank = resp[resp["product_class"].isna()][[*keys, "capture"]]
    by_class = resp[resp["product_class"].notna()][[*keys, "product_class", "capture"]]
    left = pairs[[*keys, "product_class"]].reset_index(drop=True)
    c1 = left.merge(by_class, on=[*keys, "product_class"], how="left")["capture"]
    c0 = left.merge(blank, on=keys, how="left")["capture"]
    return pd.Series(c1.fillna(c0).to_numpy(), index=pairs.index)


def missing_captures(case: Case, pairs: pd.DataFrame) -> pd.DataFrame:
    """(segment, level, product_class) combinations of demanded units lacking a capture."""
    if "response" not in case.tables or "demand" not in case.tables:
        return pd.DataFrame(columns=["segment", "level", "product_class"])
    demanded = case.tables["demand"][UNIT].drop_duplicates()
    pairs = pairs.merge(demanded, on=UNIT)
    cap = _with_capture(case, pairs)
    miss = pairs.loc[cap.isna(), ["segment", "level", "product_class"]]
    return miss.drop_duplicates(ignore_index=True)


def _unit_periods(case: Case) -> pd.DataFrame:
    """Every unit × period with positions ``u``, ``t`` and base_demand (0 where not given)."""
    t = case.tables
    units = units_frame(case)[UNIT].reset_index(drop=True)
    units["u"] = np.arange(len(units))
    periods = t["periods"][["period"]].reset_index(drop=True)
    periods["t"] = np.arange(len(periods))
    up = units.merge(periods, how="cross")
    if "demand" in t:
        d = t["demand"][[*UNIT, "period", "base_demand"]]
        up = up.merge(d, on=[*UNIT, "period"], how="left")
        up["base_demand"] = up["base_demand"].fillna(0.0)
    else:
        up["base_demand"] = 0.0
    return up


def option_table(case: Case) -> pd.DataFrame:
    """One row per allowed (unit, level, period) with everything SPEC §2 derives.

    Columns: segment, product, period, level, u, t, rank, base_demand, capture, units,
    revenue, unit_cost, handling_cost, safety_stock, holding_cost, cost, profit, explicit.
    ``u`` and ``t`` are 0-based unit and period positions (periods in periods.csv order).
    ``handling_cost`` = q·unit_cost and ``holding_cost`` = holding_cost[p]·ss split ``cost``
    by kind; for an explicit options.csv row the whole cost is reported as handling.
    Sorted by unit, period, rank.
    """
    t = case.tables
    pairs = allowed_options(case)
    pairs = pairs[pairs["allowed"]].drop(columns="allowed")
    pairs["capture"] = _with_capture(case, pairs).fillna(0.0).to_numpy()
    opt = pairs.merge(_unit_periods(case), on=UNIT)
    prod = t["products"][["product", "unit_margin", "base_unit_cost", "holding_cost", "demand_cv"]]
    lv = level_table(case)[["level", "z", "lead_time_days", "cost_multiplier"]]
    opt = opt.merge(prod, on="product", how="left").merge(lv, on="level", how="left")
    unit_cost = opt["base_unit_cost"] * opt["cost_multiplier"]
    if "unit_costs" in t:
        uc = t["unit_costs"][["product", "level", "unit_cost"]]
        unit_cost = opt[["product", "level"]].merge(uc, how="left")["unit_cost"].fillna(unit_cost)
    opt["unit_cost"] = unit_cost.to_numpy()
    q = opt["base_demand"] * opt["capture"]
    ss = opt["z"] * opt["demand_cv"] * q * np.sqrt(opt["lead_time_days"] / case.settings.period_days)
    opt["units"] = q
    opt["revenue"] = q * opt["unit_margin"]
    opt["handling_cost"] = q * opt["unit_cost"]
    opt["safety_stock"] = ss
    opt["holding_cost"] = opt["holding_cost"] * ss
    opt["explicit"] = False
    if "options" in t:
        opt = _apply_explicit(opt, t["options"])
    opt["cost"] = opt["handling_cost"] + opt["holding_cost"]
    opt["profit"] = opt["revenue"] - opt["cost"]
    cols = ["segment", "product", "period", "level", "u", "t", "rank", "base_demand", "capture",
            "units", "revenue", "unit_cost", "handling_cost", "safety_stock", "holding_cost",
            "cost", "profit", "explicit"]
    opt = opt[cols].sort_values(["u", "t", "rank"], kind="stable").reset_index(drop=True)
    return opt


def _apply_explicit(opt: pd.DataFrame, options: pd.DataFrame) -> pd.DataFrame:
    """Replace derived economics by options.csv rows where given (SPEC §2, last paragraph)."""
    key = [*UNIT, "period", "level"]
    given = options[[*key, "revenue", "cost", "units", "safety_stock"]].rename(
        columns=lambda c: c if c in key else f"_{c}"
    )
    opt = opt.merge(given, on=key, how="left")
    hit = opt["_revenue"].notna()
    opt.loc[hit, "revenue"] = opt.loc[hit, "_revenue"]
    opt.loc[hit, "handling_cost"] = opt.loc[hit, "_cost"]
    opt.loc[hit, "holding_cost"] = 0.0
    opt.loc[hit, "units"] = opt.loc[hit, "_units"]
    opt.loc[hit, "safety_stock"] = opt.loc[hit, "_safety_stock"]
    opt.loc[hit, "unit_cost"] = np.nan
    opt["explicit"] = hit
    return opt.drop(columns=["_revenue", "_cost", "_units", "_safety_stock"])


def unit_period_table(case: Case) -> pd.DataFrame:
    """One row per unit and period with what goodwill needs (SPEC §3).

    Columns: segment, product, period, u, t, base_demand, sensitivity, unit_margin,
    base_unit_cost. Extra units from goodwill are ``sensitivity·base_demand·G``.
    """
    t = case.tables
    up = _unit_periods(case)
    seg = t["segments"][["segment", "goodwill_sensitivity"]].rename(
        columns={"goodwill_sensitivity": "sensitivity"}
    )
    prod = t["products"][["product", "unit_margin", "base_unit_cost"]]
    up = up.merge(seg, on="segment", how="left").merge(prod, on="product", how="left")
    return up.sort_values(["u", "t"]).reset_index(drop=True)
