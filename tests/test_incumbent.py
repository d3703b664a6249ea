"""The structure-aware incumbent (svcplan.solver.search): sub-MIPs cut from the matrix, LP
rounding and the neighbourhood search never change what is optimal, never return an
infeasible plan, never make a plan worse; one deadline bounds the whole solve."""

from __future__ import annotations

from dataclasses import replace

import highspy
import numpy as np
import pytest
import scipy.sparse as sp

from svcplan import Case, solve
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.formulation.rownames import RowNames
from svcplan.formulation.rows import RowKind
from svcplan.formulation.standard_form import StandardForm, standard_form
from svcplan.prep.generate import generate_case
from svcplan.solver import highs, search
from svcplan.solver.bound import SearchLog, least_proven, relaxation
from svcplan.solver.options import SolverOptions
from svcplan.solver.respend import leaning, respend
from svcplan.solver.search import (
    fractional_units,
    from_start,
    neighbourhood_search,
    round_fractional,
    submip,
    thrifty_plan,
)


def _matrix(segments: int, products: int, levels: int, periods: int, seed: int):
    tables, settings = generate_case(segments, products, levels, periods, seed=seed)
    case = Case.from_tables(tables, settings)
    data = prepare(case)
    return case, standard_form(create_model(data)), data


def _assert_feasible(mat, x: np.ndarray) -> None:
    act = mat.A @ x
    tol = 1e-6 * np.maximum(1.0, np.abs(act))
    assert np.all(act >= mat.row_lower - tol)
    assert np.all(act <= mat.row_upper + tol)
    assert np.all(x >= mat.col_lower - 1e-9)
    assert np.all(x <= mat.col_upper + 1e-9)
    ints = x[mat.integer]
    assert np.allclose(ints, np.round(ints), atol=1e-6)


def _value(mat, x: np.ndarray) -> float:
    return float(np.dot(mat.cost, x))


@pytest.mark.parametrize("seed", [3, 4])
def test_submip_with_every_column_free_is_the_plain_optimum(seed):
    case, mat, _ = _matrix(3, 6, 3, 3, seed)
    plain = solve(case, mip_gap=0, warm_start=False, marginals=False)
    free = np.ones(mat.n_cols, dtype=bool)
    x = submip(mat, np.zeros(mat.n_cols), free, SolverOptions(), 60.0, start=False).x
    _assert_feasible(mat, x)
    assert _value(mat, x) == pytest.approx(plain.solver_objective, rel=1e-9)


def test_rounding_and_search_give_feasible_plans_that_only_improve():
    """150 units (> the search's small-model cut-off of 120), 4 periods, all linking terms."""
    _, mat, data = _matrix(5, 30, 4, 4, 7)
    log = SearchLog()
    xr, reduced, _ = relaxation(mat, SolverOptions(), None, log)
    x0 = round_fractional(mat, xr, SolverOptions(), 30.0, log)
    _assert_feasible(mat, x0)
    assert _value(mat, x0) <= log.lp_bound + 1e-6
    cluster = np.zeros(mat.owner.max() + 1, dtype=np.int64)
    cluster[data.options["u"].to_numpy()] = data.options["product"].factorize()[0]
    x1 = neighbourhood_search(mat, x0, reduced, cluster, 0.0, SolverOptions(), 3.0, log)
    _assert_feasible(mat, x1)
    assert log.rounds > 0, "the search must run on a model of this size"
    assert _value(mat, x0) - 1e-6 <= _value(mat, x1) <= log.lp_bound + 1e-6
    assert log.objectives == sorted(log.objectives)


def test_the_neighbourhood_grows_after_quick_sub_mips_and_shrinks_after_slow_ones():
    from svcplan.solver.neighbourhoods import next_size

    assert next_size(60, 1.9, 4.0) == 90  # done within half its time: half again
    assert next_size(60, 3.8, 4.0) == 40  # used up 95% of it: a third less
    assert next_size(60, 3.7, 4.0) == 60  # in between (92.5%): as it was
    assert next_size(12, 4.0, 4.0) == 10  # never below 10 units


