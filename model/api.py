"""The Python API: load a case, solve it, get one result object (pandas in, pandas out).

It mirrors ``svcplan solve``: the CLI is a thin layer over :func:`load_case`, :func:`solve`
and :meth:`SolveResult.write`. No Pyomo or HiGHS object is ever returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .case.case import Case
from .case.reader import read_case
from .case.validate import validate

#: Statuses that come with a plan.
WITH_PLAN = {"optimal", "feasible", "time_limit"}


def load_case(path: str | Path) -> Case:
    """Read and validate a case folder or ``.xlsx`` workbook; raises :class:`CaseError`."""
    return validate(read_case(path))


@dataclass
class SolveResult:
    """The outcome of one solve: status, objective, bound, gap, and tidy DataFrames.

    ``objective`` is the SPEC §4 objective of the returned plan recomputed from the output
    tables (it equals the solver's value up to round-off); ``bound`` is the best proven
    upper bound, ``mip_gap`` the relative gap between them. The DataFrames are empty when
    no plan was found (``has_plan`` is False).
    """

    case_name: str
    status: str
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
    warm_start: str = ""  # where the starting plan came from: previous plan | lp rounding | none
    assignment: pd.DataFrame = field(default_factory=pd.DataFrame)
    periods: pd.DataFrame = field(default_factory=pd.DataFrame)
    segments: pd.DataFrame = field(default_factory=pd.DataFrame)
    classes: pd.DataFrame = field(default_factory=pd.DataFrame)
    capacity: pd.DataFrame = field(default_factory=pd.DataFrame)  # duals: model.marginals
    marginals: dict[str, Any] = field(default_factory=dict)
    case_path: str | None = None  # where the case was read from (the report's curves)
    warnings: tuple[str, ...] = ()
    explanation: pd.DataFrame = field(default_factory=pd.DataFrame)
    interrupted: bool = False
    #: how the plan was found: LP time and bound, rounded plan, neighbourhood-search rounds
    search: dict[str, Any] = field(default_factory=dict)

    @property
    def has_plan(self) -> bool:
        return self.status in WITH_PLAN and not self.assignment.empty

    def summary(self) -> dict[str, Any]:
        """The content of ``summary.json`` (SPEC §6) plus a few headline KPIs."""
        def num(v):
            return None if v is None or not np.isfinite(v) else float(v)

        out: dict[str, Any] = {
            "case": self.case_name,
            "status": self.status,
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
            "solver_message": self.message,
            "solver_objective": num(self.solver_objective),
            "warnings": list(self.warnings),
            "interrupted": self.interrupted,
        }
        if self.search:  # how the plan was found (LP bound, rounding, neighbourhood search)
            out["search"] = {k: v for k, v in self.search.items() if k not in ("trace", "objectives")}
        if self.marginals:
            out["marginals"] = self.marginals
        if self.case_path:
            out["case_path"] = self.case_path
        if not self.explanation.empty:
            from .insight.explain import explanation_lines

            out["explanation"] = explanation_lines(self.explanation)
        if self.has_plan:
            p = self.periods
            out["kpis"] = {
                "revenue": float(p["revenue"].sum()),
                "logistics_cost": float(p["logistics_cost"].sum()),
                "switching_cost": float(p["switching_cost"].sum()),
                "profit": float(p["profit"].sum()),
                "budget_used": float(p["budget_used"].sum()),
                "mean_service": _mean_service(self.assignment),
                "inventory_days": float(p["inventory_days"].mean()),
                "levels_used": int(self.assignment["level"].nunique()),
            }
        return out

    def write(self, out_dir: str | Path) -> Path:
        """Write the SPEC §6 files (summary.json last, atomically) into ``out_dir``."""
        from .outputs.files import write_outputs

        return write_outputs(self, Path(out_dir))


def _mean_service(a: pd.DataFrame) -> float | None:
    w = a["base_demand"]
    s = a["service"]
    ok = s.notna()
    if not ok.any() or w[ok].sum() <= 0:
        return None
    return float((s[ok] * w[ok]).sum() / w[ok].sum())


def solve(
    case: Case,
    *,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    write_model: str | Path | None = None,
    warm_start: bool = True,
    log: bool = False,
    marginals: bool = True,
    start: pd.DataFrame | None = None,
    explain: bool = True,
    progress: Callable[[str], None] | None = None,
) -> SolveResult:
    """Build and solve the SPEC model of ``case``; arguments override case.yaml ``solver:``.

    ``marginals`` adds shadow prices of budgets and capacities (:mod:`model.marginals`).
    ``start``: a previous plan (an assignment table, e.g. the last scenario's) to start
    from, repaired to the budgets; without one (or if it stays infeasible) the LP-rounding
    warm start is used.
    ``explain``: when the case is infeasible, find the smallest relaxation that gives a plan
    (:mod:`model.explain`; a few more solves) and put it in ``SolveResult.explanation``.
    ``progress``: called with one short line per phase (LP bound, search gap, …).
    """
    from .formulation.blocks import create_model, prepare
    from .outputs.tables import assignment_table, choose, group_table, period_table, recomputed_objective
    from .solver.strategy import SolverOptions, solve_model

    t0 = time.perf_counter()
    cfg = case.settings.solver
    opts = SolverOptions(
        time_limit=time_limit if time_limit is not None else cfg.time_limit,
        mip_gap=mip_gap if mip_gap is not None else cfg.mip_gap,
        threads=threads if threads is not None else cfg.threads,
        write_model=Path(write_model) if write_model else None,
        warm_start=warm_start,
        log=log,
        progress=progress,
    )
    opts.say("building the model…")
    if opts.time_limit is not None:  # the limit bounds the whole run, build included
        opts = replace(opts, deadline=t0 + float(opts.time_limit))
    data = prepare(case)
    m = create_model(data)
    groups = [np.arange(s, e) for s, e in zip(data.group_start, data.group_end, strict=True)]
    build_seconds = time.perf_counter() - t0
    x_start = None
    if start is not None and warm_start and not start.empty:
        from .solver.warmstart import start_vector

        x_start = start_vector(data.options, start, case)
    u = data.options["u"].to_numpy()
    cluster = np.zeros(int(u.max()) + 1 if len(u) else 0, dtype=np.int64)
    cluster[u] = pd.factorize(data.options["product"])[0]  # tier ordering links a product's units
    out = solve_model(m, groups, data.options["u"].to_numpy()[data.group_start], opts, x_start,
                      cluster=cluster)
    res = SolveResult(
        case_name=case.name,
        status=out.status,
        objective=out.objective,
        bound=out.bound,
        mip_gap=out.mip_gap,
        build_seconds=build_seconds,
        solve_seconds=out.solve_seconds,
        total_seconds=time.perf_counter() - t0,
        n_variables=out.n_variables,
        n_binaries=out.n_binaries,
        n_constraints=out.n_constraints,
        n_options=len(data.options),
        message=out.message,
        solver_objective=out.objective,
        warm_start_objective=out.warm_start_objective,
        warm_start=out.details.get("warm_start", ""),
        warnings=case.warnings,
        case_path=str(Path(case.source).resolve()) if Path(case.source).exists() else None,
        interrupted=bool(out.details.get("interrupted")),
        search=dict(out.details.get("search", {})),
    )
    if out.status == "error":
        res.message = (f"the solver could not solve the model (HiGHS: {out.message}); extreme "
                       "numbers in the case (very large or very small) are the usual cause")
    if out.status == "infeasible" and explain:
        from .insight.explain import explain as smallest_relaxation

        try:
            res.explanation = smallest_relaxation(
                case, time_limit=opts.time_limit, threads=opts.threads
            )
        except Exception as exc:  # the proof of infeasibility stands even if explaining fails
            res.explanation = pd.DataFrame(
                [{"kind": "note", "message": f"note: no explanation ({type(exc).__name__}: {exc})"}]
            )
    if out.x is not None:
        chosen = choose(data.options, out.x)
        a = assignment_table(case, chosen, data.levels, data.unit_periods)
        res.assignment = a
        res.periods = period_table(case, a, data.levels)
        res.segments = group_table(a, "segment")
        res.classes = group_table(a, "product_class")
        res.objective = recomputed_objective(res.periods)
        if marginals and out.col_values is not None:
            from .insight.marginals import attach, marginal_values

            attach(res, marginal_values(m, out.col_values, groups, case.periods), case.periods)
    res.total_seconds = time.perf_counter() - t0
    return res
