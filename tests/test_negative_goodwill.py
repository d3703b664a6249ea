"""Negative goodwill (SPEC §3): poor service today loses demand tomorrow.

Exact optima by hand, confirmed by the brute-force oracle (tests/oracle.py, from the SPEC
alone) and by the solver; and the refusal of a case whose worst goodwill path could push a
unit's units below zero, naming segment and period.
"""

from __future__ import annotations

import numpy as np
import pytest
from casefiles import without, write_case
from oracle import best
from typer.testing import CliRunner

from svcplan import Case, CaseError, load_case, solve
from svcplan.cli.app import app
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.formulation.standard_form import standard_form
from svcplan.prep.generate import generate_case
from svcplan.solver import pricing
from svcplan.solver.options import SolverOptions
from svcplan.solver.search import from_start, thrifty_plan

# m = 10, c = 4, d = 100, no response.csv (k = 1).  C (cheap): 100*(10-4) = 600 per period,
# G (x1.5): 100*(10-6) = 400.  C loses goodwill (-0.4), G none.  Sensitivity 0.75: the lift is
# 0.75*100*G units worth 6 each = 450*G.  The last period is always C (its goodwill shows after
# the horizon).  With retention 0.5: G2 = g(l1), G3 = 0.5*g(l1) + g(l2).
#   CCC: 600 + (600 - 180) + (600 - 270) = 1350
#   CGC: 600 + (400 - 180) + (600 - 90)  = 1330
#   GCC: 400 + 600 + (600 - 180)         = 1420   <- best: good service first protects later demand
#   GGC: 400 + 400 + 600                 = 1400
CASE = {
    "case.yaml": "name: badwill\ngoodwill_retention: 0.5",
    "segments.csv": "segment,goodwill_sensitivity\nA,0.75",
    "products.csv": "product,unit_margin,base_unit_cost\nP,10,4",
    "levels.csv": "level,rank,cost_multiplier,goodwill\nC,1,1.0,-0.4\nG,2,1.5,0",
    "periods.csv": "period\nt1\nt2\nt3",
    "demand.csv": "segment,product,period,base_demand\nA,P,t1,100\nA,P,t2,100\nA,P,t3,100",
}


def check(tmp_path, files: dict, expected: float, plan: tuple[str, ...], name: str = "case"):
    folder = write_case(tmp_path, files, name)
    ref = best(folder)
    assert ref.objective == pytest.approx(expected, abs=1e-6), "oracle != hand value"
    assert ref.plan[("A", "P")] == plan, "oracle plan != hand plan"
    res = solve(load_case(folder), mip_gap=0.0)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, abs=1e-6), "solver != hand value"
    got = res.assignment.sort_values("period")
    assert tuple(got["level"]) == plan, "solver plan != hand plan"
    return res


def test_negative_goodwill_exact_optimum(tmp_path):
    res = check(tmp_path, CASE, 1420, ("G", "C", "C"))
    a = res.assignment.sort_values("period")
    assert list(a["goodwill"]) == pytest.approx([0.0, 0.0, -0.4])
    assert list(a["lift_units"]) == pytest.approx([0.0, 0.0, -30.0])
    # the loss also frees budget: logistics cost counts the lost units at base_unit_cost
    assert res.periods["logistics_cost"].tolist() == pytest.approx([600.0, 400.0, 280.0])


def test_negative_goodwill_without_retention(tmp_path):
    # G3 = g(l2) only:  CCC = 600 + 420 + 420 = 1440;  CGC = 600 + 220 + 600 = 1420;
    # GCC = 400 + 600 + 420 = 1420;  GGC = 1400
    files = without(CASE, case_yaml="name: badwill")
    check(tmp_path, files, 1440, ("C", "C", "C"))


def test_without_the_loss_cheap_service_wins(tmp_path):
    files = without(CASE, levels_csv="level,rank,cost_multiplier,goodwill\nC,1,1.0,0\nG,2,1.5,0")
    check(tmp_path, files, 1800, ("C", "C", "C"))


def test_mixed_goodwill_signs(tmp_path):
    # C: -0.4, G: +0.5, lift value 450*G, retention 0.5.
    # GGC: 400 + (400 + 225) + (600 + 337.5) = 1962.5;  GCC: 400 + (600 + 225) + (600 - 67.5) = 1757.5
    # CGC: 600 + (400 - 180) + (600 + 135) = 1555;  CCC = 1350;  GGG = 1762.5
    files = without(CASE, levels_csv="level,rank,cost_multiplier,goodwill\nC,1,1.0,-0.4\nG,2,1.5,0.5")
    check(tmp_path, files, 1962.5, ("G", "G", "C"))


