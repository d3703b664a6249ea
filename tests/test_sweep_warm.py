"""The warm path of a budget sweep on priced models (issue 15, target 4b): the pieces that
make a point cheaper than a cold solve never change what a solve may answer.

- a reused model keeps the views cached on its matrix: they equal a fresh build's;
- single-column rows of a sub-MIP become bounds: the same optimum;
- the rounding fixes the decided units' continuous columns: still a feasible plan;
- the mix of the feasible and the best-bound point meets every dense row;
- warm prices start from the last ones shifted by the core's change, inside the bracket;
- a warm priced chain answers within its proven gap of cold solves, and takes the warm path.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
import scipy.sparse as sp
from plans import whole_plan

from svcplan import Case, solve
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.formulation.rows import RowKind
from svcplan.formulation.standard_form import StandardForm, standard_form
from svcplan.prep.generate import generate_case
from svcplan.solver import highs, pricing
from svcplan.solver import pricing_rules as rules
from svcplan.solver.bound import SearchLog, relaxation
from svcplan.solver.options import SolverOptions
from svcplan.solver.search import fractional_units, round_fractional
from svcplan.solver.sweep import Sweep, WarmState
from svcplan.whatif.scenarios import Scenario, apply


def _case(shape=(3, 8, 3, 4), seed=3) -> Case:
    tables, settings = generate_case(*shape, seed=seed)
    return Case.from_tables(tables, settings)


def _scaled(case: Case, s: float) -> Case:
    return apply(case, Scenario(name=f"budget={s:g}", scale={"periods.budget": s}))


def test_reused_model_keeps_views_equal_to_a_fresh_builds():
    """Every cached property of the standard form, computed on the last model and carried
    over, equals the one a fresh build of the new case computes."""
    base = _case()
    sweep = Sweep()
    _, first = sweep.model(_scaled(base, 1.0))
    cached = [n for n, v in vars(StandardForm).items() if isinstance(v, functools.cached_property)]
    assert cached, "StandardForm has cached views"
    for name in cached:
        getattr(first, name)  # computed on the last model, so carried over
    _, sf = sweep.model(_scaled(base, 0.8))
    assert sweep.warm.reused
    fresh = standard_form(create_model(prepare(_scaled(base, 0.8))))
    for name in cached:
        assert name in vars(sf), f"{name} was not carried over"
        ours, theirs = getattr(sf, name), getattr(fresh, name)
        if isinstance(ours, dict):
            assert ours == theirs
        elif isinstance(ours, tuple):
            assert len(ours) == len(theirs) and all(
                np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True)), name
        else:
            assert np.array_equal(ours, theirs), name
    budget = sf.rows_of({RowKind.BUDGET})
    assert np.array_equal(sf.row_upper[budget], fresh.row_upper[budget])
    assert not np.array_equal(sf.row_upper[budget], first.row_upper[budget])


def test_single_column_rows_become_bounds_with_the_same_optimum():
    """Rows of one column (positive and negative coefficients, integer and continuous
    columns) turn into bounds of a sub-model, rounded inwards for integers; a stored zero
    is no term, so a row of a zero and one coefficient is a bound too. max
    3·x0 + 2·x1 + x2 + x3 s.t. x0 + x1 + x2 ≤ 4, x0 ≤ 1.5, x1 ≥ 0.5, x2 ≥ 0.6, x3 ≤ 2:
    x0 = 1, x1 = 2, x2 = 1, x3 = 2, worth 10."""
    rows = [0, 0, 0, 1, 2, 3, 4, 4]
    cols = [0, 1, 2, 0, 1, 2, 0, 3]
    vals = [1.0, 1.0, 1.0, 2.0, -1.0, 0.5, 0.0, 3.0]  # row 4: an explicit zero and 3·x3
    A = sp.csc_matrix((vals, (rows, cols)), shape=(5, 4))
    sf = StandardForm(
        cost=np.array([3.0, 2.0, 1.0, 1.0]), col_lower=np.zeros(4),
        col_upper=np.array([5.0, 5.0, 5.0, 5.0]), integer=np.array([True, True, False, True]),
        A=A, row_lower=np.array([-np.inf, -np.inf, -np.inf, 0.3, -np.inf]),
        row_upper=np.array([4.0, 3.0, -0.5, np.inf, 6.0]),
        rows=tuple((RowKind.BUDGET, k) for k in range(5)),
        x_cols=np.zeros(0, dtype=np.int64), owner=np.full(4, -1, dtype=np.int64))
    assert A.nnz == 8  # the explicit zero is stored
    red = sf.restricted(np.ones(4, dtype=bool), np.zeros(4))
    assert list(red.rows) == [(RowKind.BUDGET, 0)]
    assert list(red.col_lower) == [0.0, 1.0, 0.6, 0.0]
    assert list(red.col_upper) == [1.0, 5.0, 5.0, 2.0]
    a = highs.solve_mip(sf, rel_gap=0.0, abs_gap=0.0)
    b = highs.solve_mip(red, rel_gap=0.0, abs_gap=0.0)
    assert a.objective == pytest.approx(10.0, abs=1e-6)
    assert b.objective == pytest.approx(10.0, abs=1e-6)


@pytest.mark.parametrize("seed", [3, 4])
def test_cut_submodel_reduced_keeps_its_optimum(seed):
    """On a model's own sub-MIP (the rounding's: a few units free, the offered-level columns
    free, so each fixed unit's fixed-cost link is a row of one column, made a bound) the
    optimum is the whole model's with the other columns fixed."""
    mat = standard_form(create_model(prepare(_case((4, 10, 3, 4), seed=seed))))
    log = SearchLog()
    xr = relaxation(mat, SolverOptions(), None, log).x
    units = np.unique(mat.owner[mat.owner >= 0])[:6]
    free = (mat.owner < 0) | np.isin(mat.owner, units)
    x = round_fractional(mat, xr, SolverOptions(), 30.0, log)  # a plan: it meets every row
    red = mat.restricted(free, x)
    assert np.all(np.diff(red.A.tocsr().indptr) > 1)  # no row of one column is left
    lower, upper = mat.col_lower.copy(), mat.col_upper.copy()
    lower[~free] = upper[~free] = x[~free]
    a = highs.solve_mip(mat.with_bounds(lower, upper), rel_gap=0.0, abs_gap=0.0)
    b = highs.solve_mip(red, rel_gap=0.0, abs_gap=0.0)
    if b.objective is not None:  # the sub-model's objective leaves out the fixed columns
        b.objective += float(mat.cost[~free] @ x[~free]) + mat.offset
    assert (a.objective is None) == (b.objective is None)
    if a.objective is not None:
        assert a.objective == pytest.approx(b.objective, rel=1e-9, abs=1e-6)