def test_every_second_round_frees_the_lp_fractional_units(monkeypatch):
    """The units the LP left fractional join rounds 1, 3, 5, … (not 0, 2, …), with a
    neighbourhood of the starting size; the plan stays feasible and only improves."""
    _, mat, data = _matrix(5, 30, 4, 4, 7)
    log = SearchLog()
    xr, reduced, _ = relaxation(mat, SolverOptions(), None, log)
    lp_units = fractional_units(mat, xr)
    vals = xr[mat.x_cols]
    assert set(lp_units) == set(mat.owner[mat.x_cols][(vals > 1e-6) & (vals < 1 - 1e-6)])
    assert len(lp_units) > 0, "the case must leave some unit fractional"
    x0 = round_fractional(mat, xr, SolverOptions(), 30.0, log)
    freed = []

    def spy(sf, x, free, *args, **kw):
        freed.append(np.unique(sf.owner[free & (sf.owner >= 0)]))
        log.interrupted = len(freed) >= 4  # four rounds, however long each takes (load)
        return submip(sf, x, free, *args, **kw)

    monkeypatch.setattr(search, "submip", spy)
    x1 = search.neighbourhood_search(mat, x0, reduced, None, 0.0, SolverOptions(), 60.0, log,
                                     lp_units=lp_units)
    _assert_feasible(mat, x1)
    assert len(freed) == 4
    for k, units in enumerate(freed):
        if k % 2 == 1:
            assert set(lp_units) <= set(units)
            assert len(units) <= search.START_SIZE + len(lp_units) + 5  # a view rounds up
    assert any(not set(lp_units) <= set(u) for u in freed[::2]), "even rounds are plain"
    assert _value(mat, x0) - 1e-6 <= _value(mat, x1) <= log.lp_bound + 1e-6


def test_submip_keeps_fixed_columns_and_never_worsens_the_start():
    _, mat, _ = _matrix(4, 10, 3, 4, 5)
    log = SearchLog()
    xr = relaxation(mat, SolverOptions(), None, log).x
    x0 = round_fractional(mat, xr, SolverOptions(), 30.0, log)
    rng = np.random.default_rng(0)
    free_units = rng.random(mat.owner.max() + 1) < 0.3
    free = (mat.owner < 0) | free_units[np.maximum(mat.owner, 0)] & (mat.owner >= 0)
    x1 = submip(mat, x0, free, SolverOptions(), 30.0).x
    _assert_feasible(mat, x1)
    assert np.array_equal(x1[~free], x0[~free])
    assert _value(mat, x1) >= _value(mat, x0) - 1e-6


def test_submip_stops_at_a_plan_worth_enough_never_below_it():
    """``enough`` is a value of the whole plan: the sub-MIP, started from a plan worth less,
    must not stop before a plan worth ``enough`` (the fixed columns' share is accounted
    once), and proves its optimum when ``enough`` is out of reach."""
    _, mat, _ = _matrix(4, 10, 3, 4, 5)
    log = SearchLog()
    xr = relaxation(mat, SolverOptions(), None, log).x
    x0 = round_fractional(mat, xr, SolverOptions(), 30.0, log)
    free_units = np.random.default_rng(1).random(mat.owner.max() + 1) < 0.4
    free = (mat.owner < 0) | free_units[np.maximum(mat.owner, 0)] & (mat.owner >= 0)
    best = _value(mat, submip(mat, x0, free, SolverOptions(), 30.0).x)
    assert best > _value(mat, x0) + 1.0  # room between the start and the sub-optimum
    enough = _value(mat, x0) + 0.5 * (best - _value(mat, x0))
    x1 = submip(mat, x0, free, SolverOptions(), 30.0, enough=enough).x
    assert _value(mat, x1) >= enough - 1e-6 and np.array_equal(x1[~free], x0[~free])
    x2 = submip(mat, x0, free, SolverOptions(), 30.0, enough=best + 1.0).x
    assert _value(mat, x2) == pytest.approx(best, rel=1e-9)


@pytest.mark.parametrize("bound", [250.0, -250.0])
def test_least_proven_is_the_value_the_bound_proves_within_the_gap(bound):
    v = least_proven(bound, 0.02)
    assert bound - v == pytest.approx(0.02 * abs(v), rel=1e-12)


