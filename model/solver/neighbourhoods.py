"""Which units the neighbourhood search frees: those the LP is closest to moving.

A unit is *marginal* when one of its unchosen options has a small LP reduced cost.
:func:`unit_margins` scores every unit so; a :class:`View` groups the units into clusters
(single units, or a product's units, which tier ordering links) and picks the most
marginal ones with noise, so that the rounds of :func:`.search.neighbourhood_search`
differ; :func:`pick_units` says which view a round uses, :func:`next_size` how large the
next round is. The pricing fallback (:mod:`.pricing`) reads the same scores.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..formulation.standard_form import StandardForm

#: Units per neighbourhood the search starts with.
START_SIZE = 60


def unit_margins(sf: StandardForm, x: np.ndarray, reduced_cost: np.ndarray) -> np.ndarray:
    """Per unit: the smallest |reduced cost| of an option it does not take in ``x`` (how
    close the LP is to moving it; inf for a unit with a single option)."""
    units = sf.owner[sf.x_cols]
    rc = np.where(x[sf.x_cols] > 0.5, np.inf, np.abs(reduced_cost[sf.x_cols]))
    margin = np.full(int(units.max()) + 1, np.inf)
    np.minimum.at(margin, units, rc)
    return margin


@dataclass
class View:
    """Units grouped into clusters (single units, or a product's units), scored by how
    close their most marginal unit is to changing level."""

    cluster: np.ndarray  # cluster of each unit
    score: np.ndarray  # per cluster: smallest reduced cost of an unchosen option
    size: np.ndarray  # units per cluster
    scale: float

    @classmethod
    def of(cls, cluster: np.ndarray, unit_score: np.ndarray) -> View:
        n = int(cluster.max()) + 1
        score = np.full(n, np.inf)
        np.minimum.at(score, cluster, unit_score)
        finite = np.isfinite(score)
        scale = float(np.median(score[finite])) if finite.any() else 1.0
        return cls(cluster, score, np.bincount(cluster, minlength=n), max(scale, 1e-9))

    def pick(self, size: int, rng: np.random.Generator) -> np.ndarray:
        """About ``size`` units (bool per unit) from the most marginal clusters, with noise."""
        noisy = self.score + rng.exponential(self.scale, len(self.score))
        order = np.argsort(noisy, kind="stable")
        n = int(np.searchsorted(np.cumsum(self.size[order]), size)) + 1
        return np.isin(self.cluster, order[:n])


def pick_units(views: list[View], rnd: int, size: int, rng: np.random.Generator,
               lp_units: np.ndarray | None) -> np.ndarray:
    """The units (bool per unit) round ``rnd`` of :func:`.search.neighbourhood_search` frees:
    every second round the units the LP left fractional (``lp_units``) with single units of
    the starting size, else about ``size`` units of the single-unit and the cluster views in
    turn."""
    with_lp = lp_units is not None and len(lp_units) > 0 and rnd % 2 == 1
    view = views[0] if with_lp else views[rnd % len(views)]
    free_units = view.pick(START_SIZE if with_lp else size, rng)
    if with_lp:
        free_units[lp_units] = True
    return free_units


def next_size(size: int, took: float, limit: float) -> int:
    """The next neighbourhood's size: half again after a sub-MIP that finished within half
    its time ``limit``, a third less (at least 10 units) after one that used it up."""
    if took < 0.5 * limit:
        return int(size * 1.5)
    if took >= 0.95 * limit:
        return max(10, int(size / 1.5))
    return size
