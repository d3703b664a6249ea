"""The sparse rest split into product blocks (svcplan.solver.decompose): the blocks are the
rest, the priced copies of the offered levels keep the bound valid for any prices, a block
solution is a point of the model, and the decomposed solve reaches the same optimum as the
single-LP one with every linking term on."""

from __future__ import annotations

import numpy as np
import pytest

from svcplan import Case, solve
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare, product_clusters
from svcplan.formulation.rows import RowKind
from svcplan.formulation.standard_form import standard_form
from svcplan.prep.generate import generate_case
from svcplan.solver import decompose
from svcplan.solver import pricing as lagrange
from svcplan.solver.bound import SearchLog, relaxation
from svcplan.solver.decompose import SparseRest, product_blocks, split
from svcplan.solver.options import SolverOptions


def _model(shape=(4, 9, 4, 5), seed=4):
    tables, settings = generate_case(*shape, seed=seed)
    levels = tables["levels"]
    # every level but the first charges a fixed cost: many link rows, several offered levels
    levels["fixed_cost"] = np.where(np.arange(len(levels)) > 0, 400.0 + 150 * np.arange(len(levels)), 0)
    case = Case.from_tables(tables, settings)
    data = prepare(case)
    return case, standard_form(create_model(data)), product_clusters(data)


def _lp_optimum(sf) -> float:
    log = SearchLog()
    relaxation(sf, SolverOptions(), None, log)
    return log.lp_bound


def test_split_gives_every_column_one_block_and_copies_the_offered_levels():
    _, sf, cluster = _model()
    dense = lagrange.dense_rows(sf)
    column_block = product_blocks(sf, cluster, size=40)
    layout = split(sf, dense, column_block)
    assert layout is not None and len(layout.parts) > 3
    shared = np.flatnonzero(sf.owner < 0)
    assert np.array_equal(layout.shared, shared) and len(shared) > 1
    cols = np.concatenate([c for c, _ in layout.parts])
    own = cols[cols < sf.n_cols]
    assert sorted(own.tolist()) == sorted(np.flatnonzero(sf.owner >= 0).tolist())
    # one copy per (block, offered level) the block links to: each block's links are its own
    assert sorted(cols[cols >= sf.n_cols].tolist()) == list(range(sf.n_cols, sf.n_cols + len(layout.copy_of)))
    assert set(layout.copy_of.tolist()) == set(shared.tolist())
    assert len(layout.copy_of) > len(shared)
    assert sum(p.n_rows for _, p in layout.parts) == sf.n_rows - len(dense)


def test_a_row_across_two_blocks_refuses_the_split():
    """Tier ordering links the segments of one product: cutting a product's units apart
    must not silently drop those rows."""
    _, sf, _ = _model()
    dense = lagrange.dense_rows(sf)
    assert len(sf.rows_of({RowKind.TIER_ORDER}))
    by_unit = np.where(sf.owner >= 0, sf.owner, -1)  # each unit a block of its own
    assert split(sf, dense, by_unit) is None


def test_a_block_solution_is_a_point_of_the_model_but_its_dense_rows():
    _, sf, cluster = _model()
    dense = lagrange.dense_rows(sf)
    rest = SparseRest.of(sf, dense, cluster, 2)
    decompose_size = rest.lps.n_blocks
    assert decompose_size >= 1
    out = rest.solve(sf.cost, None, None)
    assert out.optimal
    act = sf.A @ out.x
    sparse = np.setdiff1d(np.arange(sf.n_rows), dense)
    tol = 1e-7 * np.maximum(1.0, np.abs(act[sparse]))
    assert np.all(act[sparse] <= sf.row_upper[sparse] + tol)
    assert np.all(act[sparse] >= sf.row_lower[sparse] - tol)
    shared = rest.layout.shared
    links = sf.rows_of({RowKind.FIXED_LINK})
    assert np.all(act[links] <= 1e-9)  # offered levels open where their options are used …
    assert np.all(out.x[shared] <= 1 + 1e-9)  # … and not beyond


@pytest.mark.parametrize("size", [1e9, 40])
def test_the_bound_is_valid_for_any_prices(size, monkeypatch):
    """L(λ, ν) ≥ LP optimum of the whole model for every λ ≥ 0 and ν ≥ 0 — also copy
    prices far above the fixed costs, where the offered levels' own term counts."""
    _, sf, cluster = _model()
    lp_star = _lp_optimum(sf)
    monkeypatch.setattr(decompose, "BLOCK_COLUMNS", int(min(size, 1e9)))
    dense = lagrange.dense_rows(sf)
    rest = SparseRest.of(sf, dense, cluster, 2)
    D, b = sf.A[dense].tocsr(), sf.row_upper[dense]
    rng = np.random.default_rng(2)
    fixed = np.abs(sf.cost[sf.owner < 0]).max()
    for trial in range(8):
        lam = rng.random(len(dense)) * np.abs(sf.cost).mean() / np.abs(D.data).mean() * trial / 4
        nu = rng.random(len(rest.layout.copy_of)) * fixed * [0, 0.01, 0.1, 1, 10][trial % 5]
        out = rest.solve(sf.cost - D.T @ lam, None, None, nu=nu)
        assert out.optimal
        assert out.objective + lam @ b >= lp_star - 1e-7 * abs(lp_star)