@pytest.mark.parametrize("seed", [1, 2])
def test_search_never_changes_the_optimum(seed):
    """At gap 0 a solve that runs the search proves the same optimum as a plain solve."""
    tables, settings = generate_case(5, 30, 3, 3, seed=seed)
    case = Case.from_tables(tables, settings)
    plain = solve(case, mip_gap=0, warm_start=False, marginals=False)
    searched = solve(case, mip_gap=0, marginals=False)
    assert plain.status == searched.status == "optimal"
    assert searched.search["rounds"] > 0
    assert searched.objective == pytest.approx(plain.objective, rel=1e-9)


def test_time_limit_bounds_the_whole_run():
    """Build, LP, rounding, search and branch-and-bound share one deadline (a solve of this
    case at gap 0 takes minutes, so the limit really cuts it short)."""
    tables, settings = generate_case(5, 30, 5, 12, seed=1)
    case = Case.from_tables(tables, settings)
    res = solve(case, mip_gap=0, time_limit=6.0, marginals=False)
    assert res.status == "time_limit"
    assert res.total_seconds <= 6.0 + 3.0


def test_progress_reports_each_phase():
    tables, settings = generate_case(5, 30, 3, 3, seed=1)
    lines: list[str] = []
    res = solve(Case.from_tables(tables, settings), mip_gap=0, marginals=False,
                progress=lines.append)
    assert res.status == "optimal"
    assert lines[0] == "building the model…"
    assert any(line.startswith("LP relaxation (") for line in lines)
    assert any(line.startswith("LP bound ") and "rounding" in line for line in lines)


def test_thrifty_plan_is_one_feasible_level_per_unit_period_using_least_budget():
    case, mat, data = _matrix(4, 10, 4, 3, 5)
    x = thrifty_plan(mat)
    group = np.repeat(np.arange(len(data.group_start)), data.group_end - data.group_start)
    assert np.all(np.bincount(group, weights=x) == 1.0)
    full = from_start(mat, x, SolverOptions())
    _assert_feasible(mat, full)
    # no other plan spends less in any period: each chosen option is its group's cheapest
    cost = data.options["cost"].to_numpy()
    chosen = cost[x > 0.5]
    cheapest = data.options.assign(c=cost).groupby(["u", "t"])["c"].min().to_numpy()
    assert chosen.sum() == pytest.approx(cheapest.sum())


def test_from_start_completes_a_plan_as_the_whole_model_does_and_refuses_a_plan_off_a_row():
    """The completion is solved as a sub-model of the other columns (changes, goodwill,
    offered levels); the whole model with the options' bounds fixed is the reference. A row
    of options only is not in that sub-model, so a plan that breaks one must still get None."""
    _, mat, _ = _matrix(4, 10, 4, 3, 5)
    x = thrifty_plan(mat)
    lower, upper = mat.col_lower.copy(), mat.col_upper.copy()
    lower[mat.x_cols] = upper[mat.x_cols] = x
    whole = highs.solve_mip(mat.with_bounds(lower, upper), rel_gap=1e-9, abs_gap=1e-9)
    full = from_start(mat, x, SolverOptions())
    _assert_feasible(mat, full)
    assert np.array_equal(full[mat.x_cols], x)
    assert mat.objective(full) == pytest.approx(whole.objective, rel=1e-9, abs=1e-6)
    # one more row over the options alone, which the plan overruns by one option
    n = len(mat.x_cols)
    row = sp.csr_matrix((np.ones(n), (np.zeros(n, dtype=np.int64), mat.x_cols)),
                        shape=(1, mat.n_cols))
    capped = replace(mat, A=sp.vstack([mat.A, row]).tocsc(),
                     row_lower=np.r_[mat.row_lower, -np.inf],
                     row_upper=np.r_[mat.row_upper, x.sum() - 1],
                     rows=[*mat.rows, (RowKind.BUDGET, 99)])
    assert from_start(capped, x, SolverOptions()) is None


def test_without_the_lp_the_solve_still_returns_a_feasible_plan(monkeypatch):
    """The LP relaxation 'times out': the thrifty plan, searched, is the answer; no bound."""
    import svcplan.solver.strategy as strategy

    tables, settings = generate_case(5, 30, 4, 4, seed=7)
    case = Case.from_tables(tables, settings)
    best = solve(case, mip_gap=1e-3, marginals=False)  # its bound is above every plan
    monkeypatch.setattr(strategy, "relaxation", lambda *a, **k: None)
    res = solve(case, time_limit=4, marginals=False)
    assert res.status in ("time_limit", "feasible", "optimal")
    assert res.warm_start.startswith("thrifty plan")
    assert res.objective <= best.bound + 1e-9 * abs(best.bound)
    assert res.assignment.groupby(["segment", "product", "period"]).size().eq(1).all()
    assert len(res.assignment) == len(best.assignment)


