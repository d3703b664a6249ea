"""The objective of each mode recomputed from a plan, and the service-target KPI table.

``kpi_targets.csv`` (and the ``kpi_targets`` sheet of results.xlsx) has one row per target
constraint: what was required, what the plan achieves, the slack, and what one more point
of the target's metric costs. That price is the shadow price of the target's row from
:mod:`svcplan.insight.marginals` (the local LP of the plan: its offered levels fixed, each
unit-period free to move fractionally to its neighbouring levels; or, for a priced solve,
the price of the row at the bound that proved the plan), scaled to one point (0.01) of the mean
promise: the target row is ``n·(min_service − achieved) ≤ 0`` over its ``n`` unit-periods,
so raising ``min_service`` by 0.01 tightens it by ``0.01·n`` and moves the objective by
``dual·0.01·n``. It is a local price: it holds for small changes (the exchange curve,
``svcplan frontier --target``, shows large ones).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..case.case import Case
from ..economics.targets import TargetRows, achieved, promise, weights

METRIC_WORDS = {"cycle": "cycle service", "fill_rate": "fill rate"}
#: What the objective is measured in, per mode, for the marginal sentence.
UNIT_WORDS = {"profit": "of profit", "cost": "", "service": "of mean service"}

COLUMNS = ["name", "period", "metric", "weight", "segment", "product", "product_class",
           "unit_periods", "total_weight", "required", "achieved", "slack", "binding", "marginal_per_point",
           "message"]


def mode_objective(case: Case, periods: pd.DataFrame, chosen: pd.DataFrame) -> float:
    """SPEC §4 objective of the chosen mode, recomputed from the output tables and the
    chosen options: profit (discounted), cost (discounted, positive) or the weighted mean
    promise (no discount)."""
    mode = case.settings.objective
    if mode == "profit":
        return float(periods["discounted_profit"].sum())
    if mode == "cost":
        spend = periods["logistics_cost"] + periods["switching_cost"]
        return float((spend * periods["discount"]).sum())
    s = case.settings
    w = weights(chosen, s.service_weight)
    total = w.sum()
    return float(np.dot(w, promise(chosen, s.service_metric)) / total) if total > 0 else 0.0


def target_table(case: Case, targets: TargetRows | None, x: np.ndarray,
                 duals: dict[tuple, float] | None = None) -> pd.DataFrame:
    """One row per target constraint of the plan ``x`` (0/1 per option); ``duals`` maps a
    target row's name ``(target, period)`` to its local-LP dual (absent: no marginal)."""
    if targets is None:
        return pd.DataFrame()  # no targets.csv: no kpi_targets.csv
    if not len(targets.table):
        return pd.DataFrame(columns=COLUMNS)
    t = targets.table
    got = achieved(targets, x)
    mode = case.settings.objective
    rows = []
    for k, r in enumerate(t.itertuples(index=False)):
        dual = (duals or {}).get((r.name, r.period), np.nan)
        per_point = dual * 0.01 * r.n if np.isfinite(dual) else np.nan
        slack = got[k] - r.min_service
        rows.append({
            "name": r.name, "period": r.period, "metric": r.metric, "weight": r.weight,
            "segment": r.segment, "product": r.product, "product_class": r.product_class,
            "unit_periods": r.n, "total_weight": r.total_weight, "required": r.min_service,
            "achieved": got[k], "slack": slack,
            "binding": bool(slack <= 1e-6), "marginal_per_point": per_point,
            "message": _sentence(r, got[k], per_point, mode)})
    return pd.DataFrame(rows, columns=COLUMNS)


def _sentence(r, got: float, per_point: float, mode: str) -> str:
    """The planner sentence of one target constraint."""
    what = METRIC_WORDS.get(r.metric, r.metric)
    when = "over the horizon" if r.period == "*" else f"in {r.period}"
    head = (f"{r.name}: {what} {100 * got:.1f}% {when} against {100 * r.min_service:.1f}% "
            "required")
    if not np.isfinite(per_point):
        return head
    if per_point <= 1e-9:
        why = ("the target does not bind" if got - r.min_service > 1e-6 else
               "moving neighbouring levels gives it at no extra cost")
        return f"{head}; one more point costs nothing at the margin ({why})"
    unit = UNIT_WORDS.get(mode, "")
    amount = f"{per_point:,.4f}" if mode == "service" else f"{per_point:,.0f}"
    return f"{head}; one more point of {what} {when} costs {amount}{' ' + unit if unit else ''}"
