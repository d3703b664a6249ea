"""Infeasibility explained: the smallest relaxation, in planner terms, per kind of limit.

Each case is infeasible for one reason whose size can be computed by hand; the test checks
the reported shortfall, the policy share, and that relaxing the limit by the reported amount
really gives a plan (the explanation is sufficient, not just plausible).
"""

from __future__ import annotations

import json

import pytest
from casefiles import write_case
from trustcase import BASE
from typer.testing import CliRunner

from svcplan import load_case, solve
from svcplan.cli.app import app

# KEY×P: 100 units at margin 10, cost 4 (x1.6 at S); OTH×Q: 50 units, cost 3 (x1 at B).
TIGHT = {
    "case.yaml": "name: tight",
    "segments.csv": "segment,tier\nKEY,1\nOTH,2",
    "products.csv": "product,product_class,unit_margin,base_unit_cost\nP,star,10,4\nQ,std,8,3",
    "levels.csv": "level,rank,cost_multiplier\nB,1,1.0\nG,2,1.25\nS,3,1.6",
    "periods.csv": "period,budget\n2025-01,1000\n2025-02,300",
    "demand.csv": """
        segment,product,period,base_demand
        KEY,P,2025-01,100
        KEY,P,2025-02,100
        OTH,Q,2025-01,50
        OTH,Q,2025-02,50
    """,
    "policies.csv": "segment,product_class,min_level,max_level\nKEY,star,S,",
}


def test_budget_shortfall_and_policy_share(tmp_path):
    """Period 2: the cheapest allowed plan is KEY at S (100*4*1.6 = 640) + OTH at B (150) = 790
    against 300: short by 490. Without the policy KEY takes B (400): short by 250, so the
    min-level policy accounts for 640 - 400 = 240."""
    res = solve(load_case(write_case(tmp_path, TIGHT)), mip_gap=0)
    assert res.status == "infeasible" and not res.has_plan
    ex = res.explanation
    assert list(ex["kind"]) == ["budget", "policy"]
    assert ex["period"].tolist() == ["2025-02", "2025-02"]
    assert ex["limit"].iloc[0] == pytest.approx(300)
    assert ex["needed"].iloc[0] == pytest.approx(790)
    assert ex["short_by"].iloc[0] == pytest.approx(490)
    assert ex["accounts_for"].iloc[1] == pytest.approx(240)
    assert "period 2025-02" in ex["message"].iloc[0] and "short by 490" in ex["message"].iloc[0]
    assert "min level S policy for segment KEY × class star" in ex["message"].iloc[1]
    fixed = dict(TIGHT, **{"periods.csv": "period,budget\n2025-01,1000\n2025-02,790"})
    assert solve(load_case(write_case(tmp_path, fixed, "fixed")), mip_gap=0).status == "optimal"


def test_the_explanation_reports_each_step_as_progress(tmp_path):
    """An explanation is several more solves (2–4 s each at 246k binaries): the planner's
    progress display names each, the policy lifted by its row as the table names it."""
    lines: list[str] = []
    res = solve(load_case(write_case(tmp_path, TIGHT)), mip_gap=0, progress=lines.append)
    assert res.status == "infeasible"
    assert [line for line in lines if line.startswith("explaining")] == [
        "explaining: the smallest relaxation of the limits…",
        "explaining: policies row 2 lifted alone (1 of 1)…"]
    assert "(policies row 2)" in res.explanation["message"].iloc[1]  # its line in policies.csv


def test_cli_exit_1_with_explanation_everywhere(tmp_path):
    folder = write_case(tmp_path, TIGHT)
    out = tmp_path / "out"
    r = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out)])
    assert r.exit_code == 1, r.output
    assert "short by 490" in r.output and "accounts for 240" in r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "infeasible"
    assert summary["explanation"][0].startswith("period 2025-02: the cheapest plan")
    csv = (out / "infeasibility.csv").read_text(encoding="utf-8-sig")  # outputs carry a BOM
    assert csv.splitlines()[0].startswith("kind,period,resource,segment,product,limit,needed")
    assert not (out / "assignment.csv").exists()


