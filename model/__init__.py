"""svcplan: differentiated service-level planning as a Pyomo MILP solved with HiGHS.

The data flow is one way: files → :func:`load_case` (validated :class:`Case`) → option
economics → Pyomo model → HiGHS → :class:`SolveResult` with tidy DataFrames.

The names below load on first use (PEP 562): ``import svcplan`` alone loads neither pandas
nor the solver, so the ``svcplan`` command can start a batch's worker processes before its
own imports (:mod:`svcplan.cli.entry`). ``from svcplan import solve`` works as ever.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import SimulationResult, SolveResult, load_case, simulate, solve
    from .case.case import Case, CaseError, Problem
    from .solver.status import Status

__all__ = ["Case", "CaseError", "Problem", "SimulationResult", "SolveResult", "Status", "load_case",
           "simulate", "solve"]
__version__ = "0.1.0"


def __getattr__(name: str) -> object:
    """A name of :data:`__all__`, imported from its module when first asked for."""
    if name in ("SimulationResult", "SolveResult", "load_case", "simulate", "solve"):
        from . import api as module
    elif name in ("Case", "CaseError", "Problem"):
        from .case import case as module
    elif name == "Status":
        from .solver import status as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value  # asked once: later look-ups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
