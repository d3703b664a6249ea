"""The exchange curve: the best plan at a range of one service target's ``min_service``.

``svcplan frontier CASE --target KEY:0.90:0.99:10`` asks, for each required level of the
target ``KEY`` (targets.csv ``name``), what the best plan costs (or earns, or how much mean
service it keeps, depending on case.yaml ``objective``) — the cost-versus-service curve
planners know from the commercial service-level tools. Each point is a scenario (``set:
{targets.min_service: v}, where: {name: KEY}``), run as one warm-started chain by
:mod:`.batch`, ascending in service.

``frontier.csv`` has per point: min_service, status, objective and its sense, the achieved
mean service of the target, profit, logistics cost, and the marginal objective per extra
point of service since the previous point (the slope of the curve). Points past what the
budgets allow are ``infeasible``: the curve ends there. Pure pandas on top of :mod:`.batch`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..case.case import Case, Problem
from ..outputs.files import read_table, write_csv
from .batch import BatchOptions, BatchResult, run_batch
from .folders import folder_names
from .frontier import parse_range
from .scenarios import Scenario, ScenarioError

EXCHANGE_FILE = "frontier.csv"


def parse_target(text: str) -> tuple[str, list[float]]:
    """``NAME:start:stop:count`` or ``NAME:a,b,c`` → (name, sorted values)."""
    name, sep, rest = text.partition(":")
    if not sep or not name:
        raise ValueError(f"target {text!r}: use NAME:start:stop:count or NAME:a,b,c")
    values = parse_range(rest)
    if not values or any(not 0 < v <= 1 for v in values):
        raise ValueError(f"target {text!r}: min_service values must be in (0, 1]")
    return name, sorted(values)


def target_scenarios(case: Case, name: str, values: list[float]) -> list[Scenario]:
    """One scenario per value of the target ``name``'s min_service (ScenarioError if the
    case has no such target)."""
    t = case.tables.get("targets")
    names = [] if t is None else [n for n in t["name"].dropna()]
    if name not in names:
        known = ", ".join(names) if names else "none (the case has no targets.csv with names)"
        raise ScenarioError([Problem("targets.csv", f"no target named {name!r}; targets: {known}",
                                     column="name")])
    return [Scenario(name=f"{name}={v:g}", set={"targets.min_service": v}, where={"name": name})
            for v in values]


def run_exchange(
    case: Case, name: str, values: list[float], out: str | Path,
    options: BatchOptions | None = None, on_progress=None,
) -> tuple[BatchResult, pd.DataFrame]:
    """Run the sweep of target ``name`` and write frontier.csv next to the scenario folders."""
    scenarios = target_scenarios(case, name, values)
    chains = {s.name: f"sweep:target:{name}" for s in scenarios}
    res = run_batch(case, scenarios, chains, out, options or BatchOptions(), on_progress,
                    add_base=False)
    out = Path(out)
    folders = folder_names([s.name for s in scenarios])
    curve = exchange_table(out, res.summary, scenarios, folders, values, name,
                           case.settings.objective)
    write_csv(curve, out / EXCHANGE_FILE)
    return res, curve


def exchange_table(out: Path, summary: pd.DataFrame, scenarios, folders, values, name: str,
                   sense: str) -> pd.DataFrame:
    """Per point: required and achieved service, objective, and the slope per point."""
    rows = []
    by_name = summary.set_index("scenario")
    for s, v in zip(scenarios, values, strict=True):
        row = by_name.loc[s.name]
        kpi = read_table(out / folders[s.name], "kpi_targets.csv")
        got = np.nan
        if kpi is not None:
            mine = kpi[kpi["name"].astype(str) == name]
            w = mine["total_weight"]
            got = float((mine["achieved"] * w).sum() / w.sum()) if w.sum() > 0 else np.nan
        rows.append({"target": name, "min_service": v, "scenario": s.name,
                     "status": row["status"], "objective_sense": sense,
                     "objective": row["objective"], "achieved": got, "profit": row["profit"],
                     "logistics_cost": row["logistics_cost"], "service": row["service"]})
    f = pd.DataFrame(rows)
    f["objective"] = pd.to_numeric(f["objective"])
    f["marginal_per_point"] = f["objective"].diff() / (100 * f["min_service"].diff())
    return f
