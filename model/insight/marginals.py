"""Marginal values of budgets and capacities around a solved plan (shadow prices).

Why not the textbook "fix every integer and re-solve the LP"? In this model every decision
is binary (levels ``x``, offered levels ``y``); the only continuous columns (switching
``d``, goodwill ``G``) are determined by them. With every integer fixed the LP has no
freedom left: a binding budget row is degenerate and its dual is arbitrary (HiGHS returns
0), and one more unit of budget buys nothing. That answers "what is the *fixed* plan worth
with more budget" (nothing) but not the planner's question.

What we solve instead is the **local LP** of the plan: the offered levels ``y`` stay fixed,
and each unit-period may move *fractionally* from its chosen level to the next allowed level
up or down (``x`` continuous on those three options, 0 elsewhere). Its optimum is the plan
plus the best fractional one-step moves, so its duals answer "one more unit of budget in
March is worth 1.8": the best next upgrade earns 1.8 of (discounted) profit per unit of
budget. The duals are local: they hold for small changes of the right-hand side (a
finite difference of the same LP matches them, see tests/test_marginals.py); a large
change can move the integer plan and the price with it.

Values are reported as ``d objective / d right-hand side`` (>= 0 for a ``<=`` row of this
maximisation). The local LP is the solve's own standard form with other column bounds:
nothing is built or compiled a second time.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..formulation.rows import DENSE, RowKind
from ..formulation.standard_form import StandardForm
from ..solver import highs
from ..solver.bound import links_periods, lp_method
from ..solver.status import Status
from ..solver.sweep import WarmState

#: The local LP may take as long as the solve did, and at least this long (seconds).
MIN_SECONDS = 10.0
#: A local LP with linked periods and more free columns than this is not solved: by interior
#: point it took 10.9 s at 149k free columns (a generated 100k-binary case, after an 18 s
#: solve) but 66 s at 440k (300k binaries, after an 18 s solve), and at 1M binaries it had not
#: finished when its time budget (19 s) ran out.
LINKED_MAX_COLUMNS = 250_000
#: How the values were found (summary.json ``marginals.method``).
LOCAL_LP = ("local LP: offered levels fixed, each unit-period may move fractionally to its "
            "neighbouring levels; values are d(objective)/d(rhs)")
PRICED = ("LP relaxation: the prices of the dense rows at the bound of the solve (priced), "
          "which proves the plan; no row links periods, so they are the local LP's duals "
          "too; values are d(objective)/d(rhs)")


@dataclass
class Marginals:
    """Shadow prices of the priced rows of one plan, as plain tables.

    ``rows``: one row per priced constraint with kind, index (period / capacity row),
    rhs, the plan's ``activity`` (left-hand side), ``slack`` and ``dual``.
    ``local_objective`` is the objective of the local LP (>= the plan's objective).
    """

    rows: pd.DataFrame
    local_objective: float | None
    status: str
    details: dict = field(default_factory=dict)
    method: str = LOCAL_LP
    #: the local LP ran out of its time budget (the same model will again: a sweep skips it)
    out_of_time: bool = False
    #: Ctrl-C stopped the local LP (its values are unknown)
    interrupted: bool = False

    def budget_duals(self, periods: list[str]) -> dict[str, float]:
        """The value of one more unit of budget, per period id (NaN where the LP failed)."""
        b = self.rows[self.rows["kind"] == RowKind.BUDGET]
        return dict(zip([periods[int(i)] for i in b["index"]], b["dual"], strict=True))

    def capacity_table(self) -> pd.DataFrame:
        """Per capacity row: resource, period, capacity, used, slack and dual (kpi_capacity.csv)."""
        cap = self.rows[self.rows["kind"] == RowKind.CAPACITY]
        return pd.DataFrame({
            "resource": cap["resource"], "period": cap["period"], "capacity": cap["rhs"],
            "used": cap["activity"], "slack": cap["slack"], "dual": cap["dual"],
        }).reset_index(drop=True)

    def target_duals(self) -> dict[tuple, float]:
        """Per service-target row ``(target, period)``: d(objective)/d(rhs) of its ``≤`` row."""
        t = self.rows[self.rows["kind"] == RowKind.TARGET]
        return dict(zip(t["index"], t["dual"], strict=True))

    def summary(self, periods: list[str]) -> dict:
        """The ``marginals`` block of summary.json (a dual the LP did not find is null)."""
        def num(v) -> float | None:
            return float(v) if v is not None and np.isfinite(v) else None

        total = self.rows[self.rows["kind"] == RowKind.TOTAL_BUDGET]
        cap = self.capacity_table()
        return {
            "method": self.method,
            "status": self.status,
            "local_objective": self.local_objective,
            "budget": {str(k): num(v) for k, v in self.budget_duals(periods).items()},
            "total_budget": num(total["dual"].iloc[0]) if len(total) else None,
            "capacity": [
                {"resource": str(a), "period": str(p), "dual": num(d)}
                for a, p, d in zip(cap["resource"], cap["period"], cap["dual"], strict=True)
            ],
        }


def local_lp_bounds(
    lower: np.ndarray,
    upper: np.ndarray,
    integrality: np.ndarray,
    values: np.ndarray,
    x_cols: np.ndarray,
    groups: list[np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Column bounds of the local LP: integers fixed, except the chosen level and its two
    neighbours (by rank, within the unit-period's allowed options) which range over [0, 1].

    One pass over all groups at once (a loop over 60k unit-periods took 0.3 s): the chosen
    level is the first largest value of each group, as ``argmax`` would pick it."""
    lo, hi = lower.copy(), upper.copy()
    ints = np.flatnonzero(integrality)
    lo[ints] = hi[ints] = np.round(values[ints])
    groups = [g for g in groups if len(g)]
    if not groups:
        return lo, hi
    sizes = np.array([len(g) for g in groups])
    starts = np.r_[0, np.cumsum(sizes)[:-1]]
    cols = x_cols[np.concatenate(groups)]
    unusable = np.minimum.reduceat(cols, starts) < 0  # an option without a column
    where = np.repeat(np.arange(len(groups)), sizes)
    pos = np.arange(len(cols)) - starts[where]
    val = values[np.where(cols < 0, 0, cols)]
    best = np.maximum.reduceat(val, starts)
    first = np.minimum.reduceat(np.where(val == best[where], pos, len(cols)), starts)
    free = ~unusable[where] & (np.abs(pos - first[where]) <= 1)
    lo[cols[free]], hi[cols[free]] = 0.0, 1.0
    return lo, hi


def marginal_values(
    sf: StandardForm,
    col_values: np.ndarray,
    groups: list[np.ndarray],
    periods: list[str],
    shift: dict[tuple[str, object], float] | None = None,
    seconds: float | None = None,
    warm: WarmState | None = None,
    basis: np.ndarray | None = None,
) -> Marginals:
    """Solve the local LP around ``col_values`` (the full solution of the standard form
    ``sf`` the solve used); ``groups`` lists the option rows of each unit-period,
    ``periods`` the period ids. ``shift`` adds to the right-hand side of named rows, e.g.
    ``{("budget", 2): 1.0}``: a finite-difference check of the duals re-solves the same
    local LP with it.

    HiGHS gets only the local LP's free columns (:meth:`StandardForm.restricted`: the fixed
    ones move to the row bounds, rows left without a free column go); the priced rows stay
    rows, so each keeps its dual. At 300k binaries that is 151k of 246k columns and 290k of
    455k rows, and the LP takes 1.5 s instead of 2.2 s; the duals are the same LP's.

    ``seconds`` limits the LP (:func:`time_budget`); one that does not finish in time gives
    unknown (NaN) duals and says so in ``status``. With linked periods (switching, goodwill)
    a large local LP is solved by interior point, as the LP relaxation is: at 300k binaries
    with every linking term 71 s where dual simplex took about 175 s — after a solve of 18 s.

    ``warm``: a budget sweep's state, where a local LP solved by simplex stays loaded in
    HiGHS from point to point (:func:`~svcplan.solver.highs.solve_kept`).

    ``basis``: the LP relaxation's optimal basis (``SolveOutcome.lp_basis``: a solve whose
    bound was the whole LP, not priced). The local LP is that LP with most columns fixed,
    and dual simplex from its basis is a few hundred iterations from the local optimum: the
    demo at 0.6 / 0.7 / 0.8 / 0.9 / 1.0 / 1.1× its budget took 0.15 / 0.15 / 0.21 / 0.05 /
    0.04 / 0.10 s where the free columns alone, from a cold start, took 0.29 / 0.43 / 0.38 /
    0.59 / 0.42 / 0.39 s; a generated 5 × 120 × 5 × 12 case with every linking term (63,804
    columns, its relaxation by interior point and crossover) 0.23 s against 3.65 s by
    interior point (the same duals). The whole model is handed over then, as the basis is
    the whole model's."""
    values = np.asarray(col_values, dtype=float)
    lo, hi = local_lp_bounds(sf.col_lower, sf.col_upper, sf.integer, values, sf.x_cols, groups)
    priced = sf.rows_of(DENSE)
    if basis is not None:
        lp, fixed_part, rows = _from_basis(sf, lo, hi, priced, basis, shift, seconds)
    else:
        lp, fixed_part, rows = _free_columns(sf, lo, hi, priced, shift, seconds, warm)
    # HiGHS reports row duals as d(objective)/d(row activity) with the objective's own
    # sense; for a maximisation that is already "profit per unit of rhs" (>= 0 on a
    # binding <= row). The finite-difference test pins this convention down.
    dual = lp.row_dual[rows] if lp.optimal else np.full(len(priced), np.nan)
    objective = lp.objective + fixed_part if lp.optimal else None
    status = Status.OPTIMAL if lp.optimal else (
        "interrupted (Ctrl-C)" if lp.interrupted else
        f"not solved within {seconds:.3g} s, its time budget (as long as the solve took, at "
        f"least {MIN_SECONDS:.0f} s)" if lp.out_of_time else lp.message)
    return Marginals(_rows(sf, values, priced, dual, periods), objective, status,
                     out_of_time=lp.out_of_time, interrupted=lp.interrupted and not lp.optimal)


# Both ways below return the LP's answer, what the columns HiGHS did not get add to its
# objective, and the positions of the priced rows among its rows.

def _from_basis(sf: StandardForm, lo: np.ndarray, hi: np.ndarray, priced: np.ndarray,
                basis: np.ndarray, shift: dict | None, seconds: float | None
                ) -> tuple[highs.LpSolution, float, np.ndarray]:
    """The local LP as the whole model with the local bounds, from the relaxation's basis."""
    row_shift = {sf.row(key): delta for key, delta in (shift or {}).items()}
    lp = highs.solve_lp(sf.with_bounds(lo, hi), row_shift=row_shift, method="simplex",
                        seconds=seconds, basis=basis, devex=True)
    return lp, 0.0, priced


def _free_columns(sf: StandardForm, lo: np.ndarray, hi: np.ndarray, priced: np.ndarray,
                  shift: dict | None, seconds: float | None, warm: WarmState | None
                  ) -> tuple[highs.LpSolution, float, np.ndarray]:
    """The local LP over its free columns only (:meth:`StandardForm.restricted`), cold or
    in the instance a sweep kept."""
    free = lo < hi
    at = np.where(free, 0.0, lo)
    # relaxed first: a row left with one free column bounds it exactly (no rounding inwards)
    local = sf.with_bounds(lo, hi).relaxed().restricted(free, at, keep=priced)
    if warm is not None and not shift and lp_method(local) == "simplex":
        # where the budgets no longer bind, consecutive points keep their plan, so their
        # local LPs differ in the budget rows only: the demo frontier's four richest points
        # re-solved it in 0.01 s instead of 0.13–0.16 s; a changed plan is a new local LP
        warm.local_lp, lp = highs.solve_kept(warm.local_lp, local, seconds, None)
    else:
        row_shift = {local.row(key): delta for key, delta in (shift or {}).items()}
        lp = highs.solve_lp(local, row_shift=row_shift, method=lp_method(local), seconds=seconds)
    fixed_part = float(sf.cost[~free] @ at[~free])
    return lp, fixed_part, np.array([local.row(sf.rows[k]) for k in priced], dtype=int)


def plan_marginals(
    sf: StandardForm, col_values: np.ndarray, groups: list[np.ndarray], periods: list[str],
    prices: np.ndarray | None = None, seconds: float | None = None,
    warm: WarmState | None = None, basis: np.ndarray | None = None,
) -> Marginals:
    """The marginal values of a solved plan: the solve's own ``prices`` of the dense rows
    (a priced solve from a cold start, :func:`priced_marginals`; a sweep point's warm
    prices are not handed on) where no row links periods, else the local LP's duals
    (:func:`marginal_values`, within ``seconds``, from the LP relaxation's ``basis`` where
    the solve has one).

    ``warm``: a budget sweep's state. Where this model's local LP ran out of its time budget
    at an earlier point (``warm.local_lp_ran_out``), it is not tried again (unknown values,
    saying so): the points differ only in budgets, and each would spend its budget in vain
    (at least 10 s a point; at 300k binaries with every linking term the LP takes 66 s)."""
    ran_out = None if warm is None else warm.local_lp_ran_out
    linked = links_periods(sf)
    if prices is not None and not linked:
        return priced_marginals(sf, col_values, prices, periods)
    if ran_out is not None:
        return _unknown(sf, col_values, periods,
                        f"skipped: at an earlier point of this sweep it was {ran_out}")
    # the free columns are counted only where they can pass the limit (never more than all
    # columns): below it, marginal_values computes the local LP's bounds once, itself
    if linked and sf.n_cols > LINKED_MAX_COLUMNS:
        free = local_lp_columns(sf, col_values, groups)
        if free > LINKED_MAX_COLUMNS:
            return _unknown(sf, col_values, periods, (
                f"not solved: {free:,} free columns with linked periods, more than "
                f"{LINKED_MAX_COLUMNS:,}; an LP that size takes longer than the solve (440k "
                "columns: 66 s after an 18 s solve)"))
    return marginal_values(sf, col_values, groups, periods, seconds=seconds, warm=warm,
                           basis=basis)


def local_lp_columns(sf: StandardForm, col_values: np.ndarray, groups: list[np.ndarray]) -> int:
    """How many columns the local LP around ``col_values`` leaves free (what HiGHS gets)."""
    lo, hi = local_lp_bounds(sf.col_lower, sf.col_upper, sf.integer,
                             np.asarray(col_values, dtype=float), sf.x_cols, groups)
    return int((lo < hi).sum())


def _unknown(sf: StandardForm, col_values: np.ndarray, periods: list[str],
             status: str) -> Marginals:
    """Marginal values not computed (NaN duals; no LP ran), with the ``status`` that says why."""
    priced = sf.rows_of(DENSE)
    values = np.asarray(col_values, dtype=float)
    return Marginals(_rows(sf, values, priced, np.full(len(priced), np.nan), periods), None,
                     status)


def priced_marginals(
    sf: StandardForm, col_values: np.ndarray, prices: np.ndarray, periods: list[str],
) -> Marginals:
    """The marginal values of a priced solve (:mod:`svcplan.solver.pricing`): the prices
    ``λ`` of the dense rows at the bound that proved the plan, one per row of
    ``sf.rows_of(DENSE)``.

    ``L(λ) = λ·b + max{(c − Dᵀλ)x}`` bounds the LP relaxation for every ``b`` and its slope
    in ``b`` is ``λ``: at the LP's optimal prices they are its shadow prices. They come
    free with the solve, and where no row links periods they are the local LP's duals
    too: on a generated case of 246k binaries without linking terms they agree within
    3.3e-4 in every period, where the local LP took 2 s of a 6.5 s run. With switching
    and goodwill they are not (:func:`plan_marginals` keeps the local LP there): budget
    moves between periods through the links, ``L`` is flat along those moves, and at that
    size prices whose bound was within 1.4e-5 of the LP optimum differed from the LP's own
    duals by 2–24% per period."""
    priced = sf.rows_of(DENSE)
    if len(prices) != len(priced):
        raise ValueError(f"{len(prices)} prices for {len(priced)} dense rows")
    values = np.asarray(col_values, dtype=float)
    return Marginals(_rows(sf, values, priced, np.asarray(prices, dtype=float), periods), None,
                     Status.OPTIMAL, method=PRICED)


def _rows(sf: StandardForm, values: np.ndarray, priced: np.ndarray, dual: np.ndarray,
          periods: list[str]) -> pd.DataFrame:
    """One row per priced constraint: kind, index, period / resource, rhs, the plan's
    activity and slack, and its ``dual`` (round-off to 0; NaN stays: unknown)."""
    activity = sf.A[priced] @ values
    records = []
    for k, act, d in zip(priced.tolist(), activity.tolist(), dual.tolist(), strict=True):
        kind, idx = sf.rows[k]
        rec = {"kind": str(kind), "index": idx, "period": None, "resource": None,
               "rhs": float(sf.row_upper[k]), "activity": float(act),
               "slack": float(sf.row_upper[k] - act), "dual": float(d)}
        if kind in (RowKind.BUDGET, RowKind.INVENTORY):
            rec["period"] = periods[int(idx)]
        elif kind == RowKind.CAPACITY:
            rec["resource"], rec["period"] = idx
        elif kind == RowKind.TARGET:
            rec["period"] = idx[1]  # (target name, period id or "*")
        records.append(rec)
    cols = ["kind", "index", "period", "resource", "rhs", "activity", "slack", "dual"]
    rows = pd.DataFrame(records, columns=cols)
    rows["dual"] = rows["dual"].mask(rows["dual"].abs() <= 1e-9, 0.0)  # round-off; NaN stays
    return rows


def time_budget(solve_seconds: float, remaining: float | None) -> float:
    """Seconds the local LP may take: as long as the solve did, at least
    :data:`MIN_SECONDS`, and never past the run's deadline (``remaining``, None: none). The
    marginal values explain a plan; they must not take many times longer than finding it."""
    budget = max(MIN_SECONDS, float(solve_seconds))
    return budget if remaining is None else max(0.01, min(budget, remaining))
