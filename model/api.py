"""The Python API: load a case, solve it, get one result object (pandas in, pandas out);
simulate a solved plan (:func:`simulate`, from :mod:`svcplan.simulation.run`).

It mirrors ``svcplan solve``: the CLI is a thin layer over :func:`load_case`, :func:`solve`
and :meth:`SolveResult.write`. No Pyomo or HiGHS object is ever returned.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .case.case import Case
from .case.validate import load_case
from .formulation.data import prepare, product_clusters
from .outputs.result import SolveResult
from .outputs.tables import assignment_table, choose, group_table, period_table
from .outputs.targets import mode_objective, target_table
from .simulation.run import SimulationResult, simulate
from .solver.interrupts import Deferred, finish_first
from .solver.options import SolverOptions
from .solver.status import Status
from .solver.warmstart import start_vector

if TYPE_CHECKING:  # the solver stages load on the first solve (see solve)
    from .formulation.data import ModelData
    from .formulation.standard_form import StandardForm
    from .insight.marginals import Marginals
    from .solver.outcome import SolveOutcome
    from .solver.sweep import Sweep

__all__ = ["SimulationResult", "SolveResult", "load_case", "simulate", "solve"]


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
    solver: str | None = None,
    extend: Callable | Sequence[Callable] | None = None,
    sweep: Sweep | None = None,
    dask: str | None = None,
) -> SolveResult:
    """Build and solve the SPEC model of ``case``; arguments override case.yaml ``solver:``.

    ``marginals`` adds shadow prices of budgets and capacities (:mod:`svcplan.insight.marginals`).
    ``start``: a previous plan (an assignment table, e.g. the last scenario's) to start
    from, repaired to the budgets; without one (or if it stays infeasible) the LP-rounding
    warm start is used.
    ``explain``: when the case is infeasible, find the smallest relaxation that gives a plan
    (:mod:`svcplan.insight.explain`; a few more solves) and put it in ``SolveResult.explanation``.
    ``progress``: called with one short line per phase (LP bound, search gap, …).
    ``solver``: a solver Pyomo knows (``"cbc"``, ``"glpk"``, ``"gurobi_direct"``, …) solves the
    Pyomo model instead of svcplan's HiGHS pipeline (:mod:`svcplan.solver.pyomo_solvers`).
    ``extend``: a function ``f(m, h)`` (or several) adding Pyomo rows to the model; every solve
    path honours them (:mod:`svcplan.formulation.extend`). A solver or extension that cannot
    be used raises :class:`svcplan.formulation.hooks.UsageError`.
    ``sweep``: one :class:`~svcplan.solver.sweep.Sweep` handed to consecutive solves of a
    budget sweep; when only the budgets changed since its last case, the model is not
    rebuilt and the bound starts from the last point's prices and basis (not used with
    ``solver`` or ``extend``).
    ``dask``: a Dask scheduler address (``tcp://host:8786``); the product blocks of a large
    model's bound are solved on that cluster's workers (:mod:`svcplan.solver.cluster`), the
    rest of the solve here.
    Raises :class:`CaseError` when the case is estimated not to fit in the memory available
    (:mod:`svcplan.solver.memory`).
    """
    extensions = [] if extend is None else [extend] if callable(extend) else list(extend)
    _refuse_early(case, solver, dask)
    if solver is not None or extensions:
        sweep = None  # they read and change the Pyomo model: build it afresh
    t0 = time.perf_counter()
    opts = _solver_options(case, t0, time_limit=time_limit, mip_gap=mip_gap, threads=threads,
                           write_model=write_model, warm_start=warm_start, log=log, dask=dask,
                           progress=progress)
    opts.say("building the model…")
    data, sf, pyomo_model = _build(case, solver, extensions, sweep)
    build_seconds = time.perf_counter() - t0
    if solver is not None:
        from .solver import highs
        from .solver.pyomo_solvers import solve_with_pyomo

        if opts.write_model:
            highs.write_model(sf, opts.write_model)
        out = solve_with_pyomo(pyomo_model, sf, solver, opts)
    else:
        from .solver.strategy import solve_model

        # the last plan is mapped only if the solve asks for it (0.2 s at 300k; most sweep
        # points are proven by the rounding before the previous plan is needed)
        x_start = (partial(start_vector, data.options, start, case)
                   if start is not None and warm_start and not start.empty else None)
        out = solve_model(sf, opts, x_start, cluster=product_clusters(data),
                          warm=None if sweep is None else sweep.warm)
    res = _result(case, data, out, build_seconds, t0, solver, extensions)
    if out.status == Status.INFEASIBLE and explain:
        res.explanation = _explanation(case, data, sf, opts, extensions)
    if out.x is not None:
        _attach_plan(res, case, data, sf, out, opts, marginals, sweep)
    res.total_seconds = time.perf_counter() - t0
    return res


# The modules that load Pyomo, HiGHS and scipy (~1.2 s of imports) are imported by the steps
# below on the first solve, not with the package: `svcplan validate`, `--version`, `report`
# and every batch worker start without them. The two that need Pyomo (extensions, other
# solvers) load only when asked for: Pyomo's import is 0.7 s, and svcplan's own pipeline
# solves from the recorded arrays.


def _refuse_early(case: Case, solver: str | None, dask: str | None) -> None:
    """What can be refused before anything is built is refused at once: a solver that is
    not installed, ``--dask`` with another solver, a scheduler nobody answers, a case
    estimated not to fit in memory."""
    from .formulation.hooks import UsageError
    from .solver.cluster import check_cluster
    from .solver.memory import check_fits

    if solver is not None:
        from .solver.pyomo_solvers import check_solver

        check_solver(solver)
        if dask is not None:
            raise UsageError("--dask solves svcplan's own HiGHS pipeline on a cluster; it "
                             "cannot be combined with --solver")
    if dask is not None:
        check_cluster(dask)
    check_fits(case)


def _solver_options(case: Case, t0: float, *, time_limit: float | None, mip_gap: float | None,
                    threads: int | None, write_model: str | Path | None, warm_start: bool,
                    log: bool, dask: str | None,
                    progress: Callable[[str], None] | None) -> SolverOptions:
    """The solve's options: each argument given, else case.yaml's ``solver:``; a time limit
    becomes one deadline from ``t0``, so it bounds the whole run, build included."""
    cfg = case.settings.solver
    opts = SolverOptions(
        time_limit=time_limit if time_limit is not None else cfg.time_limit,
        mip_gap=mip_gap if mip_gap is not None else cfg.mip_gap,
        threads=threads if threads is not None else cfg.threads,
        write_model=Path(write_model) if write_model else None,
        warm_start=warm_start,
        log=log,
        dask=dask,
        progress=progress,
    )
    if opts.time_limit is not None:
        opts = replace(opts, deadline=t0 + float(opts.time_limit))
    return opts


def _build(case: Case, solver: str | None, extensions: list[Callable], sweep: Sweep | None
           ) -> tuple[ModelData, StandardForm, object | None]:
    """``(data, standard form, Pyomo model)``: the sweep's model when only budgets changed
    since its last case, else built. The Pyomo components are made only where something
    reads them (another solver, an extension; svcplan's own stages read the recorded
    arrays), and only then is the model returned (else None: the recorded arrays are in the
    standard form, and are freed before the solve)."""
    if sweep is not None:
        data, sf = sweep.model(case)
        return data, sf, None
    from .formulation.blocks import create_model
    from .formulation.standard_form import standard_form
    from .solver.memory import release as release_memory

    data = prepare(case)
    f = create_model(data, pyomo=solver is not None or bool(extensions))
    if extensions:
        from .formulation.extend import apply_extension

        for function in extensions:
            apply_extension(f, data, function)
    sf = standard_form(f)
    if solver is not None:
        return data, sf, f
    del f
    release_memory(sf.n_cols)
    return data, sf, None


def _signed(value: float | None, sense: str) -> float | None:
    """The model always maximises; a cost is reported positive, its bound a lower bound."""
    return None if value is None else (-value if sense == "cost" else value)


def _result(case: Case, data: ModelData, out: SolveOutcome, build_seconds: float, t0: float,
            solver: str | None, extensions: list[Callable]) -> SolveResult:
    """The result of the solve ``out`` in the case's own objective sense, before its plan's
    tables; a solver error says what usually causes it."""
    sense = case.settings.objective
    res = SolveResult(
        case_name=case.name,
        status=out.status,
        objective=_signed(out.objective, sense),
        bound=_signed(out.bound, sense),
        mip_gap=out.mip_gap,
        objective_sense=sense,
        build_seconds=build_seconds,
        solve_seconds=out.solve_seconds,
        total_seconds=time.perf_counter() - t0,
        n_variables=out.n_variables,
        n_binaries=out.n_binaries,
        n_constraints=out.n_constraints,
        n_options=len(data.options),
        message=out.message,
        solver_objective=_signed(out.objective, sense),
        warm_start_objective=_signed(out.warm_start_objective, sense),
        warm_start=out.details.get("warm_start", ""),
        warnings=case.warnings,
        case_path=str(Path(case.source).resolve()) if Path(case.source).exists() else None,
        interrupted=bool(out.details.get("interrupted")),
        search=dict(out.details.get("search", {})),
        solver=solver or "svcplan-highs",
        extensions=tuple(_name(e) for e in extensions),
    )
    if out.status == Status.ERROR:
        res.message = (f"the solver could not solve the model ({solver}: {out.message})"
                       if solver else f"the solver could not solve the model (HiGHS: "
                       f"{out.message}); extreme numbers in the case (very large or very small) "
                       "are the usual cause")
    return res


def _explanation(case: Case, data: ModelData, sf: StandardForm, opts: SolverOptions,
                 extensions: list[Callable]) -> pd.DataFrame:
    """Why an infeasible case has no plan (:mod:`svcplan.insight.explain`). Not with an
    extension: the explanation relaxes svcplan's own rows. The proof of infeasibility
    stands even where explaining fails: that becomes a note."""
    if extensions:
        return pd.DataFrame([{"kind": "note", "message": (
            "note: no explanation: the explanation relaxes svcplan's own rows, not an "
            "extension's; solve without the extension to see whether it makes the case "
            "infeasible")}])
    from .insight import explain as insight_explain

    try:
        return insight_explain.explain(case, time_limit=opts.time_limit, threads=opts.threads,
                                       model=(data, sf), progress=opts.progress)
    except Exception as exc:
        return pd.DataFrame(
            [{"kind": "note", "message": f"note: no explanation ({type(exc).__name__}: {exc})"}]
        )


def _attach_plan(res: SolveResult, case: Case, data: ModelData, sf: StandardForm,
                 out: SolveOutcome, opts: SolverOptions, marginals: bool, sweep: Sweep | None
                 ) -> None:
    """The solved plan's tables, marginal values and service targets on ``res``. Ctrl-C
    lets the tables finish (:func:`_tables_first`) and skips the marginal values' LP: the
    planner asked to stop, not for another LP."""
    with _tables_first(opts) as press:
        _attach_tables(res, case, data, out.x)
    res.interrupted |= press.requested
    duals = None
    if marginals and out.col_values is not None and not res.interrupted:
        marg = _marginal_values(sf, data, case.periods, out, opts.remaining(), sweep)
        res.attach_marginals(marg, case.periods)
        res.interrupted |= marg.interrupted  # Ctrl-C stopped its LP
        duals = marg.target_duals()
    with _tables_first(opts) as press:
        res.targets = target_table(case, data.targets, out.x, duals)
    res.interrupted |= press.requested


#: What the progress line says when Ctrl-C comes while a solved plan's tables are built.
TABLES_FIRST = "Ctrl-C: the plan is solved; building its tables first (Ctrl-C again to abandon it)"


def _tables_first(opts: SolverOptions) -> Deferred:
    """Ctrl-C while a solved plan's tables are built (a second or two at 1M binaries) lets
    them finish, saying so: the planner asked to stop, not to lose the plan. A second press
    abandons the solve."""
    return finish_first(lambda: opts.say(TABLES_FIRST))


def _attach_tables(res: SolveResult, case: Case, data: ModelData, x: np.ndarray) -> None:
    """The plan ``x`` as ``res``'s tables (assignment, periods, segments, classes) and its
    objective in the case's own mode."""
    chosen = choose(data.options, x)
    a = assignment_table(case, chosen, data.levels, data.unit_periods)
    res.assignment = a
    res.periods = period_table(case, a, data.levels)
    res.segments = group_table(a, "segment")
    res.classes = group_table(a, "product_class")
    res.objective = mode_objective(case, res.periods, chosen)


def _marginal_values(sf: StandardForm, data: ModelData, periods: list[str], out: SolveOutcome,
                     remaining: float | None, sweep: Sweep | None) -> Marginals:
    """The plan's marginal values (:func:`svcplan.insight.marginals.plan_marginals`) within
    their time budget. In a budget sweep a local LP that ran out of its whole budget (not
    cut short by the deadline) is not tried again at the later points: the model is the same."""
    from .insight.marginals import plan_marginals
    from .insight.marginals import time_budget as marginals_budget

    groups = [np.arange(s, e) for s, e in zip(data.group_start, data.group_end, strict=True)]
    warm = None if sweep is None else sweep.warm
    seconds = marginals_budget(out.solve_seconds, remaining)
    marg = plan_marginals(sf, out.col_values, groups, periods, out.dense_prices, seconds=seconds,
                          warm=warm, basis=out.lp_basis)
    if (warm is not None and marg.out_of_time and warm.local_lp_ran_out is None
            and seconds >= marginals_budget(out.solve_seconds, None)):
        warm.local_lp_ran_out = marg.status
    return marg


def _name(function: Callable) -> str:
    """An extension's name in summary.json: ``FILE.py:FUNCTION`` when loaded from a file."""
    inner = getattr(function, "func", function)  # a functools.partial: its function's name
    return str(getattr(function, "svcplan_name", None) or getattr(inner, "__name__", function))
