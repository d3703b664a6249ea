"""``svcplan report RUN_DIR``: one self-contained HTML file a planner can hand to management.

It reads only a run folder's outputs (summary.json, assignment.csv, kpi_*.csv,
simulation.csv/json when ``svcplan simulate`` ran and, for a batch, summary.csv), plus the
case for the response curves (``case_path`` recorded in summary.json, or given explicitly).
Charts are inline SVG (:mod:`.svg`); the only script is a few lines that record errors and
count rendered charts, so the file opens offline and a headless browser can check it
(tests/test_html_report.py).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from ..case.case import Case
from ..case.schema import ID_DTYPES
from ..case.validate import load_case
from ..economics.options import level_table, option_table
from ..solver.status import WITH_PLAN, Status
from . import svg
from .batchreport import batch_section, plan_run, scenario_runs
from .console import undiscounted_profit
from .files import CSV_ENCODING, EXPLANATION_FILE
from .result import SENSE_WORDS
from .simreport import simulation_section

#: Caps that keep a report readable on large cases (the rest is summarised in a note).
MAX_PRODUCTS, MAX_UNITS, MAX_SEGMENT_CURVES = 30, 60, 12


@dataclass
class Run:
    """What a run folder holds (missing tables are empty frames)."""

    folder: Path
    summary: dict = field(default_factory=dict)
    assignment: pd.DataFrame = field(default_factory=pd.DataFrame)
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    classes: pd.DataFrame = field(default_factory=pd.DataFrame)
    capacity: pd.DataFrame = field(default_factory=pd.DataFrame)
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)
    batch: pd.DataFrame = field(default_factory=pd.DataFrame)
    explanation: pd.DataFrame = field(default_factory=pd.DataFrame)
    frontier: pd.DataFrame = field(default_factory=pd.DataFrame)  # frontier.csv of a sweep


def _csv(path: Path) -> pd.DataFrame:
    """A run table with ids as text (``007`` stays ``007``); empty if the file is missing."""
    return pd.read_csv(path, dtype=ID_DTYPES, encoding=CSV_ENCODING) \
        if path.exists() and path.stat().st_size > 1 else pd.DataFrame()


def read_run(folder: Path) -> Run:
    """Read a solve folder; for a batch folder (summary.csv), the plan of the unchanged case
    (:func:`.batchreport.plan_run`) is shown below the scenario comparison."""
    run = Run(folder, batch=_csv(folder / "summary.csv"), frontier=_csv(folder / "frontier.csv"))
    plan_dir = folder
    if not (folder / "summary.json").exists() and not run.batch.empty:
        shown = plan_run(scenario_runs(folder))
        plan_dir = shown.folder if shown else folder
    if (plan_dir / "summary.json").exists():
        run.summary = json.loads((plan_dir / "summary.json").read_text(encoding="utf-8"))
        run.summary.setdefault("_folder", str(plan_dir))
    run.assignment = _csv(plan_dir / "assignment.csv")
    run.periods = _csv(plan_dir / "kpi_periods.csv")
    run.segments = _csv(plan_dir / "kpi_segments.csv")
    run.classes = _csv(plan_dir / "kpi_classes.csv")
    run.capacity = _csv(plan_dir / "kpi_capacity.csv")
    run.explanation = _csv(plan_dir / EXPLANATION_FILE)
    run.targets = _csv(plan_dir / "kpi_targets.csv")
    return run


# --- charts ------------------------------------------------------------------------------------

def _order_levels(a: pd.DataFrame) -> tuple[list[str], dict[str, float]]:
    lv = a.drop_duplicates("level").sort_values("rank")
    ranks = lv["rank"].rank(method="dense").to_numpy()
    frac = (ranks - 1) / max(1, ranks.max() - 1) if len(ranks) else ranks
    return list(lv["level"]), dict(zip(lv["level"], frac, strict=True))


def dominant_heatmap(a: pd.DataFrame) -> tuple[str, str]:
    """Segment × product: the level each unit holds most often over the horizon."""
    _, frac = _order_levels(a)
    top = a.groupby("product")["base_demand"].sum().sort_values(ascending=False)
    products = list(top.index[:MAX_PRODUCTS])
    note = "" if len(top) <= MAX_PRODUCTS else \
        f"Showing the {MAX_PRODUCTS} products with the most demand of {len(top)}."
    sub = a[a["product"].isin(products)]
    mode = sub.groupby(["segment", "product"])["level"].agg(lambda s: s.value_counts().index[0])
    cells = {k: (lv, frac[lv]) for k, lv in mode.items()}
    segs = list(dict.fromkeys(a["segment"]))
    chart = svg.heatmap("heatmap-dominant", "Dominant service level (segment × product)",
                        segs, products, cells, list(frac.items()))
    return chart, note


def period_heatmap(a: pd.DataFrame) -> tuple[str, str]:
    """Unit × period: the level in every period (the biggest units if there are many)."""
    _, frac = _order_levels(a)
    a = a.assign(unit=a["segment"] + " / " + a["product"])
    size = a.groupby("unit", sort=False)["base_demand"].sum().sort_values(ascending=False)
    units = list(size.index[:MAX_UNITS])
    note = "" if len(size) <= MAX_UNITS else \
        f"Showing the {MAX_UNITS} units with the most demand of {len(size)}."
    order = [u for u in dict.fromkeys(a["unit"]) if u in set(units)]
    cells = {(u, p): (lv, frac[lv]) for u, p, lv in
             a.loc[a["unit"].isin(units), ["unit", "period", "level"]].itertuples(index=False)}
    periods = list(dict.fromkeys(a["period"]))
    chart = svg.heatmap("heatmap-periods", "Service level per unit and period", order, periods,
                        cells, list(frac.items()))
    return chart, note


def budget_chart(p: pd.DataFrame) -> str:
    lines = {"budget": p["budget"].tolist()} if p["budget"].notna().any() else {}
    return svg.bar_chart("budget", "Budget use vs budget per period", p["period"].tolist(),
                         {"budget used": p["budget_used"].tolist()}, lines)


def bridge_chart(p: pd.DataFrame, a: pd.DataFrame) -> str:
    lift = float(a["lift_revenue"].sum()) if "lift_revenue" in a else 0.0
    steps = [
        ("revenue", float(p["revenue"].sum()) - lift),
        ("goodwill lift", lift),
        ("handling", -float(p["handling_cost"].sum())),
        ("holding", -float(p["holding_cost"].sum())),
        ("goodwill cost", -float(p["goodwill_cost"].sum())),
        ("fixed cost", -float(p["fixed_cost"].sum())),
        ("switching", -float(p["switching_cost"].sum())),
    ]
    return svg.waterfall("bridge", "Profit bridge over the horizon (undiscounted)", steps,
                         "profit")


def inventory_chart(p: pd.DataFrame, max_days: float | None) -> str:
    lines = {"max inventory days": [max_days] * len(p)} if max_days else None
    return svg.bar_chart("inventory", "Inventory (safety stock) days per period",
                         p["period"].tolist(), {"inventory days": p["inventory_days"].tolist()},
                         lines)


def segment_curves(case: Case, a: pd.DataFrame, seg_kpi: pd.DataFrame) -> list[str]:
    """Revenue and cost of each segment if all its units took level l (where a unit does not
    allow l, its nearest allowed level), with the plan's actual point marked."""
    opt = option_table(case)
    lv = level_table(case)
    levels = list(lv["level"])
    use_service = lv["service"].notna().all()
    xval = dict(zip(lv["level"], lv["service"] if use_service else lv["rank"], strict=True))
    charts = []
    for seg in list(dict.fromkeys(a["segment"]))[:MAX_SEGMENT_CURVES]:
        o = opt[opt["segment"] == seg]
        series = []
        for col in ("revenue", "cost"):
            grid = o.pivot_table(index=["u", "t"], columns="level", values=col, aggfunc="sum")
            grid = grid.reindex(columns=levels).ffill(axis=1).bfill(axis=1)
            series.append((col, [float(xval[x]) for x in levels], grid.sum().tolist()))
        mine = a[a["segment"] == seg]
        w = mine["base_demand"].sum()
        col = "service" if use_service else "rank"
        x = float((mine[col] * mine["base_demand"]).sum() / w) if w > 0 else float(mine[col].mean())
        points = [("revenue", x, float(mine["revenue"].sum())),
                  ("cost", x, float(mine["cost"].sum()))]
        xf = (lambda v: f"{100 * v:.0f}%") if use_service else svg.fmt
        charts.append(svg.line_chart(f"curve-{seg}", f"{seg}: revenue and cost vs service",
                                     series, points, "service level" if use_service else "rank",
                                     x_format=xf))
    return charts


