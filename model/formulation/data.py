"""What the constraint blocks read: the option table and its (unit, period) grouping.

:func:`prepare` computes the option economics once (:mod:`svcplan.economics`) and groups the
option rows by unit-period, so every ``add_*`` block of :mod:`.blocks` reads ready arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..case.case import Case
from ..economics.options import level_table, option_table, unit_period_table
from ..economics.targets import TargetRows, service_objective, target_rows


@dataclass
class ModelData:
    """Everything the blocks need, as arrays aligned with the option table rows."""

    case: Case
    options: pd.DataFrame  # economics.option_table
    unit_periods: pd.DataFrame  # economics.unit_period_table
    levels: pd.DataFrame  # economics.level_table
    group_start: np.ndarray  # first option row of each (u, t) group
    group_end: np.ndarray
    n_units: int
    n_periods: int
    targets: TargetRows | None = None  # service target rows (economics.targets)
    service: np.ndarray | None = None  # per option, its share of the mean-service objective

    @property
    def settings(self):
        return self.case.settings

    def group_of(self) -> np.ndarray:
        """Group (u, t) position of ``u·T + t``, −1 where the unit-period has no option."""
        g = np.full(max(self.n_units, 1) * self.n_periods, -1, dtype=np.int64)
        first = self.group_start
        if len(first):
            u = self.options["u"].to_numpy()[first]
            t = self.options["t"].to_numpy()[first]
            g[u * self.n_periods + t] = np.arange(len(first))
        return g


def prepare(case: Case, options: pd.DataFrame | None = None) -> ModelData:
    """Compute the option economics and the (u, t) grouping the blocks index by."""
    opt = option_table(case) if options is None else options
    up = unit_period_table(case)
    key = opt["u"].to_numpy() * (len(case.periods) + 1) + opt["t"].to_numpy()
    start = np.flatnonzero(np.r_[True, key[1:] != key[:-1]]) if len(key) else np.array([], int)
    end = np.r_[start[1:], len(key)].astype(int)
    n_units = int(up["u"].max()) + 1 if len(up) else 0
    service = service_objective(case, opt) if case.settings.objective == "service" else None
    return ModelData(case, opt, up, level_table(case), start, end, n_units, len(case.periods),
                     target_rows(case, opt), service)


def product_clusters(d: ModelData) -> np.ndarray:
    """Per unit, its product's number: the units the neighbourhood search frees together
    (tier ordering links the segments of one product, so some moves need them all)."""
    u = d.options["u"].to_numpy()
    cluster = np.zeros(int(u.max()) + 1 if len(u) else 0, dtype=np.int64)
    cluster[u] = pd.factorize(d.options["product"])[0]
    return cluster