def test_priced_bound_with_blocks_is_close_to_the_lp_optimum(monkeypatch):
    _, sf, cluster = _model((5, 30, 4, 6), 5)
    lp_star = _lp_optimum(sf)
    monkeypatch.setattr(decompose, "BLOCK_COLUMNS", 200)
    log = SearchLog()
    out = lagrange.lagrangian(sf, SolverOptions(), None, log, gap=1e-5, cluster=cluster)
    assert out is not None and log.blocks > 3 and log.links_priced
    assert log.lp_bound >= lp_star - 1e-7 * abs(lp_star)
    assert log.lp_bound <= lp_star + 5e-4 * abs(lp_star)


@pytest.mark.parametrize("seed", [4, 9])
def test_decomposed_solve_keeps_the_exact_optimum(seed, monkeypatch):
    """Goodwill, switching, tiers, policies, fixed costs and budgets on; many blocks."""
    case, _, _ = _model((3, 8, 3, 4), seed)
    plain = solve(case, mip_gap=0, warm_start=False, marginals=False)
    monkeypatch.setattr(lagrange, "MIN_COLUMNS", 0)
    monkeypatch.setattr(decompose, "BLOCK_COLUMNS", 30)
    split_run = solve(case, mip_gap=0, marginals=False)
    assert split_run.search["lp_method"] == "prices"
    assert split_run.search["links_priced"] and split_run.search["blocks"] > 3
    assert split_run.solver_objective == pytest.approx(plain.solver_objective, rel=1e-9)
    assert split_run.bound >= plain.solver_objective - 1e-6 * abs(plain.solver_objective)


def test_a_round_past_its_deadline_starts_no_more_blocks(monkeypatch):
    """Once a round's deadline has passed, no further block starts: the round is no answer
    (not optimal, "not run"), and the blocks solved before it keep their bases."""
    import time

    from svcplan.solver import highs

    _, sf, cluster = _model()
    layout = split(sf, lagrange.dense_rows(sf), product_blocks(sf, cluster, 40))
    assert len(layout.parts) >= 6
    blocks = highs.RepricedBlocks(layout.parts, sf.n_cols + len(layout.copy_of), 1)
    made = []
    real = blocks._instance

    def slow(k, seconds):  # each block takes 0.05 s; the round waits 0.1 s between looks
        made.append(k)
        time.sleep(0.05)
        return real(k, seconds)

    monkeypatch.setattr(blocks, "_instance", slow)
    cost = np.r_[sf.cost, np.zeros(len(layout.copy_of))]
    late = blocks.solve(cost, None, deadline=time.perf_counter() - 1.0)
    assert not late.optimal and late.message == "not run"
    assert 1 <= len(made) < len(layout.parts)
    assert blocks.solve(cost, None, None).optimal  # the next round, without a deadline


def test_ctrl_c_as_blocks_are_handed_out_stops_the_round(monkeypatch):
    """A Ctrl-C (SIGINT to this process) as the round hands its first block to a thread:
    no further block starts, the round is no answer and says it was interrupted, and no
    ``KeyboardInterrupt`` leaves it while blocks may still run."""
    import os
    import signal
    from concurrent.futures import ThreadPoolExecutor

    from svcplan.solver import highs

    _, sf, cluster = _model()
    layout = split(sf, lagrange.dense_rows(sf), product_blocks(sf, cluster, 40))
    blocks = highs.RepricedBlocks(layout.parts, sf.n_cols + len(layout.copy_of), 1)
    real_submit = ThreadPoolExecutor.submit
    handed: list[int] = []

    def pressed_on_the_first(pool, *args, **kwargs):
        handed.append(1)
        future = real_submit(pool, *args, **kwargs)
        if len(handed) == 1:
            os.kill(os.getpid(), signal.SIGINT)  # as a terminal's Ctrl-C
        return future

    monkeypatch.setattr(ThreadPoolExecutor, "submit", pressed_on_the_first)
    cost = np.r_[sf.cost, np.zeros(len(layout.copy_of))]
    cut = blocks.solve(cost, None, None)
    assert cut.interrupted and not cut.optimal and cut.message == "not run"
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    monkeypatch.undo()
    assert blocks.solve(cost, None, None).optimal  # the next round runs whole
