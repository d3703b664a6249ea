"""The elastic model of an infeasible case, and its minimum: the re-solve behind
:mod:`.explain`.

Every limit that can make a case impossible (one-sided rows of the kinds in
:data:`~svcplan.formulation.rows.ELASTIC`) gets a slack column ``s_j ≥ 0`` weighed by
``w_j`` (1 / the size of its limit), and the elastic model minimises ``Σ w_j·s_j`` over the
same plans. It starts from the thriftiest plan, which is usually the minimum itself (money is
the usual shortfall), and HiGHS's MIP then spends most of its time proving that: 14 s of
presolve in a 16 s MIP at 300k binaries. A Lagrangian bound proves it faster. For any
``0 ≤ μ_j ≤ w_j`` and every elastic plan ``x`` with its slacks,

    Σ w_j·s_j  ≥  Σ μ_j·s_j  ≥  Σ μ_j·σ_j·(a_j·x − b_j)        (σ_j = +1 on a ``≤`` row, −1 on ``≥``)

so the minimum is at least ``L(μ) = min_{x ∈ R} Σ μ_j·σ_j·(a_j·x − b_j)``, where ``R`` is the
model without its elastic rows and without integrality: an LP that splits by product and is
solved block by block (:class:`~svcplan.solver.decompose.SparseRest`). With ``μ_j = w_j`` on
the rows the start overruns and 0 elsewhere, ``L(μ)`` reaches the start's value when no
point of ``R`` (fractional ones included) overruns those rows less, weighted by ``w``; then
the start is the minimum, proven without the MIP (300k binaries at a fifth of their budget:
0.7 s against 17 s; the demo at half its budget: 0.1 s against 0.5 s). Otherwise the MIP
runs from the start, as before.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import scipy.sparse as sp

from ..formulation.rows import ELASTIC
from ..formulation.standard_form import StandardForm
from ..solver import highs
from ..solver.decompose import SparseRest
from ..solver.options import SolverOptions
from ..solver.search import from_start, thrifty_plan
from ..solver.status import Status

#: The start is proven minimal when the bound is within this share of its value (the
#: elastic MIP's own relative gap).
PROOF_GAP = 1e-6


def elastic_rows(sf: StandardForm, size: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The one-sided rows of the elastic kinds, the sign of their slack (−1 on a ``≤`` row)
    and its weight (1 / the size of the limit, so relaxations are compared relatively;
    ``size`` per row of ``sf`` is the limit's typical size where its bound may be 0).

    Whole arrays, no loop over rows: a 100k-binary case has 226k elastic rows (tier
    ordering, max changes), and naming each one took 1.5 s per elastic re-solve."""
    candidates = sf.rows_of(ELASTIC)
    lower, upper = sf.row_lower[candidates], sf.row_upper[candidates]
    at_most = np.isfinite(upper) & ~np.isfinite(lower)
    at_least = np.isfinite(lower) & ~np.isfinite(upper)
    one_sided = at_most | at_least
    rows = candidates[one_sided]
    signs = np.where(at_most, -1.0, 1.0)[one_sided]
    rhs = np.where(at_most, upper, lower)[one_sided]
    return rows, signs, 1.0 / np.maximum(np.maximum(np.abs(rhs), size[rows]), 1.0)


def with_slack(sf: StandardForm, rows: np.ndarray, signs: np.ndarray,
               weights: np.ndarray) -> StandardForm:
    """The elastic model: the plan's objective dropped, one slack column ``s ≥ 0`` per
    elastic row (``+ sign·s`` in that row) and ``max −Σ weight·s``."""
    e = len(rows)
    S = sp.csc_matrix((np.asarray(signs, dtype=float), (np.asarray(rows, dtype=np.int64),
                       np.arange(e))), shape=(sf.n_rows, e))
    return replace(
        sf, A=sp.hstack([sf.A, S], format="csc"),
        cost=np.r_[np.zeros(sf.n_cols), -np.asarray(weights, dtype=float)], offset=0.0,
        col_lower=np.r_[sf.col_lower, np.zeros(e)], col_upper=np.r_[sf.col_upper, np.full(e, np.inf)],
        integer=np.r_[sf.integer, np.zeros(e, dtype=bool)],
        owner=np.r_[sf.owner, np.full(e, -1, dtype=np.int64)])


