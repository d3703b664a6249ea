"""Rounding in chunks (relax-and-fix): the LP's undecided units made whole a few dozen at a time.

The rounding of :func:`.search.round_fractional` frees the units the LP left fractional and
solves them as one sub-MIP. With linked periods at a tight budget that sub-MIP can be hard
for HiGHS: 300k binaries with every linking term at 0.8× budget left 332 units, and HiGHS
spent 60 s separating cuts at the root (the bound moved 0.0004%) before its own sub-MIP
heuristic found a plan 0.05% below the bound; its incumbent until then was 1.57% below.

Here the same sub-model is solved in turns. Turn k asks for whole levels only in chunk k
(about :data:`CHUNK_UNITS` units, whole groups of units that share rows other than the dense
ones, e.g. a product's segments under tier ordering); the chunks already done stay at
their levels, and the chunks still to come stay relaxed, so they can still give or take the
budget chunk k needs. Every turn is a small MIP; the last one has every unit whole and is
a plan of the whole model. On that 300k case: 6 turns, 8.3 s, 0.053% below the bound.
Each turn is solved to a share of half the gap, so the shares add up to no more than the
one sub-MIP's own tolerance.

A rescue, not the rule (:data:`.search.ONE_SHOT_SECONDS`): where the one sub-MIP is easy it
is faster (909 units without linked periods: 1.9 s, 11 s in chunks), every turn re-solves
the relaxed rest, and a turn can stick in the same root cut loop (842 units of a warm 0.9
point: one sub-MIP 12.4 s, a turn past 80 s).
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

from ..formulation.rows import DENSE
from ..formulation.standard_form import StandardForm
from . import highs
from .bound import SearchLog
from .options import SolverOptions

#: Units made whole per turn, at least; more where that would take more than
#: :data:`TURNS` turns. Every turn re-solves the relaxed rest, so fewer turns are faster:
#: 300k at 0.8× budget (332 units) took 12.3 s in chunks of 30, 8.3 s in chunks of 60 (the
#: same gap); 1M at 0.8× (894 units) 89.8 s in chunks of 60, 40.8 s in chunks of 150.
CHUNK_UNITS = 60
TURNS = 6


def round_in_chunks(
    sf: StandardForm, x0: np.ndarray, units: np.ndarray, opts: SolverOptions, seconds: float,
    log: SearchLog, gap: float,
) -> np.ndarray | None:
    """A plan with the columns of ``units`` (and the shared columns) re-solved in turns,
    every other column at ``x0``; None when a turn finds no plan or time runs out first.

    ``x0`` must meet every row that holds no column of ``units`` or shared column (the
    rounding's: decided units at their LP levels)."""
    start = time.perf_counter()
    free = (sf.owner < 0) | np.isin(sf.owner, units)
    sub = sf.restricted(free, x0)
    unit = sf.owner[free]
    chunks = unit_chunks(sub, unit, max(CHUNK_UNITS, -(-len(units) // TURNS)))
    abs_gap = max(1e-6, 0.5 * gap * abs(log.lp_bound or 0.0) / len(chunks))
    integer = sub.integer.astype(bool)
    lower, upper = sub.col_lower.copy(), sub.col_upper.copy()
    whole = unit < 0  # the shared columns (offered levels) are whole in every turn
    out = None
    for chunk in chunks:
        left = seconds - (time.perf_counter() - start)
        if left <= 0 or log.interrupted:
            return None
        turn = np.isin(unit, chunk)
        whole |= turn
        out = highs.solve_mip(replace(sub, integer=integer & whole, col_lower=lower,
                                      col_upper=upper),
                              threads=opts.threads, rel_gap=1e-9, abs_gap=abs_gap, seconds=left,
                              deadline=time.perf_counter() + left + 1.0)
        log.interrupted |= out.interrupted
        if out.x is None:
            return None
        fix = turn & integer
        lower[fix] = upper[fix] = np.round(out.x[fix])
    full = x0.copy()
    full[free] = out.x
    return full


def unit_chunks(sub: StandardForm, unit: np.ndarray, size: int) -> list[np.ndarray]:
    """The units of ``sub`` (``unit``: each column's unit, −1 for a shared column) in
    chunks of at least ``size`` (the last may be smaller), never splitting units that
    share a row other than a dense one (a shared column links every unit; it is left out)."""
    held = np.unique(unit[unit >= 0])
    if len(held) == 0:
        return [held]
    sparse = np.ones(sub.n_rows, dtype=bool)
    sparse[sub.rows_of(DENSE)] = False
    entries = sub.A.tocsr()[sparse].tocoo()
    of_col = np.searchsorted(held, unit)
    on = unit[entries.col] >= 0
    incidence = sp.csr_matrix((np.ones(int(on.sum())), (entries.row[on], of_col[entries.col[on]])),
                              shape=(entries.shape[0], len(held)))
    _, label = connected_components(incidence.T @ incidence, directed=False)
    chunks, current = [], []
    for members in np.split(held[np.argsort(label, kind="stable")],
                            np.cumsum(np.bincount(label))[:-1]):
        current.append(members)
        if sum(map(len, current)) >= size:
            chunks.append(np.concatenate(current))
            current = []
    if current:
        chunks.append(np.concatenate(current))
    return chunks