def test_capacity_shortfall(tmp_path):
    """Every level uses 1 WH per unit; the least-capturing level B serves 100*0.7 + 50.5*0.8
    = 110.4 units in 2025-01 against a capacity of 100: short by 10.4."""
    files = dict(BASE)
    files["usage.csv"] = "level,resource,per_unit\nB,WH,1\nG,WH,1\nS,WH,1"
    files["capacity.csv"] = "resource,period,capacity\nWH,2025-01,100"
    res = solve(load_case(write_case(tmp_path, files)), mip_gap=0)
    assert res.status == "infeasible"
    (row,) = res.explanation.itertuples()
    assert (row.kind, row.period, row.resource) == ("capacity", "2025-01", "WH")
    assert row.short_by == pytest.approx(10.4)
    assert "resource WH" in row.message and "short by 10.4" in row.message


def test_inventory_days_shortfall_is_sufficient(tmp_path):
    files = dict(BASE, **{"case.yaml": "name: inv\nmax_inventory_days: 0.5\n"})
    res = solve(load_case(write_case(tmp_path, files)), mip_gap=0)
    assert res.status == "infeasible"
    ex = res.explanation
    assert set(ex["kind"]) == {"inventory"}
    needed = ex["needed"].max()
    assert needed > 0.5
    assert "days of safety stock against max_inventory_days 0.5" in ex["message"].iloc[0]
    files["case.yaml"] = f"name: inv\nmax_inventory_days: {needed + 1e-6}\n"
    assert solve(load_case(write_case(tmp_path, files, "ok")), mip_gap=0).has_plan


def test_tier_ordering_against_policies(tmp_path):
    """KEY (tier 1) may use at most B, OTH (tier 2) at least G, on the same product: every
    period violates tier ordering; each policy alone accounts for the whole inversion."""
    files = dict(BASE)
    files["case.yaml"] = "name: tiers\ntier_ordering: true\n"
    files["demand.csv"] = BASE["demand.csv"].replace("OTH,Q", "OTH,P")
    files["policies.csv"] = "segment,product_class,min_level,max_level\nKEY,,,B\nOTH,,G,"
    res = solve(load_case(write_case(tmp_path, files)), mip_gap=0)
    assert res.status == "infeasible"
    ex = res.explanation
    limits = ex[ex["kind"] == "tier_order"]
    assert limits["period"].tolist() == ["2025-01", "2025-02", "2025-03"]
    assert (limits["short_by"] == 1).all()
    assert "tier ordering needs segment KEY (tier 1) at a rank >= segment OTH (tier 2)" in (
        limits["message"].iloc[0])
    shares = ex[ex["kind"] == "policy"]["policy"]
    assert any("max level B policy for segment KEY" in p for p in shares)
    assert any("min level G policy for segment OTH" in p for p in shares)


def test_max_changes_forced_by_a_policy(tmp_path):
    """KEY×P is at S today, the policy caps it at G and max_changes is 0: one change needed."""
    files = dict(BASE)
    files["case.yaml"] = "name: mc\nmax_changes: 0\n"
    files["current.csv"] = "segment,product,level\nKEY,P,S"
    files["policies.csv"] = "segment,product_class,min_level,max_level\nKEY,,,G"
    res = solve(load_case(write_case(tmp_path, files)), mip_gap=0)
    assert res.status == "infeasible"
    ex = res.explanation
    assert ex["kind"].tolist() == ["max_changes", "policy"]
    assert (ex["segment"].iloc[0], ex["product"].iloc[0]) == ("KEY", "P")
    assert ex["needed"].iloc[0] == pytest.approx(1)
    assert "unit (KEY, P): needs 1 level changes against max_changes 0" in ex["message"].iloc[0]
    assert ex["accounts_for"].iloc[1] == pytest.approx(1)


def test_feasible_case_has_no_explanation(tmp_path):
    res = solve(load_case(write_case(tmp_path, BASE)), mip_gap=0)
    assert res.status == "optimal" and res.explanation.empty
    assert "explanation" not in res.summary()


def test_a_failing_explanation_keeps_the_infeasible_status(tmp_path, monkeypatch):

    def broken(*a, **k):
        raise RuntimeError("boom")

    import svcplan.insight.explain

    monkeypatch.setattr(svcplan.insight.explain, "explain", broken)
    res = solve(load_case(write_case(tmp_path, TIGHT)), mip_gap=0)
    assert res.status == "infeasible"
    assert res.explanation["message"].tolist() == ["note: no explanation (RuntimeError: boom)"]
    assert solve(load_case(write_case(tmp_path, TIGHT, "t2")), explain=False).explanation.empty


