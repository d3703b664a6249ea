"""End-to-end solves: invariants of the plan, outputs, exit codes, CSV vs Excel, Unicode ids."""

from __future__ import annotations

import json
from pathlib import Path

import highspy
import numpy as np
import pandas as pd
import pytest
from casefiles import write_case
from typer.testing import CliRunner

from svcplan import Case, load_case, solve
from svcplan.case.reader import write_case as write_case_tables
from svcplan.case.units import allowed_options
from svcplan.cli.app import app
from svcplan.prep.generate import generate_case

ROOT = Path(__file__).resolve().parents[1]


def check_plan_invariants(case: Case, res) -> None:
    """Every SPEC constraint holds in the returned plan, recomputed from the output tables."""
    a, p = res.assignment, res.periods
    # One level per unit and period, for every unit and period.
    units = allowed_options(case.tables)[["segment", "product"]].drop_duplicates()
    assert len(a) == len(units) * len(case.periods)
    assert not a.duplicated(["segment", "product", "period"]).any()
    # Only allowed levels.
    allowed = allowed_options(case.tables)
    ok = set(map(tuple, allowed[allowed["allowed"]][["segment", "product", "level"]].to_numpy()))
    assert set(map(tuple, a[["segment", "product", "level"]].to_numpy())) <= ok
    # Budgets: recompute spend per period from the assignment and the level fixed costs.
    fixed = case.tables["levels"].set_index("level")["fixed_cost"]
    spend = a.groupby("period")["cost"].sum() + a.groupby("period")["lift_cost"].sum()
    for period, lv in a[["period", "level"]].drop_duplicates().itertuples(index=False):
        spend[period] += fixed[lv]
    budget = case.tables["periods"].set_index("period")["budget"]
    for period, b in budget.dropna().items():
        assert spend[period] <= b * (1 + 1e-7) + 1e-6, period
    assert np.allclose(p.set_index("period")["budget_used"], spend.reindex(p["period"]))
    if case.settings.total_budget is not None:
        assert spend.sum() <= case.settings.total_budget + 1e-6
    # Inventory days.
    if case.settings.max_inventory_days is not None:
        g = a.groupby("period")
        lhs = g["safety_stock"].sum()
        rhs = case.settings.max_inventory_days / case.settings.period_days * g["units"].sum()
        assert (lhs <= rhs + 1e-6).all()
    # Tier ordering.
    if case.settings.tier_ordering:
        tiers = case.tables["segments"].set_index("segment")["tier"]
        b = a.assign(tier=a["segment"].map(tiers)).dropna(subset=["tier"])
        for _, grp in b.groupby(["product", "period"]):
            by_tier = grp.groupby("tier")["rank"].agg(["min", "max"]).sort_index()
            assert (by_tier["min"].to_numpy()[:-1] >= by_tier["max"].to_numpy()[1:]).all()
    # The objective is the discounted profit recomputed from the tables.
    disc = case.tables["periods"].set_index("period")["discount"]
    fixed_paid = a[["period", "level"]].drop_duplicates()
    fixed_by_t = fixed_paid.assign(f=fixed_paid["level"].map(fixed)).groupby("period")["f"].sum()
    profit = a.groupby("period")["total_profit"].sum() - fixed_by_t.reindex(
        a["period"].unique(), fill_value=0.0)
    recomputed = float((profit * disc.reindex(profit.index)).sum())
    assert res.objective == pytest.approx(recomputed, rel=1e-9, abs=1e-6)
    assert res.solver_objective == pytest.approx(recomputed, rel=1e-6, abs=1e-4)
    if res.bound is not None:
        assert res.objective <= res.bound + 1e-6 * max(1.0, abs(res.bound))


@pytest.fixture(scope="module")
def demo():
    case = load_case(ROOT / "data" / "demo")
    return case, solve(case, time_limit=120)


def test_demo_plan_is_valid_and_differentiated(demo):
    case, res = demo
    assert res.status == "optimal"
    assert res.mip_gap <= (case.settings.solver.mip_gap or 1e-4) + 1e-9
    check_plan_invariants(case, res)
    assert res.assignment["level"].nunique() >= 3
    # Key accounts get better service than occasional buyers.
    seg = res.segments.set_index("segment")["mean_rank"]
    assert seg["KEY"] > seg["OCCASIONAL"]


def test_small_generated_cases_hold_every_invariant(tmp_path):
    for seed in range(3):
        tables, settings = generate_case(4, 8, 4, 4, seed=seed)
        settings["total_budget"] = float(tables["periods"]["budget"].sum()) * 0.97
        case = Case.from_tables(tables, settings)
        res = solve(case, mip_gap=0.0)
        assert res.status == "optimal"
        assert res.mip_gap == pytest.approx(0.0, abs=1e-9)
        check_plan_invariants(case, res)


