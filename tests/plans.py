"""What a test asks of a solver's answer: a whole plan that meets every row and bound."""

from __future__ import annotations

import numpy as np

from svcplan.formulation.standard_form import StandardForm


def whole_plan(sf: StandardForm, x: np.ndarray) -> bool:
    """Does the full column vector ``x`` meet every row of ``sf`` (within 1e-6, relative
    to each row's activity above 1), every column bound (within 1e-9), and is every
    integer column whole (within 1e-6)?"""
    act = sf.A @ x
    tol = 1e-6 * np.maximum(1.0, np.abs(act))
    ints = x[sf.integer.astype(bool)]
    return bool(np.all(act >= sf.row_lower - tol) and np.all(act <= sf.row_upper + tol)
                and np.all(x >= sf.col_lower - 1e-9) and np.all(x <= sf.col_upper + 1e-9)
                and np.allclose(ints, np.round(ints), atol=1e-6))
