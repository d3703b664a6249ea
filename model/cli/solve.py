"""``svcplan validate | solve | report | generate``: one case at a time, a thin layer over the API.

Exit codes (SPEC §6): 0 a plan was found, 1 no plan (infeasible, or a limit before any
plan, or an unexpected failure), 2 invalid input or usage (:func:`.common.fail`).

The solve command looks ``solve`` up in this module's namespace at call time, so tests
replace it here (``monkeypatch.setattr(svcplan.cli.solve, "solve", ...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..api import solve
from ..case.case import Case, CaseError
from ..case.sources import is_database_url
from ..formulation.hooks import UsageError, load_extension
from ..outputs.console import print_summary
from ..outputs.database import unreachable
from ..outputs.files import write_error_summary
from ..outputs.html import write_report
from ..outputs.result import SolveResult
from ..prep.generate import generate_case, write_case
from ..solver.interrupts import Deferred, finish_first
from .common import CaseArg, GapOpt, QuietOpt, TimeOpt, XlsxRowsOpt, console, default_out, err_console, fail, load

SinkOpt = Annotated[str | None, typer.Option(
    "--out", "-o", help="Output folder, or a database URL (sqlite:///runs.db, postgresql://...): "
    "the outputs as tables, written in one transaction.")]
SolverOpt = Annotated[str | None, typer.Option(
    help="Solve with a solver Pyomo knows (cbc, glpk, gurobi_direct, appsi_highs, ...) "
         "instead of svcplan's own HiGHS pipeline.")]
ExtendOpt = Annotated[list[str] | None, typer.Option(
    help="FILE.py:FUNCTION adding Pyomo rows to the model (repeatable).")]

#: Files HiGHS can write the model to (``--write-model``).
MODEL_SUFFIXES = {".mps", ".lp"}


def validate(case: CaseArg) -> None:
    """Check a case and report every problem found (exit 2 if any)."""
    c = load(case)
    for w in c.warnings:
        console.print(f"[yellow]warning:[/] {w}")
    console.print(f"[green]valid[/] {c.describe()}")


def say_phase(message: str) -> None:
    """A phase of the solve as a plain line among HiGHS's log lines (``--log``): a live
    status line would be torn by them. Without it the log of a large case is silent for as
    long as the LP relaxation, rounding and search take (13 s of a 7,344-binary case at gap
    0), until HiGHS's branch-and-bound begins."""
    console.print(f"svcplan: {message}", highlight=False, markup=False)


@contextmanager
def phases(quiet: bool, log: bool, first: str) -> Iterator[Callable[[str], None] | None]:
    """Where a long step tells its phases: nowhere (``--quiet``), one plain line each
    (``--log``: most of a solve is ours, not HiGHS's logged MIP), or one status line that
    each phase replaces, starting with ``first`` (long runs show what they are doing)."""
    if quiet:
        yield None
    elif log:
        yield say_phase
    else:
        with console.status(first) as status:
            yield status.update


def outputs_first() -> Deferred:
    """Ctrl-C once the solve is done: the outputs are finished first, and a second Ctrl-C
    abandons them (exit 130; the folder then lacks summary.json, the mark of a complete run).

    The plan is what the planner waited for, and its files take a while at scale (about
    11 s for a 1M-binary plan; the workbook, 6 s of it, is one call into its writer, which
    a second Ctrl-C cannot cut short): a Ctrl-C there used to leave the CSVs without the
    workbook and summary."""
    return finish_first(lambda: err_console.print(
        "Ctrl-C: the plan is solved; writing its outputs first (Ctrl-C again to abandon them)"))


