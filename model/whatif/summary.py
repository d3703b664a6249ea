"""The batch summary: one row per scenario, read back from the scenario folders.

Built from the files on disk (not from memory) so that a resumed batch, whose finished
scenarios were solved by an earlier process, summarises exactly like an uninterrupted one.
Each row carries the headline KPIs and the comparison with the ``base`` scenario: profit
delta, how many unit-periods changed level, which segments gained or lost service.
Pure pandas.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..outputs.files import read_table
from .scenarios import BASE

COLUMNS = ["scenario", "description", "status", "objective", "mip_gap", "revenue", "logistics_cost", "profit",
           "budget_used", "budget_use_pct", "service", "inventory_days", "seconds",
           "profit_delta", "profit_delta_pct", "changed_unit_periods", "segments_gained",
           "segments_lost", "warm_start", "reason", "has_plan"]
#: Columns that vary between two runs of the same inputs (timings, how the solve started).
VOLATILE = ["seconds", "warm_start"]
#: The status of a scenario that never finished (no summary.json): a batch-only state, not a
#: solver :class:`~svcplan.solver.status.Status` (no solve ended this way; none started or
#: the process was killed), so it lives here and is never written into a summary.json.
MISSING = "missing"


def scenario_row(name: str, folder: Path) -> dict:
    """Headline KPIs of one scenario folder (status :data:`MISSING` if it never finished)."""
    try:
        s = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"scenario": name, "status": MISSING, "has_plan": False, "reason": "not run"}
    k = s.get("kpis", {})
    changes = s.get("changes") if isinstance(s.get("changes"), dict) else {}
    row = {"scenario": name, "description": changes.get("description") or "",
           "status": s["status"], "objective": s.get("objective"),
           "mip_gap": s.get("mip_gap"), "revenue": k.get("revenue"),
           "logistics_cost": k.get("logistics_cost"), "profit": k.get("profit"),
           "budget_used": k.get("budget_used"), "service": k.get("mean_service"),
           "inventory_days": k.get("inventory_days"), "seconds": s.get("total_seconds"),
           "warm_start": s.get("warm_start", ""), "reason": s.get("reason", ""),
           "has_plan": bool(k)}
    periods = read_table(folder, "kpi_periods.csv", ["budget", "budget_used"])
    if periods is not None and periods["budget"].notna().any():
        b = periods["budget"].notna()
        row["budget_use_pct"] = float(
            100 * periods.loc[b, "budget_used"].sum() / periods.loc[b, "budget"].sum()
        ) if periods.loc[b, "budget"].sum() > 0 else None
    return row


def compare(folder: Path, base: Path) -> dict:
    """Unit-periods whose level differs from the base plan; segments that gained/lost service."""
    key = ["segment", "product", "period"]
    a, b = (read_table(f, "assignment.csv", [*key, "level"]) for f in (folder, base))
    out: dict = {}
    if a is None or b is None:
        return out
    m = a.merge(b, on=key, how="outer", suffixes=("", "_base"))  # each holds key and level only
    out["changed_unit_periods"] = int((m["level"] != m["level_base"]).sum())
    sa, sb = (read_table(f, "kpi_segments.csv", ["segment", "mean_service"])
              for f in (folder, base))
    if sa is not None and sb is not None:
        s = sa.set_index("segment")["mean_service"].sub(sb.set_index("segment")["mean_service"])
        out["segments_gained"] = ",".join(s.index[s > 1e-9])
        out["segments_lost"] = ",".join(s.index[s < -1e-9])
    return out


def collect(out: Path, scenarios: list[tuple[str, str]]) -> pd.DataFrame:
    """The summary table for ``(scenario name, folder name)`` pairs, in the given order."""
    rows = [scenario_row(name, out / folder) for name, folder in scenarios]
    base = dict(scenarios).get(BASE)
    base_row = next((r for r in rows if r["scenario"] == BASE), None)
    for r, (_, folder) in zip(rows, scenarios, strict=True):
        if base is None or not r["has_plan"] or not (base_row and base_row["has_plan"]):
            continue
        r["profit_delta"] = r["profit"] - base_row["profit"]
        bp = base_row["profit"]
        r["profit_delta_pct"] = 100 * r["profit_delta"] / abs(bp) if bp else np.nan
        r.update(compare(out / folder, out / base))
    df = pd.DataFrame(rows).reindex(columns=COLUMNS)
    df["has_plan"] = df["has_plan"].fillna(False).astype(bool)
    df["reason"] = df["reason"].fillna("").astype(str).str.split("\n").str[0]
    df["description"] = df["description"].fillna("").astype(str)
    return df


def short_labels(names: list[str], width: int = 24) -> list[str]:
    """Labels of at most ``width`` characters, unique, for tables and charts.

    A long name keeps its start and as much of its end as fits around a middle ``…``: sweep
    names differ in their values, which are at the end (``margin-a…=0.9,budget=0.8``). When
    two labels would still be equal, the start is shortened in favour of the end; a name no
    label can tell apart keeps its full text.
    """
    labels = list(names)
    long = [i for i, n in enumerate(names) if len(n) > width]
    for head in range(width // 3, -1, -1):
        for i in long:
            tail = width - 1 - head
            labels[i] = f"{names[i][:head]}…{names[i][-tail:]}"
        if len(set(labels)) == len(labels):
            return labels
    clash = {x for x in labels if labels.count(x) > 1}
    return [n if x in clash else x for n, x in zip(names, labels, strict=True)]
