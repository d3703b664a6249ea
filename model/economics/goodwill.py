"""The goodwill stock of SPEC §3, computed once for every place that needs it.

``G[u,1] = 0``, ``G[u,t] = rho * G[u,t-1] + g(level of u at t-1)``: service given today
moves demand tomorrow. The model builds this as linear constraints; outside the model
(the output tables, the generator's budgets) it is this recursion on numbers.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def goodwill_stock(earned: ArrayLike, retention: float) -> np.ndarray:
    """G for every unit and period from the goodwill each period's level earns.

    ``earned[..., t]`` is ``goodwill[l]`` of the level held in period t (periods on the last
    axis, any leading axes for units); ``retention`` is ``goodwill_retention`` (rho).
    Returns G of the same shape: ``G[..., 0] = 0`` and
    ``G[..., t] = retention * G[..., t-1] + earned[..., t-1]``. The goodwill earned in the
    last period never shows (it would lift the period after the horizon).
    """
    g = np.asarray(earned, dtype=float)
    stock = np.zeros(g.shape)
    for t in range(1, g.shape[-1]):
        stock[..., t] = retention * stock[..., t - 1] + g[..., t - 1]
    return stock
