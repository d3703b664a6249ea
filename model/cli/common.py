"""What every ``svcplan`` command shares: the consoles, the one error printer, option types.

One pair of consoles (results on stdout, problems on stderr) and one way to refuse input:
:func:`fail` prints a case or scenario error as a list of problems, each with file, row and
column, or a plain message, and exits with code 2 (SPEC §6: invalid input or usage) —
never a traceback. The command modules (:mod:`.solve`, :mod:`.batch`, :mod:`.calibrate`)
import from here and never from each other or from :mod:`.app`, so the cli has no circles.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.markup import escape

from ..api import load_case
from ..case.case import Case, CaseError
from ..outputs.console import planner_console
from ..whatif.scenarios import ScenarioError

#: Exit code for invalid input or usage (SPEC §6); 0 a plan, 1 no plan.
EXIT_INVALID = 2

console = planner_console()
err_console = planner_console(stderr=True)

# text, not Path: a database URL (postgresql://host/db) must reach the reader unchanged
CaseArg = Annotated[str, typer.Argument(
    help="Case: a folder of CSV or Parquet files, one .xlsx workbook, or a database URL.")]
OutOpt = Annotated[Path | None, typer.Option("--out", "-o", help="Output folder.")]
TimeOpt = Annotated[float | None, typer.Option(help="Seconds.", min=0)]
GapOpt = Annotated[float | None, typer.Option(help="Relative MIP gap; 0 proves optimality.", min=0)]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q",
                                         help="No progress display (solve: only the status line).")]
XlsxRowsOpt = Annotated[int | None, typer.Option(
    "--xlsx-rows", min=0, metavar="N",
    help="Leave a table longer than N rows out of results.xlsx (it stays in its CSV; the "
         "workbook's summary sheet says so). Default: as many rows as an Excel sheet holds. "
         "A 1M-binary plan's 200,000-row assignment sheet takes about 6 s.")]


def fail(problem: CaseError | str) -> NoReturn:
    """Report invalid input and leave with exit code 2.

    A :class:`CaseError` (or its :class:`ScenarioError`) lists every problem, one per line,
    printed verbatim (no rich markup: file names and values may contain brackets); a plain
    string is one message.
    """
    if isinstance(problem, CaseError):
        title = "Invalid scenario file" if isinstance(problem, ScenarioError) else "Invalid input"
        err_console.print(f"[bold red]{title}[/]: {len(problem.problems)} problem(s)")
        for p in problem.problems:
            err_console.print(f"  - {p}", markup=False, highlight=False)
    else:
        err_console.print(f"[bold red]error:[/] {escape(problem)}", highlight=False)
    raise typer.Exit(EXIT_INVALID)


def load(case: str | Path) -> Case:
    """Read and validate a case; an invalid one is reported by :func:`fail` (exit 2)."""
    try:
        return load_case(case)
    except CaseError as exc:
        fail(exc)


def default_out(case_name: str) -> Path:
    """``runs/<case>-<timestamp>``: a new folder per run, so nothing is overwritten."""
    safe = re.sub(r"[^\w.-]+", "_", case_name) or "case"
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{safe}-{stamp}"
