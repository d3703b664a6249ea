"""The normal-distribution side of a level (SPEC §2): its safety factor ``z`` and the cycle
service it promises, and the safety stock that follows from ``z``.

Three places used to compute these on their own (the option economics, the calibration tools
and the case generator); they now all call :func:`service_factors` and :func:`safety_stock`.

The normal quantile and cdf are :class:`statistics.NormalDist` applied element by element,
not ``scipy.special.ndtri``/``ndtr``: the two agree only to the last bit or two, and keeping
NormalDist keeps every derived number (and every generated case) bit-for-bit what it was.
A levels table has a handful of rows, so the Python loop costs nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

_NORMAL = NormalDist()


class ServiceFactors(NamedTuple):
    """Per level: the safety factor ``z`` and the cycle ``service`` probability it promises."""

    z: np.ndarray
    service: np.ndarray


def _elementwise(f: Callable[[float], float], x: np.ndarray) -> np.ndarray:
    """``f`` on every non-NaN element of ``x`` (NaN stays NaN)."""
    out = np.full(x.shape, np.nan)
    given = ~np.isnan(x)
    out[given] = [f(v) for v in x[given]]
    return out


def normal_quantile(p: ArrayLike) -> np.ndarray:
    """Φ⁻¹(p) element-wise; p = 0 / 1 give ∓inf, p outside [0, 1] and NaN give NaN."""
    p = np.asarray(p, dtype=float)
    inside = np.where((p > 0) & (p < 1), p, np.nan)
    z = _elementwise(_NORMAL.inv_cdf, inside)
    return np.where(p == 0, -np.inf, np.where(p == 1, np.inf, z))


def normal_cdf(z: ArrayLike) -> np.ndarray:
    """Φ(z) element-wise (NaN stays NaN)."""
    return _elementwise(_NORMAL.cdf, np.asarray(z, dtype=float))


def service_factors(service_target: ArrayLike, safety_factor: ArrayLike) -> ServiceFactors:
    """``z`` and the reportable cycle ``service`` of levels (arrays broadcast together).

    ``z`` = safety_factor if given, else the standard normal quantile of service_target
    (a cycle service level), else 0 (no safety stock). ``service`` is the reverse:
    service_target if given, else Φ(safety_factor), else NaN, so a level given only by its
    safety factor still reports a service level.
    """
    target, sf = np.broadcast_arrays(np.asarray(service_target, dtype=float),
                                     np.asarray(safety_factor, dtype=float))
    need_z = np.isnan(sf) & ~np.isnan(target)
    z = np.where(np.isnan(sf), 0.0, sf)
    z[need_z] = normal_quantile(target[need_z])
    service = np.where(np.isnan(target), normal_cdf(sf), target)
    return ServiceFactors(z=z, service=service)


def safety_stock(units: ArrayLike, z: ArrayLike, demand_cv: ArrayLike, lead_time_days: ArrayLike,
                 period_days: float) -> np.ndarray:
    """SPEC §2 safety stock ``ss = z * demand_cv * q * sqrt(lead_time_days / period_days)``.

    Arrays broadcast; the factors are multiplied in this order everywhere so that the model
    and the generator get the same bits.
    """
    return (np.asarray(z) * np.asarray(demand_cv) * np.asarray(units)
            * np.sqrt(np.asarray(lead_time_days) / period_days))
