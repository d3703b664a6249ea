"""A solved plan as inventory policies: the run folder and its case in, :class:`Policy` out.

What a unit-period's level stands for comes from the economics stage
(:func:`svcplan.economics.options.inventory_table`: per (product, level) the protection
interval, the mean demand over it and the cycle quantity per unit served, the lead time and
its spread, the review interval, the distribution). This module only scales those by the
plan's units served ``q`` and adds the plan's safety stock ``ss`` (assignment.csv — for an
options.csv row that is the planner's own number, which is how an understocked plan shows):

- order-up-to level (R > 0) or reorder point (R = 0): ``q · mean_per_unit + ss`` (mu + ss);
- continuous-review order quantity ``Q = q · cycle_per_unit``;
- daily demand: mean ``q / pd`` and variance ``(q · demand_cv)² / pd``, the demand part of
  the §2 variance spread over pd independent days (the lead-time part of §2's sigma comes
  from the random lead times themselves).

A review interval that is not a whole number of days is rounded to one (at least 1).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..case.case import Case
from ..case.schema import ID_DTYPES
from ..case.units import UNIT, units_frame
from ..economics.options import inventory_table
from ..solver.status import WITH_PLAN
from .policy import Policy, Windows

KEY = [*UNIT, "period"]


class SimulationError(ValueError):
    """A run that cannot be simulated (no plan, no case, a case that does not match)."""


@dataclass(frozen=True)
class Run:
    """What the simulation reads of a run folder."""

    folder: Path
    summary: dict
    assignment: pd.DataFrame
    periods: pd.DataFrame  # kpi_periods.csv (planned profit per period)

    @property
    def case_path(self) -> str | None:
        return self.summary.get("case_path")


def read_run(folder: Path) -> Run:
    """The run's summary.json, assignment.csv and kpi_periods.csv; a run without a plan is
    refused with the reason (SimulationError)."""
    folder = Path(folder)
    if not (folder / "summary.json").exists():
        raise SimulationError(f"{folder} is not a finished run folder (no summary.json): "
                              "solve the case first (svcplan solve CASE --out DIR)")
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    status = summary.get("status")
    plan = folder / "assignment.csv"
    if status not in WITH_PLAN or not plan.exists():
        why = f"status {status}" + (", no assignment.csv" if not plan.exists() else "")
        raise SimulationError(f"the run in {folder} has no plan to simulate ({why})")
    a = pd.read_csv(plan, dtype=ID_DTYPES)
    kpi = folder / "kpi_periods.csv"
    periods = pd.read_csv(kpi, dtype=ID_DTYPES) if kpi.exists() else pd.DataFrame()
    return Run(folder, summary, a, periods)


def check_match(case: Case, a: pd.DataFrame) -> None:
    """The run's unit-periods must be exactly the case's (SPEC §1); the first difference is
    named: a period, a unit, or a level the case does not know."""
    periods = case.periods
    for p in dict.fromkeys(a["period"]):
        if p not in periods:
            raise SimulationError(f"period {p} of the run is not in the case's periods.csv")
    for p in periods:
        if p not in set(a["period"]):
            raise SimulationError(f"period {p} of the case is not in the run")
    units = units_frame(case.tables)[UNIT]
    have = set(map(tuple, units.to_numpy()))
    for seg, prod in a[UNIT].drop_duplicates().itertuples(index=False):
        if (seg, prod) not in have:
            raise SimulationError(f"unit {seg}/{prod} of the run is not in the case")
    run_units = set(map(tuple, a[UNIT].to_numpy()))
    for seg, prod in units.itertuples(index=False):
        if (seg, prod) not in run_units:
            raise SimulationError(f"unit {seg}/{prod} of the case is not in the run")
    counts = a.groupby(UNIT).size()
    if (counts != len(periods)).any():
        seg, prod = counts[counts != len(periods)].index[0]
        raise SimulationError(f"unit {seg}/{prod} has {counts[(seg, prod)]} rows in the run "
                              f"for the case's {len(periods)} periods")
    levels = set(case.tables["levels"]["level"])
    bad = a[~a["level"].isin(levels)]
    if len(bad):
        r = bad.iloc[0]
        raise SimulationError(f"level {r['level']} of unit {r['segment']}/{r['product']} in "
                              f"period {r['period']} is not in the case's levels.csv")


def stream_keys(a: pd.DataFrame) -> np.ndarray:
    """A 64-bit key per unit-period from its ids: its random numbers follow it anywhere."""
    text = (a["segment"].astype(str) + "\x1f" + a["product"].astype(str) + "\x1f"
            + a["period"].astype(str))
    return np.array([int.from_bytes(hashlib.blake2b(s.encode(), digest_size=8).digest(), "little")
                     for s in text], dtype=np.uint64)


def plan_frame(case: Case, a: pd.DataFrame) -> pd.DataFrame:
    """The assignment with the inventory parameters of each row's (product, level)."""
    inv = inventory_table(case)
    cols = ["product", "level", "distribution", "demand_cv", "lead_time_days", "review_days",
            "lead_time_sd_days", "mean_per_unit", "cycle_per_unit", "cycle_service", "fill_rate"]
    inv = inv[cols].rename(columns={"cycle_service": "_cycle_service", "fill_rate": "_fill_rate"})
    f = a.merge(inv, on=["product", "level"], how="left", validate="many_to_one")
    for c in ("cycle_service", "fill_rate"):  # older runs: the (product, level) promise
        f[c] = f[c].fillna(f[f"_{c}"]) if c in f else f[f"_{c}"]
    hold = case.tables["products"].set_index("product")["holding_cost"]
    f["holding_rate"] = np.where(f["safety_stock"] > 0,
                                 f["holding_cost"] / f["safety_stock"].where(f["safety_stock"] > 0),
                                 f["product"].map(hold))
    return f.drop(columns=["_cycle_service", "_fill_rate"])


