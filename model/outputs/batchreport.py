"""The batch part of the HTML report: the scenario comparison and the budget frontier.

A batch folder holds ``summary.csv`` and one solve folder per scenario, whose summary.json
records the scenario's name and its changes (``changes``: scale, set, where). The report
reads those records, not scenario names, to decide what it may draw:

- **the comparison** shows every scenario (one horizontal bar each, so long names never
  collide; a scenario without a plan says why instead of a bar);
- **the frontier** (best objective against the budget) is drawn only along a *budget sweep*:
  scenarios of one sweep (named ``<sweep>=<value>``) that change nothing but the budgets
  (``periods.budget`` and/or ``case.total_budget``, no ``set``, no ``where``). A line through
  unrelated scenarios (a fuel price rise, a demand change) ordered by their budget would
  suggest a trade-off that does not exist, so none is drawn;
- **the plan shown** below is that of the unchanged case: the ``base`` scenario, else the
  budget-sweep point at scale 1, else the first scenario with a plan.

Reads files only; knows nothing of the whatif stage (which ranks above outputs).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..case.schema import ID_DTYPES
from ..solver.status import WITH_PLAN
from . import svg
from .files import CSV_ENCODING

#: The scale keys of a budget sweep: every other change makes a point not comparable.
BUDGET_KEYS = {"periods.budget", "case.total_budget"}
BASE = "base"


@dataclass
class ScenarioRun:
    """One scenario folder of a batch, as its summary.json records it."""

    name: str
    folder: Path
    summary: dict = field(default_factory=dict)

    @property
    def changes(self) -> dict:
        return self.summary.get("changes") or {}

    @property
    def has_plan(self) -> bool:
        return self.summary.get("status") in WITH_PLAN and bool(self.summary.get("kpis"))

    def budget_scale(self) -> float | None:
        """The budget factor when the scenario changes only budgets (one factor), else None."""
        ch = self.changes
        scale = ch.get("scale") or {}
        if not scale or ch.get("set") or ch.get("where") or not set(scale) <= BUDGET_KEYS:
            return None
        factors = set(scale.values())
        return float(factors.pop()) if len(factors) == 1 else None

    def total_budget(self) -> float | None:
        """Σ period budgets of the scenario's plan (kpi_periods.csv), None when unknown."""
        f = self.folder / "kpi_periods.csv"
        if not f.exists():
            return None
        p = pd.read_csv(f, dtype=ID_DTYPES, encoding=CSV_ENCODING)
        return float(p["budget"].sum()) if p["budget"].notna().any() else None


def scenario_runs(folder: Path) -> list[ScenarioRun]:
    """Every scenario folder under a batch folder (a sub-folder whose summary.json names its
    scenario), in the order of summary.csv where it lists them."""
    runs = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        try:
            s = json.loads((sub / "summary.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        runs[str(s.get("scenario", sub.name))] = ScenarioRun(str(s.get("scenario", sub.name)), sub, s)
    order = []
    f = folder / "summary.csv"
    if f.exists():
        order = pd.read_csv(f, dtype={"scenario": str}, encoding=CSV_ENCODING)["scenario"].tolist()
    ranked = [runs.pop(n) for n in order if n in runs]
    return ranked + list(runs.values())


def budget_sweeps(runs: list[ScenarioRun]) -> dict[str, list[ScenarioRun]]:
    """Sweep name → its points (by budget scale) for every sweep of budgets alone (≥ 2 points)."""
    groups: dict[str, list[ScenarioRun]] = {}
    for r in runs:
        sweep, eq, _ = r.name.partition("=")
        if eq and ":" not in sweep and r.budget_scale() is not None:
            groups.setdefault(sweep, []).append(r)
    return {k: sorted(v, key=lambda r: r.budget_scale()) for k, v in groups.items()
            if len({r.budget_scale() for r in v}) >= 2}


def plan_run(runs: list[ScenarioRun]) -> ScenarioRun | None:
    """The scenario whose plan the report shows: the unchanged case if there is one."""
    with_plan = [r for r in runs if r.has_plan]
    for r in with_plan:
        if r.name == BASE:
            return r
    for r in with_plan:
        if r.budget_scale() == 1.0:
            return r
    return with_plan[0] if with_plan else None


def comparison_chart(runs: list[ScenarioRun]) -> str:
    """Objective per scenario, one bar each; no plan: the status in place of the bar."""
    values = [r.summary.get("objective") if r.has_plan else None for r in runs]
    notes = [str(r.summary.get("status", "not run")) for r in runs]
    return svg.hbar_chart("scenarios", "Objective per scenario", [r.name for r in runs], values,
                          "objective", notes)


def frontier_chart(sweep: str, points: list[ScenarioRun]) -> tuple[str, str]:
    """Best objective against the budget along one budget sweep; the note lists points
    without a plan (left off the line)."""
    ok = [r for r in points if r.has_plan]
    budgets = [r.total_budget() for r in ok]
    money = all(b is not None for b in budgets)
    xs = budgets if money else [r.budget_scale() for r in ok]
    ys = [float(r.summary["objective"]) for r in ok]
    marks = [("today's budget", x, y, "#000") for r, x, y in zip(ok, xs, ys, strict=True)
             if r.budget_scale() == 1.0]
    chart = svg.line_chart(
        f"frontier-{sweep}", f"Best objective vs budget (sweep '{sweep}')",
        [("objective", xs, ys)], marks,
        x_label="budget over the horizon" if money else "budget scale (× today's budgets)",
        width=640, height=300)
    lost = [f"{r.name}: {r.summary.get('status', 'not run')}" for r in points if not r.has_plan]
    note = ("Left off the line (no plan): " + "; ".join(lost) + ".") if lost else ""
    return chart, note


def batch_section(folder: Path, exchange: bool = False) -> tuple[list[str], ScenarioRun | None]:
    """The report's batch section (HTML parts: the chart grid first, then the notes) and the
    scenario whose plan follows it. ``exchange``: the batch is a service sweep (``frontier
    --target``), whose exchange curve the caller adds; no "no frontier" note then."""
    from html import escape

    runs = scenario_runs(folder)
    parts = ['<div class="grid">', comparison_chart(runs)] if runs else ['<div class="grid">']
    notes = []
    sweeps = budget_sweeps(runs)
    for sweep, points in sweeps.items():
        chart, note = frontier_chart(sweep, points)
        parts.append(chart)
        notes += [note] if note else []
    parts.append("</div>")
    if not sweeps and not exchange:
        notes.append("No frontier: no sweep in this batch changes the budgets alone (a line "
                     "through scenarios that change other things would not be a trade-off).")
    parts += [f'<p class="note">{escape(n)}</p>' for n in notes]
    return parts, plan_run(runs)
