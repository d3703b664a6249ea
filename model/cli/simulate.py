"""``svcplan simulate RUN_DIR``: does the plan keep its promise? (SPEC §8)

A thin layer over :func:`svcplan.api.simulate`: a progress bar while it runs, then the
table by segment; the files go into the run folder. Exit codes: 0 done, 1 a worker process
lost (killed, e.g. out of memory), 2 invalid input or usage (no plan in the run, a case that
does not match it, too few cycles).
"""

from __future__ import annotations

from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import (
    BarColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from ..api import simulate
from ..case.case import CaseError
from ..formulation.hooks import UsageError
from ..outputs.files import SIMULATION_CSV, SIMULATION_JSON
from ..simulation.plan import SimulationError
from ..simulation.policy import CHUNK_UNITS
from ..simulation.report import print_segments
from ..simulation.run import MIN_CYCLES
from .common import QuietOpt, console, err_console, fail


def simulate_cmd(
    run_dir: Annotated[Path, typer.Argument(help="A solve output folder (with a plan).")],
    case: Annotated[str | None, typer.Option(
        help="The case: a folder, workbook or database URL (default: case_path of the run).")] = None,
    cycles: Annotated[int, typer.Option(
        help=f"Replenishment cycles per unit-period (at least {MIN_CYCLES}).")] = 1000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same numbers).", min=0)] = 0,
    workers: Annotated[int | None, typer.Option(
        help=f"Processes for a plan of more than {CHUNK_UNITS:,} unit-periods (default: cores); "
             "the numbers are the same with any number.", min=1)] = None,
    dask: Annotated[str | None, typer.Option(
        help="Dask scheduler, e.g. tcp://10.0.0.5:8786: its workers run the chunks.")] = None,
    quiet: QuietOpt = False,
) -> None:
    """Simulate the plan day by day: promised vs achieved cycle service and fill rate."""
    try:
        if quiet:
            res = simulate(run_dir, case, cycles=cycles, seed=seed, workers=workers, dask=dask)
        else:
            columns = (TextColumn("simulating unit-periods day by day"), BarColumn(),
                       TaskProgressColumn(), TimeElapsedColumn(), TextColumn("left"),
                       TimeRemainingColumn())
            with Progress(*columns, console=console, transient=True) as bar:
                task = bar.add_task("simulate", total=None)

                def show(done: int, total: int) -> None:
                    bar.update(task, completed=done, total=total)

                res = simulate(run_dir, case, cycles=cycles, seed=seed, progress=show,
                               workers=workers, dask=dask)
    except SimulationError as exc:
        fail(str(exc))
    except CaseError as exc:
        fail(exc)
    except UsageError as exc:  # no Dask scheduler at --dask, or distributed not installed
        fail(str(exc))
    except BrokenProcessPool as exc:  # a worker killed (out of memory?): said, not a traceback
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False)
        raise typer.Exit(1) from None
    res.write(run_dir)
    if res.summary["profit"] is not None:
        print_segments(res.segments, res.summary, console)
    console.print(f"Wrote {Path(run_dir) / SIMULATION_CSV} and {SIMULATION_JSON} "
                  f"({res.summary['seconds']:.1f} s)", highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the ``svcplan`` app."""
    app.command("simulate")(simulate_cmd)
