"""Service targets (targets.csv): exact optima against the brute-force oracle in every
objective mode, pooled and per period, both weights; binding and slack targets and their
marginal cost; infeasible targets explained; bad input refused with file, row and column."""

from __future__ import annotations

import json

import pytest
from modecases import make, oracle
from typer.testing import CliRunner

from svcplan import CaseError, load_case, solve
from svcplan.cli.app import app

POOLED_KEY = "name,segment,period,min_service\nKEY,KEY,*,0.93\n"
PER_PERIOD_B_EQUAL = "name,product_class,period,weight,min_service\nB,B,,equal,0.9\n"
ONE_PERIOD_P1 = "name,product,period,min_service\nP1-M2,P1,M2,0.95\n"
# tight budgets: in service mode the target on SMALL takes money from KEY
SMALL_FIRST = "name,segment,period,min_service\nSMALL,SMALL,*,0.96\n"
TIGHT = "period,budget,discount\nM1,640,1\nM2,640,0.95\n"
SHORT = "period,budget,discount\nM1,600,1\nM2,600,0.95\n"


#: pooled (demand-weighted), every period separately (equal weight) and one period, together
MIXED = ("name,segment,product,product_class,period,weight,min_service\n"
         "KEY,KEY,,,*,,0.93\nB,,,B,,equal,0.9\nP1-M2,,P1,,M2,,0.95\n")


#: fill rate (SPEC §2 loss function; the levels promise 97.7–99.9%), pooled and per period
FILL = ("name,segment,period,metric,weight,min_service\nKEY,KEY,*,fill_rate,,0.985\n"
        "ALL,,,fill_rate,equal,0.98\n")


SLOW = pytest.mark.slow


@pytest.mark.parametrize("mode,targets", [
    ("profit", MIXED), ("cost", MIXED), ("service", MIXED),
    ("service", SMALL_FIRST), ("cost", FILL),
    pytest.param("profit", SMALL_FIRST, marks=SLOW), pytest.param("cost", SMALL_FIRST, marks=SLOW),
    pytest.param("profit", FILL, marks=SLOW), pytest.param("service", FILL, marks=SLOW),
])
def test_targets_exact_optimum_in_every_mode(tmp_path, mode, targets):
    metric = "service_metric: fill_rate\n" if targets == FILL else ""
    folder = make(tmp_path, settings=f"objective: {mode}\n{metric}", targets=targets,
                  periods_csv=TIGHT)
    expected = oracle(folder)
    res = solve(load_case(folder), mip_gap=0, marginals=False)
    assert expected.objective is not None
    assert res.objective == pytest.approx(expected.objective, rel=1e-9, abs=1e-9)
    assert len(res.targets) == {MIXED: 4, SMALL_FIRST: 1, FILL: 3}[targets]
    assert (res.targets["achieved"] >= res.targets["required"] - 1e-9).all()


@pytest.mark.parametrize("mode,targets", [("cost", MIXED), ("profit", MIXED),
                                          ("service", SMALL_FIRST), ("cost", FILL)])
def test_the_targets_change_the_optimum(tmp_path, mode, targets):
    """The exact cases above are not trivially slack: the targets move the optimum."""
    with_t = oracle(make(tmp_path, settings=f"objective: {mode}\n", targets=targets,
                         periods_csv=TIGHT, name="t"))
    without = oracle(make(tmp_path, settings=f"objective: {mode}\n", periods_csv=TIGHT, name="f"))
    worse = with_t.objective > without.objective if mode == "cost" else (
        with_t.objective < without.objective)
    assert worse and with_t.objective != pytest.approx(without.objective, rel=1e-6)


def test_cost_mode_binding_and_slack_target(tmp_path):
    """KEY at 93% binds in cost mode (dropping it saves money, its marginal is positive);
    everyone at 80% is met by the cheapest plan (dropping it changes nothing, no price)."""
    targets = POOLED_KEY + "FLOOR,,*,0.8\n"
    res = solve(load_case(make(tmp_path, settings="objective: cost\n", targets=targets)),
                mip_gap=0)
    t = res.targets.set_index("name")
    assert t.at["FLOOR", "slack"] >= 0 and t.at["FLOOR", "marginal_per_point"] == 0
    assert "does not bind" in t.at["FLOOR", "message"]
    assert t.at["KEY", "marginal_per_point"] > 0
    assert "costs" in t.at["KEY", "message"]
    only_floor = solve(load_case(make(tmp_path, settings="objective: cost\n",
                                      targets="name,min_service\nFLOOR,0.8\n", name="f")),
                       mip_gap=0)
    none = solve(load_case(make(tmp_path, settings="objective: cost\n", name="n")), mip_gap=0)
    assert only_floor.objective == pytest.approx(none.objective, rel=1e-12)
    assert res.objective > none.objective + 1.0


