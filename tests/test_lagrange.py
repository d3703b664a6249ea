"""Pricing the dense budget rows (svcplan.solver.pricing): every L(λ) is a valid bound, close to
the LP optimum; the prices converge; the pipeline with prices keeps the exact optimum."""

from __future__ import annotations

import numpy as np
import pytest

from svcplan import Case, solve
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.formulation.standard_form import standard_form
from svcplan.prep.generate import generate_case
from svcplan.solver import pricing as lagrange
from svcplan.solver import pricing_rules as rules
from svcplan.solver.bound import SearchLog, relaxation
from svcplan.solver.options import SolverOptions
from svcplan.solver.search import round_fractional


def _mat(shape: tuple[int, int, int, int], seed: int):
    tables, settings = generate_case(*shape, seed=seed)
    case = Case.from_tables(tables, settings)
    return case, standard_form(create_model(prepare(case)))


def test_prices_find_each_rows_root_from_both_sides():
    """Separable decreasing spend curves with kinks: the Illinois secant hits each target."""
    target = np.array([10.0, 5.0, 100.0, 3.0])
    slope = np.array([2.0, 0.5, 40.0, 1.0])

    def spend(lam):  # row 3 is slack even at price 0
        return np.where(lam < 1.0, 20.0 - slope * lam, 20.0 - slope - 3 * slope * (lam - 1.0)) - \
            np.array([0.0, 0.0, -300.0, 18.0])

    p = rules.Prices(target, scale=np.ones(4))
    lam = np.zeros(4)
    for _ in range(40):
        lam = p.step(lam, spend(lam))
    s = spend(lam)
    assert lam[3] == 0.0 and s[3] <= target[3]
    assert np.allclose(s[:3], target[:3], rtol=1e-6)


@pytest.mark.parametrize("seed", [pytest.param(2, marks=pytest.mark.slow), 5])
def test_priced_bound_is_valid_and_close_to_the_lp_optimum(seed):
    _, mat = _mat((5, 40, 4, 6), seed)
    lp_log, price_log = SearchLog(), SearchLog()
    relaxation(mat, SolverOptions(), None, lp_log)
    out = lagrange.lagrangian(mat, SolverOptions(), None, price_log, gap=1e-5)
    assert out is not None and price_log.lp_method == "prices"
    lp_star = lp_log.lp_bound
    assert price_log.lp_bound >= lp_star - 1e-7 * abs(lp_star)  # weak duality
    assert price_log.lp_bound <= lp_star + 2e-4 * abs(lp_star)
    # to 1% of the bound: the test asks for a plan that meets every row, under the bound;
    # rounding to the optimum (the default gap 0) took 14 s of a suite near its budget
    plan = round_fractional(mat, out[0], SolverOptions(), 30.0, price_log, gap=0.01)
    act = mat.A @ plan
    assert np.all(act <= mat.row_upper + 1e-6 * np.maximum(1, abs(act)))
    assert np.all(act >= mat.row_lower - 1e-6 * np.maximum(1, abs(act)))
    assert float(mat.cost @ plan + mat.offset) <= price_log.lp_bound


def test_not_applicable_without_dense_rows_or_when_small():
    case, mat = _mat((2, 4, 3, 2), 1)
    assert not lagrange.applies(mat)  # below MIN_COLUMNS
    assert lagrange.applies(mat, True) == bool(len(lagrange.dense_rows(mat)))
    assert not lagrange.applies(mat, False)


@pytest.mark.parametrize("seed", [3, 8])
def test_pipeline_with_prices_keeps_the_exact_optimum(seed, monkeypatch):
    tables, settings = generate_case(3, 8, 3, 4, seed=seed)
    case = Case.from_tables(tables, settings)
    plain = solve(case, mip_gap=0, warm_start=False, marginals=False)
    monkeypatch.setattr(lagrange, "MIN_COLUMNS", 0)
    priced = solve(case, mip_gap=0, marginals=False)
    assert priced.search["lp_method"] == "prices"
    assert priced.solver_objective == pytest.approx(plain.solver_objective, rel=1e-9)
    assert priced.bound >= plain.solver_objective - 1e-6 * abs(plain.solver_objective)


def test_pricing_has_settled_when_its_rounds_agree_not_when_the_best_stands_still():
    """The bounds of rounds 0–3 and 9–11 of a cold 300k solve (gap 1e-4): the first round's
    bound stays the best while rounds 1–3 overshoot (no convergence); by round 11 each of the
    last three rounds is within 1e-6 of the best (converged: stop)."""
    early = [47223823.98, 47324615.49, 47231647.01, 47226776.86]
    late = [47222835.86, 47222813.63, 47222800.74]
    assert not rules.settled(early, min(early), 1e-4, 3)
    assert rules.settled(early[:1] + late, min(late), 1e-4, 3)
    assert not rules.settled(early[:1] + late, min(late), 1e-5, 3)  # a tighter gap: not yet
    assert not rules.settled(late, min(late), 1e-4, 3)  # fewer rounds than the window + 1
    # never at a warm start (its own loose stall ends it), nor without a feasible price
    # point (pricing would hand over to the whole LP: 292 s at 300k with every linking term)
    converged = early[:1] + late
    assert not rules.settled(converged, min(late), 1e-4, 3, cold=False)
    assert not rules.settled(converged, min(late), 1e-4, 3, feasible=False)


