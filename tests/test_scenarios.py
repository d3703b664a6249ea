"""Scenario files: every change type equals a hand-modified copy of the case; bad files fail early.

The equivalence tests change the generator's raw tables by hand, write them as a normal case
folder, and check that (a) the validated tables equal those :func:`apply` produces and (b)
both solve to the same proven optimum (gap 0) — so a scenario means exactly what a planner
editing the CSV files would mean.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from svcplan import load_case, solve
from svcplan.cli.app import app
from svcplan.prep.generate import generate_case, write_case
from svcplan.whatif.scenarios import (
    Scenario,
    ScenarioError,
    apply,
    check,
    expand,
    input_hash,
    parse_scenarios,
)


@pytest.fixture(scope="module")
def raw():
    return generate_case(3, 6, 3, 3, seed=7)


@pytest.fixture(scope="module")
def case(raw, tmp_path_factory):
    return load_case(write_case(*raw, tmp_path_factory.mktemp("c") / "case"))


def hand_copy(raw, tmp_path, edit) -> object:
    tables = {k: v.copy() for k, v in raw[0].items()}
    settings = dict(raw[1])
    edit(tables, settings)
    return load_case(write_case(tables, settings, tmp_path / "hand"))


def same_case(a, b) -> None:
    assert a.settings == b.settings
    assert set(a.tables) == set(b.tables)
    for name in a.tables:
        pd.testing.assert_frame_equal(
            a.tables[name].reset_index(drop=True), b.tables[name].reset_index(drop=True),
            check_dtype=False, rtol=1e-12, obj=name,
        )


def same_optimum(a, b) -> None:
    ra, rb = solve(a, mip_gap=0.0), solve(b, mip_gap=0.0)
    assert ra.status == rb.status == "optimal"
    assert ra.objective == pytest.approx(rb.objective, rel=1e-9, abs=1e-6)


def test_scale_equals_hand_copy(raw, case, tmp_path):
    def edit(t, s):
        t["periods"]["budget"] = t["periods"]["budget"] * 0.7

    got = apply(case, Scenario(name="cut", scale={"periods.budget": 0.7}))
    hand = hand_copy(raw, tmp_path, edit)
    same_case(got, hand)
    same_optimum(got, hand)
    assert solve(got, mip_gap=0).objective < solve(case, mip_gap=0).objective  # it binds


def test_scale_with_where_equals_hand_copy(raw, case, tmp_path):
    seg = raw[0]["segments"]["segment"].iloc[0]

    def edit(t, s):
        d = t["demand"]
        d["base_demand"] = d["base_demand"].astype(float)
        d.loc[d["segment"] == seg, "base_demand"] = d.loc[d["segment"] == seg, "base_demand"] * 1.3

    sc = Scenario(name="grow", scale={"demand.base_demand": 1.3}, where={"segment": seg})
    got, hand = apply(case, sc), hand_copy(raw, tmp_path, edit)
    same_case(got, hand)
    same_optimum(got, hand)
    other = got.tables["demand"]["segment"] != seg
    assert (got.tables["demand"]["base_demand"][other].to_numpy()
            == case.tables["demand"]["base_demand"][other].to_numpy()).all()


def test_set_setting_and_set_column_with_list_where(raw, case, tmp_path):
    levels = list(raw[0]["levels"]["level"])

    def edit(t, s):
        s["switching_cost"] = 0
        lv = t["levels"]
        lv["fixed_cost"] = lv["fixed_cost"].astype(float)
        lv.loc[lv["level"].isin(levels[1:]), "fixed_cost"] = 250.0

    sc = Scenario(name="mix", set={"case.switching_cost": 0, "levels.fixed_cost": 250},
                  where={"level": levels[1:]})
    got, hand = apply(case, sc), hand_copy(raw, tmp_path, edit)
    same_case(got, hand)
    same_optimum(got, hand)
    assert case.settings.switching_cost > 0 and got.settings.switching_cost == 0


def test_sweep_expansion_is_cartesian_and_each_point_equals_hand_copy(raw, case, tmp_path):
    scenarios, chains = parse_scenarios({"sweeps": [
        {"name": "grid", "scale": {"periods.budget": [0.9, 1.1], "products.unit_margin": [1, 1.2]}},
        {"name": "budget", "scale": {"periods.budget": [0.8, 1.2]}},
    ]})
    names = [s.name for s in scenarios]
    assert names == ["grid:budget=0.9,unit_margin=1", "grid:budget=0.9,unit_margin=1.2",
                     "grid:budget=1.1,unit_margin=1", "grid:budget=1.1,unit_margin=1.2",
                     "budget=0.8", "budget=1.2"]
    assert chains["budget=0.8"] == chains["budget=1.2"] != chains[names[0]]

    def edit(t, s):
        t["periods"]["budget"] = t["periods"]["budget"] * 1.1
        t["products"]["unit_margin"] = t["products"]["unit_margin"] * 1.2

    got, hand = apply(case, scenarios[3]), hand_copy(raw, tmp_path, edit)
    same_case(got, hand)
    same_optimum(got, hand)


def test_expand_single_key_names():
    from svcplan.whatif.scenarios import Sweep

    got = expand(Sweep(name="fuel", scale={"products.base_unit_cost": [1.0, 1.15]}))
    assert [s.name for s in got] == ["fuel=1", "fuel=1.15"]
    assert got[1].scale == {"products.base_unit_cost": 1.15}


@pytest.mark.parametrize("scenario, message", [
    ({"name": "a", "scale": {"budgets.budget": 0.9}}, "unknown table 'budgets'"),
    ({"name": "a", "scale": {"periods.budgte": 0.9}}, "has no column 'budgte'"),
    ({"name": "a", "set": {"case.switching_costs": 0}}, "unknown setting 'switching_costs'"),
    ({"name": "a", "scale": {"demand.segment": 2}}, "cannot scale the id column"),
    ({"name": "a", "scale": {"demand.base_demand": 2}, "where": {"segment": "NOPE"}},
     "matches no row of demand"),
    ({"name": "a", "scale": {"demand.base_demand": 2}, "where": {"colour": "red"}},
     "has no column 'colour'"),
    ({"name": "a", "set": {"periods.budget": "lots"}}, "needs a number"),
    ({"name": "a", "scale": {"unit_costs.unit_cost": 2}}, "not part of this case"),
])
def test_invalid_scenarios_are_reported(case, scenario, message):
    scenarios, _ = parse_scenarios({"scenarios": [scenario]})
    with pytest.raises(ScenarioError) as exc:
        check(case, scenarios)
    assert message in str(exc.value)


def test_unknown_keys_duplicates_and_all_problems_at_once(case):
    with pytest.raises(ScenarioError, match="scales: unknown key"):
        parse_scenarios({"scenarios": [{"name": "a", "scales": {"periods.budget": 1}}]})
    with pytest.raises(ScenarioError, match="unknown key"):
        parse_scenarios({"scenario": []})
    scenarios, _ = parse_scenarios({"scenarios": [
        {"name": "a"}, {"name": "a"}, {"name": "b", "scale": {"nope.x": 1}}]})
    with pytest.raises(ScenarioError) as exc:
        check(case, scenarios)
    text = str(exc.value)
    assert "'a': duplicate name" in text and "unknown table 'nope'" in text


def test_scenario_making_the_case_invalid_raises_case_error(case):
    from svcplan.case.case import CaseError

    with pytest.raises(CaseError, match="out of range"):
        apply(case, Scenario(name="x", set={"levels.cost_multiplier": -1}))


def test_only_the_changed_tables_are_typed_again(case, monkeypatch):
    """A scenario types the tables it changed; the rest come from a valid case (their cells
    were checked then) and are copies, so the scenario's case never shares a frame with it."""
    import svcplan.case.checks as checks

    typed, real = [], checks.typed_table
    monkeypatch.setattr(checks, "typed_table",
                        lambda spec, df, file, out: typed.append(spec.name) or real(spec, df, file, out))
    before = case.tables["demand"].copy()
    got = apply(case, Scenario(name="cut", scale={"periods.budget": 0.7}))
    assert typed == ["periods"]
    assert got.tables["demand"] is not case.tables["demand"]
    got.tables["demand"].loc[:, "base_demand"] = 0.0
    pd.testing.assert_frame_equal(case.tables["demand"], before)


