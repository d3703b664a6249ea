"""Extensions (``--extend FILE.py:FUNCTION``): the rows a user adds bind on every solve path.

The two documented examples (examples/extend_*.py, docs/extending.md) run on a case small
enough to enumerate (3^8 = 6561 plans): the brute-force oracle (tests/oracle.py) with the
example's rule as one more acceptance test gives the optimum, and svcplan's HiGHS pipeline
and CBC must reach it. Each rule moves the optimum (the case without it is better), so a
path that drops extension rows fails.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pyomo.environ as pyo
import pytest
from oracle import best
from typer.testing import CliRunner

from svcplan import load_case, solve
from svcplan.cli.app import app
from svcplan.formulation.hooks import ExtensionError, load_extension

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
RANK = {"STANDARD": 1, "EXPRESS": 2, "PREMIUM": 3}

# examples/extend-case: KEY keeps 80% of demand at STANDARD, 85% at EXPRESS, so STANDARD earns
# more for KEY (SKU-001: 0.8*6 = 4.8 vs 0.85*5.2 = 4.42 per unit of demand); SMB is worth
# PREMIUM. The October budget binds. Periods: 2026-09 (Q3) and 2026-10 (Q4).
CASE = EXAMPLES / "extend-case"
FREE = 3425.0  # the oracle's optimum without any rule


def _example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _floor(plan) -> bool:  # KEY / SKU-001 at EXPRESS or better in 2026-10 (Q4)
    return RANK[plan[("KEY", "SKU-001")][1]] >= RANK["EXPRESS"]


def _cap(plan, n: int = 1) -> bool:  # at most n PREMIUM unit-periods in each month
    return all(sum(seq[k] == "PREMIUM" for seq in plan.values()) <= n for k in range(2))


@pytest.fixture(scope="module")
def folder():
    assert best(CASE).objective == pytest.approx(FREE)
    return CASE


KEY = _example("extend_key_accounts").key_accounts_q4
CAP = _example("extend_premium_cap").premium_cap  # at most 1 PREMIUM unit-period a month


@pytest.mark.parametrize("rules,accept,expected", [
    ([KEY], _floor, 3362.2),  # KEY SKU-001 goes EXPRESS in October; SMB SKU-002 drops to EXPRESS
    ([CAP], _cap, 3386.0),  # SMB SKU-002 EXPRESS in both months
    ([KEY, CAP], lambda p: _floor(p) and _cap(p), None),
])
def test_examples_reach_the_enumerated_optimum(folder, rules, accept, expected):
    ref = best(folder, accept)
    assert ref.objective < FREE - 1  # the rule moves the optimum
    if expected is not None:
        assert ref.objective == pytest.approx(expected, abs=1e-6)
    res = solve(load_case(folder), mip_gap=0.0, extend=rules)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(ref.objective, abs=1e-6)
    plan = {(s, p): tuple(g.sort_values("period")["level"])
            for (s, p), g in res.assignment.groupby(["segment", "product"])}
    assert accept(plan)
    assert res.summary()["extensions"] == [r.__name__ for r in rules]


def test_cbc_path_honours_extensions(folder):
    if shutil.which("cbc") is None:
        pytest.skip("cbc is not installed (apt-get install coinor-cbc)")
    ref = best(folder, _cap)
    res = solve(load_case(folder), mip_gap=0.0, extend=CAP, solver="cbc")
    assert res.status == "optimal"
    assert res.objective == pytest.approx(ref.objective, abs=1e-6)


def test_dense_extension_rows_are_priced(folder):
    """A row across units is a USER_DENSE row (priced like a budget); one within a unit is USER."""
    from svcplan.formulation.blocks import create_model
    from svcplan.formulation.data import prepare
    from svcplan.formulation.extend import apply_extension
    from svcplan.formulation.standard_form import standard_form
    from svcplan.solver import pricing
    from svcplan.solver.options import SolverOptions
    from svcplan.solver.strategy import solve_model

    f = create_model(prepare(load_case(folder)), pyomo=True)
    apply_extension(f, prepare(load_case(folder)), lambda m, h: (KEY(m, h), CAP(m, h)))
    sf = standard_form(f)
    kinds = [str(k) for k, _ in sf.rows]
    assert kinds.count("user") == 1 and kinds.count("user_dense") == 2
    dense = set(pricing.dense_rows(sf).tolist())
    assert {k for k, kind in enumerate(kinds) if kind == "user_dense"} <= dense
    # the bound of large cases prices them (forced here): the plan keeps the rules and the
    # priced bound is a true bound on the enumerated optimum
    out = solve_model(sf, SolverOptions(mip_gap=0.0, prices=True))
    assert out.details["search"]["lp_method"] == "prices"
    ref = best(folder, lambda p: _floor(p) and _cap(p))
    assert out.objective == pytest.approx(ref.objective, abs=1e-6)
    assert out.bound >= ref.objective - 1e-6


def test_new_variables_and_ge_rows(folder):
    """An extension may add a variable and a >= row: ``z <= x(KEY,SKU-002,PREMIUM,t)`` for both
    months and ``z >= 1`` forces KEY SKU-002 to PREMIUM in every month."""
    def force(m, h):
        m.z = pyo.Var(domain=pyo.Binary)
        m.z_link = pyo.Constraint(["2026-09", "2026-10"],
                                  rule=lambda m, t: m.z <= h.x("KEY", "SKU-002", "PREMIUM", t))
        m.z_on = pyo.Constraint(expr=m.z >= 1)

    ref = best(folder, lambda p: p[("KEY", "SKU-002")] == ("PREMIUM", "PREMIUM"))
    res = solve(load_case(folder), mip_gap=0.0, extend=force)
    assert res.objective == pytest.approx(ref.objective, abs=1e-6)
    assert res.n_variables == solve(load_case(folder), mip_gap=0.0).n_variables + 1


def test_handle_refuses_options_that_are_not_allowed(folder):
    seen = {}

    def probe(m, h):
        seen["n"] = len(h.options)
        with pytest.raises(KeyError):
            h.x("KEY", "SKU-001", "GOLD", "2026-09")
        o = h.options
        i = o.index[(o["segment"] == "KEY") & (o["product"] == "SKU-001")
                    & (o["level"] == "EXPRESS") & (o["period"] == "2026-09")][0]
        seen["same"] = h.x("KEY", "SKU-001", "EXPRESS", "2026-09") is m.x[i]

    solve(load_case(folder), extend=probe)
    assert seen == {"n": 24, "same": True}  # 4 units x 3 levels x 2 periods


@pytest.mark.parametrize("body,message", [
    ("def rule(m, h):\n    raise ValueError('no such contract')\n", "no such contract"),
    ("def rule(m, h):\n    m.profit.deactivate()\n", "changes the objective"),
    ("def rule(m, h):\n    m.q = __import__('pyomo.environ').environ.Constraint("
     "expr=h.x('KEY','SKU-001','EXPRESS','2026-09')**2 <= 1)\n", "nonlinear"),
    ("def other(m, h):\n    pass\n", "has no function 'rule' (functions there: other)"),
])
def test_cli_refuses_bad_extensions(folder, tmp_path, body, message):
    ext = tmp_path / "ext.py"
    ext.write_text(body, encoding="utf-8")
    out = tmp_path / "run"
    r = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out), "--quiet",
                                 "--extend", f"{ext}:rule"])
    assert r.exit_code == 2, r.output
    said = " ".join(r.output.split())  # the console wraps long lines
    assert message in said and "Traceback" not in said
    assert not out.exists()


def test_cli_missing_file_and_write_model(folder, tmp_path):
    r = CliRunner().invoke(app, ["solve", str(folder), "--extend", "nope.py:rule", "--quiet"])
    assert r.exit_code == 2 and "nope.py does not exist" in " ".join(r.output.split())
    with pytest.raises(ExtensionError, match="does not exist"):
        load_extension(str(tmp_path / "none.py"))
    rows = {}
    for name, extra in [("plain", []),
                        ("ext", ["--extend", f"{EXAMPLES / 'extend_premium_cap.py'}:premium_cap"])]:
        mps = tmp_path / f"{name}.mps"
        r = CliRunner().invoke(app, ["solve", str(folder), "--out", str(tmp_path / name),
                                     "--quiet", "--write-model", str(mps), *extra])
        assert r.exit_code == 0, r.output
        text = mps.read_text()
        rows[name] = text[text.index("ROWS"):text.index("COLUMNS")].count("\n")
    summary = json.loads((tmp_path / "ext" / "summary.json").read_text())
    assert summary["extensions"] == ["extend_premium_cap.py:premium_cap"]
    assert rows["ext"] == rows["plain"] + 2  # one premium_cap row per period