def test_a_priced_solve_whose_rounding_fails_starts_from_the_thrifty_plan(monkeypatch):
    """Pricing gave a bound and a point, but the rounding found no plan: the thrifty plan,
    searched, is the answer, with the priced bound (not branch-and-bound on the whole
    model, which a model large enough to be priced cannot afford)."""
    import svcplan.solver.strategy as strategy
    from svcplan.solver import pricing

    tables, settings = generate_case(5, 30, 4, 4, seed=7)
    case = Case.from_tables(tables, settings)
    best = solve(case, mip_gap=1e-3, marginals=False)
    monkeypatch.setattr(pricing, "MIN_COLUMNS", 0)  # price this small model
    monkeypatch.setattr(strategy, "round_fractional", lambda *a, **k: None)
    monkeypatch.setattr(strategy.highs, "solve_mip", _no_whole_model(strategy.highs.solve_mip))
    res = solve(case, mip_gap=1e-3, time_limit=30, marginals=False)
    assert res.search["lp_method"] == "prices"
    assert res.warm_start.startswith("thrifty plan")
    assert res.bound is not None and res.objective <= res.bound + 1e-6
    assert res.objective <= best.bound + 1e-9 * abs(best.bound)
    assert res.assignment.groupby(["segment", "product", "period"]).size().eq(1).all()


def test_a_priced_solve_whose_every_rounding_fails_starts_from_the_thrifty_plan(monkeypatch):
    """As above, where the priced bound was loose (a warm start's stall), so the rounding
    is tried again at tighter prices and fails too: a failed rounding is no plan, and the
    thrifty plan still comes (it did not when the second failure counted as a candidate:
    branch-and-bound on the whole model followed)."""
    import svcplan.solver.strategy as strategy
    from svcplan.solver import pricing

    tables, settings = generate_case(5, 30, 4, 4, seed=7)
    case = Case.from_tables(tables, settings)
    monkeypatch.setattr(pricing, "MIN_COLUMNS", 0)  # price this small model
    real = pricing.lagrangian
    tightened = []

    def loose_at_first(sf, opts, seconds, log, gap, **kw):
        point = real(sf, opts, seconds, log, gap, **kw)
        tightened.append(kw.get("tighten", False))
        log.bound_loose = len(tightened) == 1  # as a warm start's loose stall leaves it
        return point

    monkeypatch.setattr(pricing, "lagrangian", loose_at_first)
    monkeypatch.setattr(strategy, "round_fractional", lambda *a, **k: None)
    monkeypatch.setattr(strategy.highs, "solve_mip", _no_whole_model(strategy.highs.solve_mip))
    res = solve(case, mip_gap=1e-3, time_limit=30, marginals=False)
    assert tightened == [False, True], "priced, then priced on at tighter prices"
    assert res.warm_start.startswith("thrifty plan")
    assert res.assignment.groupby(["segment", "product", "period"]).size().eq(1).all()


def _no_whole_model(solve_mip):
    """HiGHS's MIP for sub-models only: the whole model (the one with option columns) only
    with every option fixed (the thrifty plan's completion: only the offered levels free)."""
    def guarded(sf, **kw):
        free = sf.col_lower[sf.x_cols] < sf.col_upper[sf.x_cols]
        assert not free.any(), "branch-and-bound on the whole model"
        return solve_mip(sf, **kw)
    return guarded


