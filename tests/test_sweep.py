"""Budget sweeps that reuse what they learned (svcplan.solver.sweep): the reused model is the
model a fresh build gives, and a warm chain reaches the exact optimum a cold solve reaches."""

from __future__ import annotations

import numpy as np
import pytest
from inprocess import InProcessRunner

from svcplan import Case, solve
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.formulation.standard_form import standard_form
from svcplan.prep.generate import generate_case
from svcplan.solver import pricing
from svcplan.solver.sweep import Sweep, only_budgets_differ
from svcplan.whatif.scenarios import Scenario, apply


def _case(shape=(3, 8, 3, 4), seed=3, total=True) -> Case:
    tables, settings = generate_case(*shape, seed=seed)
    case = Case.from_tables(tables, settings)
    if total:
        spend = float(case.tables["periods"]["budget"].sum())
        case = apply(case, Scenario(name="t", set={"case.total_budget": 0.95 * spend}))
    return case


def _scaled(case: Case, s: float) -> Case:
    scale = {"periods.budget": s}
    if case.settings.total_budget is not None:
        scale["case.total_budget"] = s
    return apply(case, Scenario(name=f"budget={s:g}", scale=scale))


def test_reused_model_is_the_model_a_fresh_build_gives():
    base = _case()
    sweep = Sweep()
    sweep.model(_scaled(base, 1.0))
    for s in (0.8, 1.15):
        case = _scaled(base, s)
        _, sf = sweep.model(case)
        assert sweep.warm.reused
        fresh = standard_form(create_model(prepare(case)))
        assert (sf.A != fresh.A).nnz == 0
        for name in ("row_lower", "row_upper", "cost", "col_lower", "col_upper"):
            assert np.array_equal(getattr(sf, name), getattr(fresh, name)), name
        assert sf.rows == fresh.rows


def test_anything_but_budgets_rebuilds():
    base = _case(total=False)
    other = apply(base, Scenario(name="d", scale={"demand.base_demand": 1.1}))
    assert only_budgets_differ(base, _scaled(base, 0.9))
    assert not only_budgets_differ(base, other)
    sweep = Sweep()
    sweep.model(base)
    sweep.warm.lam = np.ones(3)
    sweep.model(other)
    assert not sweep.warm.reused and sweep.warm.lam is None


@pytest.mark.parametrize("priced", [False, True])
def test_warm_sweep_reaches_the_cold_optimum(priced, monkeypatch):
    """Every linking term is on in generated cases (switching, goodwill, tiers, fixed
    costs, budgets, inventory). Gap 0: the whole-LP path proves optimality, so warm and cold
    agree exactly; the priced path skips branch-and-bound, so each answer must lie within
    its own proven gap of the other (and under the other's bound)."""
    if priced:
        monkeypatch.setattr(pricing, "MIN_COLUMNS", 0)
    base = _case(seed=8)
    sweep, prev = Sweep(), None
    for s in (0.85, 0.95, 1.05):
        case = _scaled(base, s)
        cold = solve(case, mip_gap=0, marginals=False)
        warm = solve(case, mip_gap=0, marginals=False, sweep=sweep,
                     start=None if prev is None else prev.assignment)
        prev = warm
        assert warm.status == cold.status
        w, c = warm.solver_objective, cold.solver_objective
        assert w <= cold.bound + 1e-9 * abs(c) and c <= warm.bound + 1e-9 * abs(w)
        if priced:
            assert abs(w - c) <= max(warm.mip_gap, cold.mip_gap) * abs(c) + 1e-6
        else:
            assert warm.status == "optimal"
            assert w == pytest.approx(c, rel=1e-9)
        assert warm.search["lp_method"] == ("prices" if priced else "lp")
        assert sweep.warm.reused == (s != 0.85)
        assert (sweep.warm.lam is not None) == priced


def _lp(case: Case, sweep: Sweep):
    """The LP relaxation of ``case`` as a sweep point: (its model, its value or None when it
    has no solution, what it logged)."""
    from svcplan.solver.bound import SearchLog, relaxation
    from svcplan.solver.options import SolverOptions

    _, sf = sweep.model(case)
    log = SearchLog()
    lp = relaxation(sf, SolverOptions(threads=1), None, log, sweep.warm)
    return sf, None if lp is None else float(sf.objective(lp.x)), log


def test_small_sweep_solves_its_lp_in_the_instance_the_last_point_left():
    """A small model's sweep keeps its LP loaded in HiGHS: each point changes the budget
    rows and re-solves there, to the cold LP value, whether budgets tighten, loosen or stop
    binding. A point whose LP has no solution drops the instance (the next starts a new
    one), and so does a case that differs in more than budgets."""
    from svcplan.solver.highs import HotLp

    base = _case(total=False)
    sweep = Sweep()
    _lp(_scaled(base, 1.0), sweep)
    kept = sweep.warm.lp
    assert isinstance(kept, HotLp)
    for s in (1.2, 0.8, 50.0, 60.0, 40.0, 0.9):
        _, value, _ = _lp(_scaled(base, s), sweep)
        _, cold_value, _ = _lp(_scaled(base, s), Sweep())
        assert value == pytest.approx(cold_value, rel=1e-9), s
        assert sweep.warm.lp is kept, s
    _, value, log = _lp(_scaled(base, 0.01), sweep)
    assert value is None and log.lp_infeasible and sweep.warm.lp is None
    _, value, _ = _lp(_scaled(base, 0.85), sweep)
    assert value == pytest.approx(_lp(_scaled(base, 0.85), Sweep())[1], rel=1e-9)
    assert isinstance(sweep.warm.lp, HotLp)
    kept = sweep.warm.lp
    other = apply(base, Scenario(name="o", scale={"demand.base_demand": 1.1}))
    _, value, _ = _lp(other, sweep)
    assert sweep.warm.lp is not kept
    assert value == pytest.approx(_lp(other, Sweep())[1], rel=1e-9)


class _InProcess(InProcessRunner):
    """The local runner without worker processes: one chain task = one solve_chain call."""


def test_frontier_points_reuse_and_equal_cold_solves(tmp_path, monkeypatch):
    """The frontier runs its chain as one task (model, prices, bases reused) and every
    point is the cold optimum (gap 0)."""
    import svcplan.whatif.batch as batch
    from svcplan.whatif.batch import BatchOptions
    from svcplan.whatif.frontier import run_frontier

    runners = []
    monkeypatch.setattr(batch, "_Local", lambda w: runners.append(_InProcess(w)) or runners[-1])
    base = _case(seed=5, total=False)
    scales = [0.8, 0.9, 1.1]
    _, front, _ = run_frontier(base, scales, tmp_path, BatchOptions(mip_gap=0, workers=1))
    assert runners[0].tasks == [3]  # one chain, one task
    for scale, objective in zip(front["scale"], front["objective"], strict=True):
        cold = solve(_scaled(base, scale), mip_gap=0, marginals=False)
        assert cold.status == "optimal"
        assert objective == pytest.approx(cold.objective, rel=1e-9)