def test_rounding_keeps_decided_units_continuous_columns_and_is_feasible():
    mat = standard_form(create_model(prepare(_case((5, 30, 4, 4), seed=7))))
    log = SearchLog()
    xr = relaxation(mat, SolverOptions(), None, log).x
    frac = fractional_units(mat, xr)
    assert len(frac) > 0, "the case must leave some unit fractional"
    plan = round_fractional(mat, xr, SolverOptions(), 30.0, log)
    assert plan is not None and whole_plan(mat, plan)
    decided = (mat.owner >= 0) & ~np.isin(mat.owner, frac)
    assert np.array_equal(plan[decided], np.where(mat.integer[decided], np.round(xr[decided]),
                                                  xr[decided]))
    assert mat.objective(plan) <= log.lp_bound + 1e-6


def test_warm_prices_shift_the_last_prices_by_the_cores_change_inside_the_bracket():
    target = np.array([9.0, 9.0, 9.0])
    prices = rules.Prices(target, scale=np.ones(3))
    warm = WarmState(lam=np.array([1.0, 2.0, 0.5]), core=np.array([0.8, 1.5, 0.5]))
    # the last point's rounds: both spends over the new (lower) targets, except row 2,
    # which a price of 1.0 brings within
    warm.seen = [(np.array([0.9, 1.8, 0.4]), np.array([11.0, 12.0, 10.0])),
                 (np.array([1.0, 2.0, 1.0]), np.array([10.0, 10.5, 8.0]))]
    core = np.array([1.1, 1.6, 0.6])
    lam = pricing._warm_prices(prices, warm, core)
    # rows 0–1: 1.0 + 0.3 and 2.0 + 0.1; row 2: 0.5 + 0.1 = 0.6 is inside its bracket [0.4, 1.0]
    assert np.allclose(lam, [1.3, 2.1, 0.6])
    low = pricing._warm_prices(rules.Prices(target, np.ones(3)), warm,
                               np.array([0.0, 0.0, 0.0]))
    assert np.all(low >= [1.0, 2.0, 0.4])  # never below a price seen to overspend


