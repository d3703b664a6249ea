"""Option economics (SPEC §1-2): what each option earns and costs.

An *option* is one (unit, level, period) the model may choose, where a unit is a
(segment, product) pair. This module turns a validated case into one tidy table with a
row per option, so that the model builder only reads prepared coefficient columns and
never recomputes economics. Pure pandas/numpy: it is tested without a solver.

Which options exist (units, allowed levels, captures) is decided in the case stage
(:mod:`svcplan.case.units`), because validation needs the same rules; the safety stock and
the promises of each (product, level) are computed once in :mod:`.service`
(:func:`inventory_table`) and scaled by the units served here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..case.case import Case
from ..case.units import UNIT, allowed_options, captures, units_frame
from .service import inventory_parameters, safety_stock, service_factors


def level_table(case: Case) -> pd.DataFrame:
    """Levels with the derived safety factor ``z`` and a reportable ``service`` probability.

    ``z`` = safety_factor if given, else the standard normal quantile of service_target
    (a cycle service level), else 0 (no safety stock). ``service`` is the reverse, so a
    level given only by its safety factor still reports a service level.
    """
    lv = case.tables["levels"].copy()
    lv["z"], lv["service"] = service_factors(lv["service_target"], lv["safety_factor"])
    return lv.sort_values("rank").reset_index(drop=True)


def inventory_table(case: Case) -> pd.DataFrame:
    """The inventory policy of every (product, level) of a case, per unit served (SPEC §2).

    :func:`.service.inventory_parameters` on the case's products and levels: protection
    interval, mean and sd of demand over it, cycle quantity, the rule that set the safety
    stock, safety stock per unit of q and both promises. The option table and the simulator
    read their numbers from here.
    """
    t = case.tables
    return inventory_parameters(t["levels"], t["products"], case.settings.period_days)


def _unit_periods(case: Case) -> pd.DataFrame:
    """Every unit × period with positions ``u``, ``t`` and base_demand (0 where not given)."""
    t = case.tables
    units = units_frame(t)[UNIT].reset_index(drop=True)
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
    revenue, unit_cost, handling_cost, safety_stock, holding_cost, cost, profit,
    cycle_service, fill_rate, explicit.
    ``u`` and ``t`` are 0-based unit and period positions (periods in periods.csv order).
    ``handling_cost`` = q·unit_cost and ``holding_cost`` = holding_cost[p]·ss split ``cost``
    by kind; for an explicit options.csv row the whole cost is reported as handling.
    ``safety_stock`` is q times the per-unit safety stock of :func:`inventory_table`, except
    where the formula of earlier versions applies (no review, no lead-time spread, normal
    demand, no fill-rate rule): there it is ``z·cv·q·sqrt(LT/pd)`` multiplied in the old
    order, so every existing case keeps its bits. ``cycle_service`` and ``fill_rate`` are the
    promises of the (product, level); an explicit row takes its own or, blank, the level's
    service_target / fill_rate (NaN if the level has none either).
    Sorted by unit, period, rank.
    """
    t = case.tables
    pairs = allowed_options(t)
    pairs = pairs[pairs["allowed"]].drop(columns="allowed")
    pairs["capture"] = captures(t, pairs).fillna(0.0).to_numpy()
    opt = pairs.merge(_unit_periods(case), on=UNIT)
    prod = t["products"][["product", "unit_margin", "base_unit_cost", "holding_cost", "demand_cv"]]
    lv = level_table(case)[["level", "z", "lead_time_days", "cost_multiplier"]]
    opt = opt.merge(prod, on="product", how="left").merge(lv, on="level", how="left")
    inv = inventory_table(case)
    row = _inventory_rows(inv, opt)
    for col in ("legacy", "safety_stock_per_unit", "cycle_service", "fill_rate"):
        opt[col] = inv[col].to_numpy()[row]
    unit_cost = opt["base_unit_cost"] * opt["cost_multiplier"]
    if "unit_costs" in t:
        uc = t["unit_costs"][["product", "level", "unit_cost"]]
        unit_cost = opt[["product", "level"]].merge(uc, how="left")["unit_cost"].fillna(unit_cost)
    opt["unit_cost"] = unit_cost.to_numpy()
    q = opt["base_demand"] * opt["capture"]
    old = safety_stock(q, opt["z"], opt["demand_cv"], opt["lead_time_days"], case.settings.period_days)
    ss = np.where(opt["legacy"], old, q * opt["safety_stock_per_unit"])
    opt["units"] = q
    opt["revenue"] = q * opt["unit_margin"]
    opt["handling_cost"] = q * opt["unit_cost"]
    opt["safety_stock"] = ss
    opt["holding_cost"] = opt["holding_cost"] * ss
    opt["explicit"] = False
    if "options" in t:
        opt = _apply_explicit(opt, t["options"], t["levels"])
    opt["cost"] = opt["handling_cost"] + opt["holding_cost"]
    opt["profit"] = opt["revenue"] - opt["cost"]
    cols = ["segment", "product", "period", "level", "u", "t", "rank", "base_demand", "capture",
            "units", "revenue", "unit_cost", "handling_cost", "safety_stock", "holding_cost",
            "cost", "profit", "cycle_service", "fill_rate", "explicit"]
    opt = opt[cols].sort_values(["u", "t", "rank"], kind="stable").reset_index(drop=True)
    return opt


def _inventory_rows(inv: pd.DataFrame, opt: pd.DataFrame) -> np.ndarray:
    """Row of ``inv`` (a product × level cross, product-major) for each option.

    Found by positions rather than a merge on two keys: at a million options the merge
    doubled the time of the option table.
    """
    products = pd.unique(inv["product"])
    n_levels = len(inv) // len(products)
    levels = inv["level"].to_numpy()[:n_levels]
    p = pd.Index(products).get_indexer(opt["product"])
    lv = pd.Index(levels).get_indexer(opt["level"])
    return p * n_levels + lv


def _apply_explicit(opt: pd.DataFrame, options: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """Replace derived economics by options.csv rows where given (SPEC §2, last paragraph).

    A blank promise of an explicit row is the level's service_target / fill_rate as given
    in levels.csv (not a derived promise: the row's economics are the planner's own).
    """
    key = [*UNIT, "period", "level"]
    given = options[[*key, "revenue", "cost", "units", "safety_stock", "cycle_service", "fill_rate"]]
    nominal = levels.set_index("level")
    given = given.assign(
        cycle_service=given["cycle_service"].fillna(given["level"].map(nominal["service_target"])),
        fill_rate=given["fill_rate"].fillna(given["level"].map(nominal["fill_rate"])),
    ).rename(columns=lambda c: c if c in key else f"_{c}")
    opt = opt.merge(given, on=key, how="left")
    hit = opt["_revenue"].notna()
    opt.loc[hit, "revenue"] = opt.loc[hit, "_revenue"]
    opt.loc[hit, "handling_cost"] = opt.loc[hit, "_cost"]
    opt.loc[hit, "holding_cost"] = 0.0
    opt.loc[hit, "units"] = opt.loc[hit, "_units"]
    opt.loc[hit, "safety_stock"] = opt.loc[hit, "_safety_stock"]
    opt.loc[hit, "cycle_service"] = opt.loc[hit, "_cycle_service"]
    opt.loc[hit, "fill_rate"] = opt.loc[hit, "_fill_rate"]
    opt.loc[hit, "unit_cost"] = np.nan
    opt["explicit"] = hit
    return opt.drop(columns=["_revenue", "_cost", "_units", "_safety_stock", "_cycle_service",
                             "_fill_rate"])


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
