"""The budget frontier: the best plan at a range of budgets, and what money buys.

A frontier is a sweep that scales every period budget (and ``total_budget`` when the case
has one) and runs as a batch (parallel, resumable, each point warm-started from its
neighbour; each chain of points runs in one worker, which keeps the model, the prices of
the dense rows and the LP basis from point to point, :mod:`svcplan.solver.sweep`). From
the scenario folders it derives:

- ``frontier.csv``: per point the budget, objective, profit, service and the marginal
  objective per extra unit of budget since the previous (smaller) point;
- ``differentiation.csv``: per segment × product class, the demand-weighted mean service
  rank at every point and the largest budget scale at which the group is below the rank it
  gets with the most money, and how far it drops there — sorted (largest scale, then largest
  drop first) it shows who loses premium service first as the budget shrinks.

Pure pandas on top of :mod:`.batch`.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..case.case import Case, Problem
from ..outputs.files import read_table, write_csv
from .batch import BatchOptions, BatchResult, run_batch
from .folders import folder_names
from .scenarios import Scenario, ScenarioError

#: A group "loses" service at a point when its mean rank is this much below the richest point.
RANK_DROP = 0.01


def parse_range(text: str) -> list[float]:
    """``0.5:1.5:11`` (start:stop:count, both ends included) or ``0.6,0.8,1``."""
    try:
        if ":" in text:
            a, b, n = text.split(":")
            if int(n) < 2:
                raise ValueError
            return [round(float(v), 10) for v in np.linspace(float(a), float(b), int(n))]
        return [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"budget range {text!r}: use start:stop:count or a,b,c") from None


def budget_scenarios(case: Case, scales: list[float]) -> tuple[list[Scenario], dict[str, str]]:
    """One scenario per scale, all in one chain (consecutive points warm-start each other)."""
    has_period = case.tables["periods"]["budget"].notna().any()
    has_total = case.settings.total_budget is not None
    if not (has_period or has_total):
        raise ScenarioError([])  # replaced by a clearer message below
    scenarios = []
    for s in sorted(scales):
        scale = {"periods.budget": s} if has_period else {}
        if has_total:
            scale["case.total_budget"] = s
        scenarios.append(Scenario(name=f"budget={s:g}", scale=scale))
    return scenarios, {sc.name: "sweep:budget" for sc in scenarios}


def run_frontier(
    case: Case, scales: list[float], out: str | Path, options: BatchOptions | None = None,
    on_progress=None,
) -> tuple[BatchResult, pd.DataFrame, pd.DataFrame]:
    """Run the budget sweep and write frontier.csv and differentiation.csv next to it."""
    try:
        scenarios, chains = budget_scenarios(case, scales)
    except ScenarioError:
        raise ScenarioError([Problem("periods.csv", "the case has no budget to scale")]) from None
    opts = replace(options or BatchOptions(), reuse=True)  # one model, prices, bases per chain
    res = run_batch(case, scenarios, chains, out, opts, on_progress, add_base=False)
    if res.interrupted:  # Ctrl-C: no frontier from some of its points
        return res, pd.DataFrame(), pd.DataFrame()
    folders = folder_names([s.name for s in scenarios])
    out = Path(out)
    front = frontier_table(out, res.summary, scenarios, folders, sorted(scales))
    diff = differentiation(out, scenarios, folders, sorted(scales))
    write_csv(front, out / "frontier.csv")
    write_csv(diff, out / "differentiation.csv")
    return res, front, diff


def frontier_table(out: Path, summary: pd.DataFrame, scenarios, folders, scales) -> pd.DataFrame:
    """Budget, objective and marginal objective per extra unit of budget, per point."""
    rows = []
    for s, scale in zip(scenarios, scales, strict=True):
        row = summary.set_index("scenario").loc[s.name]
        per = read_table(out / folders[s.name], "kpi_periods.csv", ["budget"])
        budget = float(per["budget"].sum()) if per is not None else np.nan
        rows.append({"scale": scale, "scenario": s.name, "status": row["status"],
                     "budget": budget, "objective": row["objective"], "profit": row["profit"],
                     "service": row["service"], "budget_use_pct": row["budget_use_pct"]})
    f = pd.DataFrame(rows)
    f["objective"] = pd.to_numeric(f["objective"])
    f["marginal_per_budget"] = f["objective"].diff() / f["budget"].diff()
    return f


def differentiation(out: Path, scenarios, folders, scales) -> pd.DataFrame:
    """Mean service rank per segment × product class and budget scale; who loses it first."""
    cols = {}
    for s, scale in zip(scenarios, scales, strict=True):
        a = read_table(out / folders[s.name], "assignment.csv",
                       ["segment", "product_class", "rank", "base_demand"])
        if a is None:
            continue
        w = a["base_demand"].where(a["base_demand"] > 0, 1e-12)
        g = (a["rank"] * w).groupby([a["segment"], a["product_class"]]).sum()
        cols[f"rank@{scale:g}"] = g / w.groupby([a["segment"], a["product_class"]]).sum()
    if not cols:
        return pd.DataFrame(columns=["segment", "product_class", "first_loss_scale"])
    d = pd.DataFrame(cols)
    richest = d.iloc[:, -1]
    below = d.lt(richest - RANK_DROP, axis=0)
    scale_of = {c: float(c.split("@")[1]) for c in d.columns}
    d["first_loss_scale"] = [
        max((scale_of[c] for c in d.columns[:-1] if below.at[i, c]), default=np.nan)
        for i in d.index
    ]
    d["best_rank"] = richest
    d["rank_at_first_loss"] = [
        d.at[i, f"rank@{f:g}"] if pd.notna(f) else np.nan for i, f in d["first_loss_scale"].items()
    ]
    d["drop"] = d["best_rank"] - d["rank_at_first_loss"]
    d = d.reset_index().sort_values(["first_loss_scale", "drop"], ascending=[False, False],
                                    na_position="last")
    return d.reset_index(drop=True)
