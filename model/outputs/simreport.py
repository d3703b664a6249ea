"""The report's simulation section: promised vs achieved, and the units that fall short.

Read from the run folder's simulation.csv and simulation.json (written by ``svcplan
simulate``) — the report does not import the simulation stage, which sits above outputs:
a run simulated earlier simply has two more files. No simulation, no section.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..case.schema import ID_DTYPES
from . import svg
from .files import SIMULATION_CSV, SIMULATION_JSON

#: Rows of the "falls short" table (the largest shortfalls by units served first).
MAX_SHORT_ROWS = 25
METRICS = {"cycle_service": "cycle service", "fill_rate": "fill rate"}
KEPT, SHORT = "#2ca02c", "#d62728"  # points: within or above the promise / significantly below


def read_simulation(folder: Path) -> tuple[pd.DataFrame, dict]:
    """simulation.csv and simulation.json of a run folder (empty when not simulated)."""
    csv, js = folder / SIMULATION_CSV, folder / SIMULATION_JSON
    if not (csv.exists() and js.exists()):
        return pd.DataFrame(), {}
    return pd.read_csv(csv, dtype=ID_DTYPES), json.loads(js.read_text(encoding="utf-8"))


def promise_chart(t: pd.DataFrame, metric: str) -> str:
    """Promised vs achieved per (product, level), weighted by units; on the diagonal a promise
    is kept exactly. Red: most of the pair's unit-periods have their promise above the
    interval (one in 40 is, by chance, even when the formula is exact)."""
    t = t[t["cycles"] > 0].assign(w=lambda d: d["units"],
                                  wa=lambda d: d["units"] * d[f"achieved_{metric}"])
    g = t.groupby(["product", "level"], sort=False).agg(
        promised=(f"promised_{metric}", "first"), wa=("wa", "sum"), w=("w", "sum"),
        short=(f"{metric}_short", "mean"))
    g = g[g["w"] > 0]
    achieved = g["wa"] / g["w"]
    lo = float(min(g["promised"].min(), achieved.min())) if len(g) else 0.0
    lo = max(0.0, np.floor(lo * 20) / 20)
    points = [(f"{p} {lv}", float(pr), float(ac), SHORT if sh > 0.5 else KEPT)
              for (p, lv), pr, ac, sh in zip(g.index, g["promised"], achieved, g["short"], strict=True)]
    return svg.line_chart(f"simulation-{metric}", f"{METRICS[metric].capitalize()}: promised vs achieved",
                          [("achieved = promised", [lo, 1.0], [lo, 1.0])], points,
                          x_label=f"promised {METRICS[metric]}", y_label="achieved (simulated)",
                          width=460, height=320, x_format=lambda v: f"{100 * v:.0f}%", dots=False,
                          y_min=lo, legend=[("achieved = promised", svg.PALETTE[0]), ("kept", KEPT),
                                            ("falls short", SHORT)])


def simulation_section(folder: Path, table) -> list[str]:
    """The HTML parts of the section (``table``: the report's table renderer)."""
    t, s = read_simulation(folder)
    if t.empty or not s:
        return []
    m = s["metrics"]
    parts = ["<h2>Does the plan keep its promise? (simulation)</h2>",
             f'<p class="note">{s["simulated"]} unit-periods simulated day by day, '
             f'{s["cycles"]} replenishment cycles each (seed {s["seed"]}). Each point is a '
             "product at a level (achieved weighted by units served); red: for most of its "
             "unit-periods the promise lies above the 95% interval of what the simulation "
             "achieved.</p>",
             "<table><tr><th>metric</th><th>promised</th><th>achieved</th>"
             "<th>promise above interval</th><th>below</th></tr>"]
    for key, name in METRICS.items():
        v = m[key]
        parts.append(f"<tr><td>{name}</td><td>{_pct(v['promised'])}</td><td>{_pct(v['achieved'])}"
                     f"</td><td>{v['promise_above_interval']}</td><td>{v['promise_below_interval']}"
                     "</td></tr>")
    parts += ["</table>", '<div class="grid">', *(promise_chart(t, k) for k in METRICS), "</div>"]
    if s.get("profit"):
        h = s["profit"]["horizon"]
        parts.append(f"<p>Horizon profit: planned <b>{svg.fmt(h['planned'])}</b>, simulated "
                     f"P5 <b>{svg.fmt(h['p5'])}</b>, P50 <b>{svg.fmt(h['p50'])}</b>, "
                     f"P95 <b>{svg.fmt(h['p95'])}</b>.</p>")
    short = t[t["cycle_service_short"] | t["fill_rate_short"]]
    parts.append(f"<h3>Unit-periods that fall short ({len(short)} of {s['simulated']})</h3>")
    if len(short):
        short = short.sort_values("units", ascending=False).head(MAX_SHORT_ROWS)
        parts.append(table(short, ["segment", "product", "period", "level", "units",
                                   "promised_cycle_service", "achieved_cycle_service",
                                   "promised_fill_rate", "achieved_fill_rate"]))
    return parts


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"