def policies(f: pd.DataFrame, period_days: float) -> tuple[Policy, np.ndarray]:
    """The policies of the rows with units served (q > 0) and their row positions."""
    live = np.flatnonzero(f["units"].to_numpy(dtype=float) > 0)
    g = f.iloc[live]
    q = g["units"].to_numpy(dtype=float)
    ss = g["safety_stock"].fillna(0.0).to_numpy(dtype=float)
    review = g["review_days"].to_numpy(dtype=float)
    p = Policy(
        daily_mean=q / period_days,
        daily_sd=q * g["demand_cv"].to_numpy(dtype=float) / np.sqrt(period_days),
        gamma=(g["distribution"] == "gamma").to_numpy(),
        review_days=np.where(review > 0, np.maximum(np.rint(review), 1), 0).astype(np.int64),
        lead_time_days=g["lead_time_days"].to_numpy(dtype=float),
        lead_time_sd_days=g["lead_time_sd_days"].to_numpy(dtype=float),
        level=q * g["mean_per_unit"].to_numpy(dtype=float) + ss,
        quantity=q * g["cycle_per_unit"].to_numpy(dtype=float),
        keys=stream_keys(g),
    )
    return p, live


def profit_windows(f: pd.DataFrame, live: np.ndarray, p: Policy, periods: list[str],
                   planned: pd.Series) -> tuple[Windows, np.ndarray]:
    """Realised profit per period and window as a linear reward plus a constant per period.

    A unit-period's realised profit in one window of ``period_days`` days is its planned
    profit, plus its net margin ``(revenue − handling_cost) / q`` on every unit shipped more
    (or fewer) than ``q``, minus the holding rate on every unit of average stock on hand
    beyond what the plan charged: ``ss`` plus the cycle stock (on average ``(Q − d)/2`` at
    the end of a day, d the daily mean), which the plan does not charge and neither does
    the simulation. Returns the windows and, per
    period, the constant: the planned profit of the period (kpi_periods.csv, with fixed and
    switching costs and the goodwill lift) minus what the linear part adds at plan values.
    """
    g = f.iloc[live]
    q = g["units"].to_numpy(dtype=float)
    net = (g["revenue"] - g["handling_cost"]).to_numpy(dtype=float) / q
    rate = g["holding_rate"].fillna(0.0).to_numpy(dtype=float)
    ss = g["safety_stock"].fillna(0.0).to_numpy(dtype=float)
    cycle = np.where(p.review_days > 0, p.daily_mean * p.review_days, p.quantity)
    half_cycle = (cycle - p.daily_mean) / 2  # the mean cycle stock, counted at the end of each day
    group = pd.Index(periods).get_indexer(g["period"])
    const = planned.reindex(periods).fillna(0.0).to_numpy(dtype=float, copy=True)
    np.add.at(const, group, -net * q + rate * (ss + half_cycle))
    return Windows(shipped_coef=net, on_hand_coef=-rate, group=group, n_groups=len(periods)), const
