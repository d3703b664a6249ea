"""Any solver Pyomo knows (``--solver cbc``), on the Pyomo model itself.

svcplan's own pipeline (:mod:`.strategy`) hands HiGHS the recorded arrays; this module is
the other door: the Pyomo model of :mod:`svcplan.formulation.blocks` (with whatever an
extension added to it) goes to ``pyomo.environ.SolverFactory(name)``. It is the one module of
the solver stage allowed to import Pyomo (``PYOMO_IN_SOLVER`` in ``tests/test_layout.py``).

The time limit, gap and threads are passed under each solver's own option names. The outcome
is mapped onto :class:`.Status` honestly: ``optimal`` only when the solver says it proved the
plan (within the gap); a run stopped by a limit is ``time_limit`` with or without a plan; a
plan without proof for another reason is ``feasible``.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import time

import numpy as np
import pyomo.environ as pyo
from pyomo.opt import SolverFactory, TerminationCondition

from ..formulation.hooks import UsageError
from ..formulation.recorder import Formulation
from ..formulation.standard_form import StandardForm
from .options import SolverOptions
from .outcome import SolveOutcome, no_plan
from .status import Status
from .strategy import DEFAULT_GAP

#: MILP solvers Pyomo reaches, and how to install each (the hint of a missing one).
MILP_SOLVERS = {
    "cbc": "apt-get install coinor-cbc (Debian/Ubuntu), or conda install -c conda-forge coincbc",
    "glpk": "apt-get install glpk-utils (Debian/Ubuntu), or conda install -c conda-forge glpk",
    "appsi_highs": "pip install highspy",
    "highs": "pip install highspy",
    "gurobi_direct": "pip install gurobipy (a size-limited licence comes with it)",
    "gurobi_persistent": "pip install gurobipy (a size-limited licence comes with it)",
    "appsi_gurobi": "pip install gurobipy (a size-limited licence comes with it)",
    "gurobi": "install Gurobi so that gurobi_cl is on the PATH",
    "cplex_direct": "pip install cplex (a size-limited Community Edition)",
    "appsi_cplex": "pip install cplex (a size-limited Community Edition)",
    "cplex": "install CPLEX so that the cplex command is on the PATH",
    "xpress_direct": "pip install xpress (a size-limited community licence comes with it)",
    "scip": "install SCIP so that the scip command is on the PATH "
            "(conda install -c conda-forge scip)",
    "appsi_cbc": "apt-get install coinor-cbc (Debian/Ubuntu)",
    "mosek_direct": "pip install mosek (needs a licence)",
}

#: Option names of (time limit, relative gap, threads) by solver family (name prefix).
_OPTION_NAMES = {
    "cbc": ("seconds", "ratioGap", "threads"),
    "appsi_cbc": ("seconds", "ratioGap", "threads"),
    "glpk": ("tmlim", "mipgap", None),
    "gurobi": ("TimeLimit", "MIPGap", "Threads"),
    "appsi_gurobi": ("TimeLimit", "MIPGap", "Threads"),
    "cplex": ("timelimit", "mipgap", "threads"),
    "appsi_cplex": ("timelimit", "mipgap", "threads"),
    "xpress": ("maxtime", "miprelstop", "threads"),
    "scip": ("limits/time", "limits/gap", None),
    "highs": ("time_limit", "mip_rel_gap", "threads"),
    "appsi_highs": ("time_limit", "mip_rel_gap", "threads"),
    "mosek": ("dparam.optimizer_max_time", "dparam.mio_tol_rel_gap", "iparam.num_threads"),
}

_LIMITS = {TerminationCondition.maxTimeLimit, TerminationCondition.maxIterations,
           TerminationCondition.maxEvaluations, TerminationCondition.userInterrupt,
           TerminationCondition.resourceInterrupt}
_INFEASIBLE = {TerminationCondition.infeasible, TerminationCondition.infeasibleOrUnbounded,
               TerminationCondition.invalidProblem}


class SolverUnavailable(UsageError):
    """``--solver NAME`` that Pyomo does not know, or knows but cannot find installed."""


def available_solvers() -> list[str]:
    """The MILP solvers of :data:`MILP_SOLVERS` that are installed here."""
    return [name for name in MILP_SOLVERS if _is_available(name)]


def _is_available(name: str) -> bool:
    try:
        return bool(SolverFactory(name).available(exception_flag=False))
    except Exception:  # a plugin whose library import fails is simply not available
        return False


def check_solver(name: str) -> None:
    """Refuse an unknown or missing solver with a message that says what to do."""
    if name not in set(SolverFactory):
        close = difflib.get_close_matches(name, list(MILP_SOLVERS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise SolverUnavailable(
            f"unknown solver {name!r}{hint}; available here: "
            f"{', '.join(available_solvers()) or 'none'} "
            f"(Pyomo also knows: {', '.join(n for n in MILP_SOLVERS if not _is_available(n))})")
    if not _is_available(name):
        hint = MILP_SOLVERS.get(name, f"install {name} so that Pyomo can find it")
        raise SolverUnavailable(f"solver {name!r} is known to Pyomo but not installed here; "
                                f"to install it: {hint}")


def solver_options(name: str, opts: SolverOptions) -> dict:
    """The time limit, gap and threads under the solver's own option names."""
    family = next((k for k in sorted(_OPTION_NAMES, key=len, reverse=True)
                   if name == k or name.startswith(k + "_")), None)
    if family is None:
        return {}
    t_name, gap_name, threads_name = _OPTION_NAMES[family]
    out: dict = {gap_name: DEFAULT_GAP if opts.mip_gap is None else float(opts.mip_gap)}
    left = opts.remaining()
    if left is not None:
        out[t_name] = max(1, int(np.ceil(left))) if name == "glpk" else max(left, 0.01)
    if opts.threads and threads_name:
        out[threads_name] = int(opts.threads)
    return out


