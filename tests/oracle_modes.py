"""The brute-force SPEC oracle (tests/oracle.py) extended to objective modes and service targets.

Written from SPEC §2 and §4 alone, never importing ``model``: it reuses the economics of
:class:`oracle.Case` (options, goodwill, allowed levels) and adds

- the promises of an option (cycle service and fill rate, SPEC §2, normal demand only),
- the three objectives (profit, cost, service) and
- the service-target constraints of ``targets.csv``,

then enumerates every plan as :func:`oracle.best` does. Only for tiny cases.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from statistics import NormalDist

from oracle import MAX_PLANS, TOL, OracleResult, _num, _rows, _table
from oracle import Case as BaseCase

N = NormalDist()


def _loss(z: float) -> float:
    """Standard normal loss G(z) = phi(z) - z (1 - Phi(z))."""
    return N.pdf(z) - z * (1 - N.cdf(z))


class Case(BaseCase):
    """:class:`oracle.Case` plus objective mode, promises and targets."""

    def __init__(self, folder: Path):
        super().__init__(folder)
        folder = Path(folder)
        self.mode = self.cfg.get("objective", "profit")
        self.metric = self.cfg.get("service_metric", "cycle")
        self.weight = self.cfg.get("service_weight", "demand")
        self.level_rows = {r["level"]: r for r in _rows(_table(folder, "levels"))}
        self.cv = {r["product"]: _num(r, "demand_cv", 0.0) for r in _rows(_table(folder, "products"))}
        self.option_rows = {(r["segment"], r["product"], r["period"], r["level"]): r
                            for r in _rows(_table(folder, "options"))}
        self.targets = _rows(_table(folder, "targets"))

    # -- SPEC §2: the promises of an option ------------------------------------------------
    def level_promise(self, prod: str, level: str) -> dict[str, float]:
        """cycle_service and fill_rate of (product, level), normal demand, per unit of q."""
        r = self.level_rows[level]
        lt, rv = _num(r, "lead_time_days", 0.0), _num(r, "review_days", 0.0)
        sd, pd_ = _num(r, "lead_time_sd_days", 0.0), self.period_days
        p = lt + rv
        sigma = math.sqrt(p / pd_ * self.cv[prod] ** 2 + (sd / pd_) ** 2)
        if p == 0 or sigma == 0:
            return {"cycle": 1.0, "fill_rate": 1.0}
        big_q = (rv if rv > 0 else pd_) / pd_
        k, a, b = (_num(r, c, None) for c in ("safety_factor", "service_target", "fill_rate"))
        if k is not None:
            ss = k * sigma
        elif a is not None:
            ss = N.inv_cdf(a) * sigma
        elif b is not None:  # smallest ss >= 0 with sigma G(ss/sigma) <= (1 - b) Q, bisection
            lo, hi = 0.0, 50 * sigma
            if sigma * _loss(0.0) <= (1 - b) * big_q:
                hi = 0.0
            for _ in range(200):
                mid = (lo + hi) / 2
                lo, hi = (lo, mid) if sigma * _loss(mid / sigma) <= (1 - b) * big_q else (mid, hi)
            ss = hi
        else:
            ss = 0.0
        return {"cycle": N.cdf(ss / sigma), "fill_rate": 1 - sigma * _loss(ss / sigma) / big_q}

    def promise(self, unit, level: str, period: str, metric: str) -> float:
        key = (*unit, period, level)
        if key in self.option_rows:  # explicit option: its own value, else the level's
            col = {"cycle": "cycle_service", "fill_rate": "fill_rate"}[metric]
            lvl = {"cycle": "service_target", "fill_rate": "fill_rate"}[metric]
            v = _num(self.option_rows[key], col, None)
            return v if v is not None else _num(self.level_rows[level], lvl, None)
        return self.level_promise(unit[1], level)[metric]

    def w(self, unit, period: str, weight: str) -> float:
        return 1.0 if weight == "equal" else self.demand.get((*unit, period), 0.0)

    # -- one unit's sequence: profit and cost values --------------------------------------
    def cost_value(self, unit, seq: tuple[str, ...]) -> float:
        """Discounted cost of the unit's sequence: option cost, lift cost, switching."""
        seg, prod = unit
        previous, goodwill, value = self.current.get(unit), 0.0, 0.0
        for i, (t, level) in enumerate(zip(self.periods, seq, strict=True)):
            if i > 0:
                goodwill = self.retention * goodwill + self.lev[seq[i - 1]]["goodwill"]
            lift = self.sens.get(seg, 0.0) * self.demand.get((seg, prod, t), 0.0) * goodwill
            changed = previous is not None and level != previous
            cost = self.option(unit, level, t)["cost"] + lift * self.prod[prod]["buc"]
            value += self.discount[t] * (cost + self.switching_cost * changed)
            previous = level
        return value

    def target_constraints(self) -> list[tuple[dict, list[str]]]:
        """(target row, the periods of one constraint) for every constraint (SPEC §4)."""
        out = []
        for r in self.targets:
            p = r.get("period", "")
            groups = [self.periods] if p == "*" else [[p]] if p else [[t] for t in self.periods]
            out.extend((r, g) for g in groups)
        return out

    def covers(self, target: dict, unit) -> bool:
        seg, prod = unit
        return all(target.get(c, "") in ("", v) for c, v in
                   (("segment", seg), ("product", prod), ("product_class", self.prod[prod]["cls"])))