def test_csv_and_xlsx_give_the_same_optimum(tmp_path):
    tables, settings = generate_case(3, 6, 3, 3, seed=7)
    folder = write_case_tables(tables, settings, tmp_path / "case")
    book = write_case_tables(tables, settings, tmp_path / "case.xlsx")
    a = solve(load_case(folder), mip_gap=0.0)
    b = solve(load_case(book), mip_gap=0.0)
    assert a.status == b.status == "optimal"
    assert a.objective == pytest.approx(b.objective, rel=1e-12)
    pd.testing.assert_frame_equal(a.assignment, b.assignment)


def test_shipped_demo_workbook_is_the_demo_case():
    a = load_case(ROOT / "data" / "demo")
    b = load_case(ROOT / "data" / "demo.xlsx")
    assert a.settings == b.settings
    for name, df in a.tables.items():
        pd.testing.assert_frame_equal(df, b.tables[name], check_dtype=False, obj=name)


UNICODE = {
    "case.yaml": "name: 华东计划\n",
    "segments.csv": "segment,tier\n重点客户,1\n零售,2\n",
    "products.csv": "product,product_class,unit_margin,base_unit_cost\n绿茶,明星,10,2\n",
    "levels.csv": "level,rank,cost_multiplier\n经济,1,1\n快速,2,2\n",
    "periods.csv": "period,budget\n一月,50\n",
    "demand.csv": "segment,product,period,base_demand\n重点客户,绿茶,一月,5\n零售,绿茶,一月,5\n",
    "response.csv": "segment,level,capture\n重点客户,经济,0.5\n重点客户,快速,1\n零售,经济,0.9\n零售,快速,1\n",
}


def test_unicode_ids_end_to_end(tmp_path):
    folder = write_case(tmp_path, UNICODE)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out), "--gap", "0"])
    assert result.exit_code == 0, result.output
    a = pd.read_csv(out / "assignment.csv", encoding="utf-8")
    # Budget 50: key accounts 快速 (cost 5·1·... ) — hand check: costs = q·2·mult.
    # 重点客户: 经济 q=2.5 cost 5 profit 20; 快速 q=5 cost 20 profit 30.
    # 零售: 经济 q=4.5 cost 9 profit 36; 快速 q=5 cost 20 profit 30. Budget 50 → 快速 + 经济.
    plan = dict(zip(a["segment"], a["level"], strict=True))
    assert plan == {"重点客户": "快速", "零售": "经济"}
    assert json.loads((out / "summary.json").read_text(encoding="utf-8"))["objective"] == 66
    book = write_case_tables(load_case(folder).tables, {"name": "华东计划"}, tmp_path / "c.xlsx")
    assert solve(load_case(book), mip_gap=0).objective == pytest.approx(66)


def test_outputs_files_and_summary(tmp_path):
    folder = write_case(tmp_path, UNICODE)
    out = tmp_path / "out"
    (out).mkdir()
    (out / "kpi_segments.csv").write_text("stale")
    assert CliRunner().invoke(app, ["solve", str(folder), "-o", str(out)]).exit_code == 0
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    for key in ("status", "objective", "bound", "mip_gap", "build_seconds", "solve_seconds",
                "total_seconds", "variables", "constraints"):
        assert key in summary
    assert summary["status"] == "optimal"
    assert (out / "kpi_segments.csv").read_text(encoding="utf-8") != "stale"
    sheets = pd.read_excel(out / "results.xlsx", sheet_name=None)
    assert {"summary", "plan", "assignment", "kpi_periods", "kpi_segments", "kpi_classes"} <= set(sheets)
    periods = pd.read_csv(out / "kpi_periods.csv")
    assert periods["discounted_profit"].sum() == pytest.approx(summary["objective"])


def test_infeasible_case_exits_1_with_status(tmp_path):
    files = dict(UNICODE)
    files["periods.csv"] = "period,budget\n一月,3\n"
    folder = write_case(tmp_path, files)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out)])
    assert result.exit_code == 1
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "infeasible"
    assert summary["objective"] is None
    assert not (out / "assignment.csv").exists()


@pytest.mark.parametrize("suffix", [".mps", ".lp"])
def test_write_model_is_the_model_solved(tmp_path, suffix):
    tables, settings = generate_case(3, 5, 3, 3, seed=3)
    case = Case.from_tables(tables, settings)
    path = tmp_path / f"model{suffix}"
    res = solve(case, mip_gap=0.0, write_model=path)
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.readModel(str(path))
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert h.getInfo().objective_function_value == pytest.approx(res.objective, rel=1e-7)


def test_unexpected_failure_is_status_error_without_traceback(tmp_path, monkeypatch):

    def broken(*args, **kwargs):
        raise RuntimeError("solver exploded")

    import svcplan.cli.solve

    monkeypatch.setattr(svcplan.cli.solve, "solve", broken)
    folder = write_case(tmp_path, UNICODE)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["status"] == "error"
    assert "solver exploded" in summary["error"]


def test_case_without_units_is_invalid(tmp_path):
    files = dict(UNICODE)
    files["demand.csv"] = "segment,product,period,base_demand\n"
    result = CliRunner().invoke(app, ["validate", str(write_case(tmp_path, files))])
    assert result.exit_code == 2
    assert "demand.csv: has no rows" in result.output
