"""``svcplan.simulate``: replay a solved plan as the inventory policies its levels stand for.

One door for the API and the command line: :func:`simulate` reads the run folder and its
case, checks that they match, simulates every unit-period (:mod:`.policy`), estimates the
achieved service with intervals (:mod:`.estimate`) and returns one
:class:`SimulationResult`; :meth:`SimulationResult.write` puts simulation.csv,
simulation.json and a ``simulation`` sheet of results.xlsx into the run folder.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..case.case import Case
from ..case.sources import is_database_url
from ..case.validate import load_case
from ..outputs.excel import MAX_ROWS
from ..outputs.files import SIMULATION_CSV, SIMULATION_JSON, add_sheet, write_csv, write_json_atomic
from . import estimate
from .plan import SimulationError, check_match, plan_frame, policies, profit_windows, read_run
from .policy import Outcome, simulate_policies, total_unit_days
from .report import metric_summary, profit_summary, segment_table, unit_table

#: Fewer cycles than this give intervals too wide to judge a promise of 95% or more.
MIN_CYCLES = 100
SHEET = "simulation"  # the sheet of results.xlsx


@dataclass
class SimulationResult:
    """Promised vs achieved per unit-period (``table``), by segment, and the run summary."""

    table: pd.DataFrame
    segments: pd.DataFrame
    summary: dict = field(default_factory=dict)

    @property
    def profit(self) -> pd.DataFrame:
        """Profit percentiles per period (planned, p5, p50, p95)."""
        return pd.DataFrame(self.summary["profit"]["periods"])

    def write(self, run_dir: str | Path) -> Path:
        """simulation.csv, simulation.json and the results.xlsx sheet into ``run_dir``."""
        folder = Path(run_dir)
        write_csv(self.table, folder / SIMULATION_CSV)
        write_json_atomic(folder / SIMULATION_JSON, self.summary)
        # a table longer than an Excel sheet holds stays in the CSV only, like the plan's own
        if (folder / "results.xlsx").exists() and len(self.table) <= MAX_ROWS:
            add_sheet(folder, SHEET, self.table)
        return folder


def check_cycles(cycles: int) -> None:
    """Refuse too few cycles, with the reason (SimulationError)."""
    if cycles < MIN_CYCLES:
        raise SimulationError(
            f"--cycles {cycles} is below {MIN_CYCLES}: with fewer cycles per unit-period the 95% "
            f"interval of a 95% cycle service is wider than ±4 points, too wide to tell a kept "
            f"promise from a broken one")


def simulate(run_dir: str | Path, case: str | Path | Case | None = None, *, cycles: int = 1000,
             seed: int = 0, progress: Callable[[int, int], None] | None = None,
             workers: int | None = None, dask: str | None = None) -> SimulationResult:
    """Simulate the plan in ``run_dir``. ``case``: a loaded :class:`Case`, a case path, or
    ``None`` for the ``case_path`` recorded in the run's summary.json.

    ``progress(done, total)`` is called with unit-days simulated so far. ``workers``:
    processes for a plan of more than one chunk (:data:`.policy.CHUNK_UNITS` unit-periods;
    default: the cores); ``dask``: a Dask scheduler address (``tcp://host:8786``) whose
    workers run the chunks instead. The numbers are the same either way. Raises
    :class:`SimulationError` (no plan, no case, a mismatch, too few cycles),
    :class:`~svcplan.case.case.CaseError` (an invalid case) or
    :class:`~svcplan.formulation.hooks.UsageError` (no cluster answers at ``dask``).
    """
    t0 = time.perf_counter()
    check_cycles(cycles)
    if dask is not None:
        from ..solver.cluster import check_cluster

        check_cluster(dask)  # before the run and the case are read
    run = read_run(Path(run_dir))
    c, path = _case_of(run_dir, case, run.case_path)
    check_match(c, run.assignment)
    pd_days = max(1, round(c.settings.period_days))
    f = plan_frame(c, run.assignment)
    pol, live = policies(f, pd_days)
    periods = c.periods
    planned = (run.periods.set_index("period")["profit"] if "profit" in run.periods
               else f.groupby("period")["profit"].sum())
    windows, const = profit_windows(f, live, pol, periods, planned)
    total = total_unit_days(pol, cycles, pd_days)
    out: Outcome = simulate_policies(pol, cycles, seed, pd_days, windows,
                                     _Progress(progress, total), workers or os.cpu_count() or 1,
                                     dask)
    achieved = {"cycle_service": estimate.cycle_service(out.batch_cycles, out.batch_stockouts),
                "fill_rate": estimate.fill_rate(out.batch_demand, out.batch_short)}
    table = unit_table(f, live, out.cycles, achieved)
    summary = {
        "run": str(Path(run_dir).resolve()),
        "case_path": str(Path(path).resolve()) if Path(path).exists() else str(path),
        "cycles": cycles, "seed": seed, "unit_periods": len(table), "simulated": int(len(live)),
        "weight": "units", "metrics": metric_summary(table),
        "profit": profit_summary(out.rewards, const, periods, planned) if len(live) else None,
        "unit_days": total, "seconds": round(time.perf_counter() - t0, 3),
    }
    json.dumps(summary, allow_nan=False)  # fail here, not half-way through writing
    return SimulationResult(table=table, segments=segment_table(table), summary=summary)


def _case_of(run_dir: str | Path, case: str | Path | Case | None,
             recorded: str | None) -> tuple[Case, str | Path]:
    """The case to simulate against and where it is: ``case`` itself, loaded from its
    path, or from the path the run recorded; SimulationError when there is none."""
    if isinstance(case, Case):
        return case, case.source
    path = case or recorded
    if not path or not (is_database_url(str(path)) or Path(path).exists()):
        raise SimulationError(f"the case of {run_dir} was not found ({path or 'not recorded'}): "
                              "pass it with --case")
    return load_case(path), path


@dataclass
class _Progress:
    """Counts the unit-days simulated and tells ``report(done, total)`` after each step."""

    report: Callable[[int, int], None] | None
    total: int
    done: int = 0

    def __call__(self, n: int) -> None:
        self.done += n
        if self.report is not None:
            self.report(self.done, self.total)