@pytest.mark.parametrize("seed", [8, 11])
def test_warm_priced_chain_is_within_its_gap_of_cold_solves(seed, monkeypatch):
    """Pricing forced at this size (as the other pricing tests do); a chain 1.0 → 0.9 → 0.8
    at a 0.1% gap: the warm points start from shifted prices (the warm path is taken), and
    each answer lies within its own proven gap of the cold one and under its bound."""
    monkeypatch.setattr(pricing, "MIN_COLUMNS", 0)
    calls = []
    real = pricing._warm_prices
    monkeypatch.setattr(pricing, "_warm_prices", lambda *a: calls.append(1) or real(*a))
    base = _case((3, 8, 3, 4), seed=seed)
    sweep, prev = Sweep(), None
    for k, s in enumerate((1.0, 0.9, 0.8)):
        case = _scaled(base, s)
        before = len(calls)
        warm = solve(case, mip_gap=1e-3, marginals=False, sweep=sweep,
                     start=None if prev is None else prev.assignment)
        # the first point is cold, the others warm (twice if they priced on: tighten)
        assert (len(calls) > before) == (k > 0)
        cold = solve(case, mip_gap=1e-3, marginals=False)
        prev = warm
        assert warm.search["lp_method"] == cold.search["lp_method"] == "prices"
        assert warm.status == cold.status
        w, c = warm.solver_objective, cold.solver_objective
        assert w <= cold.bound + 1e-9 * abs(c) and c <= warm.bound + 1e-9 * abs(w)
        assert abs(w - c) <= max(warm.mip_gap, cold.mip_gap) * abs(c) + 1e-6
        if warm.status == "optimal":
            assert warm.mip_gap <= 1e-3 + 1e-12


def test_a_loose_warm_bound_is_tightened_when_the_rounding_does_not_prove(monkeypatch):
    """A warm first pass that stopped on its loose stall, with a rounding that proves
    nothing (here: none), prices on at the same point: a second pass with ``tighten``,
    whose bound is kept only where it is lower; the answer stays under the cold bound."""
    from svcplan.solver import strategy

    monkeypatch.setattr(pricing, "MIN_COLUMNS", 0)
    real = pricing.lagrangian
    passes = []

    def spy(sf, opts, seconds, log, gap=1e-4, **kw):
        out = real(sf, opts, seconds, log, gap, **kw)
        if kw.get("warm") is not None and kw["warm"].reused and not kw.get("tighten"):
            log.bound_loose = True  # as if the loose stall had ended it
        passes.append((bool(kw.get("tighten")), log.lp_bound))
        return out

    monkeypatch.setattr(pricing, "lagrangian", spy)
    base = _case(seed=8)
    sweep = Sweep()
    head = solve(_scaled(base, 1.0), mip_gap=1e-3, marginals=False, sweep=sweep)
    assert passes == [(False, passes[0][1])]  # cold: one pass, never loose
    monkeypatch.setattr(strategy, "round_fractional", lambda *a, **k: None)
    warm = solve(_scaled(base, 0.9), mip_gap=1e-3, marginals=False, sweep=sweep,
                 start=head.assignment)
    assert [t for t, _ in passes] == [False, False, True]
    first, second = passes[1][1], passes[2][1]
    assert warm.search["lp_bound"] == pytest.approx(min(first, second), rel=1e-12)
    cold = solve(_scaled(base, 0.9), mip_gap=1e-3, marginals=False, warm_start=False)
    if warm.solver_objective is not None:
        assert warm.solver_objective <= cold.bound + 1e-9 * abs(cold.bound)


def test_mix_of_feasible_and_best_bound_points_meets_every_limit():
    limit = np.array([10.0, 10.0, 4.0])
    spend_f, spend_b = np.array([8.0, 5.0, 4.0]), np.array([12.0, 6.0, 3.0])
    # row 0 allows α = (10 − 8) / (12 − 8) = 0.5; rows 1–2 are within at any α
    assert rules.mixed(100.0, spend_f, 110.0, spend_b, limit) == pytest.approx(105.0)
    assert rules.mixed(100.0, spend_f, 110.0, np.array([9.0, 6.0, 3.0]), limit) == 110.0
    # the feasible point already at the limit where the bound point is over: α = 0
    assert rules.mixed(100.0, np.array([10.0, 5.0, 4.0]), 110.0, spend_b, limit) == 100.0
    for alpha_case in range(20):
        rng = np.random.default_rng(alpha_case)
        f = rng.uniform(0, 10, 5)
        b = rng.uniform(0, 20, 5)
        lim = np.maximum(f, rng.uniform(0, 15, 5))
        v = rules.mixed(0.0, f, 1.0, b, lim)  # the value is α itself
        assert 0.0 <= v <= 1.0
        assert np.all((1 - v) * f + v * b <= lim + 1e-9)
        if v < 1.0:  # α is the largest: some row is at its limit
            assert np.any(np.isclose((1 - v) * f + v * b, lim))


