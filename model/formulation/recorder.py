"""Array-first construction: every block of :mod:`.blocks` states its rows as arrays.

A block hands :func:`add_rows` its terms as triplets (row, column, coefficient) plus row
bounds. :func:`add_rows` creates the Pyomo constraint from those arrays (one generic loop,
no per-term operator overloading) and records the same arrays in the :class:`LinearForm`
of the :class:`Formulation` being built. The Pyomo model stays the one definition users and
writers see; the solver hand-off (:func:`.standard_form.standard_form`) reads the recorded
arrays instead of walking millions of Pyomo expressions, which is ~50× faster at a million
binaries. ``tests/test_fast_build.py`` checks that both views are the same matrix.

Nothing is hung on the Pyomo model for other modules to read: what the blocks record lives
on the :class:`Formulation`, which :func:`.blocks.create_model` returns. Since no solver
stage reads the Pyomo model, a very large case may be recorded without it
(``Formulation(None)``): the same blocks state the same arrays, only the Pyomo components
are not created from them (at 1M binaries they are most of the build's time and memory).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from .rows import RowKind

if TYPE_CHECKING:
    import pyomo.environ as pyo

# Pyomo is imported where a component is created, not here: a solve of svcplan's own records
# without it (the default) and its import takes 0.4 s of every process's first solve.


@dataclass
class RowBlock:
    """One constraint component as CSR arrays: row k has terms ``ptr[k]:ptr[k+1]``."""

    kind: RowKind
    index: list | range  # the rows' keys (a range for the default 0..n-1: no list of ints)
    ptr: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


@dataclass
class LinearForm:
    """The model as arrays: columns (in Pyomo variable order) and row blocks."""

    var_names: list[str] = field(default_factory=list)
    offsets: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # columns per Var
    lb: list[np.ndarray] = field(default_factory=list)
    ub: list[np.ndarray] = field(default_factory=list)
    integer: list[np.ndarray] = field(default_factory=list)
    owner: list[np.ndarray] = field(default_factory=list)  # unit of each column, −1 = shared
    variables: list = field(default_factory=list)  # Pyomo VarData, column order (if built)
    blocks: list[RowBlock] = field(default_factory=list)
    cost: np.ndarray | None = None  # objective coefficient per column (maximised)
    n_cols: int = 0


@dataclass
class Formulation:
    """The Pyomo model (None: recorded only, see the module doc) and what its blocks
    recorded while building it.

    ``form`` holds every column and row as arrays (the standard form is made from it);
    ``terms`` the per-period budget (``"spend"``) and objective (``"profit"``) terms that
    blocks add for :func:`.blocks.add_budget` and :func:`.blocks.add_objective` to collect,
    as ``(t, column, value)`` arrays.
    """

    model: pyo.ConcreteModel | None
    form: LinearForm = field(default_factory=LinearForm)
    terms: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = field(default_factory=dict)

    def add_terms(self, name: str, t: np.ndarray, cols: np.ndarray, values: np.ndarray) -> None:
        """Record per-period terms ``values`` on ``cols`` in periods ``t`` under ``name``."""
        self.terms.setdefault(name, []).append((t, cols, values))


def add_var(
    f: Formulation, name: str, n: int, *, binary: bool = False,
    lb: float | None = 0.0, ub: float | None = None, owner: np.ndarray | None = None,
) -> int:
    """An indexed Var ``name[0..n-1]``; returns the column of its first element.

    ``owner`` names the unit each element belongs to (−1: shared by all units, the default),
    so the solver can free or fix one unit's columns together (neighbourhood search).
    """
    form = f.form
    offset = form.n_cols
    form.var_names.append(name)
    form.offsets[name] = offset
    form.counts[name] = n
    form.lb.append(np.full(n, 0.0 if binary else (-np.inf if lb is None else lb)))
    form.ub.append(np.full(n, 1.0 if binary else (np.inf if ub is None else ub)))
    form.integer.append(np.full(n, binary))
    form.owner.append(np.full(n, -1, dtype=np.int64) if owner is None
                      else np.asarray(owner, dtype=np.int64))
    form.n_cols += n
    if f.model is not None:
        import pyomo.environ as pyo

        domain = pyo.Binary if binary else pyo.Reals
        comp = pyo.Var(range(n), domain=domain, bounds=None if binary else (lb, ub))
        setattr(f.model, name, comp)
        form.variables.extend(comp.values())
    return offset


def csr(rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, n_rows: int):
    """COO triplets → (ptr, cols, vals) sorted by row (stable), zero coefficients dropped."""
    rows, cols, vals = (np.asarray(a) for a in (rows, cols, vals))
    keep = vals != 0
    if not keep.all():  # (copies of every triplet only when some coefficient is zero)
        rows, cols, vals = rows[keep], cols[keep], vals[keep]
    ptr = np.r_[0, np.cumsum(np.bincount(rows, minlength=n_rows))].astype(np.int64)
    # columns as int32 where they fit (the matrix's own index type: no copy when stacked)
    index = np.int32 if not len(cols) or int(cols.max()) < np.iinfo(np.int32).max else np.int64
    if len(rows) and np.all(rows[1:] >= rows[:-1]):  # already by row: no reordering copy
        return ptr, cols.astype(index), vals.astype(float)
    order = np.argsort(rows, kind="stable")
    return ptr, cols[order].astype(index), vals[order].astype(float)


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """``concat(arange(s, s + n) for s, n in zip(starts, lengths))`` without a Python loop."""
    lengths = np.asarray(lengths, dtype=np.int64)
    total = int(lengths.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    first = np.r_[0, np.cumsum(lengths)[:-1]]
    return np.repeat(np.asarray(starts, dtype=np.int64) - first, lengths) + np.arange(total)


def add_rows(
    f: Formulation, kind: RowKind, triplets: tuple, n_rows: int,
    lo: float | np.ndarray | None, hi: float | np.ndarray | None, index: list | None = None,
) -> pyo.Constraint | None:
    """Constraint ``lo ≤ Σ_j a_kj·col_j ≤ hi`` for each row k, from COO ``triplets``.

    ``index`` names the rows (default ``0..n_rows-1``; ``[None]`` makes a scalar component).
    Rows without terms stay in the recorded matrix (an infeasible empty row must still make
    the model infeasible) but are skipped in Pyomo, which rejects constant constraints.
    """
    form = f.form
    ptr, cols, vals = csr(*triplets, n_rows)
    lo_a = np.broadcast_to(np.asarray(-np.inf if lo is None else lo, dtype=float), (n_rows,))
    hi_a = np.broadcast_to(np.asarray(np.inf if hi is None else hi, dtype=float), (n_rows,))
    index = range(n_rows) if index is None else index
    form.blocks.append(RowBlock(kind, index, ptr, cols, vals, lo_a.copy(), hi_a.copy()))
    if f.model is None:  # recorded only
        return None
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

    V = form.variables
    p, c, v = ptr.tolist(), cols.tolist(), vals.tolist()
    lo_l, hi_l = lo_a.tolist(), hi_a.tolist()

    def expr(k: int):
        a, b = p[k], p[k + 1]
        if a == b:
            return pyo.Constraint.Skip
        e = LinearExpression([MonomialTermExpression((v[j], V[c[j]])) for j in range(a, b)])
        lk, hk = lo_l[k], hi_l[k]
        if lk == hk:
            return e == lk
        return (None if lk == -np.inf else lk, e, None if hk == np.inf else hk)

    if index == [None]:
        comp = pyo.Constraint(expr=expr(0))
        setattr(f.model, str(kind), comp)
        return comp
    comp = pyo.Constraint(list(index))
    setattr(f.model, str(kind), comp)
    for k, key in enumerate(index):
        e = expr(k)
        if e is not pyo.Constraint.Skip:
            comp[key] = e
    return comp


def set_objective(f: Formulation, cost: np.ndarray) -> None:
    """``max Σ_j cost_j·col_j`` (one LinearExpression), recorded for the hand-off."""
    form = f.form
    form.cost = np.asarray(cost, dtype=float)
    if f.model is None:
        return
    import pyomo.environ as pyo
    from pyomo.core.expr.numeric_expr import LinearExpression, MonomialTermExpression

    nz = np.flatnonzero(form.cost)
    V = form.variables
    e = LinearExpression(
        [MonomialTermExpression((float(form.cost[j]), V[j])) for j in nz.tolist()]
    )
    f.model.profit = pyo.Objective(expr=e, sense=pyo.maximize)