def test_marginal_cost_of_a_point_brackets_the_exact_step(tmp_path):
    """The local-LP price of one point is a lower estimate of the exact cost of raising the
    requirement (the integer plan moves in whole levels): exact step >= price > 0."""
    base = solve(load_case(make(tmp_path, settings="objective: cost\n", targets=POOLED_KEY)),
                 mip_gap=0)
    price = float(base.targets["marginal_per_point"].iloc[0])
    up = solve(load_case(make(tmp_path, settings="objective: cost\n", name="up",
                              targets=POOLED_KEY.replace("0.93", "0.94"))), mip_gap=0)
    assert price > 0
    assert up.objective - base.objective >= price * (0.94 - base.targets["achieved"].iloc[0]) \
        / 0.01 - 1e-6


def test_infeasible_target_is_explained_with_the_best_possible(tmp_path):
    targets = POOLED_KEY
    folder = make(tmp_path, settings="objective: cost\n", targets=targets, periods_csv=SHORT)
    res = solve(load_case(folder), mip_gap=0)
    assert res.status == "infeasible"
    row = res.explanation[res.explanation["kind"] == "service_target"].iloc[0]
    assert "out of reach" in row["message"] and "is the best possible" in row["message"]
    best = float(row["needed"])
    assert best < 0.93
    # the reported best is reachable, and a little more is not
    ok = make(tmp_path, settings="objective: cost\n", periods_csv=SHORT, name="ok",
              targets=targets.replace("0.93", f"{best - 1e-9:.12f}"))
    assert oracle(ok).objective is not None
    too_much = make(tmp_path, settings="objective: cost\n", periods_csv=SHORT, name="no",
                    targets=targets.replace("0.93", f"{best + 1e-4:.12f}"))
    assert oracle(too_much).objective is None


