"""From counted cycles and shortages to achieved service with 95% intervals.

Successive cycles of one inventory system are not independent: with a lead time, the
protection intervals of two successive periodic-review orders overlap by LT days, so their
stockouts go together. Treating the cycles as independent coin flips would make the
intervals too narrow. Both estimates therefore read the spread of :data:`.policy.N_BATCHES`
consecutive batches of the run (batch means, each batch many cycles long):

- **cycle service** ``1 − stockouts / cycles``: a Wilson score interval (it behaves at 0 and
  1 stockouts, where a normal interval collapses) on the *effective* number of cycles: the
  cycles divided by the design effect, the batch-means variance of the ratio over the
  binomial variance (at least 1; 1 when no stockout was seen). The design effect is itself
  estimated from the 20 batches, so the interval uses Student's t quantile with 19 degrees
  of freedom instead of the normal one (with the normal quantile, 5.8% of exact promises
  fell outside on a 2,400 unit-period check where 5% was due);
- **fill rate** ``1 − short / demand``: the ratio estimator over batches with a Student t
  interval (19 degrees of freedom), clipped to [0, 1]. No shortage seen gives [1, 1].
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Student t 0.975 quantile with N_BATCHES - 1 = 19 degrees of freedom.
T95_19 = 2.093024054408263


class Estimate(NamedTuple):
    """An achieved rate with its standard error and 95% interval (arrays)."""

    value: np.ndarray
    se: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def _ratio_se(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Standard error of ``sum(num) / sum(den)`` from batches along axis 0."""
    b = num.shape[0]
    total_den = den.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = num.sum(axis=0) / total_den
        resid = num - r * den
        return np.sqrt((resid**2).sum(axis=0) * b / (b - 1)) / total_den


def cycle_service(batch_cycles: np.ndarray, batch_stockouts: np.ndarray) -> Estimate:
    """Achieved cycle service per unit-period (columns) from its batches (rows)."""
    n = batch_cycles.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        fail = batch_stockouts.sum(axis=0) / n
        se_batch = _ratio_se(batch_stockouts, batch_cycles)
        se_binom = np.sqrt(fail * (1 - fail) / n)
        deff = np.where(se_binom > 0, np.maximum((se_batch / se_binom) ** 2, 1.0), 1.0)
        n_eff = n / deff
        p = 1 - fail
        z = T95_19
        centre = (p + z**2 / (2 * n_eff)) / (1 + z**2 / n_eff)
        half = z / (1 + z**2 / n_eff) * np.sqrt(p * (1 - p) / n_eff + z**2 / (4 * n_eff**2))
        se = np.sqrt(p * (1 - p) / n_eff)
    return Estimate(p, se, np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1))


def fill_rate(batch_demand: np.ndarray, batch_short: np.ndarray) -> Estimate:
    """Achieved fill rate per unit-period (columns) from its batches (rows)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 1 - batch_short.sum(axis=0) / batch_demand.sum(axis=0)
        se = _ratio_se(batch_short, batch_demand)
    return Estimate(value, se, np.clip(value - T95_19 * se, 0, 1), np.clip(value + T95_19 * se, 0, 1))
