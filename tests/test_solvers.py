"""``--solver NAME``: the Pyomo model solved by another solver reaches the same optimum.

A generated case with every linking term (goodwill, switching, fixed costs, capacity, tier
ordering, inventory days) small enough to enumerate (3^8 plans): the brute-force oracle
(tests/oracle.py) gives the optimum; CBC and GLPK (Debian packages coinor-cbc, glpk-utils,
installed by .ci/run), HiGHS through Pyomo (appsi_highs) and gurobipy's size-limited licence
must reach it at gap 0. A solver that is not installed is skipped with the reason (CI
installs CBC and GLPK, so there they always run).
"""

from __future__ import annotations

import json
import shutil

import pytest
from oracle import best
from pyomo.opt import SolverFactory, TerminationCondition
from typer.testing import CliRunner

from svcplan import load_case, solve
from svcplan.cli.app import app
from svcplan.formulation.hooks import UsageError
from svcplan.prep.generate import generate_case, write_case
from svcplan.solver import pyomo_solvers
from svcplan.solver.options import SolverOptions
from svcplan.solver.status import Status

INSTALL = {"cbc": "apt-get install coinor-cbc", "glpk": "apt-get install glpk-utils",
           "appsi_highs": "pip install highspy", "gurobi_direct": "pip install gurobipy"}


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    tables, settings = generate_case(2, 2, 3, 2, seed=3, capacity=True, policies=False)
    return write_case(tables, settings, tmp_path_factory.mktemp("solvers") / "case")


@pytest.fixture(scope="module")
def optimum(folder):
    ref = best(folder)
    assert ref.n_plans == 3 ** 8
    return ref.objective


def _need(name: str) -> None:
    if not SolverFactory(name).available(exception_flag=False):
        pytest.skip(f"{name} is not installed here ({INSTALL[name]})")


@pytest.mark.parametrize("name", ["cbc", "glpk", "appsi_highs", "gurobi_direct"])
def test_exact_objective_with_each_solver(folder, optimum, name):
    _need(name)
    res = solve(load_case(folder), mip_gap=0.0, solver=name, marginals=False)
    assert res.status == "optimal", res.message
    assert res.objective == pytest.approx(optimum, abs=1e-6)
    assert res.bound == pytest.approx(optimum, rel=1e-6)
    assert res.summary()["solver"] == name


def test_default_stays_svcplans_pipeline(folder, optimum):
    res = solve(load_case(folder), mip_gap=0.0, marginals=False)
    assert res.summary()["solver"] == "svcplan-highs"
    assert res.objective == pytest.approx(optimum, abs=1e-6)


@pytest.mark.parametrize("name", ["cbc", "glpk"])
def test_cost_mode_cost_and_lower_bound_with_each_solver(folder, tmp_path, name):
    """Cost mode maximises −cost inside: the cost is reported positive with a lower bound
    (CBC's bound sign is flipped by Pyomo; taking its absolute value made the bound of a
    negative internal objective positive and far above the cost)."""
    _need(name)
    cost_case = tmp_path / "cost"
    shutil.copytree(folder, cost_case)
    with open(cost_case / "case.yaml", "a", encoding="utf-8") as fh:
        fh.write("\nobjective: cost\n")
    ref = solve(load_case(cost_case), mip_gap=0.0, marginals=False)
    res = solve(load_case(cost_case), mip_gap=0.0, solver=name, marginals=False)
    assert res.status == "optimal", res.message
    assert res.objective == pytest.approx(ref.objective, rel=1e-9) and res.objective > 0
    assert res.bound == pytest.approx(res.objective, rel=1e-6)


@pytest.mark.parametrize("term,plan,status", [
    (TerminationCondition.optimal, True, Status.OPTIMAL),
    (TerminationCondition.maxTimeLimit, True, Status.TIME_LIMIT),  # a plan, never "optimal"
    (TerminationCondition.maxTimeLimit, False, Status.TIME_LIMIT),
    (TerminationCondition.userInterrupt, True, Status.TIME_LIMIT),
    (TerminationCondition.infeasible, False, Status.INFEASIBLE),
    (TerminationCondition.other, True, Status.FEASIBLE),
    (TerminationCondition.error, False, Status.ERROR),
])
def test_status_mapping_is_honest(term, plan, status):
    assert pyomo_solvers._status(term, plan) == status


def test_time_limited_run_is_not_optimal(tmp_path):
    """GLPK with 1 s on a case it cannot prove in 1 s: never ``optimal``. Pyomo's GLPK
    reader does not always say the time limit stopped it: a stopped run with a plan may read
    as ``feasible`` (the issue allows either), one without a plan is ``time_limit``."""
    _need("glpk")
    tables, settings = generate_case(5, 20, 5, 4, seed=1)
    case = load_case(write_case(tables, settings, tmp_path / "hard"))
    res = solve(case, mip_gap=0.0, solver="glpk", time_limit=1, marginals=False)
    assert res.status in ("time_limit", "feasible"), res.message
    assert res.has_plan or res.status == "time_limit", res.message


def test_options_reach_the_solver_under_its_own_names():
    opts = SolverOptions(mip_gap=0.01, threads=2, time_limit=30)
    assert pyomo_solvers.solver_options("cbc", opts) == {"ratioGap": 0.01, "threads": 2}
    assert pyomo_solvers.solver_options("gurobi_direct", opts)["MIPGap"] == 0.01
    import time
    timed = SolverOptions(mip_gap=0.0, deadline=time.perf_counter() + 9.5)
    assert pyomo_solvers.solver_options("glpk", timed) == {"mipgap": 0.0, "tmlim": 10}


def test_unknown_and_missing_solvers_exit_2(folder, tmp_path):
    with pytest.raises(UsageError, match="unknown solver 'nosuch'"):
        solve(load_case(folder), solver="nosuch")
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["solve", str(folder), "--solver", "nosuch", "--out", str(out)])
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "unknown solver 'nosuch'; available here:" in said
    assert "Traceback" not in said and not out.exists()
    if SolverFactory("cplex").available(exception_flag=False):
        pytest.skip("cplex is installed here: no known-but-missing solver to try")
    r = CliRunner().invoke(app, ["solve", str(folder), "--solver", "cplex", "--out", str(out)])
    said = " ".join(r.output.split())
    assert r.exit_code == 2 and "not installed here; to install it:" in said
    assert not out.exists()


def test_cli_summary_names_the_solver(folder, optimum, tmp_path):
    _need("cbc")
    r = CliRunner().invoke(app, ["solve", str(folder), "--solver", "cbc", "--gap", "0",
                                 "--out", str(tmp_path / "run"), "--quiet"])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["solver"] == "cbc" and summary["status"] == "optimal"
    assert summary["objective"] == pytest.approx(optimum, abs=1e-6)