def test_outputs_kpi_targets_and_summary(tmp_path):
    folder = make(tmp_path, settings="objective: cost\n", targets=POOLED_KEY + "B,,,0.85\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out), "--gap", "0"])
    assert result.exit_code == 0, result.output
    assert "Service targets" in result.output and "cost (min)" in result.output
    kpi = (out / "kpi_targets.csv").read_text(encoding="utf-8-sig")  # outputs carry a BOM
    assert kpi.splitlines()[0].startswith("name,period,metric,weight")
    assert len(kpi.splitlines()) == 1 + 1 + 2  # KEY pooled, B in M1 and M2
    s = json.loads((out / "summary.json").read_text())
    assert s["objective_sense"] == "cost" and len(s["targets"]) == 3
    import openpyxl
    assert "kpi_targets" in openpyxl.load_workbook(out / "results.xlsx").sheetnames  # named as its CSV


BAD = {  # row of targets.csv -> (column, words of the message)
    "X1,0.9,fillrate,,": ("metric", "did you mean 'fill_rate'"),
    "X2,0.9,,demnd,": ("weight", "did you mean 'demand'"),
    "X3,0,,,": ("min_service", "out of range"),
    "X4,1.2,,,": ("min_service", "out of range"),
    "X5,0.9,,,M7": ("period", "unknown period"),
    "X1,0.9,,,": ("name", "used twice"),
}


def test_bad_targets_are_refused_with_file_row_column(tmp_path):
    """Every bad row is reported (not only the first), each with file, row and column; the
    command exits 2 and writes nothing."""
    lines = list(BAD)
    folder = make(tmp_path, targets="name,min_service,metric,weight,period\n" + "\n".join(lines)
                  + "\n")
    with pytest.raises(CaseError) as exc:
        load_case(folder)
    for k, line in enumerate(lines):
        column, words = BAD[line]
        hits = [p for p in exc.value.problems if p.column == column and words in p.message
                and p.row == k + 2]
        assert hits and hits[0].file.endswith("targets.csv"), (line, exc.value.problems)
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and not (tmp_path / "o" / "summary.json").exists()
    assert "fill_rate" in result.output


def test_unknown_segment_in_a_target(tmp_path):
    folder = make(tmp_path, targets="name,min_service,segment\nX,0.9,GHOST\n")
    with pytest.raises(CaseError) as exc:
        load_case(folder)
    assert any(p.column == "segment" and "unknown segment" in p.message and p.row == 2
               for p in exc.value.problems)


def test_a_target_matching_no_unit_is_an_error(tmp_path):
    segs = "segment\nKEY\nSMALL\nMID\n"  # MID exists but has no demand: no unit
    folder = make(tmp_path, targets="name,segment,min_service\nX,MID,0.9\n", segments_csv=segs)
    with pytest.raises(CaseError) as exc:
        load_case(folder)
    p = exc.value.problems[0]
    assert "matches no unit" in p.message and p.row == 2 and p.file.endswith("targets.csv")


def test_an_explicit_option_without_the_promise_a_target_reads_is_an_error(tmp_path):
    levels = "level,rank,lead_time_days\nLOW,1,5\nHIGH,2,5\n"
    options = ("segment,product,period,level,revenue,cost\nKEY,P1,M1,LOW,100,10\n"
               "KEY,P1,M1,HIGH,120,30\n")
    folder = make(tmp_path, targets="name,segment,min_service\nX,KEY,0.9\n", levels_csv=levels,
                  options_csv=options, current_csv="segment,product,level\n")
    with pytest.raises(CaseError) as exc:
        load_case(folder)
    bad = [p for p in exc.value.problems if p.file.endswith("options.csv")]
    assert [p.row for p in bad] == [2, 3] and bad[0].column == "cycle_service"


def test_exchange_curve_points_in_process(tmp_path):
    """Fast variant of the exchange curve: the target's points solved directly are monotone
    (cost never falls as the requirement rises) and the sweep spec is parsed strictly."""
    from svcplan.whatif.exchange import parse_target

    assert parse_target("KEY:0.9:0.98:5") == ("KEY", [0.9, 0.92, 0.94, 0.96, 0.98])
    assert parse_target("KEY:0.95,0.9") == ("KEY", [0.9, 0.95])
    for bad in ("KEY", "KEY:1.2,0.9", ":0.9:0.99:3", "KEY:0.9:0.99:1"):
        with pytest.raises(ValueError):
            parse_target(bad)
    costs = [solve(load_case(make(tmp_path, settings="objective: cost\n", periods_csv=TIGHT,
                                  name=f"p{v}", targets=POOLED_KEY.replace("0.93", str(v)))),
                   mip_gap=0, marginals=False).objective for v in (0.9, 0.92, 0.94)]
    assert costs[0] <= costs[1] <= costs[2] and costs[0] < costs[2]


@pytest.mark.slow
def test_exchange_curve_is_monotone_and_meets_each_point(tmp_path):
    """frontier --target: cost never falls as the required service rises; each plan meets
    its point; a point past what the budgets allow is infeasible (the curve ends)."""
    folder = make(tmp_path, settings="objective: cost\n", targets=POOLED_KEY, periods_csv=TIGHT)
    out = tmp_path / "ex"
    result = CliRunner().invoke(app, ["frontier", str(folder), "--target", "KEY:0.9,0.94,0.99",
                                      "--out", str(out), "--workers", "1", "--gap", "0"])
    assert result.exit_code == 1, result.output  # 0.99 is out of reach: one point has no plan
    import pandas as pd
    curve = pd.read_csv(out / "frontier.csv")
    ok = curve[curve["status"] == "optimal"]
    assert list(ok["min_service"]) == [0.9, 0.94]
    assert curve.loc[curve["min_service"] == 0.99, "status"].item() == "infeasible"
    assert (ok["achieved"] >= ok["min_service"] - 1e-9).all()
    assert ok["objective"].is_monotonic_increasing and (ok["marginal_per_point"].dropna() >= 0).all()
    # each point is the exact optimum
    exact = oracle(make(tmp_path, settings="objective: cost\n", periods_csv=TIGHT, name="p94",
                        targets=POOLED_KEY.replace("0.93", "0.94")))
    assert ok.loc[ok["min_service"] == 0.94, "objective"].item() == pytest.approx(exact.objective)
    bad = CliRunner().invoke(app, ["frontier", str(folder), "--target", "NOPE:0.9,0.95"])
    assert bad.exit_code == 2 and "no target named 'NOPE'" in bad.output


def test_scenarios_set_the_objective_and_scale_a_target(tmp_path):
    from svcplan.whatif.scenarios import Scenario, apply

    case = load_case(make(tmp_path, targets=POOLED_KEY + "B,,,0.85\n"))
    s = Scenario(name="s", set={"case.objective": "cost"}, scale={"targets.min_service": 1.02},
                 where={"name": "KEY"})
    changed = apply(case, s)
    assert changed.settings.objective == "cost"
    t = changed.tables["targets"].set_index("name")["min_service"]
    assert t["KEY"] == pytest.approx(0.93 * 1.02) and t["B"] == 0.85
    with pytest.raises(CaseError):  # 0.93 * 1.1 > 1: the scenario's case is invalid
        apply(case, Scenario(name="x", scale={"targets.min_service": 1.1}, where={"name": "KEY"}))