def exchange_chart(f: pd.DataFrame) -> str:
    """The exchange curve of ``frontier --target``: the objective against the required
    service of one target (points without a plan left out: the curve ends there)."""
    ok = f[f["status"].isin(WITH_PLAN)].sort_values("min_service")
    sense = str(f["objective_sense"].iloc[0]) if len(f) else "objective"
    name = str(f["target"].iloc[0]) if len(f) else ""
    return svg.line_chart(
        "exchange", f"Exchange curve: {sense} vs required service of target {name}",
        [(sense, (100 * ok["min_service"]).astype(float).tolist(),
          pd.to_numeric(ok["objective"]).astype(float).tolist())],
        x_label="required service (%)", width=640, height=300)


# --- page --------------------------------------------------------------------------------------

SCRIPT = """
<script>
window.__errors = [];
window.addEventListener('error', function (e) { window.__errors.push(String(e.message)); });
document.addEventListener('DOMContentLoaded', function () {
  var charts = document.querySelectorAll('svg.chart'), ok = 0;
  charts.forEach(function (c) {
    var r = c.getBoundingClientRect();
    if (r.width > 0 && r.height > 0 && c.querySelector('.mark')) { ok += 1; }
  });
  var root = document.documentElement;
  root.setAttribute('data-charts', String(charts.length));
  root.setAttribute('data-charts-rendered', String(ok));
  root.setAttribute('data-errors', JSON.stringify(window.__errors));
});
</script>"""

