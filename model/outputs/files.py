"""Writing a solve's outputs (SPEC §6) and printing the console summary.

Files are written so that a folder is never mistaken for a finished run: an existing
``summary.json`` is removed first, the tables are written next, and ``summary.json`` comes
last through a temporary file and an atomic rename. Files a previous run left that this
run does not write are removed, so a folder never mixes two runs.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from .result import SolveResult

TABLE_FILES = {
    "assignment": "assignment.csv",
    "periods": "kpi_periods.csv",
    "segments": "kpi_segments.csv",
    "classes": "kpi_classes.csv",
    "capacity": "kpi_capacity.csv",
}
EXPLANATION_FILE = "infeasibility.csv"
OUTPUT_FILES = [*TABLE_FILES.values(), "results.xlsx", "report.html", EXPLANATION_FILE, "summary.json"]


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON through a temporary file in the same folder and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=".summary-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clear(out: Path) -> None:
    """Make ``out`` an empty run folder: summary.json goes first, so from the first deletion
    on the folder reads as "not done"; then every other output and leftovers of killed runs."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").unlink(missing_ok=True)
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)
    for leftover in [*out.glob(".summary-*.json"), *out.glob("*.tmp.xlsx")]:
        leftover.unlink(missing_ok=True)


def write_outputs(res: SolveResult, out: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write every output file of one solve into ``out`` (created if needed)."""
    _clear(out)
    summary = res.summary()
    frames = {name: getattr(res, name) for name in TABLE_FILES}
    if res.has_plan:
        for name, file in TABLE_FILES.items():
            if frames[name].empty and not len(frames[name].columns):
                continue  # e.g. no capacity rows (or marginals off): no file
            frames[name].to_csv(out / file, index=False, encoding="utf-8")
        write_excel(out / "results.xlsx", summary, frames)
    if not res.explanation.empty:
        res.explanation.to_csv(out / EXPLANATION_FILE, index=False, encoding="utf-8")
    if extra:
        summary.update(extra)
    write_json_atomic(out / "summary.json", summary)
    return out


def write_error_summary(out: Path, case_name: str, exc: BaseException) -> None:
    """A summary.json with status ``error`` for a run that failed unexpectedly."""
    _clear(out)
    summary = {"case": case_name, "status": "error", "objective": None, "bound": None,
               "mip_gap": None, "error": f"{type(exc).__name__}: {exc}"}
    write_json_atomic(out / "summary.json", summary)


def write_excel(path: Path, summary: dict[str, Any], frames: dict[str, pd.DataFrame]) -> None:
    """results.xlsx: a summary sheet, then one sheet per table, with readable column widths."""
    flat = [(k, v) for k, v in summary.items() if not isinstance(v, (dict, list))]
    flat += [(f"kpi.{k}", v) for k, v in summary.get("kpis", {}).items()]
    tmp = path.with_suffix(".tmp.xlsx")
    with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
        pd.DataFrame(flat, columns=["key", "value"]).to_excel(xl, sheet_name="summary", index=False)
        for name, df in frames.items():
            df.to_excel(xl, sheet_name=name, index=False)
        for ws in xl.book.worksheets:
            ws.freeze_panes = "A2"
            for col in ws.columns:
                width = max(len(str(c.value)) if c.value is not None else 0 for c in col[:200])
                ws.column_dimensions[col[0].column_letter].width = min(max(10, width + 2), 40)
    os.replace(tmp, path)


def print_summary(res: SolveResult, console: Console | None = None, out: Path | None = None) -> None:
    """A planner-readable console summary: status, objective, gap, budgets, levels by segment."""
    console = console or Console()
    colour = {"optimal": "green", "feasible": "yellow", "time_limit": "yellow"}.get(res.status, "red")
    console.print(f"[bold]{res.case_name}[/]: status [{colour}]{res.status}[/]", end="")
    if res.objective is not None:
        gap = f"{100 * res.mip_gap:.4f}%" if res.mip_gap is not None else "n/a"
        bound = f"{res.bound:,.2f}" if res.bound is not None else "n/a"
        console.print(f"  objective {res.objective:,.2f}  bound {bound}  gap {gap}", end="")
    console.print(
        f"  ({res.n_binaries:,} binaries, {res.n_constraints:,} constraints; "
        f"build {res.build_seconds:.2f}s, solve {res.solve_seconds:.2f}s)"
    )
    for w in res.warnings:
        console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    if not res.has_plan:
        why = "no plan meets every limit and policy" if res.status == "infeasible" else res.message
        console.print(f"No plan: {why}", markup=False)
        if not res.explanation.empty:
            console.print("[bold]Why[/] (the smallest relaxation that gives a plan):")
            for line in res.explanation["message"]:
                console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
        return
    t = Table(title="Budget use per period", show_lines=False)
    for c in ("period", "revenue", "logistics cost", "profit", "budget", "used", "inv. days", "service"):
        t.add_column(c, justify="right" if c != "period" else "left")
    for r in res.periods.itertuples(index=False):
        budget = "-" if pd.isna(r.budget) else f"{r.budget:,.0f}"
        used = "-" if pd.isna(r.budget_use_pct) else f"{r.budget_use_pct:.1f}%"
        inv = "-" if pd.isna(r.inventory_days) else f"{r.inventory_days:.1f}"
        svc = "-" if pd.isna(r.mean_service) else f"{100 * r.mean_service:.1f}%"
        t.add_row(str(r.period), f"{r.revenue:,.0f}", f"{r.logistics_cost:,.0f}",
                  f"{r.profit:,.0f}", budget, used, inv, svc)
    console.print(t)
    seg = res.segments
    mix = [c for c in seg.columns if c.startswith("n_")]
    t2 = Table(title="Levels used per segment (unit-periods)")
    t2.add_column("segment")
    for c in mix:
        t2.add_column(c[2:], justify="right")
    t2.add_column("profit", justify="right")
    t2.add_column("service", justify="right")
    for _, r in seg.iterrows():
        svc = "-" if pd.isna(r["mean_service"]) else f"{100 * r['mean_service']:.1f}%"
        t2.add_row(str(r["segment"]), *[str(int(r[c])) for c in mix], f"{r['profit']:,.0f}", svc)
    console.print(t2)
    _print_marginals(res, console)
    if out is not None:
        console.print(f"Outputs written to [bold]{out}[/]")


def _print_marginals(res: SolveResult, console: Console) -> None:
    """The headline shadow prices (model.marginals): the most valuable budget and capacity."""
    lines = []
    p = res.periods.dropna(subset=["budget_dual"]) if "budget_dual" in res.periods else []
    if len(p):
        r = p.loc[p["budget_dual"].idxmax()]
        lines.append(f"one more unit of budget in {r['period']} is worth {r['budget_dual']:.4g}")
    if not res.capacity.empty and res.capacity["dual"].max() > 0:
        r = res.capacity.loc[res.capacity["dual"].idxmax()]
        lines.append(f"one more unit of {r['resource']} in {r['period']} is worth {r['dual']:.4g}")
    if lines:
        console.print("Marginal values: " + "; ".join(lines) + " (kpi_periods.csv budget_dual, "
                      "kpi_capacity.csv)")
