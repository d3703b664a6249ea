"""Why a case has no plan: the smallest relaxation of its limits, said in planner terms.

When HiGHS proves a case infeasible, "infeasible" alone does not help a planner. This
module re-solves the same model *elastically*: every limit that can make a case impossible
(period budgets, the horizon budget, capacities, the inventory-days limit, service targets,
tier ordering and max changes) gets a penalised slack column, and the re-solve minimises the total
relative relaxation (each slack divided by the size of its limit, so 10% over a budget
weighs as much as 10% over a capacity; a service target's slack is counted in points of
its mean service, so 0.1 = 10 points). For every relaxed target a second solve finds the
best mean service its units can reach with every other limit in force (other targets
dropped), so the sentence can say "93.1% is the best possible". The plan it finds is always feasible: every unit
keeps at least one allowed level (validation guarantees it) and every other row is
satisfiable once its limit is elastic.

Policies are not relaxed in that first re-solve, because they are the planner's own rules;
instead each policy row is lifted alone and the elastic re-solve repeated, so the report can
say how much of each shortfall that policy accounts for ("the min-level policy for
KEY × star accounts for 28,900 of it").

The first re-solve gets the solve's time limit (60 s without one) and the policy
re-solves share one more; a relaxation not proven minimal is said to be so. Each elastic
re-solve starts from the thriftiest plan (money is the usual shortfall, and then that plan
is often the minimum itself, proven by a Lagrangian bound without a MIP), and the first one
reuses the model the solve built.

Work happens on the standard form (:class:`StandardForm` names every row), so the model
builder needs no hooks: the elastic model (:mod:`.elastic`) is the standard form with one
slack column per elastic row, solved through the solver stage. This module returns a
pandas table.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..case.case import Case
from ..case.units import UNIT, allowed_options
from ..economics.options import option_table
from ..formulation.blocks import create_model
from ..formulation.data import ModelData, prepare, product_clusters
from ..formulation.rows import RowKind
from ..formulation.standard_form import StandardForm, standard_form
from ..solver import highs
from ..solver.status import Status
from .elastic import elastic_rows, solve_elastic

#: A slack below this (relative to its limit's scale) is round-off, not a relaxation.
TOL = 1e-6
#: At most this many policy rows are lifted one at a time for attribution.
MAX_POLICIES = 20
COLUMNS = ["kind", "period", "resource", "segment", "product", "limit", "needed", "short_by",
           "policy", "accounts_for", "target", "message"]
METRIC_WORDS = {"cycle": "cycle service", "fill_rate": "fill rate"}


@dataclass
class _Elastic:
    """The outcome of one elastic re-solve: relaxed limits keyed in planner terms."""

    found: bool
    short: dict[tuple, dict]  # key -> {"limit", "needed", "short_by", ...}
    chosen: pd.DataFrame  # option rows of the elastic plan
    proven: bool = True  # the relaxation is proven minimal (not cut short by the time limit)


def explain(
    case: Case, *, time_limit: float | None = None, threads: int | None = None,
    model: tuple[ModelData, StandardForm] | None = None,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """The table of relaxations that make ``case`` feasible, one row per limit or policy share.

    ``kind`` is budget | total_budget | capacity | inventory | tier_order | max_changes for a
    relaxed limit (``short_by`` in that limit's own unit: money, resource units, inventory
    days, rank steps, changes) and ``policy`` for a share of one limit's shortfall that a
    policy row accounts for. ``message`` is the planner sentence. Empty when nothing needs
    relaxing (the case is feasible after all). ``model``: the case's ``(data, standard
    form)`` when the caller has built them already (the solve that found it infeasible).
    ``progress`` hears each step (the relaxation, then each policy lifted): at 246k binaries
    they take 2–4 s each.
    """
    say = progress or (lambda message: None)
    limit = 60.0 if time_limit is None else max(1.0, float(time_limit))
    start = time.perf_counter()
    say("explaining: the smallest relaxation of the limits…")
    base = _elastic(case, limit, threads, reach=True, model=model)
    if not base.found:
        return _frame([{"kind": "unknown", "message": (
            "the case is infeasible, and no relaxation was found within the time limit; "
            "try a longer --time-limit")}])
    shares: dict[tuple, list[dict]] = {key: [] for key in base.short}
    notes = [] if base.proven else [_note(
        "the relaxation above was not proven minimal within the time limit")]
    pol = case.tables.get("policies")
    if base.short and pol is not None and len(pol) > 0:
        every = _every_option(case)
        lifts = list(pol.iterrows())[:MAX_POLICIES]
        for k, (row, p) in enumerate(lifts, start=1):
            left = 2 * limit - (time.perf_counter() - start)  # attribution gets one more limit
            if left < 0.5:
                notes.append(_note("policy shares were not computed for every policy: "
                                   "time limit reached"))
                break
            say(f"explaining: policies row {row} lifted alone ({k} of {len(lifts)})…")
            lifted = _without_policy(case, row)
            other = _elastic(lifted, left, threads,
                             model=_build(lifted, _allowed_rows(every, lifted)))
            if not other.found:
                continue
            for key, v in base.short.items():
                share = v["short_by"] - other.short.get(key, {}).get("short_by", 0.0)
                if share > max(TOL, 1e-6 * abs(v["short_by"])):
                    name = _policy_name(row, p)
                    shares[key].append(dict(
                        _key_fields(key), kind="policy", policy=name, accounts_for=share,
                        message=f"  {name} accounts for {_fmt(share)}{_unit(key)} of it "
                                "(lifting it alone)"))
    rows = []
    for key, v in base.short.items():
        rows.append(dict(_key_fields(key), **v))
        rows.extend(shares[key])
    return _frame(rows + notes)


def _note(text: str) -> dict:
    return {"kind": "note", "message": f"note: {text}"}


def _frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def _key_fields(key: tuple) -> dict:
    kind, period, resource, segment, product, *target = key
    return {"kind": kind, "period": period, "resource": resource, "segment": segment,
            "product": product, "target": target[0] if target else None}


def _without_policy(case: Case, row) -> Case:
    tables = dict(case.tables)
    rest = tables["policies"].drop(index=row)
    if rest.empty:
        tables.pop("policies")
    else:
        tables["policies"] = rest
    return replace(case, tables=tables)


def _policy_name(row, p: pd.Series) -> str:
    def given(col: str) -> bool:
        return p[col] is not None and not pd.isna(p[col])

    who = " × ".join([
        f"segment {p['segment']}" if given("segment") else "all segments",
        f"class {p['product_class']}" if given("product_class") else "all classes",
    ])
    parts = [f"{kind} level {p[col]}" for kind, col in (("min", "min_level"), ("max", "max_level"))
             if given(col)]
    return f"the {' / '.join(parts) or 'empty'} policy for {who} (policies row {row})"


def _unit(key: tuple) -> str:
    """The unit a shortfall of this kind of limit is measured in (money needs none)."""
    kind, _, resource = key[:3]
    return {RowKind.CAPACITY: f" units of {resource}", RowKind.INVENTORY: " day(s)",
            RowKind.TIER_ORDER: " rank step(s)", RowKind.MAX_CHANGES: " change(s)",
            RowKind.TARGET: " (service, as a fraction)"}.get(kind, "")


def _fmt(v: float) -> str:
    return f"{v:,.0f}" if abs(v) >= 100 else f"{v:,.4g}"


def _elastic(case: Case, time_limit: float, threads: int | None, reach: bool = False,
             model: tuple[ModelData, StandardForm] | None = None) -> _Elastic:
    """Build the model (unless ``model`` is given), add slack to the elastic rows,
    minimise relative relaxation.

    ``reach``: for each relaxed service target, also find the best it can reach alone
    (:func:`_target_reach`), for the planner sentence.
    """
    start = time.perf_counter()
    data, sf = model if model is not None else _build(case)
    rows, signs, weights = elastic_rows(sf, _row_sizes(sf, _scales(case, data)))
    out = solve_elastic(sf, rows, signs, weights, time_limit, threads, product_clusters(data))
    if out.x is None:
        return _Elastic(False, {}, pd.DataFrame())
    values = out.x
    chosen = data.options[values[sf.x_cols] > 0.5]
    slack = values[sf.n_cols:]
    short: dict[tuple, dict] = {}
    tier_relaxed = False
    for j in np.flatnonzero(slack * weights > TOL):
        k, s = int(rows[j]), float(slack[j])
        kind, idx = sf.rows[k]
        if kind == RowKind.TIER_ORDER:
            tier_relaxed = True
            continue
        rhs = sf.row_upper[k] if signs[j] < 0 else sf.row_lower[k]
        if kind == RowKind.TARGET:
            left = time_limit - (time.perf_counter() - start)
            best = _target_reach(sf, k, max(1.0, left), threads) if reach else None
            key, info = _describe_target(data, idx, s, best)
            short[key] = info
            continue
        key, info = _describe(case, data, chosen, kind, idx, float(rhs), s)
        short[key] = info
    if tier_relaxed:
        short.update(_tier_inversions(case, chosen))
    return _Elastic(True, short, chosen, out.status == Status.OPTIMAL)


def _build(case: Case, options: pd.DataFrame | None = None) -> tuple[ModelData, StandardForm]:
    data = prepare(case, options)
    return data, standard_form(create_model(data))


def _every_option(case: Case) -> pd.DataFrame:
    """The option table of ``case`` with no policy at all.

    Each option row is computed on its own, so the table of the case with some policy
    lifted is this one's rows that the remaining policies allow (:func:`_allowed_rows`):
    computed once instead of once per lifted policy (0.5 s each at 246k binaries)."""
    tables = {name: t for name, t in case.tables.items() if name != "policies"}
    return option_table(replace(case, tables=tables))


def _allowed_rows(every: pd.DataFrame, case: Case) -> pd.DataFrame:
    """The rows of :func:`_every_option`'s table that the policies of ``case`` allow: its
    own option table, in the same order."""
    key = [*UNIT, "level"]
    pairs = allowed_options(case.tables)
    allowed = pd.MultiIndex.from_frame(pairs.loc[pairs["allowed"], key])
    keep = pd.MultiIndex.from_frame(every[key]).isin(allowed)
    return every[keep].reset_index(drop=True)


def _row_sizes(sf: StandardForm, scale: dict) -> np.ndarray:
    """Per row: its size from ``scale`` (:func:`_scales`), whose keys are row kinds or, where
    one row needs its own, a row's full name; 1 for a row it does not mention."""
    size = np.ones(sf.n_rows)
    for key, value in scale.items():
        if not isinstance(key, tuple):
            size[sf.rows_of({key})] = value
    for key, value in scale.items():  # a row's own size wins over its kind's
        if isinstance(key, tuple):
            try:
                size[sf.row(key)] = value
            except KeyError:
                continue
    return size