def test_rules_across_tables_still_check_the_tables_kept(case):
    """Renaming a segment leaves demand.csv (kept, not typed again) pointing at a segment
    that is gone: the reference rule still finds it."""
    from svcplan.case.case import CaseError

    seg = case.tables["segments"]["segment"].iloc[0]
    with pytest.raises(CaseError, match=f"demand.csv, row 2, column 'segment': "
                       f"unknown segment '{seg}': not in segments.csv"):
        apply(case, Scenario(name="x", set={"segments.segment": "RENAMED"},
                             where={"segment": seg}))


def test_rules_that_read_only_kept_tables_are_not_run_again(case, monkeypatch):
    """A budget scenario leaves the units' tables as they were in a valid case: their rule
    (allowed levels, captures) and the kept tables' key checks are not run again; a
    scenario that changes one of those tables runs them, and is refused when it breaks one."""
    import svcplan.case.checks as checks
    from svcplan.case.case import CaseError

    units, keys = [], []
    real_units, real_keys = checks._check_units, checks._check_keys
    monkeypatch.setattr(checks, "_check_units",
                        lambda *a: units.append(1) or real_units(*a))
    monkeypatch.setattr(checks, "_check_keys",
                        lambda spec, *a: keys.append(spec.name) or real_keys(spec, *a))
    apply(case, Scenario(name="cut", scale={"periods.budget": 0.7}))
    assert units == [] and keys == ["periods"]
    apply(case, Scenario(name="more", scale={"demand.base_demand": 1.1}))
    assert units == [1] and keys == ["periods", "demand"]
    seg = case.tables["segments"]["segment"].iloc[0]
    with pytest.raises(CaseError, match="duplicate row"):  # demand's keys, checked again
        apply(case, Scenario(name="x", set={"demand.segment": seg}))
    assert checks.UNIT_TABLES == ("demand", "options", "products", "levels", "policies",
                                  "response")  # what _check_units reads (case/units.py)


