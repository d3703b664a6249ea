"""The plans a solve has found so far: which is worth most, and whether the bound proves one.

A solve collects ``(plan, source)`` pairs as it finds them (:mod:`.strategy`, and the
rounding steps of :mod:`.respend`); a plan is None where a step found none. Kept apart so
that both can stop at the first plan the bound proves within the gap.
"""

from __future__ import annotations

import numpy as np

from ..formulation.standard_form import StandardForm


def best_candidate(sf: StandardForm, candidates: list) -> tuple[np.ndarray | None, float | None, str]:
    """The candidate worth most: ``(columns, objective, source)``; the first of equals."""
    plan, value, source = None, None, "none"
    for x, name in candidates:
        if x is None:
            continue
        v = sf.objective(x)
        if value is None or v > value + 1e-9 * max(1.0, abs(value)):
            plan, value, source = x, v, name
    return plan, value, source


def within_gap(value: float, bound: float | None, gap: float) -> bool:
    """Does ``bound`` prove a plan worth ``value`` within the relative ``gap``?"""
    return bound is not None and bound - value <= max(gap * abs(value), 1e-6)


def any_proven(sf: StandardForm, candidates: list, bound: float | None, gap: float) -> bool:
    """Is some candidate plan already within ``gap`` of the LP ``bound``?"""
    return any(x is not None and within_gap(sf.objective(x), bound, gap) for x, _ in candidates)