def test_the_tighter_point_is_rounded_when_the_first_rounding_did_not_prove(monkeypatch):
    """After the tighter pass the point it ends at is rounded too (its fence is usually
    smaller): 300k with every linking term, warm at 0.9× after 1.2, 1.1, 1.0, the first
    rounding (842 units) ran into its 10 s and the point ended *feasible* at 0.94%; the
    tighter point's rounding (153 units) proved 0.094%. Events in order: the first pass,
    the first rounding (made to find nothing), the tighter pass, its rounding."""
    from svcplan.solver import strategy

    monkeypatch.setattr(pricing, "MIN_COLUMNS", 0)
    events = []
    real_price, real_round = pricing.lagrangian, strategy.round_fractional

    def price(sf, opts, seconds, log, gap=1e-4, **kw):
        out = real_price(sf, opts, seconds, log, gap, **kw)
        warm = kw.get("warm") is not None and kw["warm"].reused
        if warm and not kw.get("tighten"):
            log.bound_loose = True  # as if the loose stall had ended it
        events.append(("tighter" if kw.get("tighten") else "price", out))
        return out

    def rounding(sf, xr, *args, **kw):
        events.append(("round", xr))
        if len([e for e in events if e[0] == "round"]) == 1 and len(events) > 2:
            return None  # the warm point's first rounding finds nothing
        return real_round(sf, xr, *args, **kw)

    monkeypatch.setattr(pricing, "lagrangian", price)
    monkeypatch.setattr(strategy, "round_fractional", rounding)
    base = _case(seed=8)
    sweep = Sweep()
    head = solve(_scaled(base, 1.0), mip_gap=1e-3, marginals=False, sweep=sweep)
    events.clear()
    events.append(("warm point", None))
    warm = solve(_scaled(base, 0.9), mip_gap=1e-3, marginals=False, sweep=sweep,
                 start=head.assignment)
    kinds = [k for k, _ in events]
    assert kinds[:5] == ["warm point", "price", "round", "tighter", "round"]
    tighter = events[3][1]
    assert tighter is not None and events[4][1] is tighter.x
    assert warm.has_plan


def test_without_a_deadline_the_rounding_gets_eight_times_the_bounds_time(monkeypatch):
    """No time limit must not do worse than a generous one: at 300k with every linking term
    (0.8× budget, priced in 14 s) a 10 s rounding ended the solve *feasible* at 0.136%,
    a 67 s one (the share a 240 s limit gives) proved 0.053%. The rounding now gets 8× the
    bound's time, at least 10 s, when no deadline is set; with one, its share as before."""
    from svcplan.solver import strategy

    monkeypatch.setattr(pricing, "MIN_COLUMNS", 0)
    real_price, real_round = pricing.lagrangian, strategy.round_fractional
    given = []

    def price(sf, opts, seconds, log, gap=1e-4, **kw):
        out = real_price(sf, opts, seconds, log, gap, **kw)
        log.lp_seconds = 3.0  # as if the bound had taken 3 s
        return out

    def rounding(sf, xr, opts, seconds, *args, **kw):
        given.append(seconds)
        return real_round(sf, xr, opts, seconds, *args, **kw)

    monkeypatch.setattr(pricing, "lagrangian", price)
    monkeypatch.setattr(strategy, "round_fractional", rounding)
    case = _scaled(_case(seed=8), 1.0)
    solve(case, mip_gap=1e-3, marginals=False)
    assert given[0] == pytest.approx(24.0)
    given.clear()
    solve(case, mip_gap=1e-3, marginals=False, time_limit=100)
    assert 0 < given[0] <= 0.3 * 100
    assert strategy._rounding_seconds(SearchLog()) == 10.0