def test_elastic_start_never_names_a_larger_relaxation(tmp_path):
    """The explanation starts from the thriftiest plan: here that plan changes KEY×P's
    level twice (weighted slack 2) while the minimum is one change (1). The Lagrangian bound
    must not call that start minimal; HiGHS then reports the optimum but (on this tiny
    case) hands back the start's columns; the answer must still be the minimum, with the
    start or without it."""
    import numpy as np

    from svcplan.insight import elastic as el
    from svcplan.insight import explain as ex
    from svcplan.solver import highs

    files = dict(BASE)
    files["case.yaml"] = "name: mc\nmax_changes: 0\n"
    files["current.csv"] = "segment,product,level\nKEY,P,S"
    files["policies.csv"] = "segment,product_class,min_level,max_level\nKEY,,,G"
    case = load_case(write_case(tmp_path, files))
    data, sf = ex._build(case)
    rows, signs, weights = el.elastic_rows(sf, ex._row_sizes(sf, ex._scales(case, data)))
    elastic = el.with_slack(sf, rows, signs, weights)
    start = el.thrifty_start(sf, elastic, 1)
    assert start is not None and elastic.objective(start) == pytest.approx(-2.0)
    plain = highs.solve_mip(elastic, threads=1, rel_gap=1e-6)
    assert not el.start_is_minimal(sf, rows, signs, weights, start, None, 1)
    out = el.solve_elastic(sf, rows, signs, weights, 60.0, 1)
    assert plain.objective == pytest.approx(-1.0)
    assert elastic.objective(out.x) == pytest.approx(-1.0)
    assert np.all(out.x[sf.n_cols:] >= -1e-9)


def test_budget_no_plan_can_meet_is_proven_from_the_limits_alone(tmp_path):
    """Period 2 of TIGHT needs 790 (KEY must be at S) against 300: the cheapest option of
    every unit-period already costs more, which proves the case infeasible before any LP
    (svcplan.solver.floors); the explanation (from the model the solve built) names the
    same 490 as with a fresh build."""
    from svcplan.insight import explain as ex

    res = solve(load_case(write_case(tmp_path, TIGHT)), mip_gap=0)
    assert res.status == "infeasible"
    assert "limits alone: budget[1] reaches at least 790.00 against its limit 300.00" in (
        res.message)
    fresh = ex.explain(load_case(write_case(tmp_path / "again", TIGHT)), threads=1)
    budget = res.explanation[res.explanation["kind"] == "budget"]
    assert budget["short_by"].tolist() == pytest.approx([490.0])
    assert fresh[fresh["kind"] == "budget"]["short_by"].tolist() == pytest.approx([490.0])


def test_infeasible_lp_relaxation_is_proven_without_branch_and_bound(tmp_path):
    """Tier ordering against two policies (as in test_tier_ordering_against_policies) is no
    dense limit, so the floors prove nothing: the LP relaxation has no solution, which
    proves the case infeasible without branch-and-bound."""
    files = dict(BASE)
    files["case.yaml"] = "name: tiers\ntier_ordering: true\n"
    files["demand.csv"] = BASE["demand.csv"].replace("OTH,Q", "OTH,P")
    files["policies.csv"] = "segment,product_class,min_level,max_level\nKEY,,,B\nOTH,,G,"
    res = solve(load_case(write_case(tmp_path, files)), mip_gap=0, explain=False)
    assert res.status == "infeasible"
    assert res.message == "Infeasible (the LP relaxation has no solution)"


