"""Rounding in chunks (svcplan.solver.chunks): the LP's undecided units made whole a chunk
at a time give a plan of the whole model, never split units that share a row, and are
used only when the one rounding sub-MIP runs out of its time."""

from __future__ import annotations

import numpy as np
import pytest
from plans import whole_plan

from svcplan import Case
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.formulation.rows import DENSE
from svcplan.formulation.standard_form import standard_form
from svcplan.prep.generate import generate_case
from svcplan.solver import chunks, search
from svcplan.solver.bound import SearchLog, relaxation
from svcplan.solver.highs import MipSolution
from svcplan.solver.options import SolverOptions
from svcplan.solver.status import Status

GAP = 1e-3


@pytest.fixture(scope="module")
def rounding():
    """6 segments × 30 products × 5 levels × 6 periods, every linking term, at 0.7× budget:
    the LP leaves 13 units fractional; the one sub-MIP over them takes about 1.5 s."""
    tables, settings = generate_case(6, 30, 5, 6, seed=3)
    tables["periods"]["budget"] *= 0.7
    sf = standard_form(create_model(prepare(Case.from_tables(tables, settings))))
    log = SearchLog()
    lp = relaxation(sf, SolverOptions(), None, log)
    units = search.fractional_units(sf, lp.x, 1e-9)
    x0 = np.where(sf.integer.astype(bool), np.round(lp.x), lp.x)
    assert len(units) >= 10, "the case must leave enough units for several chunks"
    return sf, lp.x, x0, units, log


def test_chunks_cover_every_unit_once_and_keep_linked_units_together(rounding):
    sf, _, x0, units, _ = rounding
    free = (sf.owner < 0) | np.isin(sf.owner, units)
    sub = sf.restricted(free, x0)
    unit = sf.owner[free]
    parts = chunks.unit_chunks(sub, unit, 4)
    together = np.concatenate(parts)
    assert sorted(together) == sorted(units)
    assert all(len(p) >= 4 for p in parts[:-1]) and len(parts) >= 2
    chunk_of = {u: k for k, part in enumerate(parts) for u in part}
    sparse = np.setdiff1d(np.arange(sub.n_rows), sub.rows_of(DENSE))
    A = sub.A.tocsr()
    for r in sparse:
        held = {int(u) for u in unit[A.indices[A.indptr[r]:A.indptr[r + 1]]] if u >= 0}
        assert len({chunk_of[u] for u in held}) <= 1, f"row {sub.rows[r]} split across chunks"


def test_chunked_plan_is_a_plan_of_the_whole_model_close_to_the_sub_mip(rounding, monkeypatch):
    """Decided units keep their levels; the plan meets every row and is whole; it is worth
    no more than the one sub-MIP's optimum (the same units free) and, on this case, within
    0.2% of it (measured 0.08%: a heuristic, so a bound on this case only)."""
    sf, _, x0, units, log = rounding
    monkeypatch.setattr(chunks, "CHUNK_UNITS", 4)
    x = chunks.round_in_chunks(sf, x0, units, SolverOptions(), 60.0, log, GAP)
    assert x is not None and whole_plan(sf, x)
    decided = (sf.owner >= 0) & ~np.isin(sf.owner, units) & sf.integer.astype(bool)
    assert np.array_equal(x[decided], x0[decided])
    free = (sf.owner < 0) | np.isin(sf.owner, units)
    best = search.submip(sf, x0, free, SolverOptions(), 60.0, start=False, abs_gap=1e-6).x
    assert sf.objective(x) <= sf.objective(best) + 1e-6 * abs(sf.objective(best))
    assert sf.objective(x) >= sf.objective(best) * (1 - 2e-3)


def _spied(monkeypatch, one_shot_seconds: float) -> list:
    called = []

    def spy(*args, **kw):
        called.append(True)
        return chunks.round_in_chunks(*args, **kw)

    monkeypatch.setattr(search, "round_in_chunks", spy)
    monkeypatch.setattr(search, "CHUNK_UNITS", 4)
    monkeypatch.setattr(chunks, "CHUNK_UNITS", 4)
    monkeypatch.setattr(search, "ONE_SHOT_SECONDS", one_shot_seconds)
    return called


def test_rounding_turns_to_chunks_when_the_one_sub_mip_runs_out_of_time(rounding, monkeypatch):
    """A one sub-MIP that ran out of its time before any plan: the chunks give one."""
    sf, xr, _, _, log = rounding
    called = _spied(monkeypatch, 60.0)

    def out_of_time(*args, **kw):
        return MipSolution(Status.TIME_LIMIT, None, None, None, None, "Time limit reached")

    monkeypatch.setattr(search, "submip", out_of_time)
    x = search.round_fractional(sf, xr, SolverOptions(), 60.0, log, GAP, say=False)
    assert called == [True]
    assert x is not None and whole_plan(sf, x)


@pytest.mark.parametrize("exact", [False, True])
def test_rounding_stays_one_sub_mip_when_it_finishes(rounding, monkeypatch, exact):
    sf, xr, _, _, log = rounding
    called = _spied(monkeypatch, 0.0 if exact else 60.0)
    x = search.round_fractional(sf, xr, SolverOptions(), 60.0, log, GAP, say=False, exact=exact)
    assert called == []
    assert x is not None and whole_plan(sf, x)


@pytest.mark.parametrize(("status", "chunked"), [(Status.FEASIBLE, True), (Status.OPTIMAL, False)])
def test_a_sub_mip_stopped_by_our_deadline_counts_as_out_of_time(rounding, monkeypatch, status,
                                                                  chunked):
    """HiGHS does not look at its clock in its root cut loop; our deadline then stops it,
    and its answer is a plan marked ``feasible`` ("Interrupted by user"), not
    ``time_limit``: the rounding turns to chunks for it too, but not for a finished sub-MIP
    whose plan is as poor (chunks cannot better the sub-model's optimum)."""
    sf, xr, _, _, log = rounding
    called = _spied(monkeypatch, 60.0)
    poor = search.from_start(sf, search.thrifty_plan(sf), SolverOptions())
    assert poor is not None and sf.objective(poor) < log.lp_bound * (1 - 2 * GAP)

    def answer(*args, **kw):
        return MipSolution(status, poor, sf.objective(poor), None, None, "Interrupted by user")

    monkeypatch.setattr(search, "submip", answer)
    x = search.round_fractional(sf, xr, SolverOptions(), 60.0, log, GAP, say=False)
    assert called == ([True] if chunked else [])
    assert whole_plan(sf, x)
    assert (sf.objective(x) > sf.objective(poor)) == chunked
