"""Negative goodwill may not push a unit's units below zero (SPEC §3).

A level with ``goodwill < 0`` loses demand later: the lift ``σ_s·base_demand·G`` turns
negative. The model has no floor on units, so a case in which the worst goodwill path could
take away more than a unit serves is refused before solving, naming the segment and period:

    refused when  min over allowed l of q[u,l,t] + σ_s·base_demand[u,t]·Gmin[t] < 0,
    Gmin[1] = 0,  Gmin[t] = ρ·Gmin[t−1] + min(0, min_l goodwill[l]).

``Gmin`` is the stock of a unit that held the most negative level in every earlier period,
the lowest G can reach. ``q`` is ``base_demand·capture`` of a derived option and the
``units`` of an options.csv row. A derived unit's smallest q is ``base_demand`` times its
smallest allowed capture, so the bulk of a large demand table is checked with one merge; only
units listed in options.csv are checked option by option.

Imports inside the case stage run one way: this module sits on :mod:`.units` and below
:mod:`.checks`, which calls it once everything else is consistent.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .problems import Problem
from .units import UNIT, allowed_options, captures

#: Units below ``-FLOOR_TOLERANCE·(1 + base_demand)`` count as negative (rounding is not).
FLOOR_TOLERANCE = 1e-9


def lowest_goodwill_stock(goodwill: np.ndarray, retention: float, n_periods: int) -> np.ndarray:
    """``Gmin[t]`` for t = 0..n_periods−1 (0-based: ``Gmin[0] = 0``)."""
    step = min(0.0, float(np.min(goodwill))) if len(goodwill) else 0.0
    g = np.zeros(n_periods)
    for t in range(1, n_periods):
        g[t] = retention * g[t - 1] + step
    return g


def demand_floor_problems(tables: Mapping[str, pd.DataFrame], retention: float,
                          segments_file: str, max_problems: int = 20) -> list[Problem]:
    """One problem per (segment, period) where negative goodwill could push units below 0.

    Each is located at the segment's row of segments.csv, column ``goodwill_sensitivity``
    (the lever that scales the loss), and names the period, a product, its smallest units and
    the most units the goodwill could take away.
    """
    levels, periods, demand = tables["levels"], tables["periods"], tables.get("demand")
    gmin = lowest_goodwill_stock(levels["goodwill"].to_numpy(dtype=float), retention, len(periods))
    seg = tables["segments"]
    if demand is None or not (gmin < 0).any() or not (seg["goodwill_sensitivity"] > 0).any():
        return []
    t_of = pd.Series(np.arange(len(periods)), index=periods["period"].to_numpy())
    sens = seg.set_index("segment")["goodwill_sensitivity"]
    d = demand[[*UNIT, "period", "base_demand"]]
    d = d.assign(t=d["period"].map(t_of).to_numpy(), sensitivity=d["segment"].map(sens).to_numpy())
    d = d[(d["base_demand"] > 0) & (d["sensitivity"] > 0) & (gmin[d["t"].to_numpy()] < 0)]
    if d.empty:
        return []
    d = d.assign(units=_smallest_units(tables, d))
    d["loss"] = -d["sensitivity"] * d["base_demand"] * gmin[d["t"].to_numpy()]
    d["left"] = d["units"] - d["loss"]
    bad = d[d["left"] < -FLOOR_TOLERANCE * (1.0 + d["base_demand"])]
    if bad.empty:
        return []
    worst = bad.sort_values("left", kind="stable").drop_duplicates(["segment", "period"])
    worst = worst.sort_values(["t", "segment"], kind="stable")
    row_of = pd.Series(seg.index, index=seg["segment"].to_numpy())
    lowest = levels.loc[levels["goodwill"].idxmin(), "level"]
    out = []
    for r in worst.head(max_problems).itertuples(index=False):
        out.append(Problem(
            segments_file,
            f"negative goodwill could push demand below zero for segment {r.segment!r} in period "
            f"{r.period!r}: product {r.product!r} serves at least {r.units:.6g} units there, but "
            f"after periods at level {lowest!r} (goodwill {levels['goodwill'].min():g}) it loses "
            f"{r.loss:.6g}; lower goodwill_sensitivity or the negative goodwill",
            row=int(row_of[r.segment]), column="goodwill_sensitivity"))
    if len(worst) > max_problems:
        out.append(Problem(segments_file, f"... and {len(worst) - max_problems} more segment-periods "
                           "like the above", column="goodwill_sensitivity"))
    return out


def _smallest_units(tables: Mapping[str, pd.DataFrame], d: pd.DataFrame) -> np.ndarray:
    """min over allowed l of q[u,l,t] for each demand row of ``d`` (SPEC §2 q)."""
    pairs = allowed_options(tables)
    pairs = pairs[pairs["allowed"]]
    pairs = pairs.assign(capture=captures(tables, pairs).to_numpy())
    low = pairs.groupby(UNIT, sort=False)["capture"].min().rename("low").reset_index()
    units = d[UNIT].merge(low, on=UNIT, how="left")["low"].to_numpy() * d["base_demand"].to_numpy()
    options = tables.get("options")
    if options is None:
        return units
    listed = d[UNIT].merge(options[UNIT].drop_duplicates().assign(_listed=True), on=UNIT, how="left")
    listed = listed["_listed"].fillna(False).astype(bool).to_numpy()
    if not listed.any():
        return units
    sub = d[listed].reset_index(drop=True).assign(_row=np.flatnonzero(listed))
    opts = sub[[*UNIT, "period", "base_demand", "_row"]].merge(
        pairs[[*UNIT, "level", "capture"]], on=UNIT)
    given = options[[*UNIT, "period", "level", "units"]]
    opts = opts.merge(given, on=[*UNIT, "period", "level"], how="left")
    q = opts["units"].fillna(opts["base_demand"] * opts["capture"])
    units[sub["_row"].to_numpy()] = q.groupby(opts["_row"]).min().reindex(sub["_row"]).to_numpy()
    return units
