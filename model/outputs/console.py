"""The console face of a solve: the summary a planner reads after ``svcplan solve``.

Kept apart from :mod:`.files` (which writes files only) because it is presentation for a
terminal: rich tables and colours. The status colour is decided here once, so the solve
summary and the batch table of the command line colour a status the same way.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from rich.console import Console
from rich.table import Table

from ..solver.status import WITH_PLAN, Status
from .result import SENSE_WORDS

if TYPE_CHECKING:
    from .result import SolveResult


#: Width of a console whose output goes to a file or a pipe (rich would assume 80 columns and
#: cut the wider tables, such as a batch's, into unreadable wrapped cells). ``COLUMNS`` wins.
PIPED_WIDTH = 200


def planner_console(stderr: bool = False) -> Console:
    """A rich console for results (stdout) or problems (``stderr=True``): a terminal's own
    width, or :data:`PIPED_WIDTH` when piped (``svcplan batch … | tee log``)."""
    console = Console(stderr=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console.width = PIPED_WIDTH
    return console


def status_colour(status: str, has_plan: bool) -> str:
    """green: a plan proven optimal; yellow: a plan not proven (gap, limit); red: no plan.

    ``has_plan`` decides, not the status alone: a ``time_limit`` run may end without a plan.
    """
    if not (has_plan and status in WITH_PLAN):
        return "red"
    return "green" if status == Status.OPTIMAL else "yellow"


def print_summary(res: SolveResult, console: Console | None = None, out: Path | None = None) -> None:
    """A planner-readable console summary: status, objective, gap, budgets, levels by segment."""
    console = console or planner_console()
    colour = status_colour(res.status, res.has_plan)
    console.print(f"[bold]{res.case_name}[/]: status [{colour}]{res.status}[/]", end="")
    if res.objective is not None:
        gap = f"{100 * res.mip_gap:.4f}%" if res.mip_gap is not None else "n/a"
        bound = f"{res.bound:,.2f}" if res.bound is not None else "n/a"
        label = SENSE_WORDS.get(res.objective_sense, res.objective_sense)
        console.print(f"  {label} {res.objective:,.{4 if res.objective_sense == 'service' else 2}f}"
                      f"  bound {bound}  gap {gap}", end="")
    console.print(
        f"  ({res.n_binaries:,} binaries, {res.n_constraints:,} constraints; "
        f"build {res.build_seconds:.2f}s, solve {res.solve_seconds:.2f}s)"
    )
    _print_discounting(res, console)
    for w in res.warnings:
        console.print(f"[yellow]warning:[/] {w}", soft_wrap=True)
    if not res.has_plan:
        _print_no_plan(res, console)
        return
    _print_periods(res, console)
    _print_levels(res, console)
    _print_marginals(res, console)
    _print_targets(res, console)
    if out is not None:
        console.print(f"Outputs written to [bold]{out}[/]")


def undiscounted_profit(summary: dict) -> float | None:
    """The plan's profit before discounting when it differs from the (profit) objective, else
    None: the objective weighs period t by ``discount[t]`` (periods.csv), the KPI tables and
    the "profit" columns do not. Other objective modes (cost, service) are not a profit."""
    if summary.get("objective_sense", "profit") not in ("profit", "maximize"):
        return None
    objective, profit = summary.get("objective"), summary.get("kpis", {}).get("profit")
    if objective is None or profit is None:
        return None
    return profit if abs(objective - profit) > 1e-6 * max(1.0, abs(profit)) else None


def _print_discounting(res: SolveResult, console: Console) -> None:
    """Say that the objective is discounted when that makes it differ from the profit."""
    profit = undiscounted_profit(res.summary())
    if profit is not None:
        console.print(f"The objective is the [bold]discounted[/] profit (each period's profit "
                      f"times its discount in periods.csv); undiscounted profit "
                      f"{profit:,.2f}, as in every table's profit column", highlight=False)


def _print_no_plan(res: SolveResult, console: Console) -> None:
    """Why there is no plan; for an infeasible case the smallest relaxation that gives one."""
    why = "no plan meets every limit and policy" if res.status == Status.INFEASIBLE else res.message
    console.print(f"No plan: {why}", markup=False)
    if not res.explanation.empty:
        console.print("[bold]Why[/] (the smallest relaxation that gives a plan):")
        for line in res.explanation["message"]:
            console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)


def _print_periods(res: SolveResult, console: Console) -> None:
    """Budget use per period: where the money goes and how tight each budget is."""
    t = Table(title="Budget use per period", show_lines=False, pad_edge=False)
    for c in ("period", "revenue", "logistics cost", "profit", "budget", "used", "inv.\ndays",
              "cycle /\nfill %"):
        t.add_column(c, justify="right" if c != "period" else "left", min_width=9 if "fill" in c else None,
                     max_width=5 if "days" in c else None)
    for r in res.periods.itertuples(index=False):
        budget = "-" if pd.isna(r.budget) else f"{r.budget:,.0f}"
        used = "-" if pd.isna(r.budget_use_pct) else f"{r.budget_use_pct:.1f}%"
        inv = "-" if pd.isna(r.inventory_days) else f"{r.inventory_days:.1f}"
        t.add_row(str(r.period), f"{r.revenue:,.0f}", f"{r.logistics_cost:,.0f}",
                  f"{r.profit:,.0f}", budget, used, inv, _promises(r.mean_cycle_service, r.mean_fill_rate))
    console.print(t)


def _print_levels(res: SolveResult, console: Console) -> None:
    """The level mix of each segment: who gets premium service."""
    seg = res.segments
    mix = [c for c in seg.columns if c.startswith("n_")]
    t = Table(title="Levels used per segment (unit-periods)")
    t.add_column("segment")
    for c in mix:
        t.add_column(c[2:], justify="right")
    t.add_column("profit", justify="right")
    t.add_column("cycle /\nfill %", justify="right")
    for _, r in seg.iterrows():
        t.add_row(str(r["segment"]), *[str(int(r[c])) for c in mix], f"{r['profit']:,.0f}",
                  _promises(r["mean_cycle_service"], r["mean_fill_rate"]))
    console.print(t)


def _promises(cycle: float, fill: float) -> str:
    """The two demand-weighted promises in one narrow cell, ``88.4/98.8`` (percent; "-" where
    undefined), so the table keeps its width on an 80-column terminal."""
    return "/".join("-" if pd.isna(v) else f"{100 * v:.1f}" for v in (cycle, fill))


def _print_marginals(res: SolveResult, console: Console) -> None:
    """The headline shadow prices (insight.marginals): the most valuable budget and capacity,
    or why they are unknown (their LP ran out of its time budget)."""
    status = res.marginals.get("status") if res.marginals else None
    if status is not None and status != Status.OPTIMAL:
        console.print(f"Marginal values: unknown (their local LP: {status})", soft_wrap=True)
        return
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


def _print_targets(res: SolveResult, console: Console) -> None:
    """Each service target: required, achieved and the price of one more point."""
    if res.targets.empty:
        return
    console.print("[bold]Service targets[/] (kpi_targets.csv):")
    for line in res.targets["message"]:
        console.print(f"  {line}", markup=False, highlight=False, soft_wrap=True)