@pytest.mark.parametrize(("seed", "scales"), [(4, (1.0, 1.1)), (4, (0.9, 1.0)), (0, (0.9,))])
def test_pricing_finds_a_point_within_every_row_once_the_bound_has_converged(seed, scales,
                                                                             monkeypatch):
    """Near the root the secant approaches every row from both sides at once, and at each
    round some row is just over its target: no price set met every row, and pricing handed
    over to the whole LP (before this: all three runs, a warm step up, a warm step down and
    a cold point; at 300k the warm step 1.0 → 1.1 took 39 s of whole LP instead of 2 s).
    Once the bound has converged, the prices each row was within at give that point."""
    from svcplan.solver.sweep import Sweep
    from svcplan.whatif.frontier import budget_scenarios
    from svcplan.whatif.scenarios import apply

    monkeypatch.setattr(lagrange, "MIN_COLUMNS", 0)
    tables, settings = generate_case(6, 40 if seed else 80, 4, 6, seed=seed, goodwill=False,
                                     switching=False)
    case = Case.from_tables(tables, settings)
    scenarios, _ = budget_scenarios(case, list(scales))
    sweep, start = Sweep(), None
    for scenario in scenarios:
        point = apply(case, scenario)
        r = solve(point, threads=1, start=start, sweep=sweep, mip_gap=0.001, marginals=False)
        assert r.search["lp_method"] == "prices"
        assert r.status == "optimal" and r.mip_gap <= 0.001
        start = r.assignment
    monkeypatch.setattr(lagrange, "MIN_COLUMNS", 10**9)  # the whole LP, branch-and-bound
    cold = solve(point, mip_gap=1e-4, marginals=False)
    assert cold.status == "optimal"
    assert cold.objective * (1 - 1.1e-3) <= r.objective <= cold.bound + 1e-6


def test_within_prices_are_each_rows_lowest_price_seen_within():
    p = rules.Prices(np.array([10.0, 10.0, 10.0]), scale=np.ones(3))
    lam = p.step(np.array([1.0, 1.0, 0.0]), np.array([12.0, 8.0, 11.0]))  # over, within, over
    lam = p.step(lam, np.array([9.0, 9.0, 12.0]))  # row 0 within at 1.3, row 1 within at 0.7
    assert p.within(lam).tolist() == pytest.approx([1.3, 0.7, lam[2]])


def test_pushed_prices_first_the_within_prices_then_the_best_bounds_raised_more_each_time():
    within = np.array([1.0, 2.0, 0.5])
    best = np.array([1.2, 0.0, 0.4])
    assert rules.pushed(within, best, 1).tolist() == within.tolist()
    base = np.array([1.2, 2.0, 0.4])  # a row without a best-bound price keeps its within price
    for k, rise in ((2, rules.PUSH), (3, 2 * rules.PUSH), (4, 4 * rules.PUSH)):
        assert rules.pushed(within, best, k) == pytest.approx(base * (1 + rise))


def test_pricing_is_idle_when_neither_its_bound_nor_its_feasible_point_moves():
    """Stop on a stalled bound whose best LP-feasible point has not improved for
    IDLE_ROUNDS rounds; only cold, and only with such a point (as :func:`settled`)."""
    n = rules.IDLE_ROUNDS
    assert rules.idle(True, n)
    assert not rules.idle(True, n - 1)  # the point improved recently
    assert not rules.idle(False, 2 * n)  # the bound still moves
    assert not rules.idle(True, 2 * n, cold=False)
    assert not rules.idle(True, 2 * n, feasible=False)


def test_cold_pricing_stops_once_idle_with_the_plan_still_within_the_gap(monkeypatch):
    """A small case at 0.7× its budget with pricing forced: its secant swings around a bound
    that stalls early while the best LP-feasible point stays where round 1 found it, and it
    ran 28 rounds before the idle stop (14 with it). The plan is still proven within the gap,
    and a cold solve by branch-and-bound agrees with it."""
    from svcplan.whatif.frontier import budget_scenarios
    from svcplan.whatif.scenarios import apply

    tables, settings = generate_case(6, 40, 4, 6, seed=1, goodwill=False, switching=False)
    case = Case.from_tables(tables, settings)
    point = apply(case, budget_scenarios(case, [0.7])[0][0])
    monkeypatch.setattr(lagrange, "MIN_COLUMNS", 0)
    r = solve(point, threads=1, mip_gap=0.001, marginals=False)
    rounds = sum(1 for event in r.search["trace"] if event[0] == "price")
    assert r.search["lp_method"] == "prices"
    assert rounds < 20
    assert r.status == "optimal" and r.mip_gap <= 0.001
    monkeypatch.setattr(lagrange, "MIN_COLUMNS", 10**9)  # the whole LP, branch-and-bound
    cold = solve(point, mip_gap=1e-3, marginals=False)
    assert cold.status == "optimal"
    assert cold.objective * (1 - 1.1e-3) <= r.objective <= cold.bound + 1e-6


