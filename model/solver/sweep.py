"""What one point of a budget sweep leaves for the next: the model, prices, bases, the plan.

Consecutive points of a frontier or budget sweep differ only in the budgets. A budget is
the right-hand side of the ``budget`` / ``total_budget`` rows and nothing else (see
:func:`svcplan.formulation.blocks.add_budget`), so the next point needs no new model: the
standard form is the same matrix with other row bounds. The bound of the next point
starts from what the last one learned:

- large models (priced dense rows, :mod:`.pricing`): the sparse rest does not contain the
  budget rows at all, so the HiGHS instance holding it keeps its optimal basis and the
  prices of the dense rows start where the last point ended; only the secant on the
  changed rows is left to do;
- small models (whole LP relaxation, :mod:`.bound`): the last optimal basis, repaired by
  dual simplex after the change of row bounds;
- the last plan (repaired to the new budgets by :mod:`.warmstart`, handed in by the
  caller as ``start``) competes with the rounding as the incumbent.

:class:`Sweep` is created by the caller of a chain of solves (``svcplan.whatif.batch``)
and handed to every solve of the chain; a case that differs in anything but budgets is
built from scratch and clears what was learned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from ..case.case import Case
from ..formulation.blocks import create_model
from ..formulation.data import ModelData, prepare
from ..formulation.rows import RowKind
from ..formulation.standard_form import StandardForm, standard_form


@dataclass
class WarmState:
    """What the last solve of a sweep learned (every field None: nothing yet).

    ``rest`` is a :class:`.pricing.SparseRest` (the sparse rest of a priced model, with its
    basis); ``lam`` the prices of the dense rows at the best bound; ``basis`` the optimal
    basis of the whole LP relaxation (small models), opaque (HiGHS's own object); ``seen``
    the (prices, spend per dense row) pairs of the last point's pricing rounds; ``core``
    the separable core's prices at the last budgets (their change is the next start's).
    """

    rest: object | None = None
    lam: np.ndarray | None = None
    basis: object | None = None
    seen: list = field(default_factory=list)
    core: np.ndarray | None = None  # the separable core's prices at the last point's budgets
    reused: bool = False  # this point reuses the last point's model (only budgets changed)
    #: a small model's LP relaxation, kept loaded in HiGHS (:class:`.highs.HotLp`), opaque
    lp: object | None = None
    #: the floors and ceilings of the dense rows (:func:`.floors.reach`), opaque
    reach: object | None = None
    #: the local LP of the last point's marginal values, kept loaded likewise, where the
    #: bound was priced (after the whole LP relaxation each starts from that LP's basis:
    #: :func:`svcplan.insight.marginals.marginal_values`)
    local_lp: object | None = None
    #: the status of the marginal values' local LP where it ran out of its time budget at a
    #: point of this sweep (the model is the same at every point: it would again)
    local_lp_ran_out: str | None = None


@dataclass
class Sweep:
    """The model of the last case of a chain and its :class:`WarmState`."""

    case: Case | None = None
    data: ModelData | None = None
    sf: StandardForm | None = None
    warm: WarmState = field(default_factory=WarmState)

    def model(self, case: Case) -> tuple[ModelData, StandardForm]:
        """``(data, standard form)`` of ``case``: the last model with new budget rows when
        only budgets changed, else built (and the warm state cleared)."""
        if self.case is not None and only_budgets_differ(self.case, case):
            self.data = replace(self.data, case=case)
            self.sf = with_budgets(self.sf, case)
            self.warm.reused = True
        else:
            self.data = prepare(case)
            self.sf = standard_form(create_model(self.data))
            self.warm = WarmState()
        self.case = case
        return self.data, self.sf


def only_budgets_differ(a: Case, b: Case) -> bool:
    """True when ``b`` is ``a`` with other period budgets and/or total budget (the name and
    the solver controls do not enter the model)."""
    if a.periods != b.periods or set(a.tables) != set(b.tables):
        return False
    sa, sb = a.settings.model_dump(), b.settings.model_dump()
    for key in ("name", "solver", "total_budget"):
        sa.pop(key, None)
        sb.pop(key, None)
    if sa != sb or (a.settings.total_budget is None) != (b.settings.total_budget is None):
        return False
    for name, ta in a.tables.items():
        tb = b.tables[name]
        if name == "periods":
            if not np.array_equal(ta["budget"].isna(), tb["budget"].isna()):
                return False
            ta, tb = ta.drop(columns="budget"), tb.drop(columns="budget")
        if not ta.equals(tb):
            return False
    return True


def with_budgets(sf: StandardForm, case: Case) -> StandardForm:
    """``sf`` with the budget rows' right-hand sides of ``case`` (the matrix is shared)."""
    upper = sf.row_upper.copy()
    budget = case.tables["periods"]["budget"].to_numpy(dtype=float)
    for k in sf.rows_of({RowKind.BUDGET}).tolist():  # named (BUDGET, t): t a period given one
        upper[k] = budget[sf.rows[k][1]]
    if case.settings.total_budget is not None:
        upper[sf.rows_of({RowKind.TOTAL_BUDGET})] = float(case.settings.total_budget)
    new = replace(sf, row_upper=upper)
    # The matrix and the row names are shared, so are the views cached on them (the
    # unit-periods): rebuilt, they cost 0.5 s of a 300k sweep point.
    for name in _CACHED:
        if name in vars(sf):
            vars(new)[name] = vars(sf)[name]
    return new


#: :class:`StandardForm`'s cached properties that depend only on ``A`` and ``rows``
_CACHED = ("groups", "choices")
