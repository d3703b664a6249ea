"""The outcome of a solve, named once: every stage compares against these, never against text.

A :class:`Status` is a ``StrEnum``: it writes into ``summary.json`` and CSV files as its plain
value (``"optimal"``) and compares equal to it, so files written by earlier versions still
read back. ``optimal`` means proven within the requested gap; a plan cut short by a limit is
never called optimal (``feasible`` or ``time_limit``).
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """How a solve ended."""

    OPTIMAL = "optimal"  # a plan proven within the requested gap
    FEASIBLE = "feasible"  # a plan, with a proven gap above the requested one
    TIME_LIMIT = "time_limit"  # a limit stopped the run (with or without a plan)
    INFEASIBLE = "infeasible"  # proven: no plan meets every limit and policy
    ERROR = "error"  # the solver failed, or svcplan did

    @property
    def can_have_plan(self) -> bool:
        """Statuses that come with a plan when the solver found one."""
        return self in WITH_PLAN


#: Statuses that come with a plan (a ``time_limit`` run may also end without one).
WITH_PLAN = frozenset({Status.OPTIMAL, Status.FEASIBLE, Status.TIME_LIMIT})
