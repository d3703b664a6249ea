"""Calibration: turn a planner's own observations into case tables (pure pandas/numpy/scipy).

A model is only as good as its response curves. These tools build them from data rather
than guesses:

- :func:`two_point` — the before/after method: two observed (service, sales) points per
  segment give the straight line through them;
- :func:`fit_logistic` — an S-shaped response ``sales = K / (1 + exp(-k (s - s0)))`` fitted
  to several observations per segment, with fit quality;
- :func:`abc_tiers` — ABC tiers of customers by cumulative contribution (Pareto);
- :func:`growth_share` — product classes by growth and relative market share (star,
  cash_cow, question_mark, dog), and :func:`class_policies` suggesting level policies.

``capture`` in response.csv is the fraction of ``base_demand`` served at a level. The
logistic gives it directly (``capture = sales / K``, K the saturation, which is then the
natural base demand); the two-point line is scaled to 1.0 at a reference level (the top
level by default), so base demand is the sales expected at that level.
"""

from __future__ import annotations

import math
import warnings as _warnings

import numpy as np
import pandas as pd

from ..economics.service import service_factors

CLASSES = ("star", "cash_cow", "question_mark", "dog")


def level_service(levels: pd.DataFrame) -> pd.Series:
    """Service probability of each level (by rank): service_target, else Φ(safety_factor).

    ``levels`` is a levels.csv as read (not a validated case), so values are coerced here;
    the rule itself is :func:`svcplan.economics.service.service_factors`, the one the model
    reports with.
    """
    lv = levels.copy()
    lv["rank"] = pd.to_numeric(lv["rank"])
    lv = lv.sort_values("rank")
    target, sf = (pd.to_numeric(lv[c], errors="coerce") if c in lv else pd.Series(np.nan, index=lv.index)
                  for c in ("service_target", "safety_factor"))
    service = pd.Series(service_factors(target, sf).service, index=lv.index)
    if service.isna().any():
        missing = ", ".join(lv.loc[service.isna(), "level"].astype(str))
        raise ValueError(f"levels without service_target or safety_factor: {missing}")
    return pd.Series(service.to_numpy(dtype=float), index=lv["level"].astype(str), name="service")


