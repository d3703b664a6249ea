"""LPs: one solved once (:func:`solve_lp`), or one kept loaded from point to point of a
sweep (:class:`HotLp`)."""

from __future__ import annotations

from dataclasses import dataclass

import highspy
import numpy as np

from ...formulation.standard_form import StandardForm
from .instance import INF, loaded, run_interruptible


@dataclass
class LpSolution:
    """An LP's answer: ``optimal`` with primal ``x``, reduced costs and row duals, or not."""

    optimal: bool
    x: np.ndarray | None = None
    col_dual: np.ndarray | None = None
    row_dual: np.ndarray | None = None
    objective: float | None = None
    message: str = ""
    interrupted: bool = False
    basis: object | None = None  # HiGHS's optimal basis, opaque: handed back to solve_lp
    infeasible: bool = False  # HiGHS proved that the LP has no solution
    out_of_time: bool = False  # HiGHS stopped at its time limit (``seconds``)


def _lp_answer(h: highspy.Highs, interrupted: bool, keep_basis: bool = False) -> LpSolution:
    status = h.getModelStatus()
    if status != highspy.HighsModelStatus.kOptimal:
        return LpSolution(False, message=h.modelStatusToString(status), interrupted=interrupted,
                          infeasible=status == highspy.HighsModelStatus.kInfeasible,
                          out_of_time=status == highspy.HighsModelStatus.kTimeLimit)
    sol = h.getSolution()
    return LpSolution(True, np.asarray(sol.col_value), np.asarray(sol.col_dual),
                      np.asarray(sol.row_dual, dtype=float),
                      float(h.getInfo().objective_function_value), interrupted=interrupted,
                      basis=_basis(h) if keep_basis else None)


def _basis(h: highspy.Highs) -> highspy.HighsBasis | None:
    """The optimal basis, None where HiGHS has none (interior point without crossover)."""
    basis = h.getBasis()
    return basis if basis.valid else None


def solve_lp(
    sf: StandardForm, *, threads: int | None = None, method: str | None = None,
    seconds: float | None = None, deadline: float | None = None,
    row_shift: dict[int, float] | None = None, basis: object | None = None,
    keep_basis: bool = False, devex: bool = False,
) -> LpSolution:
    """Solve the LP relaxation of ``sf``. ``method``: ``"ipm"`` or ``"simplex"`` (HiGHS's
    choice if None); ``seconds`` is HiGHS's own limit, ``deadline`` ours (see
    :func:`run_interruptible`); ``row_shift`` adds to both bounds of rows by position.
    ``basis`` (an earlier answer's ``basis`` or its :func:`basis_codes`, same rows and
    columns) starts dual simplex there; ``keep_basis`` returns the optimal basis with the
    answer. ``devex``: Devex pricing instead of HiGHS's dual steepest edge, whose exact
    weights a handed basis must first have computed: from a basis a few hundred iterations
    short of the optimum (the local LP of the marginal values) that costs more than it saves
    (the demo at 0.6 / 0.7 / 0.8×: 0.15 / 0.15 / 0.21 s against 0.32 / 0.18 / 0.27 s)."""
    h = loaded(sf.relaxed(), threads)
    if basis is not None:
        method = "simplex"
        h.setBasis(_highs_basis(basis, sf.n_cols))
    if devex:
        h.setOptionValue("simplex_dual_edge_weight_strategy", 1)
    if method:
        h.setOptionValue("solver", method)
    if seconds is not None:
        h.setOptionValue("time_limit", max(0.01, float(seconds)))
    for k, delta in (row_shift or {}).items():
        h.changeRowBounds(int(k), float(sf.row_lower[k] + delta), float(sf.row_upper[k] + delta))
    return _lp_answer(h, run_interruptible(h, deadline=deadline), keep_basis)


def basis_codes(basis: highspy.HighsBasis) -> np.ndarray:
    """HiGHS's ``basis`` as plain numbers, its columns' then its rows' ``HighsBasisStatus``
    values: how a basis leaves the solver stage (``SolveOutcome.lp_basis``), which hands
    on no solver objects; :func:`solve_lp` takes it back. About 35 ms for the demo's
    44,584 columns and rows (the status lists are built element by element)."""
    return np.array([s.value for s in (*basis.col_status, *basis.row_status)], dtype=np.int8)


def _highs_basis(basis: object, n_cols: int) -> object:
    """``basis`` as HiGHS takes it: an earlier answer's as it is, :func:`basis_codes` rebuilt."""
    if not isinstance(basis, np.ndarray):
        return basis
    status = {s.value: s for s in highspy.HighsBasisStatus.__members__.values()}
    out = highspy.HighsBasis()
    out.col_status = [status[k] for k in basis[:n_cols].tolist()]
    out.row_status = [status[k] for k in basis[n_cols:].tolist()]
    out.valid = True
    return out


class HotLp:
    """The LP relaxation of a sweep's model, kept loaded in HiGHS from point to point.

    A sweep's points differ in row bounds only (:mod:`.sweep`), so the next point changes
    those rows and runs dual simplex where the last one ended, with HiGHS's factorisation
    and edge weights still in place. A basis handed to a fresh instance (``solve_lp(basis=)``)
    rebuilds both and skips presolve, which made it slower than a cold solve on the demo.
    """

    def __init__(self, sf: StandardForm, threads: int | None = None):
        self._sf = sf
        self._h = loaded(sf.relaxed(), threads)
        self._h.setOptionValue("solver", "simplex")

    def fits(self, sf: StandardForm) -> bool:
        """Is ``sf`` the loaded model up to its row bounds? A sweep's models share their
        arrays; a model cut again from a plan that did not change (the local LP of the
        marginal values, :mod:`svcplan.insight.marginals`) has equal ones."""
        old = self._sf
        return (sf.offset == old.offset and _same(sf.cost, old.cost)
                and _same(sf.col_lower, old.col_lower) and _same(sf.col_upper, old.col_upper)
                and (sf.A is old.A or (sf.A.shape == old.A.shape and (sf.A != old.A).nnz == 0)))

    def solve(self, sf: StandardForm, seconds: float | None, deadline: float | None) -> LpSolution:
        """The relaxation of ``sf`` (which :meth:`fits`), with its optimal basis."""
        rows = np.flatnonzero((sf.row_lower != self._sf.row_lower)
                              | (sf.row_upper != self._sf.row_upper)).astype(np.int32)
        if len(rows):
            self._h.changeRowsBounds(len(rows), rows, np.clip(sf.row_lower[rows], -INF, INF),
                                     np.clip(sf.row_upper[rows], -INF, INF))
        self._sf = sf
        self._h.setOptionValue("time_limit", INF if seconds is None else max(0.01, seconds))
        return _lp_answer(self._h, run_interruptible(self._h, deadline=deadline), True)


def solve_kept(kept: object | None, sf: StandardForm, seconds: float | None,
               deadline: float | None, threads: int | None = None
               ) -> tuple[HotLp | None, LpSolution]:
    """``sf``'s LP in ``kept`` (a :class:`HotLp` a caller kept from its last solve) when it
    :meth:`~HotLp.fits`, else in a new instance. Returns the instance to keep for the next
    solve, None when this one ended without an optimum (the next starts cold), and the
    answer."""
    hot = kept if isinstance(kept, HotLp) and kept.fits(sf) else HotLp(sf, threads)
    lp = hot.solve(sf, seconds, deadline)
    return (hot if lp.optimal else None), lp


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a is b or np.array_equal(a, b)
