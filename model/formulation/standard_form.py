"""The formulation as one solver-neutral matrix: ``max c·x`` s.t. ``row_lower ≤ A·x ≤ row_upper``.

:func:`standard_form` stacks the arrays the blocks recorded (:mod:`.recorder`) into one
sparse matrix, without walking Pyomo expressions (Pyomo's ``LinearStandardFormCompiler``
costs ~10 µs per nonzero; ``tests/test_fast_build.py`` checks both give the same matrix).
Every solver stage works on a :class:`StandardForm`: the solver module turns it into its
own model, the search cuts sub-models out of it, the marginals and the explanation re-solve
variants of it. It is plain numpy/scipy: no solver object lives here.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from .recorder import Formulation
from .rownames import RowNames
from .rows import RowKind


@dataclass(frozen=True)
class StandardForm:
    """``max cost·x + offset`` s.t. ``row_lower ≤ A x ≤ row_upper``, ``col_lower ≤ x ≤ col_upper``,
    ``x_j`` integer where ``integer[j]``; infinite bounds are ``±inf``.

    ``rows[k]`` names row k as (row kind, index), e.g. ``(RowKind.BUDGET, 3)``; ``x_cols[i]``
    is the column of option i (the option table's row i); ``owner[j]`` is the unit of
    column j (−1: shared by all units, e.g. an offered-level indicator).
    """

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    integer: np.ndarray  # bool per column
    A: sp.csc_matrix  # rows × columns
    row_lower: np.ndarray
    row_upper: np.ndarray
    rows: RowNames  # a sequence of (kind, index), one per row
    x_cols: np.ndarray
    owner: np.ndarray
    offset: float = 0.0

    def __post_init__(self) -> None:
        """Refuse arrays that disagree in length: HiGHS reads them by the matrix's shape, and
        a short array there is a crash (heap corruption), not an error message."""
        n_rows, n_cols = self.A.shape
        cols = {len(self.cost), len(self.col_lower), len(self.col_upper), len(self.integer)}
        rows = {len(self.row_lower), len(self.row_upper), len(self.rows)}
        if cols != {n_cols} or rows != {n_rows}:
            raise ValueError(f"inconsistent standard form: A is {n_rows}×{n_cols}, column "
                             f"arrays have lengths {sorted(cols)}, row arrays {sorted(rows)}")

    @property
    def n_cols(self) -> int:
        return self.A.shape[1]

    @property
    def n_rows(self) -> int:
        return self.A.shape[0]

    @property
    def is_mip(self) -> bool:
        return bool(self.integer.any())

    def objective(self, x: np.ndarray) -> float:
        """The objective value of the full column vector ``x``."""
        return float(np.dot(self.cost, x) + self.offset)

    def meets(self, x: np.ndarray, tol: float = 1e-6) -> bool:
        """Does the full column vector ``x`` meet every row and column bound (within ``tol``,
        relative to each row's activity where that is above 1)?"""
        act = self.A @ x
        slack = tol * np.maximum(1.0, np.abs(act))
        return bool(np.all(act >= self.row_lower - slack) and np.all(act <= self.row_upper + slack)
                    and np.all(x >= self.col_lower - tol) and np.all(x <= self.col_upper + tol))

    def row(self, key: tuple[RowKind, object]) -> int:
        """The position of the row named ``key``, e.g. ``(RowKind.BUDGET, 2)``."""
        return _names(self.rows).position(key)

    def rows_of(self, kinds: frozenset[RowKind] | set[RowKind]) -> np.ndarray:
        """Positions of the rows of the given kinds."""
        return _names(self.rows).of_kinds(kinds)

    @functools.cached_property
    def groups(self) -> np.ndarray:
        """Unit-period of each column: its ``assign`` row's number among them (−1: none)."""
        number = np.full(self.n_rows, -1, dtype=np.int32)
        assign = self.rows_of({RowKind.ASSIGN})
        number[assign] = np.arange(len(assign), dtype=np.int32)
        # read off the columns (CSC) with no copy of the matrix (A.tocsr() was 135 MB at 1M)
        of_nz = number[self.A.indices]
        on = of_nz >= 0
        col = np.repeat(np.arange(self.n_cols, dtype=np.int32), np.diff(self.A.indptr))[on]
        group = np.full(self.n_cols, -1)
        group[col] = of_nz[on]
        return group

    @functools.cached_property
    def choices(self) -> tuple[np.ndarray, np.ndarray]:
        """``(columns, starts)``: the columns of the ``assign`` rows (the options) sorted by
        unit-period, and where each unit-period's run of them starts; a unit-period's best
        option under some score is then one ``reduceat`` over ``starts``."""
        cols = np.flatnonzero(self.groups >= 0)
        cols = cols[np.argsort(self.groups[cols], kind="stable")]
        g = self.groups[cols]
        return cols, np.flatnonzero(np.r_[True, g[1:] != g[:-1]])

    def relaxed(self) -> StandardForm:
        """The LP relaxation: the same rows and bounds, no integrality."""
        return replace(self, integer=np.zeros(self.n_cols, dtype=bool))

    def with_bounds(self, lower: np.ndarray, upper: np.ndarray) -> StandardForm:
        """The same model with other column bounds (fixing columns, local moves)."""
        return replace(self, col_lower=np.asarray(lower, float), col_upper=np.asarray(upper, float))

    def restricted(self, free: np.ndarray, x: np.ndarray,
                   keep: np.ndarray | None = None) -> StandardForm:
        """The sub-model over the columns ``free`` (bool per column), every other column at ``x``.

        Fixed columns move to the row bounds (``lo − A_N·x_N ≤ A_F·x_F ≤ hi − A_N·x_N``);
        rows without a free column are dropped (``x`` satisfies them), and a row with one
        free column becomes that column's bounds (rounded inwards to whole numbers, within
        1e-6, for an integer column). The second matters at scale: every fixed-cost link
        ``x_i − y ≤ 0`` holds the free offered-level column ``y``, so a sub-model of a few
        hundred units kept all 820k link rows of the 1M case. Its ``x_cols`` and ``owner``
        are not meaningful (−1): a sub-model is solved, not reported. The rows at positions
        ``keep`` stay rows whatever their free columns (a caller that reads their duals,
        :mod:`svcplan.insight.marginals`); rows keep their names, so :meth:`row` finds them.
        """
        # the fixed columns' activity without a copy of their part of the matrix (nearly
        # all of it: the copy was the peak of a large model's rounding)
        act = self.A @ np.where(free, 0.0, x)
        AF = self.A[:, free].tocsr()
        AF.eliminate_zeros()  # a stored zero is no term: a row of one zero is a row of none
        count = np.diff(AF.indptr)
        forced = np.zeros(self.n_rows, dtype=bool)
        if keep is not None:
            forced[keep] = True
        lower, upper = self.col_lower[free].copy(), self.col_upper[free].copy()
        single = np.flatnonzero((count == 1) & ~forced)
        if len(single):
            j, a = AF.indices[AF.indptr[single]], AF.data[AF.indptr[single]]
            lo, hi = self.row_lower[single] - act[single], self.row_upper[single] - act[single]
            with np.errstate(invalid="ignore"):
                np.maximum.at(lower, j, np.where(a > 0, lo / a, hi / a))
                np.minimum.at(upper, j, np.where(a > 0, hi / a, lo / a))
            ints = self.integer[free].astype(bool)
            lower[ints] = np.ceil(lower[ints] - 1e-6)
            upper[ints] = np.floor(upper[ints] + 1e-6)
        rows = np.flatnonzero((count > 1) | forced)
        n = int(free.sum())
        return StandardForm(
            cost=self.cost[free], col_lower=lower, col_upper=upper,
            integer=self.integer[free], A=AF[rows].tocsc(),
            row_lower=self.row_lower[rows] - act[rows], row_upper=self.row_upper[rows] - act[rows],
            rows=_names(self.rows).take(rows), x_cols=np.zeros(0, dtype=np.int64),
            owner=np.full(n, -1, dtype=np.int64))

    def without_rows(self, drop: np.ndarray) -> StandardForm:
        """The same columns with the rows at positions ``drop`` removed (priced rows)."""
        keep = np.ones(self.n_rows, dtype=bool)
        keep[drop] = False
        return replace(self, A=self.A[keep].tocsc(), row_lower=self.row_lower[keep],
                       row_upper=self.row_upper[keep],
                       rows=_names(self.rows).take(np.flatnonzero(keep)))


def _names(rows) -> RowNames:
    """``rows`` as :class:`RowNames` (a standard form made by hand may hold a tuple)."""
    if isinstance(rows, RowNames):
        return rows
    rows = list(rows)
    return RowNames([k for k, _ in rows], [[i] for _, i in rows])


def standard_form(f: Formulation) -> StandardForm:
    """The formulation as one :class:`StandardForm`, from the arrays its blocks recorded."""
    form = f.form
    n = form.n_cols
    blocks = form.blocks
    nnz = [len(b.cols) for b in blocks]
    ptr = np.concatenate([[0]] + [b.ptr[1:] + off for b, off in
                                  zip(blocks, np.cumsum([0, *nnz[:-1]]), strict=True)])
    cols = np.concatenate([b.cols for b in blocks]) if blocks else np.zeros(0, np.int64)
    vals = np.concatenate([b.vals for b in blocks]) if blocks else np.zeros(0)
    A = sp.csr_matrix((vals, cols, ptr), shape=(len(ptr) - 1, n)).tocsc()

    def stack(parts: list[np.ndarray], dtype=float) -> np.ndarray:
        return np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype=dtype)

    return StandardForm(
        cost=np.asarray(form.cost if form.cost is not None else np.zeros(n), dtype=float),
        col_lower=stack(form.lb), col_upper=stack(form.ub),
        integer=stack(form.integer, bool), A=A,
        row_lower=stack([b.lo for b in blocks]), row_upper=stack([b.hi for b in blocks]),
        rows=RowNames([b.kind for b in blocks], [b.index for b in blocks]),
        x_cols=form.offsets["x"] + np.arange(form.counts["x"]),
        owner=stack(form.owner, np.int64),
    )