def solve_with_pyomo(f: Formulation, sf: StandardForm, name: str, opts: SolverOptions
                     ) -> SolveOutcome:
    """Solve the Pyomo model of ``f`` with solver ``name``; ``sf`` (the same model as arrays)
    gives the column order, the option columns and the objective of the plan found."""
    check_solver(name)
    opts.say(f"solving with {name} (through Pyomo)…")
    solver = SolverFactory(name)
    start = time.perf_counter()
    try:
        results = solver.solve(f.model, tee=opts.log, load_solutions=False,
                               options=solver_options(name, opts))
    except Exception as exc:  # e.g. a size-limited licence refusing the model
        out = no_plan(sf, Status.ERROR, time.perf_counter() - start,
                      f"{type(exc).__name__}: {exc}")
        out.details["solver"] = name
        return out
    seconds = time.perf_counter() - start
    term = results.solver.termination_condition
    x = None
    if len(results.solution) > 0 and term not in _INFEASIBLE:
        # a plan cut short by the limit loads with a warning on Pyomo's log: the status says it
        with _quiet("pyomo.core"):
            f.model.solutions.load_from(results)
        x = _column_values(f, sf)
    status = _status(term, x is not None)
    objective = None if x is None else sf.objective(x)
    bound = _bound(results, objective, status, flipped=name in ("cbc", "appsi_cbc"))
    gap = None
    if objective is not None and bound is not None:
        gap = max(0.0, bound - objective) / max(abs(objective), 1e-9)
    message = f"{name}: {term}" + ("" if x is not None or status == Status.INFEASIBLE
                                   else " (no plan)")
    return SolveOutcome(
        status=status, objective=objective, bound=bound, mip_gap=gap,
        x=None if x is None else x[sf.x_cols], solve_seconds=seconds,
        n_variables=sf.n_cols, n_binaries=int(sf.integer.sum()), n_constraints=sf.n_rows,
        message=message, col_values=x, details={"warm_start": "none", "solver": name})


def _status(term, has_plan: bool) -> Status:
    """Pyomo's termination condition as our status (never ``optimal`` after a limit)."""
    if term in _INFEASIBLE:
        return Status.INFEASIBLE
    if term in _LIMITS:
        return Status.TIME_LIMIT
    if term in (TerminationCondition.optimal, TerminationCondition.locallyOptimal,
                TerminationCondition.globallyOptimal) and has_plan:
        return Status.OPTIMAL
    return Status.FEASIBLE if has_plan else Status.ERROR


def _column_values(f: Formulation, sf: StandardForm) -> np.ndarray:
    """Every column's value in standard-form order; integers rounded, unset at their bound."""
    raw = np.array([np.nan if v.value is None else float(v.value) for v in f.form.variables])
    x = np.where(np.isnan(raw), np.clip(0.0, sf.col_lower, sf.col_upper), raw)
    x[sf.integer] = np.round(x[sf.integer])
    return x


def _bound(results, objective: float | None, status: Status, flipped: bool = False
           ) -> float | None:
    """The solver's dual bound on the (maximised) objective, if it reported a valid one.

    ``flipped``: Pyomo's CBC reader reports the bound of a stopped maximisation with the sign
    of CBC's internal minimisation (``upper_bound = -1472794.2`` for a plan of 1470914.4).
    """
    reported = _finite(results.problem.upper_bound)
    if reported is None or (flipped and objective is None):
        return objective if status == Status.OPTIMAL else None
    # a flipped sign is told apart by the incumbent: the bound is the candidate at or above it
    # (abs() would be wrong for a negative objective, e.g. cost mode, which maximises −cost)
    candidates = [reported, -reported] if flipped else [reported]
    tol = 1e-6 * max(1.0, abs(objective or 0.0))
    valid = [b for b in candidates if objective is None or b >= objective - tol]
    if status == Status.OPTIMAL and objective is not None:
        return max(objective, min(valid)) if valid else objective
    return min(valid) if valid else None  # not a bound: some solvers report the incumbent


@contextlib.contextmanager
def _quiet(logger: str):
    """Raise a Pyomo logger to ERROR for the duration of the block."""
    log = logging.getLogger(logger)
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        log.setLevel(level)


def _finite(value) -> float | None:
    try:
        v = float(pyo.value(value))
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) else None
