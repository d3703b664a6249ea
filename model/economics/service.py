"""Safety stock and the service a level promises (SPEC §2), for every place that needs them.

Two layers. The first is the formula of earlier versions, kept bit for bit: a level's safety
factor ``z`` (:func:`service_factors`) and ``ss = z·cv·q·sqrt(LT/pd)`` (:func:`safety_stock`);
the case generator and the calibration tools use it, and the option table uses it wherever it
still applies (no review period, no lead-time spread, normal demand, no fill-rate rule), so every
existing optimum and generated case stays exactly what it was.

The normal quantile and cdf of that layer are :class:`statistics.NormalDist` applied element by
element, not ``scipy.special.ndtri``/``ndtr``: the two agree only to the last bit or two, and
keeping NormalDist keeps every derived number (and every generated case) bit-for-bit what it was.
A levels table has a handful of rows, so the Python loop costs nothing.

The second layer is the general one (:func:`promises`, :func:`inventory_parameters`): demand
over the protection interval, normal or gamma, the safety stock of the level's first given rule
(safety_factor, service_target, fill_rate) and the two promises of every (product, level),
cycle service and fill rate. Everything is per unit of q: mu, sigma and the cycle quantity are
proportional to q, so ss scales with q and the promises do not depend on it; the arrays are
products × levels, never options. The distributions are scipy.special's (``ndtr``,
``gammainc``, ``gammaincc``, ``gammaincinv``), the functions scipy.stats calls itself, wrapped
with scipy.stats's rules at the edges (below the support, at q = 0 and 1, invalid shape) so
every value has the same bits as ``scipy.stats.norm`` / ``scipy.stats.gamma`` (tested). Why not
scipy.stats itself: importing it takes 0.6 s, paid by the first solve of every process (a CLI
solve of the demo, each worker of a batch); scipy.special takes 0.03 s. The gamma loss function
has a closed form through two gamma cdfs (:func:`expected_shortage`).
"""

from __future__ import annotations

from collections.abc import Callable
from statistics import NormalDist
from typing import NamedTuple

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ..case.schema import SAFETY_RULES

_NORMAL = NormalDist()
_SQRT_2PI = np.sqrt(2 * np.pi)  # scipy.stats's own constant for the normal pdf


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


# --------------------------------------------------------------------------------------------
# Demand over the protection interval, safety stock and the two promises (SPEC §2).
#
# Everything below is computed per unit of q (units served per period): mu, sigma and the
# cycle quantity Q are all proportional to q, so the safety stock is q times the per-unit
# safety stock and both promises (cycle service, fill rate) do not depend on q at all.

#: How a level sets its safety stock, in the order the first given one wins.
RULES = SAFETY_RULES


class Promises(NamedTuple):
    """Per (product, level), for q = 1: the safety stock, which rule set it, both promises."""

    safety_stock: np.ndarray
    rule: np.ndarray
    cycle_service: np.ndarray
    fill_rate: np.ndarray