def _target_reach(sf: StandardForm, k: int, seconds: float, threads: int | None) -> float | None:
    """The most row ``k`` (a service target, ``n·(m − achieved) ≤ 0``) can be lowered with
    every other limit in force and the other targets dropped: ``min A_k·x``, so the best
    reachable mean is ``m − min/n``. None when no plan meets the other limits (or time ran out)."""
    row = np.asarray(sf.A[k].todense()).ravel()
    rest = sf.without_rows(np.asarray(sf.rows_of({RowKind.TARGET})))
    out = highs.solve_mip(replace(rest, cost=-row, offset=0.0), threads=threads, rel_gap=1e-6,
                          seconds=float(seconds))
    if out.x is None or out.status != Status.OPTIMAL:
        return None
    return float(row @ out.x)


def _describe_target(data: ModelData, idx: tuple, slack: float,
                     best: float | None) -> tuple[tuple, dict]:
    """A relaxed service target in planner terms: the best mean its units can reach."""
    name, period = idx
    t = data.targets.table
    r = t[(t["name"] == name) & (t["period"] == period)].iloc[0]
    m, n = float(r["min_service"]), float(r["n"])
    closest = m - slack / n  # what the elastic plan gives the target
    reach = closest if best is None else min(m, m - best / n)
    what = METRIC_WORDS.get(r["metric"], r["metric"])
    when = " over the horizon" if period == "*" else f" in {period}"
    how = ("is the best possible" if best is not None else
           "is what the closest plan gives (the best possible was not proven)")
    return (RowKind.TARGET, None if period == "*" else period, None, None, None, name), {
        "limit": m, "needed": reach, "short_by": m - reach,
        "message": f"{what} {100 * m:.1f}% for {name}{when} is out of reach under these "
                   f"budgets and limits: {100 * reach:.1f}% {how}"}


