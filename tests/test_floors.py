"""Limits no plan can meet, found before any LP (svcplan.solver.floors).

A dense row's floor is the least activity any plan, or any point of the LP relaxation, can
give it; on the small cases here it is computed by hand. The proof must be sound: on the
demo every LP point lies between each dense row's floor and ceiling, and infeasibility is
claimed only where the LP relaxation has no solution either.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from casefiles import write_case
from test_explain import TIGHT
from test_sweep import _scaled
from trustcase import BASE

from svcplan import load_case, solve
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.formulation.rows import DENSE, RowKind
from svcplan.formulation.standard_form import StandardForm, standard_form
from svcplan.solver import highs
from svcplan.solver.floors import describe, unmet_limits

# TIGHT: KEY×P 100 units at cost 4 (×1.6 at S, which its policy demands), OTH×Q 50 units at
# cost 3 (×1 at B): the thriftiest allowed plan costs 100·4·1.6 + 50·3 = 790 a period.
PERIODS = "period,budget\n2025-01,1000\n2025-02,{budget}"


def _model(folder) -> StandardForm:
    return standard_form(create_model(prepare(load_case(folder))))


def _with_budget(tmp_path, budget: float) -> StandardForm:
    files = dict(TIGHT, **{"periods.csv": PERIODS.format(budget=budget)})
    return _model(write_case(tmp_path, files, name=f"b{budget}"))


def test_a_budget_below_the_thriftiest_plan_is_unmet(tmp_path):
    sf = _with_budget(tmp_path, 300)
    (unmet,) = unmet_limits(sf)
    assert sf.rows[unmet.row] == (RowKind.BUDGET, 1)
    assert unmet.reach == pytest.approx(790.0)
    assert unmet.limit == pytest.approx(300.0)


def test_a_budget_at_the_thriftiest_plan_is_met_and_feasible(tmp_path):
    """Exactly 790 is no proof of anything (and a plan exists); a cent less is."""
    assert unmet_limits(_with_budget(tmp_path, 790)) == []
    assert len(unmet_limits(_with_budget(tmp_path, 789.99))) == 1
    files = dict(TIGHT, **{"periods.csv": PERIODS.format(budget=790)})
    assert solve(load_case(write_case(tmp_path, files, "ok")), mip_gap=0).has_plan


def test_a_capacity_below_the_least_use_is_unmet(tmp_path):
    """Every level uses 1 WH per unit served; the least-capturing level B serves
    100·0.7 + 50.5·0.8 = 110.4 units in 2025-01 (as in test_explain) against 100."""
    files = dict(BASE)
    files["usage.csv"] = "level,resource,per_unit\nB,WH,1\nG,WH,1\nS,WH,1"
    files["capacity.csv"] = "resource,period,capacity\nWH,2025-01,100"
    sf = _model(write_case(tmp_path, files))
    (unmet,) = unmet_limits(sf)
    assert sf.rows[unmet.row][0] == RowKind.CAPACITY
    assert (unmet.reach, unmet.limit) == (pytest.approx(110.4), pytest.approx(100.0))


def test_a_service_target_above_the_best_level_is_unmet(tmp_path):
    """KEY's best level promises 99% cycle service: a 99.5% target is beyond every plan,
    whatever the budget: its row ``Σ (w/w̄)·(target − promise)·x ≤ 0`` over KEY's three
    unit-periods (weights relative to their mean, so they sum to 3) is at least
    3 · 0.005 = 0.015."""
    files = dict(BASE, **{"targets.csv": "name,segment,period,min_service\nKEY,KEY,*,0.995"})
    sf = _model(write_case(tmp_path, files))
    (unmet,) = unmet_limits(sf)
    assert sf.rows[unmet.row][0] == RowKind.TARGET
    assert (unmet.reach, unmet.limit) == (pytest.approx(0.015), 0.0)
    ok = dict(files, **{"targets.csv": "name,segment,period,min_service\nKEY,KEY,*,0.985"})
    assert unmet_limits(_model(write_case(tmp_path, ok, "ok"))) == []


def test_no_proof_without_one_choice_per_unit_period(tmp_path):
    """The floor rests on every assign row being ``= 1``: relaxed to ``≤ 1``, a unit-period
    may choose nothing, and the same budget proves nothing."""
    sf = _with_budget(tmp_path, 300)
    assign = sf.rows_of({RowKind.ASSIGN})
    lower = sf.row_lower.copy()
    lower[assign] = 0.0
    assert unmet_limits(replace(sf, row_lower=lower)) == []


@pytest.mark.parametrize("scale", [0.5, 0.6, 1.0])
def test_sound_on_the_demo(scale):
    """At half its budget the demo has no plan (four periods' floors are over budget) and
    its LP relaxation agrees; at 0.6 and 1.0 nothing is unmet, and the LP optimum lies
    between every dense row's floor and ceiling."""
    sf = standard_form(create_model(prepare(_scaled(load_case("data/demo"), scale))))
    unmet = unmet_limits(sf)
    lp = highs.solve_lp(sf, threads=1)
    if scale == 0.5:
        assert [sf.rows[u.row] for u in unmet] == [(RowKind.BUDGET, t) for t in range(4)]
        assert lp.infeasible
        return
    assert unmet == [] and lp.optimal
    dense = sf.rows_of(DENSE)
    act = sf.A[dense] @ lp.x
    upper = sf.row_upper.copy()
    upper[dense] = -1e30  # every floor is above it: each row's floor is reported
    floors = {u.row: u.reach for u in unmet_limits(replace(sf, row_upper=upper))}
    assert set(floors) == set(dense.tolist())
    assert np.all(act >= np.array([floors[k] for k in dense.tolist()]) - 1e-6)


def test_a_lower_limit_above_the_ceiling_is_unmet(tmp_path):
    """The same budget row read as a ``≥`` row: the most any plan spends in 2025-02 is both
    units at S, 100·4·1.6 + 50·3·1.6 = 880; asking for at least 2,000 is unmet, 880 is not."""
    sf = _with_budget(tmp_path, 1000)
    k = sf.rows_of({RowKind.BUDGET})[1]

    def unmet_at_least(need: float) -> list:
        lower, upper = sf.row_lower.copy(), sf.row_upper.copy()
        lower[k], upper[k] = need, np.inf
        return unmet_limits(replace(sf, row_lower=lower, row_upper=upper))

    assert unmet_at_least(880.0) == []
    (only,) = unmet_at_least(2000.0)
    assert (only.row, only.reach, only.limit) == (k, pytest.approx(880.0), 2000.0)
    assert describe(sf, [only]) == ("Infeasible (proven from the limits alone: budget[1] "
                                    "reaches at most 880.00 against its limit 2,000.00)")


def test_a_horizon_budget_below_the_thriftiest_plan_is_unmet(tmp_path):
    """Both periods' budgets are met (790 ≤ 1,000), but the horizon's is not: the
    thriftiest plan costs 790 in each period, 1,580 in all, against 1,500."""
    files = dict(TIGHT, **{"periods.csv": PERIODS.format(budget=1000),
                           "case.yaml": "name: horizon\ntotal_budget: 1500\n"})
    sf = _model(write_case(tmp_path, files))
    (unmet,) = unmet_limits(sf)
    assert sf.rows[unmet.row][0] == RowKind.TOTAL_BUDGET
    assert (unmet.reach, unmet.limit) == (pytest.approx(1580.0), 1500.0)
    assert describe(sf, [unmet, unmet]) == (
        "Infeasible (proven from the limits alone: total_budget reaches at least 1,580.00 "
        "against its limit 1,500.00, and 1 more such limit(s))")


def test_a_sweep_computes_the_floors_once_and_proves_each_point_by_its_own_limits(
        tmp_path, monkeypatch):
    """The floors depend on the matrix and column bounds only: a budget sweep works them out
    at its first point and compares them with every later point's own budgets (790 against
    300 is unmet, against 1000 met); a case that differs in more than budgets works them
    out again."""
    import svcplan.solver.floors as floors
    from svcplan.solver.sweep import Sweep
    from svcplan.whatif.scenarios import Scenario, apply

    calls, real = [], floors.reach
    monkeypatch.setattr(floors, "reach", lambda sf: calls.append(1) or real(sf))
    base = load_case(write_case(tmp_path, dict(TIGHT, **{"periods.csv": PERIODS.format(budget=1000)})))
    sweep = Sweep()
    statuses = [solve(_scaled(base, s), mip_gap=0, sweep=sweep).status for s in (1.0, 0.3, 1.0)]
    assert statuses == ["optimal", "infeasible", "optimal"]
    assert len(calls) == 1
    other = apply(base, Scenario(name="o", scale={"demand.base_demand": 1.1}))
    solve(other, mip_gap=0, sweep=sweep)
    assert len(calls) == 2