def solve_cmd(
    case: CaseArg,
    out: SinkOpt = None,
    time_limit: TimeOpt = None,
    gap: GapOpt = None,
    threads: Annotated[int | None, typer.Option(help="HiGHS threads.", min=1)] = None,
    write_model: Annotated[
        Path | None, typer.Option(help="Write the model handed to HiGHS (.mps or .lp).")
    ] = None,
    warm_start: Annotated[bool, typer.Option(
        "--warm-start/--no-warm-start", help="Start from the LP-rounding plan.")] = True,
    log: Annotated[bool, typer.Option("--log", help="Show the HiGHS log, and svcplan's own phases "
                                      "between its parts.")] = False,
    quiet: QuietOpt = False,
    report: Annotated[bool, typer.Option("--report",
                                         help="Also write report.html (svcplan report).")] = False,
    solver: SolverOpt = None,
    extend: ExtendOpt = None,
    dask: Annotated[str | None, typer.Option(
        metavar="ADDRESS", help="Solve the product blocks of a large model's bound on the Dask "
        "cluster at this scheduler address (e.g. tcp://10.0.0.5:8786).")] = None,
    xlsx_rows: XlsxRowsOpt = None,
) -> None:
    """Solve a planning case and write its plan and KPIs."""
    extensions = _checked_options(write_model, extend, out, report)
    c = load(case)
    target = out or default_out(c.name)
    kw = dict(time_limit=time_limit, mip_gap=gap, threads=threads, write_model=write_model,
              warm_start=warm_start, log=log, solver=solver, extend=extensions, dask=dask)
    res, written = _solve_and_write(c, target, kw, quiet, log, xlsx_rows)
    if report and res.has_plan:
        console.print(f"Report: {write_report(target)}")
    if quiet:
        console.print(f"{res.status} {res.objective}")
    else:
        print_summary(res, console, written)
    raise typer.Exit(0 if res.has_plan else 1)


def _checked_options(write_model: Path | None, extend: list[str] | None, out: str | None,
                     report: bool) -> list[Callable]:
    """The loaded extensions, once the options that cannot work together or at all are
    refused (exit 2): a model file of another kind, an extension that does not load, a
    report or an unreachable server for a database ``--out``."""
    if write_model and write_model.suffix.lower() not in MODEL_SUFFIXES:
        fail("--write-model needs a file ending in .mps or .lp")
    try:
        extensions = [load_extension(spec) for spec in extend or []]
    except UsageError as exc:
        fail(str(exc))
    if is_database_url(out):
        if report:
            fail("--report writes report.html into an output folder, not into a database")
        if problem := unreachable(out):
            fail(problem)
    return extensions


def _solve_and_write(c: Case, target: str, kw: dict, quiet: bool, log: bool,
                     xlsx_rows: int | None) -> tuple[SolveResult, Path | str]:
    """Solve ``c`` and write its outputs to ``target``, with the phases on the console;
    returns the result and what was written. A solver that is not installed, an extension
    that fails or a case too large is refused (exit 2); anything else is a bug of ours or
    the solver's: said plainly, recorded in summary.json, exit 1."""
    try:
        with phases(quiet, log, "solving…") as progress:
            res = solve(c, progress=progress, **kw)
        # inside the try: a failure writing outputs is reported, not a traceback
        with outputs_first(), phases(quiet, log, "writing the outputs…") as progress:
            written = res.write(target, progress=progress, xlsx_rows=xlsx_rows)
    except UsageError as exc:  # a solver that is not installed, an extension that fails
        fail(str(exc))
    except CaseError as exc:  # refused before building (too large for the memory available)
        fail(exc)
    except Exception as exc:  # a bug of ours or the solver's: say so plainly, record it, exit 1
        if not is_database_url(target):  # a database write rolled back: nothing to record
            write_error_summary(Path(target), c.name, exc)
        err_console.print(f"[bold red]error[/]: the solve failed unexpectedly: "
                          f"{type(exc).__name__}: {escape(str(exc))}")
        err_console.print("This is a bug in svcplan or HiGHS; please report it with the case.")
        raise typer.Exit(1) from None
    return res, written


def report_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A solve or batch output folder.")],
    case: Annotated[Path | None, typer.Option(help="The case (default: case_path of the run).")]
    = None,
    out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML file to write.")] = None,
) -> None:
    """Write a self-contained HTML report (inline SVG charts; opens offline)."""
    try:
        path = write_report(run_dir, out, case)
    except FileNotFoundError as exc:
        fail(str(exc))
    except CaseError as exc:
        fail(exc)
    console.print(f"Report written to [bold]{path}[/]")


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
    tables, settings = generate_case(
        segments, products, levels, periods, seed=seed, goodwill=goodwill, switching=switching,
        policies=policies, capacity=capacity, tightness=tightness,
    )
    path = write_case(tables, settings, out)
    n = segments * products * levels * periods
    console.print(f"wrote {path}: {segments}x{products}x{levels}x{periods} (up to {n:,} binaries)")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``svcplan`` app (in the order ``--help`` lists them)."""
    app.command("validate")(validate)
    app.command("solve")(solve_cmd)
    app.command("report")(report_cmd)
    app.command("generate")(generate_cmd)