def best(folder: Path) -> OracleResult:
    """Enumerate every plan; the best by the case's objective mode meeting every target.

    ``objective`` is the mode's own value (cost positive and minimised)."""
    case = Case(folder)
    periods = case.periods
    allowed = {u: case.allowed(u) for u in case.units}
    choices = []
    for u in case.units:
        seqs = [case.sequence(u, s) for s in itertools.product(allowed[u], repeat=len(periods))]
        choices.append([s for s in seqs if s is not None])
    n_plans = math.prod(len(c) for c in choices)
    if n_plans > MAX_PLANS:
        raise ValueError(f"{n_plans} plans: too many for the brute-force oracle")
    if case.tier_ordering or case.capacity or case.max_inv_days is not None:
        raise ValueError("oracle_modes does not check tiers, capacity or inventory days")
    cons = case.target_constraints()
    metric_of = [c[0].get("metric") or case.metric for c in cons]
    weight_of = [c[0].get("weight") or case.weight for c in cons]
    # per unit and sequence: its contribution to each target constraint and to the objective
    contrib = []
    total_w = sum(case.w(u, t, case.weight) for u in case.units for t in periods)
    for u, seqs in zip(case.units, choices, strict=True):
        rows = []
        for s in seqs:
            c = []
            for (tgt, ts), m, wt in zip(cons, metric_of, weight_of, strict=True):
                if not case.covers(tgt, u):
                    c.append((0.0, 0.0))
                    continue
                k = [periods.index(t) for t in ts]
                c.append((sum(case.w(u, periods[i], wt) * case.promise(u, s["seq"][i], periods[i], m)
                              for i in k), sum(case.w(u, periods[i], wt) for i in k)))
            if case.mode == "cost":
                obj = case.cost_value(u, s["seq"])
            elif case.mode == "service":
                obj = sum(case.w(u, t, case.weight) * case.promise(u, s["seq"][i], t, case.metric)
                          for i, t in enumerate(periods)) / total_w if total_w > 0 else 0.0
            else:
                obj = s["value"]
            rows.append((s, c, obj))
        contrib.append(rows)
    sign = -1.0 if case.mode == "cost" else 1.0
    best_value, best_plan = None, None
    for plan in itertools.product(*contrib):
        seqs = [p[0] for p in plan]
        ok, fixed_value = True, 0.0
        spend_total = 0.0
        for k, t in enumerate(periods):
            used = {s["seq"][k] for s in seqs}
            fixed = sum(case.lev[lv]["fixed"] for lv in used)
            spend = sum(s["spend"][k] for s in seqs) + fixed
            spend_total += spend
            fixed_value += case.discount[t] * fixed
            if case.budget[t] is not None and spend > case.budget[t] + TOL:
                ok = False
                break
        if not ok or (case.total_budget is not None and spend_total > float(case.total_budget) + TOL):
            continue
        for j, (tgt, _) in enumerate(cons):
            got = sum(p[1][j][0] for p in plan)
            w = sum(p[1][j][1] for p in plan)
            if w > 0 and got < float(tgt["min_service"]) * w - TOL * max(1.0, w):
                ok = False
                break
        if not ok:
            continue
        value = sum(p[2] for p in plan)
        if case.mode == "profit":
            value -= fixed_value
        elif case.mode == "cost":
            value += fixed_value
        if best_value is None or sign * value > sign * best_value + 1e-12:
            best_value = value
            best_plan = {u: s["seq"] for u, s in zip(case.units, seqs, strict=True)}
    return OracleResult(best_value, best_plan, periods, n_plans, allowed)