def _gamma_shape_scale(mu: np.ndarray, sigma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shape k and scale theta of the gamma with mean ``mu`` and standard deviation ``sigma``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return (mu / sigma) ** 2, sigma**2 / mu


def _norm_pdf(z: np.ndarray) -> np.ndarray:
    """``scipy.stats.norm.pdf``, same bits."""
    return np.exp(-z**2 / 2.0) / _SQRT_2PI


def _gamma_side(f: Callable, x: np.ndarray, k: np.ndarray, theta: np.ndarray,
                below: float) -> np.ndarray:
    """``f(k, x / theta)`` (a regularised incomplete gamma) with scipy.stats's edge rules:
    ``below`` at and below 0, NaN for an invalid shape or scale or a NaN ``x``."""
    y = x / theta
    with np.errstate(invalid="ignore"):
        out = np.where(y > 0, f(k, np.where(y > 0, y, 1.0)), below)
    return np.where((k > 0) & (theta > 0) & ~np.isnan(y), out, np.nan)


def _gamma_cdf(x: np.ndarray, k: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``scipy.stats.gamma.cdf(x, k, scale=theta)``, same bits (0 at and below 0)."""
    from scipy import special  # on first use: `import svcplan` (validate, workers) loads no scipy

    return _gamma_side(special.gammainc, x, k, theta, 0.0)


def _gamma_sf(x: np.ndarray, k: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``scipy.stats.gamma.sf(x, k, scale=theta)``, same bits (1 at and below 0)."""
    from scipy import special  # on first use: `import svcplan` (validate, workers) loads no scipy

    return _gamma_side(special.gammaincc, x, k, theta, 1.0)


def _gamma_ppf(p: np.ndarray, k: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``scipy.stats.gamma.ppf(p, k, scale=theta)``, same bits: 0 at p = 0, inf at p = 1,
    NaN outside [0, 1] or for an invalid shape or scale."""
    from scipy import special  # on first use: `import svcplan` (validate, workers) loads no scipy

    valid = (k > 0) & (theta > 0)
    with np.errstate(invalid="ignore"):
        inside = special.gammaincinv(k, np.where((p > 0) & (p < 1), p, 0.5)) * theta
    out = np.where(p == 0, 0.0, np.where(p == 1, np.inf, inside))
    return np.where(valid & (p >= 0) & (p <= 1), out, np.nan)


def demand_cdf(x: ArrayLike, mu: ArrayLike, sigma: ArrayLike, gamma: ArrayLike) -> np.ndarray:
    """P(D <= x) for D normal (``gamma`` False) or gamma (True) with mean mu and sd sigma > 0."""
    from scipy import special  # on first use: `import svcplan` (validate, workers) loads no scipy

    x, mu, sigma, gamma = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (x, mu, sigma)),
                                              np.asarray(gamma, dtype=bool))
    k, theta = _gamma_shape_scale(mu, sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        normal = special.ndtr((x - mu) / sigma)
        gam = _gamma_cdf(x, np.where(gamma, k, 1.0), np.where(gamma, theta, 1.0))
    return np.where(gamma, gam, normal)


def expected_shortage(ss: ArrayLike, mu: ArrayLike, sigma: ArrayLike, gamma: ArrayLike) -> np.ndarray:
    """ES(ss) = E[(D − mu − ss)^+], the expected shortage per cycle at stock mu + ss.

    Normal: ``sigma·G(ss/sigma)``, ``G(z) = φ(z) − z·(1 − Φ(z))``. Gamma (shape k, scale θ):
    ``E[(D − s)^+] = mu·(1 − F_{k+1}(s)) − s·(1 − F_k(s))`` with s = mu + ss; the identity
    ``x·f_k(x) = k·θ·f_{k+1}(x)`` turns the integral into two cdfs, so no quadrature is needed.
    """
    from scipy import special  # on first use: `import svcplan` (validate, workers) loads no scipy

    ss, mu, sigma, gamma = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (ss, mu, sigma)),
                                               np.asarray(gamma, dtype=bool))
    with np.errstate(divide="ignore", invalid="ignore"):
        z = ss / sigma
        normal = sigma * (_norm_pdf(z) - z * special.ndtr(-z))
        k, theta = _gamma_shape_scale(mu, sigma)
        k, theta = np.where(gamma, k, 1.0), np.where(gamma, theta, 1.0)
        s = np.maximum(mu + ss, 0.0)
        gam = mu * _gamma_sf(s, k + 1, theta) - s * _gamma_sf(s, k, theta)
        gam = gam + np.maximum(-(mu + ss), 0.0)  # stock below zero: every unit short is short
    return np.where(gamma, np.maximum(gam, 0.0), normal)


def demand_quantile(p: ArrayLike, mu: ArrayLike, sigma: ArrayLike, gamma: ArrayLike) -> np.ndarray:
    """F⁻¹(p) − mu: the stock above the mean that is enough with probability p.

    The normal quantile goes through :func:`normal_quantile` (NormalDist) so a normal level's
    safety stock has the same bits as the formula of earlier versions.
    """
    p, mu, sigma, gamma = np.broadcast_arrays(*(np.asarray(a, dtype=float) for a in (p, mu, sigma)),
                                              np.asarray(gamma, dtype=bool))
    out = normal_quantile(p) * sigma
    if gamma.any():
        k, theta = _gamma_shape_scale(mu[gamma], sigma[gamma])
        out[gamma] = _gamma_ppf(p[gamma], k, theta) - mu[gamma]
    return out


def fill_rate_stock(b: ArrayLike, mu: ArrayLike, sigma: ArrayLike, cycle: ArrayLike,
                    gamma: ArrayLike) -> np.ndarray:
    """The smallest ss ≥ 0 with ``ES(ss) ≤ (1 − b)·Q`` (Q = ``cycle``), element-wise.

    ES falls as ss grows, so the answer is found by bisection on all elements at once: an
    upper end is doubled until it meets the limit, then the interval is halved until its two
    ends are neighbouring floats. The returned end always meets the limit as computed.
    """
    b, mu, sigma, cycle, gamma = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (b, mu, sigma, cycle)), np.asarray(gamma, dtype=bool))
    limit = (1.0 - b) * cycle
    lo = np.zeros(b.shape)
    hi = np.zeros(b.shape)
    todo = expected_shortage(lo, mu, sigma, gamma) > limit
    step = sigma.copy()
    while todo.any():  # ES(hi) <= limit ends the doubling; ES -> 0 as ss -> inf
        hi[todo] = step[todo]
        es = expected_shortage(hi[todo], mu[todo], sigma[todo], gamma[todo])
        more = np.zeros(b.shape, dtype=bool)
        more[todo] = es > limit[todo]
        lo[more] = hi[more]
        step[more] *= 2.0
        todo = more
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        open_ = (mid > lo) & (mid < hi)
        if not open_.any():
            break
        es = expected_shortage(mid[open_], mu[open_], sigma[open_], gamma[open_])
        over = np.zeros(b.shape, dtype=bool)
        over[open_] = es > limit[open_]
        under = open_ & ~over
        lo[over] = mid[over]
        hi[under] = mid[under]
    return hi


def promises(mu: ArrayLike, sigma: ArrayLike, cycle: ArrayLike, gamma: ArrayLike,
             safety_factor: ArrayLike, service_target: ArrayLike, fill_rate: ArrayLike) -> Promises:
    """Safety stock and promises per unit of q (SPEC §2), element-wise over (product, level).

    ``mu``, ``sigma``: mean and sd of demand over the protection interval for q = 1;
    ``cycle``: Q for q = 1; ``gamma``: the product's demand is gamma (else normal). The level's
    first given of safety_factor, service_target, fill_rate sets ss (none: ss = 0). Where
    mu = 0 (no protection interval) or sigma = 0: ss = 0 and both promises are 1.

    A service_target below the median gives a negative ss (normal: below 0.5; gamma, being
    right-skewed, a little above 0.5): the formula is kept as it is, so the level promises
    exactly its target. The promises are reported as exact as the rule allows: a level set by
    its service_target promises that target and a level set by fill_rate b promises at least
    b (the bisection guarantees it; rounding in ``1 − ES/Q`` is not allowed to undercut it).
    A fill rate below 0 (shortage per cycle above the cycle quantity) is reported as 0.
    """
    mu, sigma, cycle, sf, st, fr = np.broadcast_arrays(
        *(np.asarray(a, dtype=float) for a in (mu, sigma, cycle, safety_factor, service_target, fill_rate)))
    gamma = np.broadcast_to(np.asarray(gamma, dtype=bool), mu.shape)
    rule = np.select([~np.isnan(sf), ~np.isnan(st), ~np.isnan(fr)], list(RULES), "none").astype(object)
    ss = np.zeros(mu.shape)
    live = (mu > 0) & (sigma > 0)
    by_sf, by_st, by_fr = live & (rule == RULES[0]), live & (rule == RULES[1]), live & (rule == RULES[2])
    ss[by_sf] = sf[by_sf] * sigma[by_sf]
    ss[by_st] = demand_quantile(st[by_st], mu[by_st], sigma[by_st], gamma[by_st])
    ss[by_fr] = fill_rate_stock(fr[by_fr], mu[by_fr], sigma[by_fr], cycle[by_fr], gamma[by_fr])
    cyc, fill = np.ones(mu.shape), np.ones(mu.shape)
    cyc[live] = demand_cdf(mu[live] + ss[live], mu[live], sigma[live], gamma[live])
    es = expected_shortage(ss[live], mu[live], sigma[live], gamma[live])
    fill[live] = np.clip(1.0 - es / cycle[live], 0.0, 1.0)
    cyc[by_st] = st[by_st]
    fill[by_fr] = np.maximum(fill[by_fr], fr[by_fr])
    return Promises(safety_stock=ss, rule=rule, cycle_service=cyc, fill_rate=fill)


def inventory_parameters(levels: pd.DataFrame, products: pd.DataFrame, period_days: float) -> pd.DataFrame:
    """The inventory policy behind every (product, level) pair, per unit served (SPEC §2).

    ``levels`` and ``products`` are the typed case tables (``Case.tables``). One row per
    product × level (products in table order, levels by rank), with columns:

    - product, level, rank, distribution (``normal`` | ``gamma``), demand_cv,
      lead_time_days (LT), review_days (R), lead_time_sd_days (sd), protection_days (P = LT + R),
      cycle_days (C = R if R > 0 else period_days), period_days;
    - mean_per_unit (P / pd), sd_per_unit (sqrt(P/pd·cv² + (sd/pd)²)), cycle_per_unit (C / pd):
      mu, sigma and Q for q = 1 (multiply by q, the units served per period);
    - rule: which of safety_factor, service_target, fill_rate set the safety stock (``none``);
    - safety_stock_per_unit: ss for q = 1; cycle_service and fill_rate: the promises, which
      do not depend on q;
    - legacy: R = 0, sd = 0, normal demand and no fill_rate rule, where the option table uses
      the formula of earlier versions ``z·cv·q·sqrt(LT/pd)`` to keep its bits (q times
      safety_stock_per_unit agrees with it to rounding).

    This is the one place SPEC §2 is computed; the option table and the simulator read it.
    """
    lv = levels.sort_values("rank", kind="stable")
    pr = products[["product", "demand_cv", "demand_distribution"]]
    t = pr.merge(lv[["level", "rank", "safety_factor", "service_target", "fill_rate",
                     "lead_time_days", "review_days", "lead_time_sd_days"]], how="cross")
    t = t.rename(columns={"demand_distribution": "distribution"})
    lt, rv, sd = (t[c].to_numpy(dtype=float) for c in ("lead_time_days", "review_days", "lead_time_sd_days"))
    cv = t["demand_cv"].to_numpy(dtype=float)
    pd_ = float(period_days)
    protection = lt + rv
    cycle_days = np.where(rv > 0, rv, pd_)
    mean = protection / pd_
    sigma = np.sqrt(mean * cv**2 + (sd / pd_) ** 2)
    gamma = (t["distribution"] == "gamma").to_numpy()
    pro = promises(mean, sigma, cycle_days / pd_, gamma, t["safety_factor"], t["service_target"],
                   t["fill_rate"])
    legacy = (rv == 0) & (sd == 0) & ~gamma & (pro.rule != "fill_rate")
    z = service_factors(t["service_target"], t["safety_factor"]).z
    ss = np.where(legacy, safety_stock(1.0, z, cv, lt, pd_), pro.safety_stock)
    out = t[["product", "level", "rank", "distribution", "demand_cv", "lead_time_days", "review_days",
             "lead_time_sd_days"]].copy()
    out["protection_days"] = protection
    out["cycle_days"] = cycle_days
    out["period_days"] = pd_
    out["mean_per_unit"] = mean
    out["sd_per_unit"] = sigma
    out["cycle_per_unit"] = cycle_days / pd_
    out["rule"] = pro.rule
    out["safety_stock_per_unit"] = ss
    out["cycle_service"] = pro.cycle_service
    out["fill_rate"] = pro.fill_rate
    out["legacy"] = legacy
    return out.reset_index(drop=True)