class _Objective:
    """What :class:`pricing._Rounds` reads of a standard form: the objective of a point."""

    def __init__(self, c: np.ndarray):
        self.c = c

    def objective(self, x: np.ndarray) -> float:
        return float(self.c @ x)


class _Answer:
    """A sparse rest's answer as a round sees it: a point and its reduced costs."""

    def __init__(self, x: list[float]):
        self.x = np.array(x)
        self.col_dual = -self.x  # any array: the test checks which round's is kept


def test_rounds_keep_the_best_bound_and_the_best_feasible_point_apart():
    """Two budget rows with limit 10. Round 0 overspends row 1 with the lowest bound; round 1
    meets both rows; round 2 meets them with a better value but a worse bound. The best
    bound keeps round 0's prices, point and reduced costs; the feasible point is round 2's;
    cold, the reach is that point's value, warm the LP-feasible mix of the two points."""
    sf = _Objective(np.array([1.0, 1.0]))
    limit = np.array([10.0, 10.0])
    lam = [np.array([1.0, 1.0]), np.array([1.5, 2.0]), np.array([1.2, 1.8])]
    answers = [_Answer([9.0, 6.0]), _Answer([4.0, 3.0]), _Answer([5.0, 4.0])]
    spends = [np.array([9.0, 12.0]), np.array([8.0, 6.0]), np.array([9.0, 8.0])]
    bounds = [100.0, 105.0, 102.0]
    for warm in (False, True):
        r = lagrange._Rounds(limit=limit, warm_start=warm, best_lam=np.zeros(2))
        for k in range(3):
            r.record(sf, k, lam[k], answers[k], spends[k], bounds[k])
        assert r.best_bound == 100.0 and r.best_lam is lam[0]
        assert r.bound_x is answers[0].x and r.best_rc is answers[0].col_dual
        assert r.bound_value == 15.0 and r.bound_spend is spends[0]
        assert r.best_x is answers[2].x and r.best_value == 9.0 and r.improved_at == 2
        assert r.bounds == [100.0, 100.0, 100.0] and r.raw == bounds
        assert [s for _, s in r.seen] == spends
        # warm: the mix moves from the feasible point (spend 8 on row 1) toward the bound's
        # (12) while row 1 stays within 10: α = 0.5, value 9 + 0.5 × (15 − 9) = 12
        assert r.reach == (12.0 if warm else 9.0)
        assert r.off == pytest.approx((100.0 - r.reach) / 100.0)


def test_rounds_are_done_within_half_the_gap_or_stalled_within_twice_it():
    """Half the gap ends pricing at once; a stalled bound ends it only with the reach within
    twice the gap, or with a point found by pushed prices; no feasible point, no stop."""
    sf = _Objective(np.array([1.0]))
    limit = np.array([10.0])

    def rounds(values: list[float], bound_values: list[float]) -> lagrange._Rounds:
        r = lagrange._Rounds(limit=limit, warm_start=True, best_lam=np.zeros(1))
        for k, (v, b) in enumerate(zip(values, bound_values, strict=True)):
            r.record(sf, k, np.zeros(1), _Answer([v]), np.array([5.0]), b)
        return r

    gap = 0.01
    assert rounds([99.6], [100.0]).done(0, gap, 1, 0.5 * gap, pushed_before=False)  # 0.4%
    moving = rounds([98.5, 98.5], [102.0, 100.0])  # 1.5% off, the bound moved 2%
    assert not moving.done(1, gap, 1, 0.5 * gap, pushed_before=False)
    stalled = rounds([98.5, 98.5], [100.0, 100.0])  # 1.5% off (within 2%), bound stalled
    assert stalled.done(1, gap, 1, 0.5 * gap, pushed_before=False)
    far = rounds([97.0, 97.0], [100.0, 100.0])  # 3% off: stalled, yet too far to stop
    assert not far.done(1, gap, 1, 0.5 * gap, pushed_before=False)
    assert far.done(1, gap, 1, 0.5 * gap, pushed_before=True)  # found by pushed prices
    none = lagrange._Rounds(limit=limit, warm_start=True, best_lam=np.zeros(1))
    for k in range(2):  # every round overspends: nothing to round, never done
        none.record(sf, k, np.zeros(1), _Answer([50.0]), np.array([11.0]), 100.0)
    assert none.off == np.inf
    assert not none.done(1, gap, 1, 0.5 * gap, pushed_before=True)
