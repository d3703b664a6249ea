"""The numbers of service targets and of the service objective (SPEC §4), per option row.

A target constraint (one per target row and period, or one per row pooled over the
horizon) is ``Σ_i w_i·(s_i − m)·x_i ≥ 0`` over the options ``i`` of the units it covers,
with ``w`` the unit-period's weight (base demand, or 1), ``s`` the option's promise (cycle
service or fill rate) and ``m`` the row's ``min_service``. This module computes those
coefficients; the formulation (:func:`svcplan.formulation.blocks.add_targets`) only states
the rows. Pure pandas/numpy.

Scaling: each constraint is divided by the mean weight of its unit-periods ``w̄`` (so the
coefficients are service gaps of order 0.01–1 whatever the demand volume, never below the
solver's 1e-9 drop tolerance) and stated as ``Σ_i (w_i/w̄)·(m − s_i)·x_i ≤ 0`` — the same
constraint, as a ``≤`` row like every other dense row (budgets, capacities), so the
pricing, the marginals and the elastic explanation treat it like them. With ``n`` the
number of unit-periods of the constraint, the row's activity is ``n·(m − achieved)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..case.case import Case
from ..case.targets import POOLED, PROMISE_COLUMN, matches, resolved
from ..case.units import UNIT


@dataclass
class TargetRows:
    """The target constraints as COO triplets plus one descriptive row per constraint.

    ``table``: name, metric, weight, min_service, period (an id or ``*``), segment, product,
    product_class (the filters), ``n`` (unit-periods covered, the row's scale) and
    ``total_weight``. ``rows``/``cols``/``coef``: constraint number, option row, coefficient.
    """

    table: pd.DataFrame
    rows: np.ndarray
    cols: np.ndarray
    coef: np.ndarray

    @property
    def keys(self) -> list[tuple[str, str]]:
        """Each constraint's name in the model: (target name, period id or ``*``)."""
        return list(zip(self.table["name"], self.table["period"], strict=True))


def promise(options: pd.DataFrame, metric: str) -> np.ndarray:
    """The promise ``metric`` (cycle | fill_rate) of every option row: its ``cycle_service``
    / ``fill_rate`` column (SPEC §2, :func:`svcplan.economics.options.option_table`)."""
    return options[PROMISE_COLUMN[metric]].to_numpy(dtype=float)


def weights(options: pd.DataFrame, weight: str) -> np.ndarray:
    """The weight of each option's unit-period: its base demand, or 1."""
    if weight == "equal":
        return np.ones(len(options))
    return options["base_demand"].to_numpy(dtype=float)


def service_objective(case: Case, options: pd.DataFrame) -> np.ndarray:
    """Per option, its share of the weighted mean promise over the horizon (SPEC §4
    ``service`` mode): ``w·s / Σ w`` with Σ over every unit-period (one option each)."""
    s = case.settings
    w = weights(options, s.service_weight)
    first = ~options.duplicated(["u", "t"]).to_numpy()
    total = float(w[first].sum())
    if total <= 0:
        return np.zeros(len(options))
    return w * promise(options, s.service_metric) / total


def target_rows(case: Case, options: pd.DataFrame) -> TargetRows | None:
    """The rows of every target of the case (None without targets.csv).

    A constraint whose unit-periods all weigh 0 (demand-weighted, no demand) is left out:
    it constrains nothing.
    """
    if "targets" not in case.tables:
        return None
    tables = case.tables
    t = resolved(tables["targets"], case.settings)
    periods = case.periods
    t_of = options["t"].to_numpy()
    unit_key = pd.MultiIndex.from_frame(options[UNIT])
    first = ~options.duplicated(["u", "t"]).to_numpy()
    records, rows, cols, coef = [], [], [], []
    for _, tgt in t.iterrows():
        covered = pd.MultiIndex.from_frame(matches(tables, tgt)[UNIT])
        on = unit_key.isin(covered)
        w = weights(options, tgt["weight"])
        s = promise(options, tgt["metric"])
        p = tgt["period"]
        groups = ([(POOLED, np.ones(len(options), dtype=bool))] if p == POOLED else
                  [(periods[k], t_of == k) for k in range(len(periods))
                   if not isinstance(p, str) or periods[k] == p])
        for label, in_period in groups:
            sel = np.flatnonzero(on & in_period)
            n = int(first[sel].sum())
            total = float(w[sel][first[sel]].sum())
            if n == 0 or total <= 0:
                continue
            mean_w = total / n
            rows.append(np.full(len(sel), len(records)))
            cols.append(sel)
            coef.append(w[sel] / mean_w * (tgt["min_service"] - s[sel]))
            records.append({"name": tgt["name"], "period": label, "metric": tgt["metric"],
                            "weight": tgt["weight"], "min_service": float(tgt["min_service"]),
                            "segment": tgt["segment"], "product": tgt["product"],
                            "product_class": tgt["product_class"], "n": n,
                            "total_weight": total})
    if not records:
        empty = pd.DataFrame(columns=["name", "period", "metric", "weight", "min_service",
                                      "segment", "product", "product_class", "n", "total_weight"])
        return TargetRows(empty, *(np.zeros(0, dtype=np.int64),) * 2, np.zeros(0))
    return TargetRows(pd.DataFrame(records), np.concatenate(rows), np.concatenate(cols),
                      np.concatenate(coef))


def achieved(targets: TargetRows, x: np.ndarray) -> np.ndarray:
    """Per constraint, the weighted mean promise of the plan ``x`` (0/1 per option):
    ``m − activity / n`` with activity the row's left-hand side."""
    act = np.bincount(targets.rows, weights=targets.coef * np.asarray(x)[targets.cols],
                      minlength=len(targets.table))
    return targets.table["min_service"].to_numpy() - act / targets.table["n"].to_numpy()
