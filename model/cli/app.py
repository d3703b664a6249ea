"""The ``svcplan`` command line: ONE typer app that registers the command modules.

The console script is ``svcplan = "svcplan.cli.entry:main"`` (:mod:`.entry`: it starts a
batch's workers first, then runs this app). This module only builds the app; the commands
live in :mod:`.solve` (validate, solve, report, generate), :mod:`.batch` (batch, frontier),
:mod:`.simulate` (simulate) and :mod:`.calibrate` (the ``calibrate`` sub-app), and what they
share (consoles, the error printer, option types) in :mod:`.common`. Nothing imports this module
but the entry points, so the cli has no circles.

Exit codes (SPEC §6): 0 a plan was found, 1 no plan, 2 invalid input or usage.
"""

from __future__ import annotations

import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from ..whatif.runners import one_blas_thread
from . import batch, convert, simulate, solve
from .calibrate import app as calibrate_app
from .common import console

#: The distribution whose installed version ``--version`` reports.
DISTRIBUTION = "svcplan"

app = typer.Typer(
    help="svcplan: differentiated service-level planning (Pyomo MILP solved with HiGHS).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: the rich panels label every flag "<bool>" (typer 0.29)
)


def installed_version() -> str:
    """The installed distribution's version; the package's own ``__version__`` when it is not
    installed (run from a source tree), so ``--version`` always answers.

    The package root is read from ``sys.modules`` (it is always loaded before any of its
    submodules) rather than imported: the root re-exports api and case, and the layout rule
    is that no stage imports the root.
    """
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        root = sys.modules[__name__.partition(".")[0]]
        return str(getattr(root, "__version__", "unknown"))


def _print_version(value: bool) -> None:
    if value:
        console.print(f"svcplan {installed_version()}", highlight=False)
        raise typer.Exit(0)


@app.callback()
def main(
    _version: Annotated[bool, typer.Option(
        "--version", help="Print the version and exit.", callback=_print_version, is_eager=True,
    )] = False,
) -> None:
    """svcplan: differentiated service-level planning (Pyomo MILP solved with HiGHS)."""
    one_blas_thread()  # this process is ours: its solves and batch clients gain nothing from more


solve.register(app)  # validate | solve | report | generate
batch.register(app)  # batch | frontier
convert.register(app)  # convert
simulate.register(app)  # simulate
app.add_typer(calibrate_app, name="calibrate")