def test_rounding_frees_only_the_fractional_units_and_loses_nothing(monkeypatch):
    """The rounding's sub-MIP holds the fractional units' columns and the shared ones, not
    every continuous column; solved to optimality it is worth exactly what the sub-MIP
    with every continuous column free is worth (the decided units' LP values are already
    the best for their levels)."""
    _, mat, _ = _matrix(5, 30, 4, 4, 7)
    log = SearchLog()
    xr = relaxation(mat, SolverOptions(), None, log).x
    frac = fractional_units(mat, xr)
    assert len(frac) > 0
    sizes = []

    def spy(sf, x, free, *args, **kw):
        sizes.append(int(free.sum()))
        return submip(sf, x, free, *args, **kw)

    monkeypatch.setattr(search, "submip", spy)
    new = search.round_fractional(mat, xr, SolverOptions(), 30.0, log, gap=0.0)
    _assert_feasible(mat, new)
    integer = mat.integer.astype(bool)
    mine = (mat.owner < 0) | np.isin(mat.owner, fractional_units(mat, xr, 1e-9))
    assert sizes == [int(mine.sum())], "one sub-MIP, over the fractional units only"
    assert sizes[0] < int((~integer | mine).sum())
    old = submip(mat, np.where(integer, np.round(xr), xr),
                 ~integer | (mat.owner < 0) | np.isin(mat.owner, frac), SolverOptions(), 30.0,
                 start=False).x
    assert _value(mat, new) == pytest.approx(_value(mat, old), rel=1e-9, abs=1e-6)