def _observations(obs: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Check columns segment, service, sales; accept service in percent."""
    missing = {"segment", "service", "sales"} - set(obs.columns)
    if missing:
        raise ValueError(f"observations need columns segment, service, sales (missing: "
                         f"{', '.join(sorted(missing))})")
    o = obs.copy()
    o["segment"] = o["segment"].astype(str)
    o["service"] = pd.to_numeric(o["service"], errors="raise").astype(float)
    o["sales"] = pd.to_numeric(o["sales"], errors="raise").astype(float)
    notes = []
    if o["service"].max() > 1.0:
        o["service"] /= 100.0
        notes.append("service values above 1 were read as percent")
    return o, notes


def _response_rows(segment: str, service: pd.Series, capture: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"segment": segment, "level": service.index, "capture": capture,
                         "product_class": ""})


def two_point(obs: pd.DataFrame, service: pd.Series, reference: str | None = None
              ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """The line through two (service, sales) observations per segment → response rows.

    ``capture(l) = line(s_l) / line(s_ref)`` with ``ref`` the top level unless given.
    Returns (response, fit table, warnings); a segment whose points cannot identify a line
    (not exactly two points, or the same service twice) is left out with a warning.
    """
    o, notes = _observations(obs)
    ref = reference or service.index[-1]
    if ref not in service.index:
        raise ValueError(f"reference level {ref!r} is not a level")
    rows, fits = [], []
    for seg, g in o.groupby("segment", sort=False):
        if len(g) != 2:
            notes.append(f"{seg}: the two-point method needs exactly 2 observations, got "
                         f"{len(g)} (use the logistic fit for more); skipped")
            continue
        (s1, y1), (s2, y2) = sorted(zip(g["service"], g["sales"], strict=True))
        if math.isclose(s1, s2, abs_tol=1e-9):
            notes.append(f"{seg}: both observations have service {s1:g}: the slope cannot be "
                         "identified; skipped")
            continue
        slope = (y2 - y1) / (s2 - s1)
        intercept = y1 - slope * s1
        if s2 - s1 < 0.02:
            notes.append(f"{seg}: the observations are only {100 * (s2 - s1):.1f} points of "
                         "service apart: the slope is very uncertain")
        if slope < 0:
            notes.append(f"{seg}: sales fall as service rises (slope {slope:.4g}): check the "
                         "data (other changes between the two observations?)")
        outside = [lv for lv, s in service.items() if s < s1 - 1e-9 or s > s2 + 1e-9]
        if outside:
            notes.append(f"{seg}: levels {', '.join(outside)} lie outside the observed service "
                         f"range [{s1:g}, {s2:g}]: the line is extrapolated there")
        line = intercept + slope * service.to_numpy()
        base = intercept + slope * service[ref]
        if base <= 0:
            notes.append(f"{seg}: the line predicts no sales at the reference level {ref}; "
                         "skipped")
            continue
        capture = line / base
        if (capture < 0).any():
            notes.append(f"{seg}: the line goes below zero at low service; capture clipped to 0")
            capture = np.clip(capture, 0, None)
        rows.append(_response_rows(str(seg), service, capture))
        fits.append({"segment": seg, "n": 2, "intercept": intercept, "slope": slope,
                     "reference_level": ref, "sales_at_reference": base})
    return _concat(rows), pd.DataFrame(fits), notes


def logistic(s: np.ndarray, K: float, k: float, s0: float) -> np.ndarray:
    """``K / (1 + exp(-k (s - s0)))``: saturation K, steepness k, midpoint s0."""
    return K / (1.0 + np.exp(-k * (np.asarray(s, dtype=float) - s0)))


def fit_logistic(obs: pd.DataFrame, service: pd.Series
                 ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """Fit the S-curve per segment (least squares); capture(l) = logistic(s_l) / K.

    The fit table has n, K (saturation: the suggested base demand), k, s0, r2, rmse.
    Fewer than 3 observations cannot fix three parameters (skipped); with exactly 3 the fit
    is exact and untested (warning); a K far above every observation means the data do not
    reach the flat top of the curve (warning).
    """
    from scipy.optimize import OptimizeWarning, curve_fit  # only this tool needs scipy

    o, notes = _observations(obs)
    rows, fits = [], []
    for seg, g in o.groupby("segment", sort=False):
        s, y = g["service"].to_numpy(), g["sales"].to_numpy()
        if len(g) < 3 or len(np.unique(s)) < 3:
            notes.append(f"{seg}: a logistic needs observations at 3 or more service levels, "
                         f"got {len(np.unique(s))}; skipped")
            continue
        if len(np.unique(s)) == 3:
            notes.append(f"{seg}: 3 service levels fit the 3 parameters exactly: no check of "
                         "the fit is possible")
        span = max(s.max() - s.min(), 1e-3)
        p0 = (1.2 * y.max(), 4.0 / span, float(np.median(s)))
        bounds = ([1e-12, 1e-9, -1.0], [np.inf, 1e4, 2.0])
        try:
            with _warnings.catch_warnings():
                _warnings.simplefilter("ignore", OptimizeWarning)
                (K, k, s0), _ = curve_fit(logistic, s, y, p0=p0, bounds=bounds, maxfev=20000,
                                          xtol=1e-14, ftol=1e-14, gtol=1e-14)
        except (RuntimeError, ValueError) as exc:
            notes.append(f"{seg}: the logistic fit did not converge ({exc}); skipped")
            continue
        resid = y - logistic(s, K, k, s0)
        ss_tot = float(((y - y.mean()) ** 2).sum())
        r2 = 1.0 - float((resid**2).sum()) / ss_tot if ss_tot > 0 else float("nan")
        if y.max() * 3 < K:
            notes.append(f"{seg}: fitted saturation {K:.4g} is far above every observation: "
                         "the data do not reach the flat top; captures are uncertain")
        if np.isfinite(r2) and r2 < 0.8:
            notes.append(f"{seg}: poor fit (R² = {r2:.2f})")
        capture = logistic(service.to_numpy(), 1.0, k, s0)
        rows.append(_response_rows(str(seg), service, capture))
        fits.append({"segment": seg, "n": len(g), "saturation_K": K, "steepness_k": k,
                     "midpoint_s0": s0, "r2": r2, "rmse": float(np.sqrt((resid**2).mean()))})
    return _concat(rows), pd.DataFrame(fits), notes


def _concat(rows: list[pd.DataFrame]) -> pd.DataFrame:
    cols = ["segment", "level", "capture", "product_class"]
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(columns=cols)


def abc_tiers(transactions: pd.DataFrame, id_col: str = "customer",
              value_col: str = "contribution", a: float = 0.80, b: float = 0.95
              ) -> pd.DataFrame:
    """ABC classes by cumulative share of total contribution (largest first).

    A customer is in A while the cumulative share *before* it is below ``a`` (so the one
    that crosses 80 % is still A), in B while below ``b``, else C. Tier 1/2/3 = A/B/C.
    Ties in contribution keep the id order, so the result is deterministic.
    """
    for c in (id_col, value_col):
        if c not in transactions:
            raise ValueError(f"transactions need a column {c!r}")
    t = transactions[[id_col, value_col]].copy()
    t[id_col] = t[id_col].astype(str)
    t[value_col] = pd.to_numeric(t[value_col], errors="raise")
    tot = t.groupby(id_col)[value_col].sum().rename("contribution").reset_index()
    tot = tot.sort_values(["contribution", id_col], ascending=[False, True], kind="stable")
    total = tot["contribution"].sum()
    if total <= 0:
        raise ValueError("total contribution must be positive")
    tot["share"] = tot["contribution"] / total
    tot["cumulative_share"] = tot["share"].cumsum()
    before = tot["cumulative_share"] - tot["share"]
    tot["abc"] = np.where(before < a - 1e-12, "A", np.where(before < b - 1e-12, "B", "C"))
    tot["tier"] = tot["abc"].map({"A": 1, "B": 2, "C": 3})
    return tot.rename(columns={id_col: "segment"}).reset_index(drop=True)


def growth_share(data: pd.DataFrame, growth_threshold: float = 0.10,
                 share_threshold: float = 1.0) -> pd.DataFrame:
    """Growth/share classes per product.

    Growth: column ``growth``, or ``sales / sales_previous - 1``. Relative share: column
    ``relative_share``, or ``market_share / competitor_share`` (largest competitor).
    High growth: ``growth >= growth_threshold``; high share: ``relative_share >=
    share_threshold``. star = high/high, cash_cow = low growth/high share, question_mark =
    high growth/low share, dog = low/low.
    """
    d = data.copy()
    d["product"] = d["product"].astype(str)
    if "growth" not in d:
        if not {"sales", "sales_previous"} <= set(d.columns):
            raise ValueError("need a growth column, or sales and sales_previous")
        d["growth"] = d["sales"] / d["sales_previous"] - 1.0
    if "relative_share" not in d:
        if not {"market_share", "competitor_share"} <= set(d.columns):
            raise ValueError("need a relative_share column, or market_share and competitor_share")
        d["relative_share"] = d["market_share"] / d["competitor_share"]
    high_g = d["growth"] >= growth_threshold
    high_s = d["relative_share"] >= share_threshold
    d["product_class"] = np.select([high_g & high_s, ~high_g & high_s, high_g & ~high_s],
                                   ["star", "cash_cow", "question_mark"], "dog")
    return d[["product", "growth", "relative_share", "product_class"]]


def class_policies(service: pd.Series, classes: list[str]) -> pd.DataFrame:
    """Suggested min/max level per product class (policies.csv rows, blank segment).

    With levels L1 < … < Ln by rank and m = n // 2: star (invest) at least L(m+1);
    cash_cow (defend efficiently) between L(m) and L(n-1); dog (harvest) at most L(m);
    question_mark is left free for the optimiser to decide.
    """
    lv = list(service.index)
    n, m = len(lv), len(lv) // 2
    rule = {"star": (lv[m], None), "cash_cow": (lv[max(0, m - 1)], lv[max(0, n - 2)]),
            "dog": (None, lv[max(0, m - 1)])}
    rows = [{"segment": "", "product_class": c, "min_level": rule[c][0] or "",
             "max_level": rule[c][1] or ""} for c in CLASSES if c in classes and c in rule]
    return pd.DataFrame(rows, columns=["segment", "product_class", "min_level", "max_level"])