def test_elastic_weights_are_relative_to_each_limit(tmp_path):
    """Every one-sided elastic row gets a slack weighed by 1 / the size of its limit: the
    budget by its amount, the inventory limit by its typical days × units, a service
    target by its number of units (its slack counts in service points). Checked row by row
    against that definition."""
    import numpy as np

    from svcplan.formulation.rows import ELASTIC, RowKind
    from svcplan.insight import elastic as el
    from svcplan.insight import explain as ex

    files = dict(TIGHT, **{"case.yaml": "name: w\nmax_inventory_days: 20\n",
                           "targets.csv": "min_service,name\n0.5,all"})
    case = load_case(write_case(tmp_path, files))
    data, sf = ex._build(case)
    scale = ex._scales(case, data)
    rows, signs, weights = el.elastic_rows(sf, ex._row_sizes(sf, scale))
    expected = {}
    for k, (kind, idx) in enumerate(sf.rows):
        lo, hi = sf.row_lower[k], sf.row_upper[k]
        if kind not in ELASTIC or np.isfinite(lo) == np.isfinite(hi):
            continue
        size = scale.get((kind, idx), scale.get(kind, 1.0))
        rhs = hi if np.isfinite(hi) else lo
        expected[k] = (-1.0 if np.isfinite(hi) else 1.0, 1.0 / max(abs(rhs), size, 1.0))
    assert rows.tolist() == sorted(expected)
    assert signs.tolist() == [expected[k][0] for k in rows.tolist()]
    assert weights.tolist() == pytest.approx([expected[k][1] for k in rows.tolist()])
    kinds = {sf.rows[int(k)][0] for k in rows}
    assert {RowKind.BUDGET, RowKind.INVENTORY, RowKind.TARGET} <= kinds
    target = [w for k, w in zip(rows.tolist(), weights.tolist(), strict=True)
              if sf.rows[k][0] == RowKind.TARGET]
    assert target and all(w < 1.0 for w in target)  # weighed by its units, not by 1


def test_a_thriftiest_start_that_is_minimal_needs_no_mip(tmp_path, monkeypatch):
    """TIGHT is short of money only, so the thriftiest plan is the minimal relaxation, with
    its policy and without it: the Lagrangian bound (svcplan.insight.elastic) proves both,
    and the explanation (490 short, 240 of it the policy's) comes without any elastic MIP."""
    from svcplan.insight import elastic as el
    from svcplan.insight import explain as ex

    def no_mip(*a, **k):
        raise AssertionError("an elastic MIP ran")

    monkeypatch.setattr(el, "elastic_mip", no_mip)
    table = ex.explain(load_case(write_case(tmp_path, TIGHT)), threads=1)
    assert table["short_by"].dropna().tolist() == pytest.approx([490.0])
    assert table["accounts_for"].dropna().tolist() == pytest.approx([240.0])


def test_the_proof_agrees_with_the_mip_on_the_demo():
    """The demo at half its budget (four periods short): the thriftiest start is proven
    minimal, and HiGHS's elastic MIP from that start proves the same minimum with its own
    bound."""
    from test_sweep import _scaled

    from svcplan.insight import elastic as el
    from svcplan.insight import explain as ex
    from svcplan.solver import highs

    case = _scaled(load_case("data/demo"), 0.5)
    data, sf = ex._build(case)
    rows, signs, weights = el.elastic_rows(sf, ex._row_sizes(sf, ex._scales(case, data)))
    elastic = el.with_slack(sf, rows, signs, weights)
    start = el.thrifty_start(sf, elastic, 1)
    assert el.start_is_minimal(sf, rows, signs, weights, start, None, 1)
    mip = highs.solve_mip(elastic, threads=1, rel_gap=1e-9, start=start)
    assert mip.status == "optimal"
    assert mip.bound == pytest.approx(elastic.objective(start), rel=1e-6)


@pytest.mark.parametrize("source", ["demo", "generated"])
def test_lifting_a_policy_filters_the_option_table_of_no_policy(source):
    """The explanation builds the case with each policy lifted from the option table of the
    case without any policy, filtered to what the other policies allow: for every policy
    that must be the option table a build from scratch gives, row for row. Both cases have
    a min-level and a max-level policy."""
    import pandas as pd

    from svcplan import Case
    from svcplan.economics.options import option_table
    from svcplan.insight import explain as ex
    from svcplan.prep.generate import generate_case

    cases = {"demo": lambda: load_case("data/demo"),
             "generated": lambda: Case.from_tables(*generate_case(4, 12, 4, 3, seed=2))}
    case = cases[source]()
    policies = case.tables["policies"]
    assert len(policies) >= 2
    every = ex._every_option(case)
    assert len(every) > len(option_table(case))  # the policies forbid some options
    for row in policies.index:
        lifted = ex._without_policy(case, row)
        pd.testing.assert_frame_equal(ex._allowed_rows(every, lifted), option_table(lifted))
    pd.testing.assert_frame_equal(ex._allowed_rows(every, case), option_table(case))
