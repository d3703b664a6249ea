"""What a simulation reports: the table per unit-period, the run summary, the console table.

simulation.csv (one row per unit-period, SPEC §8) carries the promise, the achieved value
and its 95% interval for both metrics, and two flags: ``cycle_service_short`` /
``fill_rate_short`` when the promise lies *above* the interval (the plan promised more than
it delivers, beyond the noise of the simulation). simulation.json weighs promises and
achieved values by the units served, counts the unit-periods whose promise lies outside the
interval (on either side: an interval holds its promise 95% of the time, so about 5% are
expected even when the formula is exact) and gives the profit percentiles.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .estimate import Estimate
from .plan import KEY

if TYPE_CHECKING:  # rich loads when a table is printed, not with the API
    from rich.console import Console

METRICS = ("cycle_service", "fill_rate")
PROFIT_DEFINITION = (
    "Per simulated window of period_days days: the period's planned profit (kpi_periods.csv) "
    "plus, per unit-period, the net margin (revenue - handling cost per unit) on the units "
    "shipped in the window (backorders ship when stock arrives) minus the planned units, "
    "minus the holding rate times the average stock on hand beyond the planned safety stock "
    "and the cycle stock. Horizon: the periods' window profits summed (undiscounted)."
)


def unit_table(f: pd.DataFrame, live: np.ndarray, cycles: np.ndarray,
               achieved: dict[str, Estimate]) -> pd.DataFrame:
    """simulation.csv: every unit-period of the plan (not simulated, q = 0: achieved blank)."""
    t = f[[*KEY, "level", "units"]].copy()
    n = len(f)
    for m in METRICS:
        t[f"promised_{m}"] = f[m].to_numpy(dtype=float)
        for part, col in (("value", ""), ("lo", "_lo"), ("hi", "_hi")):
            v = np.full(n, np.nan)
            v[live] = getattr(achieved[m], part)
            t[f"achieved_{m}{col}"] = v
    c = np.zeros(n, dtype=np.int64)
    c[live] = cycles
    t["cycles"] = c
    for m in METRICS:
        t[f"{m}_short"] = t[f"promised_{m}"] > t[f"achieved_{m}_hi"] + 1e-12
    return t


def _weighted(t: pd.DataFrame, col: str) -> float | None:
    ok = t[col].notna() & (t["units"] > 0)
    w = t.loc[ok, "units"]
    return float((t.loc[ok, col] * w).sum() / w.sum()) if w.sum() > 0 else None


def metric_summary(t: pd.DataFrame) -> dict:
    """Per metric: weighted promise and achievement, and promises outside the interval."""
    sim = t[t["cycles"] > 0]
    out = {}
    for m in METRICS:
        above = sim[f"promised_{m}"] > sim[f"achieved_{m}_hi"] + 1e-12
        below = sim[f"promised_{m}"] < sim[f"achieved_{m}_lo"] - 1e-12
        out[m] = {"promised": _weighted(sim, f"promised_{m}"),
                  "achieved": _weighted(sim, f"achieved_{m}"),
                  "outside_interval": int((above | below).sum()),
                  "promise_above_interval": int(above.sum()),
                  "promise_below_interval": int(below.sum())}
    return out


def profit_summary(rewards: np.ndarray, const: np.ndarray, periods: list[str],
                   planned: pd.Series) -> dict:
    """P5/P50/P95 of realised profit per period and over the horizon (over the windows)."""
    per = rewards + const[:, None]  # (periods, windows)
    rows = []
    for i, p in enumerate(periods):
        q5, q50, q95 = np.percentile(per[i], [5, 50, 95])
        rows.append({"period": p, "planned": float(planned.get(p, np.nan)), "p5": float(q5),
                     "p50": float(q50), "p95": float(q95)})
    h5, h50, h95 = np.percentile(per.sum(axis=0), [5, 50, 95])
    return {"definition": PROFIT_DEFINITION, "windows": int(per.shape[1]), "periods": rows,
            "horizon": {"planned": float(planned.reindex(periods).fillna(0).sum()),
                        "p5": float(h5), "p50": float(h50), "p95": float(h95)}}


def segment_table(t: pd.DataFrame) -> pd.DataFrame:
    """Per segment: unit-periods simulated, weighted promises and achievements, shortfalls."""
    rows = []
    for seg, g in t[t["cycles"] > 0].groupby("segment", sort=False):
        row = {"segment": seg, "unit_periods": len(g)}
        for m in METRICS:
            row[f"promised_{m}"] = _weighted(g, f"promised_{m}")
            row[f"achieved_{m}"] = _weighted(g, f"achieved_{m}")
            row[f"{m}_short"] = int(g[f"{m}_short"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def _pct(v: float | None) -> str:
    return "-" if v is None or not np.isfinite(v) else f"{100 * v:.1f}%"


def print_segments(seg: pd.DataFrame, summary: dict, console: Console) -> None:
    """The console table by segment, then the totals and the horizon profit percentiles."""
    from rich.table import Table

    tab = Table(title=f"Simulated {summary['cycles']} cycles per unit-period (seed {summary['seed']})")
    for col in ("segment", "unit-periods", "cycle promised", "achieved", "short",
                "fill promised", "achieved", "short"):
        tab.add_column(col, justify="left" if col == "segment" else "right")
    for r in seg.itertuples(index=False):
        tab.add_row(str(r.segment), str(r.unit_periods), _pct(r.promised_cycle_service),
                    _pct(r.achieved_cycle_service), str(r.cycle_service_short),
                    _pct(r.promised_fill_rate), _pct(r.achieved_fill_rate), str(r.fill_rate_short))
    m = summary["metrics"]
    tab.add_row("all", str(summary["simulated"]), _pct(m["cycle_service"]["promised"]),
                _pct(m["cycle_service"]["achieved"]), str(m["cycle_service"]["promise_above_interval"]),
                _pct(m["fill_rate"]["promised"]), _pct(m["fill_rate"]["achieved"]),
                str(m["fill_rate"]["promise_above_interval"]), style="bold")
    console.print(tab)
    console.print("short: promise above the 95% interval of the simulated value; "
                  "weights: units served")
    h = summary["profit"]["horizon"]
    console.print(f"horizon profit: planned {h['planned']:,.0f}; simulated P5 {h['p5']:,.0f}, "
                  f"P50 {h['p50']:,.0f}, P95 {h['p95']:,.0f}", highlight=False)
