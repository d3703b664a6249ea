"""The sparse rest of a priced model, split into independent product blocks.

Once the dense rows are priced (:mod:`.pricing`), the rows left couple the options of one
unit (assignment, switching, goodwill) or of one product (tier ordering) — and, in one
place only, options of every unit: the fixed-cost links ``x_i − y_k ≤ 0``, where the shared
column ``y_k`` says that level l is offered in period t
(:func:`svcplan.formulation.blocks.add_fixed_costs`). Cut the products into blocks of about
:data:`BLOCK_COLUMNS` columns and give every block its own copy ``y_bk`` of each shared
column it touches; the links inside a block stay exact (``y_bk ≥ x_i``), and only the
copies are tied to the original, ``y_bk ≤ y_k``, priced with ``ν_bk ≥ 0``::

    L(ν) = Σ_b max { c̄·x − Σ_k ν_bk·y_bk : block b }  +  Σ_k max_{y_k} (c̄_k + Σ_b ν_bk)·y_k

is an upper bound for every ``ν ≥ 0`` (each plan of the model is a point of the relaxation
with ``y_bk = y_k``, where the priced terms vanish). :class:`SparseRest` shares each
level's opening price ``−c̄_k`` (its fixed cost and priced budget use) among the blocks
that opened their copy in the last round; a block then pays its share to offer the level,
so ``L`` is the model's with each used level paid for once. A solution of the blocks is a
point of the whole model once each ``y_k`` is the largest of its copies.

Why: HiGHS's dual simplex grows faster than linearly with the model — at 1M binaries the
rest took 46 s as one LP and 12.7 s as 100 blocks one after another — and independent
blocks run side by side (:class:`svcplan.solver.highs.RepricedBlocks`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from ..formulation.standard_form import StandardForm
from . import highs
from .cluster import ClusterBlocks
from .memory import release

#: columns per block: small enough for fast dual simplex, large enough that the per-block
#: work of a pricing round (set costs, run, read back) stays small
BLOCK_COLUMNS = 10_000


@dataclass(frozen=True)
class Split:
    """The rest as blocks over *extended* columns: the model's ``n_cols`` columns, then one
    copy per (block, shared column); copy ``j`` is column ``n_cols + j`` and stands for
    ``copy_of[j]``. ``shared`` are the model's shared columns (held by no block).
    ``parts`` are ``(extended columns, block)`` pairs, ``sizes`` their column counts; a lazy
    split makes each block only when ``parts`` reaches it, so a caller that loads one
    block at a time never holds them all (at 1M binaries they were 350 MB)."""

    parts: list[tuple[np.ndarray, StandardForm]] | Iterator[tuple[np.ndarray, StandardForm]]
    sizes: np.ndarray
    copy_of: np.ndarray
    shared: np.ndarray
    shared_lower: np.ndarray
    shared_upper: np.ndarray
    n_cols: int


def split(sf: StandardForm, drop: np.ndarray, column_block: np.ndarray,
          lazy: bool = False) -> Split | None:
    """The model without the rows ``drop``, as independent blocks (``lazy``: made one by
    one as ``parts`` is iterated, see :class:`Split`).

    ``column_block`` gives each column's block, −1 for a shared column. A shared column
    must enter every remaining row as ``−a·y`` in a ``≤`` row (raising it only loosens
    them, so the largest copy is feasible for all). None if that fails or a remaining row
    spans two blocks (the caller then asks for fewer blocks).
    """
    keep = np.ones(sf.n_rows, dtype=bool)
    keep[drop] = False
    rows = np.flatnonzero(keep)
    # One copy of the rest (CSR), changed in place; each block is cut from it when made.
    # Nonzero-sized helpers are int32 and freed early: at 1M binaries the split set the
    # client's peak (three copies of the matrix and six int64 arrays per nonzero).
    R = sf.A[rows].tocsr()
    blk = column_block.astype(np.int32)[R.indices]  # −1 on a shared column
    on_shared = blk < 0
    row_of_nz = np.repeat(np.arange(len(rows), dtype=np.int32), np.diff(R.indptr))
    row_block = _row_blocks(sf, rows, R, blk, on_shared, row_of_nz)
    del blk
    if row_block is None:
        return None
    # one copy per (block, shared column) pair that occurs; its nonzeros move onto it
    pairs = row_block[row_of_nz[on_shared]] * sf.n_cols + R.indices[on_shared]
    del row_of_nz
    copy_of, copy_block = _copy_shared(R, pairs, on_shared, sf.n_cols)
    del on_shared, pairs
    return _layout(sf, R, rows, row_block, np.r_[column_block, copy_block], copy_of, lazy)


def _row_blocks(sf: StandardForm, rows: np.ndarray, R: sp.csr_matrix, blk: np.ndarray,
                on_shared: np.ndarray, row_of_nz: np.ndarray) -> np.ndarray | None:
    """The block of each remaining row (``rows``, as ``R``), −1 for a row without nonzeros;
    ``blk``, ``on_shared`` and ``row_of_nz`` give each nonzero's block, whether its column is
    shared, and its row. None where a shared column enters a row otherwise than as ``−a·y``
    in a ``≤`` row, where a row holds shared columns alone, or where a row spans two
    blocks."""
    if (np.any(R.data[on_shared] >= 0)
            or np.any(np.isfinite(sf.row_lower[rows[row_of_nz[on_shared]]]))):
        return None
    lo = np.full(len(rows), np.iinfo(np.int32).max, dtype=np.int32)
    hi = np.full(len(rows), -1, dtype=np.int32)
    np.minimum.at(lo, row_of_nz[~on_shared], blk[~on_shared])
    np.maximum.at(hi, row_of_nz[~on_shared], blk[~on_shared])
    filled = hi >= 0
    if np.any(lo[filled] != hi[filled]) or np.any(on_shared & ~filled[row_of_nz]):
        return None
    return np.where(filled, hi, -1).astype(np.int64)


def _copy_shared(R: sp.csr_matrix, pairs: np.ndarray, on_shared: np.ndarray,
                 n: int) -> tuple[np.ndarray, np.ndarray]:
    """Move the nonzeros on shared columns (``on_shared``) onto one new column per
    (block, shared column) pair, ``pairs`` (``block · n + column``, per such nonzero):
    copy ``j`` is column ``n + j`` of ``R`` (changed in place). Returns per copy the shared
    column it stands for and its block."""
    uniq, copy = np.unique(pairs, return_inverse=True)
    if n + len(uniq) > np.iinfo(R.indices.dtype).max:
        R.indices = R.indices.astype(np.int64)
    R.indices[on_shared] = n + copy
    return uniq % n, uniq // n


def _layout(sf: StandardForm, R: sp.csr_matrix, rows: np.ndarray, row_block: np.ndarray,
            ext_block: np.ndarray, copy_of: np.ndarray, lazy: bool) -> Split:
    """The :class:`Split` of ``R`` (the remaining ``rows``, over the extended columns, each
    in its block ``ext_block``; each row in its ``row_block``): every block's rows and
    columns, renumbered from 0, cut from ``R`` when ``parts`` reaches it (``lazy``) or now."""
    n = sf.n_cols
    n_ext = len(ext_block)
    n_blocks = int(ext_block.max()) + 1 if n_ext else 0
    col_order = np.argsort(ext_block, kind="stable")
    col_bounds = np.searchsorted(ext_block[col_order], np.arange(n_blocks + 1))
    row_order = np.argsort(row_block, kind="stable")
    row_bounds = np.searchsorted(row_block[row_order], np.arange(n_blocks + 1))
    # each extended column's place in its block
    place = np.empty(n_ext, dtype=R.indices.dtype)
    place[col_order] = np.arange(n_ext) - col_bounds[ext_block[col_order]]
    base = np.r_[np.arange(n), copy_of]  # the model column behind each extended column

    def parts() -> Iterator[tuple[np.ndarray, StandardForm]]:
        for b in range(n_blocks):
            c0, c1, r0, r1 = col_bounds[b], col_bounds[b + 1], row_bounds[b], row_bounds[b + 1]
            if c1 == c0:
                continue
            cols, mine = col_order[c0:c1], rows[row_order[r0:r1]]
            sub = R[row_order[r0:r1]]
            A = sp.csr_matrix((sub.data, place[sub.indices], sub.indptr), shape=(r1 - r0, c1 - c0))
            yield cols, StandardForm(
                cost=sf.cost[base[cols]], col_lower=sf.col_lower[base[cols]],
                col_upper=sf.col_upper[base[cols]], integer=sf.integer[base[cols]],
                A=A.tocsc(), row_lower=sf.row_lower[mine],
                row_upper=sf.row_upper[mine], rows=sf.rows.take(mine),
                x_cols=np.zeros(0, dtype=np.int64), owner=sf.owner[base[cols]])

    sizes = np.diff(col_bounds)
    shared = np.flatnonzero(ext_block[:n] < 0)
    return Split(parts() if lazy else list(parts()), sizes[sizes > 0], copy_of, shared,
                 sf.col_lower[shared], sf.col_upper[shared], n)


def product_blocks(sf: StandardForm, cluster: np.ndarray | None,
                   size: int = BLOCK_COLUMNS) -> np.ndarray:
    """Block of each column: the products (``cluster`` per unit) cut into consecutive runs
    of about ``size`` columns (one block without ``cluster``); −1 for the shared columns
    (owned by no unit: the offered levels)."""
    owner = sf.owner
    if cluster is None or not len(cluster) or size >= sf.n_cols:
        block = np.zeros(sf.n_cols, dtype=np.int64)
    else:
        product = np.asarray(cluster)[np.maximum(owner, 0)]
        per_product = np.bincount(product[owner >= 0], minlength=int(product.max()) + 1)
        first = np.cumsum(per_product) - per_product  # columns before each product
        block = np.unique((first // max(1, size))[product], return_inverse=True)[1]
    return np.where(owner >= 0, block, -1).astype(np.int64)


@dataclass
class SparseRest:
    """The model without its dense rows, held in HiGHS as independent blocks, with each
    block's copies of the shared columns priced (``nu``, per copy; module docstring)."""

    lps: highs.RepricedBlocks | ClusterBlocks
    layout: Split
    offset: float
    nu: np.ndarray | None = None
    opened: np.ndarray | None = None  # per copy: open in the last solution (None: all)

    @classmethod
    def of(cls, sf: StandardForm, dense: np.ndarray, cluster: np.ndarray | None,
           workers: int | None, dask: str | None = None) -> SparseRest:
        """Split by product where the model allows; else the whole rest as one block.
        The blocks are solved on ``workers`` threads here, or on the Dask cluster at the
        address ``dask``; only their LPs are kept (the parts are dropped once loaded)."""
        layout = split(sf, dense, product_blocks(sf, cluster, BLOCK_COLUMNS), lazy=True)
        if layout is None or not len(layout.sizes):
            whole = np.zeros(sf.n_cols, dtype=np.int64)
            layout = split(sf, dense, whole, lazy=True)
        n = sf.n_cols + len(layout.copy_of)
        lps = (highs.RepricedBlocks(layout.parts, n, workers) if dask is None
               else ClusterBlocks(layout.parts, n, dask, sizes=layout.sizes))
        release(sf.n_cols)  # the split's copies of the matrix are gone: give their pages back
        return cls(lps, replace(layout, parts=[]), sf.offset)

    def close(self) -> None:
        """Release what holds the blocks (a Dask client and its actors)."""
        self.lps.close()

    def solve(self, reduced: np.ndarray, seconds: float | None, deadline: float | None,
              nu: np.ndarray | None = None) -> highs.LpSolution:
        """The rest at the objective ``reduced`` (``c − Dᵀλ``): ``x`` a point of the whole
        model but its dense rows (shared columns at their largest copy), ``objective`` the
        rest's part of the bound (offset and shared columns included), ``col_dual`` the
        reduced costs. ``nu``: the copies' prices (default: from the last round)."""
        s = self.layout
        nu = self._prices(reduced) if nu is None else nu
        lp = self.lps.solve(np.r_[reduced, -nu], seconds, deadline)
        if not lp.optimal:
            return lp
        x, dual = lp.x[:s.n_cols].copy(), lp.col_dual[:s.n_cols].copy()
        self.opened = lp.x[s.n_cols:] > 1e-9
        # each shared column at its best bound for the bound; at its largest copy in the plan
        coef = reduced[s.shared].copy()
        np.add.at(coef, np.searchsorted(s.shared, s.copy_of), nu)
        value = float(np.where(coef > 0, coef * s.shared_upper, coef * s.shared_lower).sum())
        x[s.shared] = s.shared_lower
        np.maximum.at(x, s.copy_of, lp.x[s.n_cols:])
        dual[s.shared] = coef
        return replace(lp, x=x, col_dual=dual, objective=lp.objective + self.offset + value)

    def _prices(self, reduced: np.ndarray) -> np.ndarray:
        """``ν`` per copy: the mean of the last prices and the opening price ``−c̄_k`` shared
        equally by the copies open in the last round (moving a whole level's price onto
        the few blocks that chose it makes them drop it next round: undamped, the prices
        cycle between two plans)."""
        s = self.layout
        if not len(s.copy_of):
            return np.zeros(0)
        opened = np.ones(len(s.copy_of), dtype=bool) if self.opened is None else self.opened
        # a level no block opened keeps its whole price, shared by all its copies (with
        # none, its copies would become free and every block would open it at once)
        closed = np.bincount(s.copy_of[opened], minlength=s.n_cols)[s.copy_of] == 0
        opened = opened | closed
        opening = np.maximum(0.0, -reduced[s.copy_of])
        count = np.bincount(s.copy_of[opened], minlength=s.n_cols)[s.copy_of]
        share = np.where(opened, opening / np.maximum(count, 1), 0.0)
        self.nu = share if self.nu is None else 0.5 * (share + self.nu)
        return self.nu
