"""The row kinds of the formulation, named once.

Every constraint block of :mod:`.blocks` records its rows under one :class:`RowKind`; the
value is also the name of the Pyomo constraint component (``m.budget``), so a row of the
standard form, a row of a written ``.lp`` file and a row in an explanation all carry the
same name. The solver and insight stages select rows by the *families* below, never by
spelling a name: renaming a block here renames it everywhere, and a new block that belongs
to a family is priced, relaxed or searched the way its family is.
"""

from __future__ import annotations

from enum import StrEnum


class RowKind(StrEnum):
    """One kind of constraint row (and the Pyomo component holding those rows)."""

    ASSIGN = "assign"  # one level per unit-period
    FIXED_LINK = "fixed_link"  # offered level y ≥ option x
    SWITCH = "switch"  # level changes between consecutive periods
    SWITCH_FIRST = "switch_first"  # change against current.csv in the first period
    MAX_CHANGES = "max_changes"  # changes per unit over the horizon
    GOODWILL = "goodwill"  # goodwill stock recursion
    TIER_ORDER = "tier_order"  # better tiers get at least the rank of worse ones
    BUDGET = "budget"  # spend per period
    TOTAL_BUDGET = "total_budget"  # spend over the horizon
    CAPACITY = "capacity"  # resource use per period
    INVENTORY = "inventory"  # safety stock days per period
    USER = "user"  # a row an extension added, within one unit (svcplan.formulation.extend)
    USER_DENSE = "user_dense"  # a row an extension added across units: priced like a budget
    TARGET = "service_target"  # mean promised service of a target's units (targets.csv)


#: Dense ``≤`` rows over a whole period or horizon: priced by the LP bound of large models
#: (:mod:`svcplan.solver.pricing`) and valued by the marginals (:mod:`svcplan.insight.marginals`).
DENSE = frozenset({RowKind.BUDGET, RowKind.TOTAL_BUDGET, RowKind.CAPACITY, RowKind.INVENTORY,
                   RowKind.USER_DENSE, RowKind.TARGET})
#: Rows that spend a limited resource (money, capacity): the thriftiest plan spends least on them.
RESOURCE = frozenset({RowKind.BUDGET, RowKind.TOTAL_BUDGET, RowKind.CAPACITY})
#: Rows that link a unit's periods; with them the LP relaxation is solved by interior point.
PERIOD_LINKS = frozenset({RowKind.SWITCH, RowKind.SWITCH_FIRST, RowKind.GOODWILL})
#: Limits an infeasible case may be relaxed on to explain itself (policies are not rows).
ELASTIC = DENSE | {RowKind.TIER_ORDER, RowKind.MAX_CHANGES}