def test_planned_hashes_equal_hashes_from_scratch(case):
    """plan() renders each table its scenarios keep once for all of them; every hash is still
    the one input_hash gives the scenario's case on its own (so --resume finds the folders
    written before)."""
    from svcplan.whatif.scenarios import plan

    scenarios = [Scenario(name="same"), Scenario(name="cut", scale={"periods.budget": 0.7}),
                 Scenario(name="more", scale={"demand.base_demand": 1.1},
                          where={"segment": case.tables["segments"]["segment"].iloc[0]}),
                 Scenario(name="gap", set={"case.solver.mip_gap": 0.02})]
    planned = plan(case, scenarios, {}, {"time_limit": 20})
    hashes = [p.input_hash for p in planned]
    assert hashes == [input_hash(p.case, {"time_limit": 20}) for p in planned]
    assert len(set(hashes)) == len(hashes)


def test_input_hash_follows_inputs(case):
    a = input_hash(case, {"mip_gap": 0})
    assert a == input_hash(apply(case, Scenario(name="same")), {"mip_gap": 0})
    assert a != input_hash(case, {"mip_gap": 0.01})
    assert a != input_hash(apply(case, Scenario(name="c", scale={"periods.budget": 0.99})),
                           {"mip_gap": 0})


def test_cli_invalid_scenario_file_exits_2_before_running(case, raw, tmp_path):
    folder = write_case(*raw, tmp_path / "case")
    sc = tmp_path / "s.yaml"
    sc.write_text("scenarios:\n  - name: a\n    scale: {periods.budgte: 0.9}\n"
                  "  - name: b\n    scale: {demand.base_demand: 2}\n    where: {segment: NOPE}\n")
    r = CliRunner().invoke(app, ["batch", str(folder), str(sc), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2, r.output
    assert "budgte" in r.output and "matches no row" in r.output
    assert not (tmp_path / "o").exists()
