"""``svcplan batch`` and ``svcplan frontier``: the command-line face of :mod:`svcplan.whatif`.

Exit codes: 0 every scenario found a plan, 1 some did not (infeasible, invalid after the
change, crashed), 2 invalid case or scenario file or usage (nothing ran).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import pandas as pd
import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ..outputs.console import status_colour
from ..outputs.result import SolveResult
from ..processes import start_fork_server
from ..whatif.batch import BatchOptions, BatchResult, run_batch
from ..whatif.exchange import parse_target, run_exchange
from ..whatif.frontier import parse_range, run_frontier
from ..whatif.scenarios import ScenarioError, load_scenarios
from ..whatif.summary import short_labels
from .common import CaseArg, GapOpt, OutOpt, QuietOpt, XlsxRowsOpt, console, default_out, fail, load

WorkersOpt = Annotated[int | None, typer.Option(help="Local worker processes (default: cores).",
                                                min=1)]
DaskOpt = Annotated[str | None, typer.Option(help="Dask scheduler, e.g. tcp://10.0.0.5:8786.")]
ResumeOpt = Annotated[bool, typer.Option("--resume",
                                         help="Skip scenarios already done with the same inputs.")]
TimeOpt = Annotated[float | None, typer.Option(help="Seconds per scenario.", min=0)]
#: Scenario names longer than this are shown as shorter unique labels in the console table.
LABEL_WIDTH = 24
WarmOpt = Annotated[bool, typer.Option(help="Start each sweep step from the previous plan.")]


def _run(fn: Callable[..., Any], *args: Any, quiet: bool, **kw: Any) -> Any:
    """Run a batch under a progress bar with ETA; invalid scenarios or no runner exit 2."""
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=console, disable=quiet, transient=False) as bar:
        task = bar.add_task("scenarios", total=None)

        def tick(name: str, result: SolveResult | None, done: int, total: int) -> None:
            status = "skipped (done)" if result is None else result.status
            bar.update(task, completed=done, total=total, description=f"{name}: {status}")

        try:
            return fn(*args, on_progress=tick, **kw)
        except ScenarioError as exc:
            bar.stop()
            fail(exc)
        except (OSError, RuntimeError) as exc:  # e.g. no Dask scheduler at that address
            bar.stop()
            fail(f"cannot run the batch: {exc}")


def _workers_early(dask: str | None) -> None:
    """Local workers come from a fork server: it starts importing now, while the case is
    read and the scenarios are planned (a Dask cluster's workers are running already)."""
    if dask is None:
        start_fork_server()


def _fmt(v: Any, spec: str) -> str:
    return "-" if v is None or pd.isna(v) else format(v, spec)


def _pct(v: Any) -> str:
    return "-" if v is None or pd.isna(v) else f"{100 * v:.1f}"


def _names(v: Any) -> str:
    """A comma list of segments, blank when there is none (NaN in the summary)."""
    return str(v or "") if pd.notna(v) else ""


def print_table(res: BatchResult) -> None:
    """The final comparison table: one line per scenario against the base.

    Long scenario names (sweeps over several keys) are shown as short unique labels; a
    scenario's description (from the scenario file) is printed under its name.
    """
    t = Table(title=f"Scenarios ({res.out})")
    labels = short_labels(list(res.summary["scenario"]), width=LABEL_WIDTH)
    t.add_column("scenario", overflow="fold", max_width=LABEL_WIDTH)  # wrapped, never cut
    for c in ("status", "objective", "profit Δ", "Δ %", "changed", "service", "gained", "lost", "s"):
        left = c in ("status", "gained", "lost")
        t.add_column(c, justify="left" if left else "right")
    for label, r in zip(labels, res.summary.itertuples(index=False), strict=True):
        name = Text(label)
        if r.description:  # under the name: the table stays as wide as without descriptions
            name.append(f"\n{r.description}", style="dim")
        t.add_row(name, f"[{status_colour(r.status, r.has_plan)}]{r.status}[/]",
                  _fmt(r.objective, ",.0f"), _fmt(r.profit_delta, "+,.0f"),
                  _fmt(r.profit_delta_pct, "+.2f"), _fmt(r.changed_unit_periods, ".0f"),
                  _pct(r.service), _names(r.segments_gained), _names(r.segments_lost),
                  _fmt(r.seconds, ".1f"))
    console.print(t)
    for r in res.summary.itertuples(index=False):
        if not r.has_plan and r.reason:
            console.print(f"[red]{escape(r.scenario)}[/]: {escape(r.reason)}", highlight=False)
    if res.interrupted:
        print_interrupted(res)
        return
    done = f", {len(res.skipped)} already done" if res.skipped else ""
    console.print(f"{len(res.ran)} solved{done} in {res.seconds:.1f}s; "
                  f"summary.csv and summary.xlsx in [bold]{res.out}[/]")


def print_interrupted(res: BatchResult) -> None:
    """After Ctrl-C: what finished, and how to run the rest."""
    finished = list(res.summary["scenario"])
    names = ", ".join(finished) if finished else "none"
    console.print(f"[bold yellow]Interrupted[/]: {len(finished)} of {res.total} scenarios finished "
                  f"({escape(names)}); their folders in [bold]{res.out}[/] are complete, the "
                  "running solves were stopped and no summary was written.", highlight=False)
    console.print("Run the same command again with [bold]--resume[/] to solve the other "
                  f"{res.total - len(finished)} (finished ones are not solved again).", highlight=False)


def batch(
    case: CaseArg,
    scenarios: Annotated[Path, typer.Argument(
        help="Scenario file (YAML: scenarios and sweeps, docs/batch.md).")],
    out: OutOpt = None, workers: WorkersOpt = None, dask: DaskOpt = None,
    resume: ResumeOpt = False, time_limit: TimeOpt = None, gap: GapOpt = None,
    warm: WarmOpt = True, quiet: QuietOpt = False, xlsx_rows: XlsxRowsOpt = None,
) -> None:
    """Solve every scenario of a what-if file and compare each with the base."""
    _workers_early(dask)
    c = load(case)
    try:
        items, chains = load_scenarios(scenarios)
    except ScenarioError as exc:
        fail(exc)
    target = out or default_out(f"{c.name}-batch")
    opts = BatchOptions(time_limit=time_limit, mip_gap=gap, workers=workers, dask=dask,
                        resume=resume, warm=warm, xlsx_rows=xlsx_rows)
    res = _run(run_batch, c, items, chains, target, opts, quiet=quiet)
    print_table(res)
    raise typer.Exit(res.exit_code)


def frontier(
    case: CaseArg,
    budget: Annotated[str, typer.Option(help="Scales start:stop:count or a,b,c.")] = "0.5:1.5:11",
    out: OutOpt = None, workers: WorkersOpt = None, dask: DaskOpt = None,
    resume: ResumeOpt = False, time_limit: TimeOpt = None, gap: GapOpt = None,
    warm: WarmOpt = True, quiet: QuietOpt = False, xlsx_rows: XlsxRowsOpt = None,
    service_target: Annotated[str | None, typer.Option(
        "--target", help="Sweep a service target instead of the budget: "
                         "NAME:start:stop:count or NAME:a,b,c (its min_service).")] = None,
) -> None:
    """Profit against budget: the marginal value of budget and who loses service first.
    With --target: cost (or profit) against a service target, the exchange curve."""
    opts = BatchOptions(time_limit=time_limit, mip_gap=gap, workers=workers, dask=dask,
                        resume=resume, warm=warm, xlsx_rows=xlsx_rows)
    if service_target is not None:
        _exchange(case, service_target, out, opts, quiet)
    try:
        scales = parse_range(budget)
    except ValueError as exc:
        fail(str(exc))
    _workers_early(dask)
    c = load(case)
    target = out or default_out(f"{c.name}-frontier")
    res, front, diff = _run(run_frontier, c, scales, target, opts, quiet=quiet)
    if res.interrupted:
        print_interrupted(res)
        raise typer.Exit(res.exit_code)
    t = Table(title="Budget frontier")
    for col in ("scale", "budget", "status", "objective", "marginal / budget", "service", "used %"):
        t.add_column(col, justify="left" if col == "status" else "right")
    for r in front.itertuples(index=False):
        t.add_row(f"{r.scale:g}", _fmt(r.budget, ",.0f"), r.status, _fmt(r.objective, ",.0f"),
                  _fmt(r.marginal_per_budget, ".3f"), _pct(r.service),
                  _fmt(r.budget_use_pct, ".1f"))
    console.print(t)
    losers = diff.dropna(subset=["first_loss_scale"]).head(8)
    if len(losers):
        console.print("Who loses service first as the budget shrinks (segment × class):")
        for r in losers.itertuples(index=False):
            console.print(f"  {r.segment} × {r.product_class}: mean rank {r.best_rank:.2f} → "
                          f"{r.rank_at_first_loss:.2f} at scale {r.first_loss_scale:g}",
                          highlight=False)
    console.print(f"frontier.csv, differentiation.csv, summary.csv in [bold]{target}[/]")
    raise typer.Exit(res.exit_code)


def _exchange(case: Path, spec: str, out: Path | None, opts: BatchOptions, quiet: bool) -> None:
    """``frontier --target``: sweep one target's min_service, print and write the curve."""
    try:
        name, values = parse_target(spec)
    except ValueError as exc:
        fail(str(exc))
    c = load(case)
    folder = out or default_out(f"{c.name}-exchange-{name}")
    res, curve = _run(run_exchange, c, name, values, folder, opts, quiet=quiet)
    sense = c.settings.objective
    t = Table(title=f"Exchange curve of target {name} ({sense})")
    for col in ("min_service", "status", "achieved", sense, f"{sense} per point"):
        t.add_column(col, justify="left" if col == "status" else "right")
    spec_obj = ".4f" if sense == "service" else ",.0f"
    for r in curve.itertuples(index=False):
        t.add_row(_pct(r.min_service), r.status, _pct(r.achieved), _fmt(r.objective, spec_obj),
                  _fmt(r.marginal_per_point, spec_obj))
    console.print(t)
    console.print(f"frontier.csv, summary.csv in [bold]{folder}[/]")
    raise typer.Exit(res.exit_code)


def register(app: typer.Typer) -> None:
    """Add the batch commands to the ``svcplan`` app."""
    app.command("batch")(batch)
    app.command("frontier")(frontier)
