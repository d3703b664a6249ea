"""The result of one solve: status, objective, bound, gap and tidy DataFrames (pandas out).

:class:`SolveResult` is what :func:`svcplan.solve` returns and what every output is made
from: the files (:mod:`.files`), the console summary, the HTML report. It holds no solver
object. :meth:`SolveResult.summary` is the content of ``summary.json``: strict JSON, every
non-finite number written as null.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..solver.status import WITH_PLAN, Status
from .files import write_outputs

#: How outputs name the objective of each mode (case.yaml ``objective``).
SENSE_WORDS = {"profit": "profit (max)", "cost": "cost (min)", "service": "mean service (max)"}

if TYPE_CHECKING:  # only a type here: importing insight would load Pyomo and HiGHS
    from ..insight.marginals import Marginals


@dataclass
class SolveResult:
    """The outcome of one solve: status, objective, bound, gap, and tidy DataFrames.

    ``objective`` is the SPEC §4 objective of the mode ``objective_sense`` (profit, cost or
    service) of the returned plan recomputed from the output tables (it equals the solver's
    value up to round-off); ``bound`` is the best proven bound (an upper bound on profit or
    service, a lower bound on cost), ``mip_gap`` the relative gap between them. The DataFrames are empty when
    no plan was found (``has_plan`` is False).
    """

    case_name: str
    status: Status
    objective: float | None
    bound: float | None
    mip_gap: float | None
    build_seconds: float
    solve_seconds: float
    total_seconds: float
    n_variables: int = 0
    n_binaries: int = 0
    n_constraints: int = 0
    n_options: int = 0
    message: str = ""
    solver_objective: float | None = None
    warm_start_objective: float | None = None
    warm_start: str = ""  # where the starting plan came from: previous plan | lp rounding[, re-spent …] | none
    assignment: pd.DataFrame = field(default_factory=pd.DataFrame)
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    classes: pd.DataFrame = field(default_factory=pd.DataFrame)
    capacity: pd.DataFrame = field(default_factory=pd.DataFrame)  # duals: svcplan.insight.marginals
    targets: pd.DataFrame = field(default_factory=pd.DataFrame)  # kpi_targets.csv (.targets)
    #: what was optimised (case.yaml objective): profit (max), cost (min) or service (max)
    objective_sense: str = "profit"
    marginals: dict[str, Any] = field(default_factory=dict)
    case_path: str | None = None  # where the case was read from (the report's curves)
    warnings: tuple[str, ...] = ()
    explanation: pd.DataFrame = field(default_factory=pd.DataFrame)
    interrupted: bool = False
    #: how the plan was found: LP time and bound, rounded plan, neighbourhood-search rounds
    search: dict[str, Any] = field(default_factory=dict)
    #: who solved it: svcplan's own HiGHS pipeline, or a solver reached through Pyomo
    solver: str = "svcplan-highs"
    extensions: tuple[str, ...] = ()  # the --extend functions whose rows were in the model

    @property
    def has_plan(self) -> bool:
        return self.status in WITH_PLAN and not self.assignment.empty

    def summary(self) -> dict[str, Any]:
        """The content of ``summary.json`` (SPEC §6) plus a few headline KPIs."""
        def num(v):
            return None if v is None else float(v)

        out: dict[str, Any] = {
            "case": self.case_name,
            "status": self.status,
            "objective_sense": self.objective_sense,
            "objective": num(self.objective),
            "bound": num(self.bound),
            "mip_gap": num(self.mip_gap),
            "build_seconds": round(self.build_seconds, 4),
            "solve_seconds": round(self.solve_seconds, 4),
            "total_seconds": round(self.total_seconds, 4),
            "variables": self.n_variables,
            "binaries": self.n_binaries,
            "constraints": self.n_constraints,
            "options": self.n_options,
            "solver": self.solver,
            "solver_message": self.message,
            "solver_objective": num(self.solver_objective),
            "warnings": list(self.warnings),
            "interrupted": self.interrupted,
        }
        if self.search:  # how the plan was found (LP bound, rounding, neighbourhood search)
            out["search"] = {k: v for k, v in self.search.items() if k not in ("trace", "objectives")}
        if self.extensions:
            out["extensions"] = list(self.extensions)
        if self.marginals:
            out["marginals"] = dict(self.marginals)
            local = self.marginals.get("local_objective")
            if self.objective_sense == "cost" and local is not None:
                out["marginals"]["local_objective"] = -local  # a cost, like the objective
        if not self.targets.empty:
            out["targets"] = [
                {"name": r.name, "period": r.period, "required": r.required,
                 "achieved": r.achieved, "slack": r.slack,
                 "marginal_per_point": r.marginal_per_point}
                for r in self.targets.itertuples(index=False)]
        if self.case_path:
            out["case_path"] = self.case_path
        if not self.explanation.empty:
            out["explanation"] = [str(m) for m in self.explanation["message"]]
        if self.has_plan:
            out["kpis"] = self._kpis()
        return _finite(out)

    def _kpis(self) -> dict[str, Any]:
        """Headline KPIs over the horizon (NaN where undefined, e.g. inventory days without
        units served; :func:`_finite` turns those into null)."""
        p = self.periods
        return {
            "revenue": float(p["revenue"].sum()),
            "logistics_cost": float(p["logistics_cost"].sum()),
            "switching_cost": float(p["switching_cost"].sum()),
            "profit": float(p["profit"].sum()),
            "budget_used": float(p["budget_used"].sum()),
            "mean_service": _mean_service(self.assignment),
            "mean_cycle_service": _mean_service(self.assignment, "cycle_service"),
            "mean_fill_rate": _mean_service(self.assignment, "fill_rate"),
            "inventory_days": float(p["inventory_days"].mean()),
            "levels_used": int(self.assignment["level"].nunique()),
        }


    def attach_marginals(self, marg: Marginals, periods: list[str]) -> None:
        """Take the marginal values of the plan: a ``budget_dual`` column in the period KPIs,
        the capacity table (kpi_capacity.csv) and the ``marginals`` block of summary.json."""
        if not self.periods.empty:
            self.periods["budget_dual"] = self.periods["period"].map(marg.budget_duals(periods))
        self.capacity = marg.capacity_table()
        self.marginals = marg.summary(periods)

    def write(self, out_dir: str | Path, progress: Callable[[str], None] | None = None,
              xlsx_rows: int | None = None) -> Path | str:
        """Write the SPEC §6 files (summary.json last, atomically) into ``out_dir``, or the
        same outputs as tables into a database URL (one transaction); ``progress`` hears
        which file is being written; a table longer than ``xlsx_rows`` stays out of
        results.xlsx (it is in its CSV, and the workbook's summary sheet says so)."""
        return write_outputs(self, out_dir, progress=progress, xlsx_rows=xlsx_rows)


def _mean_service(a: pd.DataFrame, column: str = "service") -> float | None:
    """Demand-weighted mean of a service column over the plan (None where undefined)."""
    w = a["base_demand"]
    s = a[column]
    ok = s.notna()
    if not ok.any() or w[ok].sum() <= 0:
        return None
    return float((s[ok] * w[ok]).sum() / w[ok].sum())


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, ±inf) replaced by None and numpy scalars
    made plain, recursively: summary.json is strict JSON, and "undefined" reads as null in
    every JSON reader."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if np.isfinite(value) else None
    return value