def test_rounding_frees_every_continuous_column_when_a_row_ties_two_units():
    """Unit 0 picks option a or b, its stock c0 ≥ both; c0 + c1 ≤ 1.5 ties it to unit 1's
    continuous c1. At the LP point (a = b = ½, c0 = ½, c1 = 1) keeping c1 leaves unit 0 no
    room (c0 ≥ 1): the rounding must fall back to freeing c1 too (c1 = ½, max c1 − c0)."""
    A = sp.csc_matrix(np.array([[1, 1, 0, 0], [1, 0, -1, 0], [0, 1, -1, 0], [0, 0, 1, 1]],
                               dtype=float))
    mat = StandardForm(
        cost=np.array([0.0, 0.0, -1.0, 1.0]), col_lower=np.zeros(4),
        col_upper=np.array([1.0, 1.0, np.inf, 1.0]), integer=np.array([True, True, False, False]),
        A=A, row_lower=np.array([1.0, -np.inf, -np.inf, -np.inf]),
        row_upper=np.array([1.0, 0.0, 0.0, 1.5]),
        rows=RowNames([RowKind.ASSIGN, RowKind.USER, RowKind.USER_DENSE],
                      [range(1), range(2), range(1)]),
        x_cols=np.array([0, 1]), owner=np.array([0, 0, 0, 1]))
    log = SearchLog()
    log.lp_bound = 0.5
    plan = round_fractional(mat, np.array([0.5, 0.5, 0.5, 1.0]), SolverOptions(), 10.0, log)
    assert plan is not None
    _assert_feasible(mat, plan)
    assert _value(mat, plan) == pytest.approx(-0.5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_sub_model_is_the_model_with_the_other_columns_fixed(seed):
    """restricted() moves fixed columns into row bounds and turns rows with one free column
    into bounds: its optimum is the whole model's with every other column fixed at x."""
    _, mat, _ = _matrix(4, 10, 3, 4, 5)
    log = SearchLog()
    xr = relaxation(mat, SolverOptions(), None, log).x
    x0 = round_fractional(mat, xr, SolverOptions(), 30.0, log)
    rng = np.random.default_rng(seed)
    free_units = rng.random(mat.owner.max() + 1) < 0.3
    free = (mat.owner < 0) | free_units[np.maximum(mat.owner, 0)] & (mat.owner >= 0)
    sub = mat.restricted(free, x0)
    assert sub.n_rows < int(np.count_nonzero(np.diff(mat.A[:, free].tocsr().indptr)))
    lower, upper = mat.col_lower.copy(), mat.col_upper.copy()
    lower[~free] = upper[~free] = x0[~free]
    whole = highs.solve_mip(mat.with_bounds(lower, upper), rel_gap=0, abs_gap=1e-9)
    part = highs.solve_mip(sub, rel_gap=0, abs_gap=1e-9)
    fixed_value = float(mat.cost[~free] @ x0[~free])
    assert part.objective + fixed_value == pytest.approx(whole.objective, rel=1e-9, abs=1e-6)


def test_leaning_takes_the_largest_share_in_every_unit_period():
    _, mat, _ = _matrix(4, 12, 4, 4, 8)
    xr = relaxation(mat, SolverOptions(), None, SearchLog()).x
    lean = leaning(mat, xr)
    cols = mat.x_cols
    groups = mat.groups[cols]
    assert np.array_equal(np.bincount(groups, weights=lean[cols]), np.ones(groups.max() + 1))
    share = np.zeros(groups.max() + 1)
    np.maximum.at(share, groups, xr[cols])
    assert np.allclose(xr[cols][lean[cols] == 1], share)
    assert lean[np.setdiff1d(np.arange(mat.n_cols), cols)].sum() == 0


def test_respend_fixes_the_fractional_units_and_spends_what_rounding_stranded():
    """Seed 8: one fractional unit; rounding it strands budget (4.3% below the LP bound).
    Fixed at the levels the LP leans to, the LP pays for them with other units: a feasible
    plan within 0.5%. Fixed at the rounded levels, also a feasible plan, never above the bound."""
    _, mat, _ = _matrix(4, 12, 4, 4, 8)
    log = SearchLog()
    opts = SolverOptions(threads=1)
    lp = relaxation(mat, opts, None, log)
    xr, bound = lp.x, log.lp_bound
    assert lp.basis is not None  # a small model's simplex basis is kept for the re-spend
    x0 = round_fractional(mat, xr, opts, 30.0, log)
    assert (bound - _value(mat, x0)) / bound > 0.04
    frac = np.isin(mat.owner[mat.x_cols], fractional_units(mat, xr))
    for fixed in (leaning(mat, xr), x0):
        x = respend(mat, xr, fixed, opts, 30.0, log)
        _assert_feasible(mat, x)
        assert _value(mat, x) <= bound + 1e-6
        assert np.array_equal(x[mat.x_cols][frac], fixed[mat.x_cols][frac])
        # from the first LP's basis: the same re-spent LP, so the same plan's value
        warm = respend(mat, xr, fixed, opts, 30.0, log, basis=lp.basis)
        _assert_feasible(mat, warm)
        assert _value(mat, warm) == pytest.approx(_value(mat, x), rel=1e-9)
    lean = respend(mat, xr, leaning(mat, xr), opts, 30.0, log)
    assert (bound - _value(mat, lean)) / bound < 0.005


def test_a_solve_re_spends_before_it_searches():
    """The solve tries the re-spent roundings where LPs are cheap: on seed 8 the leaning one
    is proven within 0.5% by the LP bound, so no branch-and-bound runs."""
    tables, settings = generate_case(4, 12, 4, 4, seed=8)
    res = solve(Case.from_tables(tables, settings), mip_gap=0.005, marginals=False)
    assert res.status == "optimal" and res.mip_gap <= 0.005
    assert res.warm_start == "lp rounding, re-spent around leaning levels"
    assert "proven within the gap" in res.message


@pytest.mark.parametrize("mip", [True, False])
def test_highs_reads_back_exactly_the_standard_form_it_was_handed(mip):
    """pass_model hands HiGHS numpy arrays positionally (15 of them): a swapped pair of
    bounds or a lost integrality would solve another model without a word. HiGHS's own copy
    of the model is read back field by field; highs_lp (the copy the pricing blocks keep)
    is the same model."""
    from svcplan.solver.highs.instance import INF, highs_lp, new_highs, pass_model

    _, mat, _ = _matrix(3, 6, 3, 3, 4)
    mat = mat if mip else mat.relaxed()
    h = new_highs()
    pass_model(h, mat)
    for lp in (h.getLp(), highs_lp(mat)):
        assert (lp.num_col_, lp.num_row_) == (mat.n_cols, mat.n_rows)
        assert lp.sense_ == highspy.ObjSense.kMaximize and lp.offset_ == mat.offset
        assert np.array_equal(lp.col_cost_, mat.cost)
        for got, want in ((lp.col_lower_, mat.col_lower), (lp.col_upper_, mat.col_upper),
                          (lp.row_lower_, mat.row_lower), (lp.row_upper_, mat.row_upper)):
            assert np.array_equal(got, np.clip(want, -INF, INF))
        A = sp.csc_matrix((lp.a_matrix_.value_, lp.a_matrix_.index_, lp.a_matrix_.start_),
                          shape=(mat.n_rows, mat.n_cols))
        assert (A != mat.A).nnz == 0
        kinds = np.array([int(k) for k in lp.integrality_])
        assert np.array_equal(kinds == int(highspy.HighsVarType.kInteger), mat.integer)
        assert kinds.any() == mip