def problems(tmp_path, files: dict) -> list:
    with pytest.raises(CaseError) as exc:
        load_case(write_case(tmp_path, files))
    return exc.value.problems


def test_loss_beyond_the_units_is_refused_naming_segment_and_period(tmp_path):
    # sensitivity 2: Gmin = [0, -0.6, -0.9] -> losses 120 (t2) and 180 (t3) > 100 units
    files = without(CASE, segments_csv="segment,goodwill_sensitivity\nA,2",
                    levels_csv="level,rank,cost_multiplier,goodwill\nC,1,1.0,-0.6\nG,2,1.5,0")
    found = problems(tmp_path, files)
    assert [(p.file, p.row, p.column) for p in found] == [("segments.csv", 2, "goodwill_sensitivity")] * 2
    assert "'A'" in found[0].message and "'t2'" in found[0].message and "120" in found[0].message
    assert "'t3'" in found[1].message and "180" in found[1].message


def test_loss_exactly_the_units_is_allowed(tmp_path):
    # sensitivity 0.5, goodwill -2, no retention: loss 0.5*100*2 = 100 = units at t2 and t3
    files = without(CASE, case_yaml="name: edge", segments_csv="segment,goodwill_sensitivity\nA,0.5",
                    levels_csv="level,rank,cost_multiplier,goodwill\nC,1,1.0,-2\nG,2,1.5,0")
    load_case(write_case(tmp_path, files))


def test_only_allowed_levels_count(tmp_path):
    # C captures only 30% (q = 30) and the loss is 0.5*100*0.6 = 30 at t2, 45 at t3:
    # refused while C is allowed; fine once a policy keeps A at G (q = 100).
    files = {**CASE, "levels.csv": "level,rank,cost_multiplier,goodwill\nC,1,1.0,-0.6\nG,2,1.5,0",
             "case.yaml": "name: x\ngoodwill_retention: 0.5",
             "segments.csv": "segment,goodwill_sensitivity\nA,0.5",
             "response.csv": "segment,level,capture\nA,C,0.3\nA,G,1"}
    found = problems(tmp_path, files)
    assert len(found) == 1 and "'t3'" in found[0].message
    load_case(write_case(tmp_path, {**files, "policies.csv": "segment,min_level\nA,G"}, name="g"))


def test_explicit_option_units_count(tmp_path):
    # options.csv gives level C of (A, P, t2) only 10 units: the loss of 30 at t2 is refused.
    files = {**CASE, "options.csv": "segment,product,period,level,revenue,cost,units\nA,P,t2,C,60,40,10\n"
                                    "A,P,t2,G,400,600,100"}
    found = problems(tmp_path, files)
    assert len(found) == 1 and "'t2'" in found[0].message and "10 units" in found[0].message


def test_cli_refuses_with_exit_2(tmp_path):
    files = without(CASE, segments_csv="segment,goodwill_sensitivity\nA,2")
    folder = write_case(tmp_path, files)
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out)])
    assert res.exit_code == 2 and "segments.csv, row 2, column 'goodwill_sensitivity'" in res.output
    assert "Traceback" not in res.output and not out.exists()


def test_every_solve_path_agrees_with_negative_goodwill(monkeypatch):
    """A generated case whose lowest level loses goodwill: the plain MIP, the pipeline that
    prices the budget rows and the thriftiest plan all work with free G, and the objective
    recomputed from the output tables is the solver's."""
    tables, settings = generate_case(3, 8, 3, 4, seed=3)
    tables["levels"] = tables["levels"].assign(goodwill=tables["levels"]["goodwill"] - 0.1)
    case = Case.from_tables(tables, settings)
    plain = solve(case, mip_gap=0, warm_start=False, marginals=False)
    assert plain.status == "optimal" and (plain.assignment["lift_units"] < 0).any()
    assert plain.objective == pytest.approx(plain.solver_objective, rel=1e-12)
    monkeypatch.setattr(pricing, "MIN_COLUMNS", 0)
    priced = solve(case, mip_gap=0, marginals=False)
    assert priced.search["lp_method"] == "prices"
    assert priced.solver_objective == pytest.approx(plain.solver_objective, rel=1e-9)
    sf = standard_form(create_model(prepare(case)))
    assert np.isneginf(sf.col_lower).any()  # G is free
    x = from_start(sf, thrifty_plan(sf), SolverOptions())
    assert x is not None and sf.objective(x) <= plain.solver_objective + 1e-6
