"""Objective modes (case.yaml ``objective: profit | cost | service``): exact optima against the
brute-force oracle, the mode's own value and sign in every output, every solve path (LP
bound, priced bound, warm start, marginals) in every mode, and bad settings refused."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from modecases import make, oracle
from typer.testing import CliRunner

from svcplan import Case, CaseError, load_case, solve
from svcplan.cli.app import app
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.formulation.rows import RowKind
from svcplan.formulation.standard_form import standard_form
from svcplan.insight.marginals import marginal_values
from svcplan.prep.generate import generate_case
from svcplan.solver import pricing
from svcplan.solver.options import SolverOptions
from svcplan.solver.strategy import solve_model

TIGHT = "period,budget,discount\nM1,640,1\nM2,640,0.95\n"


@pytest.mark.parametrize("settings", [
    "objective: profit\n", "objective: cost\n", "objective: service\n",
    "objective: service\nservice_weight: equal\n"])
def test_modes_exact_optimum(tmp_path, settings):
    folder = make(tmp_path, settings=settings, periods_csv=TIGHT)
    expected = oracle(folder)
    res = solve(load_case(folder), mip_gap=0, marginals=False)
    assert res.status == "optimal" and res.objective_sense == settings.split()[1]
    assert res.objective == pytest.approx(expected.objective, rel=1e-9)
    assert res.solver_objective == pytest.approx(expected.objective, rel=1e-9)


def test_the_modes_choose_different_plans(tmp_path):
    """Not three names for one plan: profit, cost and service optima differ (oracle)."""
    response = ("segment,level,capture\nKEY,LOW,0.8\nKEY,MID,0.9\nKEY,HIGH,1\n"
                "SMALL,LOW,0.85\nSMALL,MID,0.92\nSMALL,HIGH,1\n")  # better service sells more
    plans = [oracle(make(tmp_path, settings=f"objective: {m}\n", periods_csv=TIGHT, name=m,
                         response_csv=response)).plan for m in ("profit", "cost", "service")]
    assert plans[0] != plans[1] and plans[1] != plans[2] and plans[0] != plans[2]


def test_cost_is_positive_with_a_lower_bound_in_every_output(tmp_path):
    folder = make(tmp_path, settings="objective: cost\n", periods_csv=TIGHT)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out), "--gap", "0.2"])
    assert result.exit_code == 0, result.output
    assert "cost (min)" in result.output
    s = json.loads((out / "summary.json").read_text())
    assert s["objective_sense"] == "cost" and s["objective"] > 0
    assert s["bound"] <= s["objective"] + 1e-9 and s["solver_objective"] > 0
    periods = pd.read_csv(out / "kpi_periods.csv")
    spend = (periods["logistics_cost"] + periods["switching_cost"]) * periods["discount"]
    assert s["objective"] == pytest.approx(spend.sum(), rel=1e-9)
    import openpyxl
    sheet = openpyxl.load_workbook(out / "results.xlsx")["summary"]
    assert ("objective_sense", "cost") in [(r[0].value, r[1].value) for r in sheet.iter_rows()]


@pytest.mark.parametrize("line,words", [
    ("objective: costs\n", "did you mean 'cost'"),
    ("service_metric: fillrate\n", "did you mean 'fill_rate'"),
    ("service_weight: equals\n", "did you mean 'equal'"),
])
def test_bad_mode_settings_exit_2(tmp_path, line, words):
    folder = make(tmp_path, settings=line)
    with pytest.raises(CaseError) as exc:
        load_case(folder)
    p = exc.value.problems[0]
    assert words in p.message and p.file.endswith("case.yaml") and p.column == line.split(":")[0]
    result = CliRunner().invoke(app, ["validate", str(folder)])
    assert result.exit_code == 2


def _generated(mode: str, min_service: float | None = 0.89) -> Case:
    tables, settings = generate_case(2, 6, 3, 3, seed=3)
    if min_service is not None:
        tables["targets"] = pd.DataFrame({"name": ["ALL"], "period": ["*"],
                                          "min_service": [str(min_service)]})
    return Case.from_tables(tables, dict(settings, objective=mode))


@pytest.mark.parametrize("mode", ["cost", pytest.param("service", marks=pytest.mark.slow)])
def test_every_solve_path_agrees_in_every_mode(mode, monkeypatch):
    """Plain branch-and-bound, the LP-rounding start, the priced bound (forced) and a warm
    start from the previous plan give the same exact optimum, with a bound on the right side."""
    case = _generated(mode)
    plain = solve(case, mip_gap=0, warm_start=False, marginals=False)
    warm = solve(case, mip_gap=0, marginals=False, start=plain.assignment)  # + LP rounding
    monkeypatch.setattr(pricing, "MIN_COLUMNS", 0)
    # the priced bound needs many units to meet a pooled target by prices alone (a small
    # case falls back to the whole LP): priced here without the target
    priced = solve(_generated(mode, None), mip_gap=0, marginals=False)
    priced_plain = solve(_generated(mode, None), mip_gap=0, warm_start=False, marginals=False)
    assert priced.search["lp_method"] == "prices"
    assert warm.objective == pytest.approx(plain.objective, rel=1e-9)
    assert priced.objective == pytest.approx(priced_plain.objective, rel=1e-9)
    for r in (plain, warm, priced):
        lower_is_better = mode == "cost"
        assert (r.bound <= r.objective + 1e-9) if lower_is_better else (r.bound >= r.objective - 1e-9)
    assert plain.targets["achieved"].iloc[0] >= 0.89 - 1e-9


def test_target_marginal_is_the_local_lp_derivative():
    """The dual the kpi table prices a point with is d(objective)/d(rhs) of the local LP:
    moving the target row's right-hand side changes the local optimum by dual × shift."""
    case = _generated("cost")
    d = prepare(case)
    sf = standard_form(create_model(d))
    out = solve_model(sf, SolverOptions(mip_gap=0))
    groups = [np.arange(s, e) for s, e in zip(d.group_start, d.group_end, strict=True)]
    base = marginal_values(sf, out.col_values, groups, case.periods)
    key = (RowKind.TARGET, ("ALL", "*"))
    dual = base.target_duals()[("ALL", "*")]
    assert dual > 0  # the target binds: relaxing it (rhs up) lowers the cost
    h = 1e-3
    shifted = marginal_values(sf, out.col_values, groups, case.periods, shift={key: h})
    assert (shifted.local_objective - base.local_objective) / h == pytest.approx(dual, rel=1e-4)
