"""The rounding narrowed to the fractional unit-periods (svcplan.solver.search.round_periods):
what it frees, that its plan keeps every other unit-period at the LP's level, that
``round_in_steps`` falls back to whole units when its plan is not proven and
``round_split`` does not; and the order in which a small model's rounding steps run
(svcplan.solver.respend.round_cheaply)."""

from __future__ import annotations

import numpy as np
import pytest

from svcplan import Case
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.formulation.standard_form import standard_form
from svcplan.prep.generate import generate_case
from svcplan.solver import respend as respending
from svcplan.solver import search
from svcplan.solver.bound import SearchLog, least_proven, relaxation
from svcplan.solver.candidates import best_candidate
from svcplan.solver.options import SolverOptions


def _lp_point(seed: int):
    tables, settings = generate_case(5, 30, 4, 4, seed=seed)
    mat = standard_form(create_model(prepare(Case.from_tables(tables, settings))))
    log = SearchLog()
    xr = relaxation(mat, SolverOptions(threads=1), None, log).x
    return mat, xr, log


def _split_groups(mat, xr) -> np.ndarray:
    values = xr[mat.x_cols]
    return np.unique(mat.groups[mat.x_cols][np.minimum(values, 1 - values) > 1e-6])


def _spy(monkeypatch) -> list[np.ndarray]:
    seen = []
    real = search.submip

    def spy(sf, x, free, *args, **kw):
        seen.append(free.copy())
        return real(sf, x, free, *args, **kw)

    monkeypatch.setattr(search, "submip", spy)
    return seen


def _meets(mat, x) -> bool:
    return x is not None and mat.meets(x)


@pytest.mark.parametrize("seed", [1, 11])  # the LP splits 8 of 12 and 7 of 12 unit-periods
def test_only_the_fractional_unit_periods_move(monkeypatch, seed):
    """The sub-MIP frees the options of the unit-periods the LP split, the split units'
    continuous columns and the shared ones: nothing else. Its plan meets every row and
    keeps every other unit-period at the level the LP gave it."""
    mat, xr, log = _lp_point(seed)
    split = _split_groups(mat, xr)
    units = np.isin(mat.owner[mat.x_cols], search.fractional_units(mat, xr))
    assert 0 < len(split) < len(np.unique(mat.groups[mat.x_cols][units]))
    seen = _spy(monkeypatch)
    x0 = np.where(mat.integer, np.round(xr), xr)
    plan = search.round_periods(mat, x0, xr, SolverOptions(threads=1), 30.0, log, 1e-6,
                                least_proven(log.lp_bound, 0.0))
    options = np.isin(mat.groups, split) & (mat.groups >= 0)
    continuous = ~mat.integer.astype(bool) & np.isin(mat.owner, search.fractional_units(mat, xr))
    assert len(seen) == 1 and np.array_equal(seen[0], (mat.owner < 0) | continuous | options)
    assert _meets(mat, plan)
    kept = mat.integer.astype(bool) & ~options & (mat.owner >= 0)
    assert np.array_equal(plan[kept], x0[kept])


def test_a_proven_narrow_plan_ends_the_rounding(monkeypatch):
    """With a gap the narrow plan meets, the whole units are never freed: one sub-MIP."""
    mat, xr, log = _lp_point(8)
    seen = _spy(monkeypatch)
    plan = search.round_in_steps(mat, xr, SolverOptions(threads=1), 30.0, log, gap=0.05)
    assert _meets(mat, plan)
    assert len(seen) == 1, "the narrow sub-MIP only"
    assert mat.objective(plan) >= least_proven(log.lp_bound, 0.05)


def test_an_unproven_narrow_plan_falls_back_to_whole_units(monkeypatch):
    """With no gap to spare (the narrow plan is below the bound), the whole fractional
    units are rounded next (:func:`round_fractional`); the better plan is returned, so
    it is never worse than that rounding alone (seed 11: 0.36% below the bound narrow,
    0.21% from the whole units)."""
    mat, xr, log = _lp_point(11)
    alone = search.round_fractional(mat, xr, SolverOptions(threads=1), 30.0, SearchLog(
        lp_bound=log.lp_bound), gap=0.0)
    seen = _spy(monkeypatch)
    plan = search.round_in_steps(mat, xr, SolverOptions(threads=1), 30.0, log, gap=0.0)
    assert len(seen) == 2
    whole = (mat.owner < 0) | np.isin(mat.owner, search.fractional_units(mat, xr, 1e-9))
    assert np.array_equal(seen[1], whole)
    assert _meets(mat, plan)
    assert mat.objective(plan) >= mat.objective(alone) - 1e-6


def test_round_split_returns_its_plan_unproven(monkeypatch):
    """``round_split``: the narrow plan is returned though the bound does not prove it
    (seed 11: 0.36% below the bound at no gap), and the whole units are not freed."""
    mat, xr, log = _lp_point(11)
    seen = _spy(monkeypatch)
    plan = search.round_split(mat, xr, SolverOptions(threads=1), 30.0, log, gap=0.0)
    assert len(seen) == 1, "the narrow sub-MIP only"
    assert _meets(mat, plan)
    assert mat.objective(plan) < least_proven(log.lp_bound, 0.0)


def _steps(monkeypatch) -> list[str]:
    """Record the rounding steps :func:`respending.round_cheaply` takes, in order."""
    steps: list[str] = []

    def recorded(step: str, real):
        def call(*args, **kw):
            steps.append(step)
            return real(*args, **kw)
        return call

    for name, step in (("round_split", "unit-periods"), ("round_fractional", "whole units"),
                       ("respend", "re-spend")):
        monkeypatch.setattr(respending, name, recorded(step, getattr(respending, name)))
    return steps


@pytest.mark.parametrize(("few", "gap", "expected"), [
    # seed 11: 3 fractional units, 48 binaries; the unit-periods 0.36% below the bound,
    # the whole units 0.21%, the leaning re-spend 0.07%
    (respending.FEW_BINARIES, 0.001, ["unit-periods", "whole units", "re-spend"]),
    (0, 0.001, ["unit-periods", "re-spend"]),
    (respending.FEW_BINARIES, 0.0, ["unit-periods", "whole units", "re-spend", "re-spend"]),
    (0, 0.0, ["unit-periods", "re-spend", "whole units", "re-spend"]),
])
def test_the_whole_units_go_before_the_re_spend_only_when_few(monkeypatch, few, gap, expected):
    """A small model's rounding runs its steps cheapest first and stops at a proven plan:
    the whole fractional units before the leaning re-spend where their sub-MIP is small
    (``FEW_BINARIES``), after it where it is large. Every step's plan is a candidate, and
    the best meets every row."""
    mat, xr, log = _lp_point(11)
    lp = relaxation(mat, SolverOptions(threads=1), None, log)
    monkeypatch.setattr(respending, "FEW_BINARIES", few)
    steps = _steps(monkeypatch)
    candidates: list = []
    respending.round_cheaply(mat, lp, SolverOptions(threads=1), 30.0, lambda: 30.0, log, gap,
                             candidates)
    assert steps == expected
    best, value, _ = best_candidate(mat, candidates)
    assert _meets(mat, best) and log.rounded_objective == value
    assert (value >= least_proven(log.lp_bound, gap)) == (gap > 0)
