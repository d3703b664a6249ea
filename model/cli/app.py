"""The ``svcplan`` command line: a thin layer over the Python API.

Exit codes (SPEC §6): 0 a plan was found, 1 no plan (infeasible, or a limit before any
plan), 2 invalid input or usage. Invalid input is reported as a list of problems, each
with file, row and column — never as a traceback.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from ..api import load_case, solve
from ..case.case import CaseError
from . import batch as batch_cli
from .calibrate import app as calibrate_app

app = typer.Typer(
    help="svcplan: differentiated service-level planning (Pyomo MILP solved with HiGHS).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(calibrate_app, name="calibrate")
console = Console()
err_console = Console(stderr=True)

CaseArg = Annotated[Path, typer.Argument(help="Case folder of CSV files, or one .xlsx workbook.")]


def report_case_error(exc: CaseError) -> None:
    """Print every input problem, one per line, and leave with exit code 2."""
    err_console.print(f"[bold red]Invalid input[/]: {len(exc.problems)} problem(s)")
    for p in exc.problems:
        err_console.print(f"  - {p}", markup=False, highlight=False)
    raise typer.Exit(2)


def default_out(case_name: str) -> Path:
    """``runs/<case>-<timestamp>``: a new folder per run, so nothing is overwritten."""
    safe = re.sub(r"[^\w.-]+", "_", case_name) or "case"
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{safe}-{stamp}"


@app.command()
def validate(case: CaseArg) -> None:
    """Check a case and report every problem found (exit 2 if any)."""
    try:
        c = load_case(case)
    except CaseError as exc:
        report_case_error(exc)
    for w in c.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    console.print(f"[green]valid[/] {c.describe()}")


@app.command("solve")
def solve_cmd(
    case: CaseArg,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")] = None,
    time_limit: Annotated[float | None, typer.Option(help="Seconds.", min=0)] = None,
    gap: Annotated[float | None, typer.Option(help="Relative MIP gap; 0 proves optimality.", min=0)] = None,
    threads: Annotated[int | None, typer.Option(help="HiGHS threads.", min=1)] = None,
    write_model: Annotated[
        Path | None, typer.Option(help="Write the model handed to HiGHS (.mps or .lp).")
    ] = None,
    no_warm_start: Annotated[bool, typer.Option(help="Skip the LP-rounding warm start.")] = False,
    log: Annotated[bool, typer.Option(help="Show the HiGHS log.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only the status line.")] = False,
    report: Annotated[bool, typer.Option(help="Also write report.html (svcplan report).")] = False,
) -> None:
    """Solve a planning case and write its plan and KPIs."""
    if write_model and write_model.suffix.lower() not in {".mps", ".lp"}:
        err_console.print("--write-model needs a file ending in .mps or .lp")
        raise typer.Exit(2)
    try:
        c = load_case(case)
    except CaseError as exc:
        report_case_error(exc)
    target = out or default_out(c.name)
    try:
        kw = dict(time_limit=time_limit, mip_gap=gap, threads=threads, write_model=write_model,
                  warm_start=not no_warm_start, log=log)
        if log or quiet:
            res = solve(c, **kw)
        else:  # one status line per phase: long runs show what they are doing
            with console.status("solving…") as status:
                res = solve(c, progress=status.update, **kw)
    except Exception as exc:  # a bug of ours or the solver's: say so plainly, record it, exit 1
        from ..outputs.files import write_error_summary

        write_error_summary(target, c.name, exc)
        err_console.print(f"[bold red]error[/]: the solve failed unexpectedly: {type(exc).__name__}: {exc}")
        err_console.print("This is a bug in svcplan or HiGHS; please report it with the case.")
        raise typer.Exit(1) from None
    res.write(target)
    if report and res.has_plan:
        from ..outputs.html import write_report

        console.print(f"Report: {write_report(target)}")
    if quiet:
        console.print(f"{res.status} {res.objective}")
    else:
        from ..outputs.files import print_summary

        print_summary(res, console, target)
    raise typer.Exit(0 if res.has_plan else 1)


@app.command("report")
def report_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A solve or batch output folder.")],
    case: Annotated[Path | None, typer.Option(help="The case (default: case_path of the run).")]
    = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML file to write.")] = None,
) -> None:
    """Write a self-contained HTML report (inline SVG charts; opens offline)."""
    from ..outputs.html import write_report

    try:
        path = write_report(run_dir, out, case)
    except FileNotFoundError as exc:
        err_console.print(str(exc))
        raise typer.Exit(2) from None
    except CaseError as exc:
        report_case_error(exc)
    console.print(f"Report written to [bold]{path}[/]")


batch_cli.register(app)  # svcplan batch | frontier
@app.command("generate")
def generate_cmd(
    out: Annotated[Path, typer.Argument(help="Case folder to write (or a .xlsx workbook).")],
    segments: Annotated[int, typer.Option(help="Number of segments.", min=1)] = 5,
    products: Annotated[int, typer.Option(help="Number of products.", min=1)] = 40,
    levels: Annotated[int, typer.Option(help="Number of service levels.", min=2)] = 5,
    periods: Annotated[int, typer.Option(help="Number of periods (months).", min=1)] = 12,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same case).")] = 0,
    goodwill: Annotated[bool, typer.Option(help="Goodwill carry-over.")] = True,
    switching: Annotated[bool, typer.Option(help="Switching cost and current levels.")] = True,
    policies: Annotated[bool, typer.Option(help="Min/max level policies.")] = True,
    capacity: Annotated[bool, typer.Option(help="Capacity and usage tables.")] = False,
    tightness: Annotated[
        float, typer.Option(help="Budget: 0 cheapest plan, 1 best plan.", min=0)
    ] = 0.75,
) -> None:
    """Write a synthetic planning case of any size (segments x products x levels x periods)."""
    from ..prep.generate import generate_case, write_case

    tables, settings = generate_case(
        segments, products, levels, periods, seed=seed, goodwill=goodwill, switching=switching,
        policies=policies, capacity=capacity, tightness=tightness,
    )
    path = write_case(tables, settings, out)
    n = segments * products * levels * periods
    console.print(f"wrote {path}: {segments}x{products}x{levels}x{periods} (up to {n:,} binaries)")


def main() -> None:  # pragma: no cover - console entry point
    app()