def thrifty_start(sf: StandardForm, elastic: StandardForm,
                  threads: int | None) -> np.ndarray | None:
    """A first plan for the elastic model: the thriftiest plan (least budget and capacity
    use in every unit-period, :func:`~svcplan.solver.search.thrifty_plan`) with its slacks.

    Lacking money is the usual reason for infeasibility, and then the thriftiest plan is
    often the minimal relaxation itself; as HiGHS's first incumbent it lets branch-and-bound
    prune from the start (demo at half its budget: 3.0 s → 0.5 s for the same minimum). The
    other columns (changes, goodwill, the slacks) are completed by one solve with the
    options fixed (:func:`~svcplan.solver.search.from_start`); None when that fails (then
    HiGHS starts without it).
    """
    # the elastic model keeps the option columns where they are (its slacks come after)
    return from_start(elastic, thrifty_plan(sf), SolverOptions(threads=threads), seconds=10.0)


def solve_elastic(sf: StandardForm, rows: np.ndarray, signs: np.ndarray, weights: np.ndarray,
                  seconds: float, threads: int | None,
                  cluster: np.ndarray | None = None) -> highs.MipSolution:
    """The minimum of the elastic model of ``sf``: the thriftiest start when the bound
    proves it (module docstring), else HiGHS's MIP from that start (an answer that does not
    hold together is solved again without it by :func:`~svcplan.solver.highs.solve_mip`: it
    would have named a larger relaxation than needed). ``cluster``: each unit's product,
    which splits the bound's LP into blocks."""
    elastic = with_slack(sf, rows, signs, weights)
    start = thrifty_start(sf, elastic, threads)
    if start is not None and start_is_minimal(sf, rows, signs, weights, start, cluster, threads):
        value = elastic.objective(start)
        return highs.MipSolution(Status.OPTIMAL, start, value, value, 0.0,
                                 "the thriftiest start, proven minimal by the Lagrangian bound")
    return elastic_mip(elastic, start, seconds, threads)


def elastic_mip(elastic: StandardForm, start: np.ndarray | None, seconds: float,
                threads: int | None) -> highs.MipSolution:
    """HiGHS's MIP on the elastic model, from ``start``, to :data:`PROOF_GAP`."""
    return highs.solve_mip(elastic, threads=threads, rel_gap=PROOF_GAP, seconds=float(seconds),
                           start=start)


def start_is_minimal(sf: StandardForm, rows: np.ndarray, signs: np.ndarray,
                     weights: np.ndarray, start: np.ndarray, cluster: np.ndarray | None,
                     threads: int | None) -> bool:
    """Does ``L(μ)``, with ``μ = w`` on the rows ``start`` overruns, reach the start's value
    within :data:`PROOF_GAP` (module docstring)? False when the bound's LP does not solve."""
    over = start[sf.n_cols:] * weights > 0
    if not over.any():
        return True  # nothing relaxed: no smaller relaxation exists
    mu_sigma = -signs[over] * weights[over]
    a = sf.A[rows[over]].tocsr()
    rhs = np.where(signs[over] < 0, sf.row_upper[rows[over]], sf.row_lower[rows[over]])
    rest = SparseRest.of(replace(sf, cost=np.zeros(sf.n_cols), offset=0.0), sf.rows_of(ELASTIC),
                         cluster, threads)
    try:
        lp = rest.solve(-(a.T @ mu_sigma), None, None)  # max −Σ μσ·a x over R
    finally:
        rest.close()
    if not lp.optimal:
        return False
    bound = -lp.objective - float(mu_sigma @ rhs)
    value = float(weights @ start[sf.n_cols:])
    return bound >= value - PROOF_GAP * max(1.0, abs(value))
