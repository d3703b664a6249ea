"""svcplan: differentiated service-level planning as a Pyomo MILP solved with HiGHS.

The data flow is one way: files → :func:`load_case` (validated :class:`Case`) → option
economics → Pyomo model → HiGHS → :class:`SolveResult` with tidy DataFrames.
"""

from .api import SimulationResult, SolveResult, load_case, simulate, solve
from .case.case import Case, CaseError, Problem
from .solver.status import Status

__all__ = ["Case", "CaseError", "Problem", "SimulationResult", "SolveResult", "Status", "load_case",
           "simulate", "solve"]
__version__ = "0.1.0"