def _scales(case: Case, data: ModelData) -> dict:
    """Typical size of each row family, so a slack on a zero limit is still weighed fairly."""
    opt = data.options
    q = opt.groupby(["u", "t"])["units"].max().groupby(level="t").sum()
    k = (case.settings.max_inventory_days or 0.0) / case.settings.period_days
    ranks = data.levels["rank"]
    targets = data.targets.table if data.targets is not None else pd.DataFrame()
    # a target row's slack is n·(points short): weighed by its n, it counts in service points
    per_target = {(RowKind.TARGET, (r.name, r.period)): float(r.n)
                  for r in targets.itertuples(index=False)}
    return per_target | {
        RowKind.INVENTORY: float(max(k * q.max(), 1.0)) if len(q) else 1.0,
        RowKind.TIER_ORDER: float(max(ranks.max() - ranks.min(), 1.0)),
    }


def _describe(case: Case, data: ModelData, chosen: pd.DataFrame, name: str, idx, rhs: float,
              slack: float) -> tuple[tuple, dict]:
    """One relaxed row in planner terms: its key and the table fields with the sentence."""
    periods = case.periods
    if name == RowKind.BUDGET:
        p = periods[int(idx)]
        return (RowKind.BUDGET, p, None, None, None), _short(
            rhs, rhs + slack, slack,
            f"period {p}: the cheapest plan the policies and other limits allow costs "
            f"{_fmt(rhs + slack)} against a budget of {_fmt(rhs)} (short by {_fmt(slack)})")
    if name == RowKind.TOTAL_BUDGET:
        return (RowKind.TOTAL_BUDGET, None, None, None, None), _short(
            rhs, rhs + slack, slack,
            f"horizon: the cheapest plan the policies and other limits allow costs "
            f"{_fmt(rhs + slack)} against total_budget {_fmt(rhs)} (short by {_fmt(slack)})")
    if name == RowKind.CAPACITY:
        r, p = idx  # capacity rows are named (resource, period)
        return (RowKind.CAPACITY, p, r, None, None), _short(
            rhs, rhs + slack, slack,
            f"period {p}, resource {r}: the plan needs {_fmt(rhs + slack)} against a "
            f"capacity of {_fmt(rhs)} (short by {_fmt(slack)})")
    if name == RowKind.INVENTORY:
        t = int(idx)
        p = periods[t]
        limit = case.settings.max_inventory_days
        sel = chosen[chosen["t"] == t]
        q = float(sel["units"].sum())
        days = float(sel["safety_stock"].sum()) / q * case.settings.period_days if q > 0 else np.inf
        return (RowKind.INVENTORY, p, None, None, None), _short(
            limit, days, days - limit,
            f"period {p}: the levels the policies allow hold {days:,.1f} days of "
            f"safety stock against max_inventory_days {limit:g}")
    if name == RowKind.MAX_CHANGES:
        u = int(idx)
        up = data.unit_periods
        seg, prod = up.loc[up["u"] == u, ["segment", "product"]].iloc[0]
        k = case.settings.max_changes
        return (RowKind.MAX_CHANGES, None, None, seg, prod), _short(
            float(k), k + slack, slack,
            f"unit ({seg}, {prod}): needs {k + slack:g} level changes against max_changes {k}")
    raise ValueError(f"no description for constraint {name}")