CSS = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{margin-bottom:0} .sub{color:#666;margin-top:4px}
.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}
.card b{display:block;font-size:20px} .card span{color:#666;font-size:12px}
.grid{display:flex;flex-wrap:wrap;gap:16px} svg.chart{background:#fff;border:1px solid #eee}
table{border-collapse:collapse;font-size:12px;margin:8px 0}
td,th{border-bottom:1px solid #eee;padding:3px 8px;text-align:right;white-space:nowrap}
th{background:#f5f5f5} td:first-child,th:first-child{text-align:left}
.note{color:#666;font-size:12px} .scroll{overflow-x:auto} li.sub{margin-left:2em;color:#444}
"""


def _table(df: pd.DataFrame, cols: list[str] | None = None) -> str:
    if df.empty:
        return ""
    df = df[[c for c in (cols or df.columns) if c in df]]
    head = "".join(f"<th>{escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = [svg.fmt(v) if isinstance(v, (float, np.floating)) else escape(str(v)) for v in row]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f'<div class="scroll"><table><tr>{head}</tr>{"".join(body)}</table></div>'


def _cards(s: dict) -> str:
    k = s.get("kpis", {})
    discounted = undiscounted_profit(s) is not None
    sense = s.get("objective_sense", "profit")
    label = f"objective: {SENSE_WORDS.get(sense, sense)}" + (", discounted" if discounted else "")
    items = [("status", s.get("status", "-")), (label, svg.fmt(s.get("objective"))),
             ("MIP gap", "-" if s.get("mip_gap") is None else f"{100 * s['mip_gap']:.3f}%"),
             ("revenue", svg.fmt(k.get("revenue"))),
             ("profit (undiscounted)" if discounted else "profit", svg.fmt(k.get("profit"))),
             ("budget used", svg.fmt(k.get("budget_used"))),
             ("mean service", "-" if k.get("mean_service") is None
              else f"{100 * k['mean_service']:.1f}%")]
    return '<div class="cards">' + "".join(
        f'<div class="card"><span>{escape(n)}</span><b>{escape(str(v))}</b></div>'
        for n, v in items) + "</div>"


def render(run: Run, case: Case | None = None) -> str:
    """The report page for a run (``case``: a :class:`~svcplan.case.case.Case` for the curves):
    the scenarios of a batch, the headline figures, then the plan or why there is none."""
    s, a = run.summary, run.assignment
    title = s.get("case") or run.folder.name
    parts = [f"<h1>{escape(str(title))}</h1>",
             f'<p class="sub">svcplan report of <code>{escape(str(run.folder))}</code>, made '
             f'{dt.datetime.now():%Y-%m-%d %H:%M}</p>']
    if not run.batch.empty:
        parts += _scenarios_section(run)
    if s:
        parts += _headline(s)
    if s and a.empty:
        parts += _no_plan_section(s, run.explanation)
    if not a.empty:
        parts += _plan_sections(run, case)
    body = "\n".join(parts)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>'
            f"{escape(str(title))} — svcplan report</title><style>{CSS}</style>{SCRIPT}</head>"
            f"<body>{body}</body></html>")


def _scenarios_section(run: Run) -> list[str]:
    """A batch's scenarios: their table and comparison, the frontier of each budget sweep
    (and the exchange curve of ``frontier --target``), then the heading of the plan shown."""
    section, _ = batch_section(run.folder, exchange="min_service" in run.frontier)
    if "min_service" in run.frontier:  # frontier --target: the exchange curve
        section.insert(2, exchange_chart(run.frontier))
    parts = ["<h2>Scenarios</h2>", _table(run.batch), *section]
    if run.summary:
        parts.append(f"<h2>Plan of scenario {escape(Path(run.summary['_folder']).name)}</h2>")
    return parts


def _headline(s: dict) -> list[str]:
    """The summary's figures as cards, and what the objective counts when it is discounted."""
    parts = [_cards(s)]
    if undiscounted_profit(s) is not None:
        parts.append('<p class="note">The objective is the <b>discounted</b> profit: each '
                     "period counts with its discount factor (periods.csv). Profit here and "
                     "in every table and chart below is undiscounted.</p>")
    return parts


def _plan_sections(run: Run, case: Case | None) -> list[str]:
    """Where each level goes, budget and inventory, marginal values, service targets, the
    simulation, the response curves (with ``case``) and the KPI tables."""
    s, a, p = run.summary, run.assignment, run.periods
    h1, n1 = dominant_heatmap(a)
    h2, n2 = period_heatmap(a)
    parts = ["<h2>Where each service level goes</h2>", '<div class="scroll">', h1, "</div>",
             f'<p class="note">{escape(n1)}</p>', '<div class="scroll">', h2, "</div>",
             f'<p class="note">{escape(n2)}</p>']
    max_days = getattr(getattr(case, "settings", None), "max_inventory_days", None)
    parts += ["<h2>Budget, profit and inventory</h2>", '<div class="grid">',
              budget_chart(p), bridge_chart(p, a), inventory_chart(p, max_days), "</div>"]
    parts += _marginals_section(p, run.capacity, s)
    if not run.targets.empty:
        parts += ["<h2>Service targets</h2>",
                  '<p class="note">Required and achieved mean promise of each target; the '
                  "price of one more point is the target's shadow price (by the method named "
                  "under 'What one more unit is worth'), times 1% of its "
                  "unit-periods.</p>",
                  _table(run.targets, ["name", "period", "metric", "weight", "required",
                                       "achieved", "slack", "marginal_per_point"])]
    parts += simulation_section(Path(s.get("_folder", run.folder)), _table)
    if case is not None:
        parts += ["<h2>Response curves by segment</h2>",
                  '<p class="note">Revenue and logistics cost of the segment if all its units '
                  "took each level (a unit that does not allow a level counts at its nearest "
                  "allowed one); the diamonds mark the plan.</p>",
                  '<div class="grid">', *segment_curves(case, a, run.segments), "</div>"]
    else:
        parts.append('<p class="note">Response curves need the case: pass --case or '
                     "solve with svcplan solve (it records case_path).</p>")
    return parts + ["<h2>KPIs</h2><h3>Per period</h3>", _table(p), "<h3>Per segment</h3>",
                    _table(run.segments), "<h3>Per product class</h3>", _table(run.classes)]


def _no_plan_section(s: dict, explanation: pd.DataFrame) -> list[str]:
    """Why a run has no plan: the status and, for an infeasible case, the explanation that
    summary.json and infeasibility.csv carry (the smallest relaxation that gives a plan)."""
    why = s.get("solver_message") or s.get("error") or ""
    out = [f"<h2>No plan</h2><p>The solve ended with status <b>{escape(str(s.get('status')))}"
           f"</b>{f' ({escape(str(why))})' if why else ''}.</p>"]
    lines = s.get("explanation") or []
    if lines:
        out.append("<h3>Why: the smallest relaxation that gives a plan</h3><ul>")
        for line in map(str, lines):
            cls = ' class="sub"' if line.startswith(" ") else ""
            out.append(f"<li{cls}>{escape(line.strip())}</li>")
        out.append("</ul>")
    if not explanation.empty:
        out += [f'<p class="note">The same as a table ({EXPLANATION_FILE}):</p>',
                _table(explanation.drop(columns=["message"], errors="ignore"))]
    return out


def _marginals_section(p: pd.DataFrame, cap: pd.DataFrame, s: dict) -> list[str]:
    if "budget_dual" not in p:
        return []
    out = ["<h2>What one more unit is worth</h2>"]
    status = s.get("marginals", {}).get("status")
    if status is not None and status != Status.OPTIMAL:
        out.append(f"<p>Unknown for this plan: their local LP was {escape(str(status))}.</p>")
    best = p.dropna(subset=["budget_dual"]).sort_values("budget_dual", ascending=False)
    if len(best):
        r = best.iloc[0]
        out.append(f"<p>One more unit of budget in <b>{escape(str(r['period']))}</b> is worth "
                   f"<b>{r['budget_dual']:.3g}</b> of profit (the most of any period).</p>")
    out.append(_table(p, ["period", "budget", "budget_used", "budget_dual"]))
    if not cap.empty:
        out.append("<h3>Capacity</h3>")
        top = cap.sort_values("dual", ascending=False).iloc[0]
        if top["dual"] > 0:
            out.append(f"<p>One more unit of <b>{escape(str(top['resource']))}</b> in "
                       f"<b>{escape(str(top['period']))}</b> is worth <b>{top['dual']:.3g}</b> "
                       "of profit (the most of any capacity).</p>")
        out.append(_table(cap))
    m = s.get("marginals", {})
    out.append('<p class="note">Shadow prices '
               f"({escape(str(m.get('method', '')))}). They hold for small changes; a large "
               "change can move the plan. A row with slack in the plan can still have a price "
               "when its slack is smaller than the next whole upgrade.</p>")
    return out


def write_report(run_dir: str | Path, out: str | Path | None = None,
                 case_path: str | Path | None = None) -> Path:
    """Write ``report.html`` into the run folder (or ``out``) and return its path.

    The case (for the response curves) is read with the case stage itself, not through the
    API: outputs come before the API in the pipeline. An invalid case raises CaseError.
    """
    run = read_run(Path(run_dir))
    if not run.summary and run.batch.empty:
        raise FileNotFoundError(f"{run_dir} holds neither summary.json nor summary.csv")
    path = case_path or run.summary.get("case_path")
    case = load_case(path) if path and Path(path).exists() else None
    target = Path(out) if out else Path(run_dir) / "report.html"
    target.write_text(render(run, case), encoding="utf-8")
    return target
