"""A brute-force reference evaluator of SPEC.md, written from the SPEC alone.

It never imports ``model``. It reads a tiny case folder (SPEC section 5), derives the economics of
every option (section 2), enumerates every plan -- one allowed level per unit and period --, checks
every linking term and constraint (sections 3-4) and returns the best objective and its plan.

Only for tiny cases: the number of plans is the product over units of (allowed levels)^periods, and
``best`` refuses more than ``MAX_PLANS`` of them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import pandas as pd
import yaml

MAX_PLANS = 200_000
TOL = 1e-7  # slack on constraints: the data of the tests is exact, this only absorbs rounding

Unit = tuple[str, str]  # (segment, product)


@dataclass
class OracleResult:
    """The best plan found; ``objective``/``plan`` are ``None`` when no plan is feasible."""

    objective: float | None
    plan: dict[Unit, tuple[str, ...]] | None
    periods: list[str]
    n_plans: int
    allowed: dict[Unit, list[str]] = field(default_factory=dict)


def _table(folder: Path, name: str) -> pd.DataFrame | None:
    """A CSV as text cells ('' = blank), or None when the file is absent."""
    path = folder / f"{name}.csv"
    if not path.exists():
        return None
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    return df.apply(lambda col: col.str.strip())


def _num(row: dict, col: str, default: float | None) -> float | None:
    """The number in ``row[col]``; ``default`` when the column is missing or the cell blank."""
    value = row.get(col, "")
    return default if value is None or str(value) == "" else float(value)


def _rows(df: pd.DataFrame | None) -> list[dict]:
    return [] if df is None else df.to_dict("records")


class Case:
    """The tables of a case folder, parsed into plain dictionaries (SPEC section 5 defaults)."""

    def __init__(self, folder: Path):
        folder = Path(folder)
        self.cfg = yaml.safe_load((folder / "case.yaml").read_text()) or {}
        self.period_days = float(self.cfg.get("period_days", 30))
        self.switching_cost = float(self.cfg.get("switching_cost", 0) or 0)
        self.max_changes = self.cfg.get("max_changes")
        self.retention = float(self.cfg.get("goodwill_retention", 0) or 0)
        self.tier_ordering = bool(self.cfg.get("tier_ordering", False))
        self.total_budget = self.cfg.get("total_budget")
        self.max_inv_days = self.cfg.get("max_inventory_days")

        def rows(name: str) -> list[dict]:
            return _rows(_table(folder, name))

        self.tier = {r["segment"]: _num(r, "tier", None) for r in rows("segments")}
        self.sens = {r["segment"]: _num(r, "goodwill_sensitivity", 0.0) for r in rows("segments")}
        self.prod = {
            r["product"]: {
                "cls": r.get("product_class", ""),
                "margin": _num(r, "unit_margin", None),
                "buc": _num(r, "base_unit_cost", 0.0),
                "hold": _num(r, "holding_cost", 0.0),
                "cv": _num(r, "demand_cv", 0.0),
            }
            for r in rows("products")
        }
        self.lev = {}
        for r in rows("levels"):
            z = _num(r, "safety_factor", None)
            if z is None:
                target = _num(r, "service_target", None)
                z = 0.0 if target is None else NormalDist().inv_cdf(target)
            self.lev[r["level"]] = {
                "rank": _num(r, "rank", None),
                "z": z,
                "lead": _num(r, "lead_time_days", 0.0),
                "mult": _num(r, "cost_multiplier", 1.0),
                "fixed": _num(r, "fixed_cost", 0.0),
                "goodwill": _num(r, "goodwill", 0.0),
            }
        prows = rows("periods")
        self.periods = [r["period"] for r in prows]
        self.budget = {r["period"]: _num(r, "budget", None) for r in prows}
        self.discount = {r["period"]: _num(r, "discount", 1.0) for r in prows}

        self.demand = {
            (r["segment"], r["product"], r["period"]): float(r["base_demand"])
            for r in rows("demand")
        }
        self.response = None
        if (folder / "response.csv").exists():
            self.response = {
                (r["segment"], r["level"], r.get("product_class", "")): float(r["capture"])
                for r in rows("response")
            }
        self.unit_cost = {
            (r["product"], r["level"]): float(r["unit_cost"]) for r in rows("unit_costs")
        }
        self.options = {
            (r["segment"], r["product"], r["period"], r["level"]): (
                float(r["revenue"]),
                float(r["cost"]),
                _num(r, "units", 0.0),
                _num(r, "safety_stock", 0.0),
            )
            for r in rows("options")
        }
        self.policies = rows("policies")
        self.current = {(r["segment"], r["product"]): r["level"] for r in rows("current")}
        self.capacity = {
            (r["resource"], r["period"]): float(r["capacity"]) for r in rows("capacity")
        }
        self.usage = {(r["level"], r["resource"]): float(r["per_unit"]) for r in rows("usage")}

        units = [(s, p) for s, p, _ in self.demand] + [(s, p) for s, p, _, _ in self.options]
        self.units: list[Unit] = list(dict.fromkeys(units))

    # -- section 1: allowed levels ------------------------------------------------------------
    def allowed(self, unit: Unit) -> list[str]:
        """All levels, narrowed by every matching policy row and, for a unit in options.csv, to
        the levels its options rows list (any period)."""
        seg, prod = unit
        levels = list(self.lev)
        for row in self.policies:
            if row.get("segment", "") not in ("", seg):
                continue
            if row.get("product_class", "") not in ("", self.prod[prod]["cls"]):
                continue
            lo, hi = row.get("min_level", ""), row.get("max_level", "")
            levels = [
                lv
                for lv in levels
                if (lo == "" or self.lev[lv]["rank"] >= self.lev[lo]["rank"])
                and (hi == "" or self.lev[lv]["rank"] <= self.lev[hi]["rank"])
            ]
        listed = {lv for (s, p, _, lv) in self.options if (s, p) == unit}
        if listed:
            levels = [lv for lv in levels if lv in listed]
        if not levels:
            raise ValueError(f"unit {unit} has no allowed level")
        return levels

    # -- section 2: economics of one option ---------------------------------------------------
    def capture(self, seg: str, prod: str, level: str) -> float | None:
        if self.response is None:
            return 1.0
        cls = self.prod[prod]["cls"]
        for key in ((seg, level, cls), (seg, level, "")):
            if key in self.response:
                return self.response[key]
        return None

    def option(self, unit: Unit, level: str, period: str) -> dict[str, float]:
        """revenue, cost, q (units served) and ss (safety stock) of option (u, l, t)."""
        seg, prod = unit
        if (seg, prod, period, level) in self.options:
            rev, cost, q, ss = self.options[(seg, prod, period, level)]
            return {"revenue": rev, "cost": cost, "q": q, "ss": ss}
        p, lv = self.prod[prod], self.lev[level]
        demand = self.demand.get((seg, prod, period), 0.0)
        capture = self.capture(seg, prod, level)
        if capture is None:
            if demand != 0:
                raise ValueError(f"no response row for {seg}/{level}/{p['cls']}")
            capture = 0.0
        q = demand * capture
        unit_cost = self.unit_cost.get((prod, level), p["buc"] * lv["mult"])
        ss = lv["z"] * p["cv"] * q * math.sqrt(lv["lead"] / self.period_days)
        cost = q * unit_cost + p["hold"] * ss
        return {"revenue": q * p["margin"], "cost": cost, "q": q, "ss": ss}

    # -- one unit's sequence of levels: everything that is separable by unit -------------------
    def sequence(self, unit: Unit, seq: tuple[str, ...]) -> dict | None:
        """Value and resource use of one unit following ``seq``; None if it breaks max_changes."""
        seg, prod = unit
        p = self.prod[prod]
        previous = self.current.get(unit)
        changes, value, goodwill = 0, 0.0, 0.0
        spend, q, ss, use = [], [], [], {}
        for i, (t, level) in enumerate(zip(self.periods, seq, strict=True)):
            disc = self.discount[t]
            changed = previous is not None and level != previous
            changes += changed
            if i > 0:  # G[u,t] = retention * G[u,t-1] + goodwill[level at t-1]
                goodwill = self.retention * goodwill + self.lev[seq[i - 1]]["goodwill"]
            lift = self.sens.get(seg, 0.0) * self.demand.get((seg, prod, t), 0.0) * goodwill
            opt = self.option(unit, level, t)
            profit = opt["revenue"] - opt["cost"] + lift * (p["margin"] - p["buc"])
            value += disc * (profit - self.switching_cost * changed)
            spend.append(opt["cost"] + lift * p["buc"])
            q.append(opt["q"])
            ss.append(opt["ss"])
            for (lv, res), per_unit in self.usage.items():
                if lv == level:
                    use[(res, t)] = use.get((res, t), 0.0) + opt["q"] * per_unit
            previous = level
        if self.max_changes is not None and changes > int(self.max_changes):
            return None
        return {"seq": seq, "value": value, "spend": spend, "q": q, "ss": ss, "use": use}


def best(folder: Path, accept=None) -> OracleResult:
    """Enumerate every plan of the case in ``folder`` and return the best feasible one.

    ``accept(plan)`` (``plan``: unit -> levels in period order), if given, is one more rule a
    plan must meet (the rule of an extension under test)."""
    case = Case(folder)
    periods, n_t = case.periods, len(case.periods)
    allowed = {u: case.allowed(u) for u in case.units}
    choices = []
    for u in case.units:
        seqs = [case.sequence(u, s) for s in itertools.product(allowed[u], repeat=n_t)]
        choices.append([s for s in seqs if s is not None])
    n_plans = math.prod(len(c) for c in choices)
    if n_plans > MAX_PLANS:
        raise ValueError(f"{n_plans} plans: too many for the brute-force oracle")

    # tier ordering: pairs (i, j) of units of one product where unit i's tier number is smaller
    pairs = []
    if case.tier_ordering:
        for (i, (si, pi)), (j, (sj, pj)) in itertools.permutations(enumerate(case.units), 2):
            ti, tj = case.tier.get(si), case.tier.get(sj)
            if pi == pj and ti is not None and tj is not None and ti < tj:
                pairs.append((i, j))
    rank = {lv: d["rank"] for lv, d in case.lev.items()}

    best_value, best_plan = None, None
    for plan in itertools.product(*choices):
        if any(
            rank[plan[i]["seq"][k]] < rank[plan[j]["seq"][k]] for i, j in pairs for k in range(n_t)
        ):
            continue
        if accept is not None and not accept({u: s["seq"] for u, s in zip(case.units, plan,
                                                                           strict=True)}):
            continue
        value, spend_total, ok = 0.0, 0.0, True
        for k, t in enumerate(periods):
            used = {seq["seq"][k] for seq in plan}
            fixed = sum(case.lev[lv]["fixed"] for lv in used)
            spend = sum(seq["spend"][k] for seq in plan) + fixed
            spend_total += spend
            value -= case.discount[t] * fixed
            if case.budget[t] is not None and spend > case.budget[t] + TOL:
                ok = False
            if case.max_inv_days is not None:
                limit = float(case.max_inv_days) / case.period_days * sum(s["q"][k] for s in plan)
                if sum(s["ss"][k] for s in plan) > limit + TOL:
                    ok = False
            if not ok:
                break
        if not ok:
            continue
        if case.total_budget is not None and spend_total > float(case.total_budget) + TOL:
            continue
        if any(
            sum(s["use"].get(key, 0.0) for s in plan) > cap + TOL
            for key, cap in case.capacity.items()
        ):
            continue
        value += sum(s["value"] for s in plan)
        if best_value is None or value > best_value + 1e-12:
            best_value = value
            best_plan = {u: s["seq"] for u, s in zip(case.units, plan, strict=True)}
    return OracleResult(best_value, best_plan, periods, n_plans, allowed)