def _short(limit: float, needed: float, short_by: float, message: str) -> dict:
    """The table fields of a limit the plan needs more of: the limit, what it needs, by how
    much it falls short, and the sentence that says so."""
    return {"limit": limit, "needed": needed, "short_by": short_by, "message": message}


def _tier_inversions(case: Case, chosen: pd.DataFrame) -> dict[tuple, dict]:
    """Tier-ordering rows relaxed: name each inversion of the elastic plan, per product and
    period (segment of the better tier, segment of the worse tier, their levels)."""
    tiers = case.tables["segments"].set_index("segment")["tier"]
    c = chosen.assign(tier=chosen["segment"].map(tiers)).dropna(subset=["tier"])
    out: dict[tuple, dict] = {}
    for (prod, t), g in c.groupby(["product", "t"], sort=True):
        p = case.periods[int(t)]
        for a in g.itertuples(index=False):
            for b in g.itertuples(index=False):
                gap = float(b.rank - a.rank)
                if a.tier < b.tier and gap > 0:
                    out[(RowKind.TIER_ORDER, p, None, f"{a.segment} < {b.segment}", prod)] = {
                        "limit": 0.0, "needed": gap, "short_by": gap,
                        "message": f"period {p}, product {prod}: tier ordering needs segment "
                                   f"{a.segment} (tier {a.tier:g}) at a rank >= segment "
                                   f"{b.segment} (tier {b.tier:g}), but the closest plan gives "
                                   f"{a.level} vs {b.level} ({gap:g} rank step(s))"}
    return out
