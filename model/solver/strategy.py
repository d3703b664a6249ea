"""Solving the Pyomo model with HiGHS, and mapping every outcome to an honest status.

The flow of one solve (:func:`solve_model`), all within one deadline:

1. take the model as one solver-neutral matrix (:class:`StandardForm`);
2. build an incumbent from the structure (:mod:`.search`), unless a limit is one no plan
   can meet (:mod:`.floors`): the LP relaxation (:mod:`.bound`; for large models its bound
   by pricing the dense budget rows, :mod:`.pricing`), rounded by a small MIP over its
   fractional units (where LPs are cheap, in steps, :func:`.respend.round_cheaply`: the
   split unit-periods, the whole units, the LP re-spent around the fractional units),
   improved by a neighbourhood search; the LP value is a true bound, so when the plan is
   within the requested gap of it we are done without branch-and-bound;
3. otherwise give the plan to HiGHS (``setSolution``) and let its MIP close the gap with
   whatever time is left; report the tighter of its bound and the LP bound.

Ctrl-C during step 2 ends the solve there with the best plan built so far; each way a solve
ends is made in :mod:`.outcome`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from ..formulation.standard_form import StandardForm
from . import highs, pricing
from .bound import SIMPLEX_BELOW, LpPoint, SearchLog, relaxation
from .candidates import any_proven, best_candidate, within_gap
from .floors import unmet_limits
from .neighbourhoods import START_SIZE
from .options import SolverOptions
from .outcome import (
    SolveOutcome,
    from_mip,
    honest_bound,
    infeasible,
    interrupted,
    mark_interrupted,
    proven_by_lp,
    record_search,
)
from .respend import round_cheaply
from .search import (
    fractional_units,
    from_start,
    neighbourhood_search,
    round_fractional,
    thrifty_plan,
)
from .status import Status
from .sweep import WarmState

#: HiGHS's own default relative gap; ``0`` proves optimality exactly.
DEFAULT_GAP = 1e-4


def solve_model(
    sf: StandardForm,
    opts: SolverOptions,
    initial: np.ndarray | Callable[[], np.ndarray] | None = None,
    cluster: np.ndarray | None = None,
    warm: WarmState | None = None,
) -> SolveOutcome:
    """Solve the standard form and classify the outcome.

    ``initial`` (0/1 per option, e.g. the previous scenario's plan, or a function giving
    it when first needed) is completed to a full solution and used when it beats the
    LP-rounding start. ``cluster`` (per unit, e.g. its
    product) groups the units the neighbourhood search frees together. ``warm``: the state
    of a budget sweep (:mod:`.sweep`): prices and bases are read from and left there.
    """
    if opts.deadline is None and opts.time_limit is not None:
        opts = replace(opts, deadline=time.perf_counter() + float(opts.time_limit))
    gap = float(DEFAULT_GAP if opts.mip_gap is None else opts.mip_gap)
    if opts.write_model:
        highs.write_model(sf, opts.write_model)
    start = time.perf_counter()
    best, warm_obj, source = None, None, "none"
    log = SearchLog()
    if opts.warm_start and sf.is_mip and sf.n_rows:
        best, warm_obj, source = _incumbent(sf, opts, gap, initial, cluster, log, warm)
        out = _end_before_branch_and_bound(sf, opts, best, warm_obj, log, gap, start)
        if out is not None:
            record_search(out, source, log)
            return out
    return _branch_and_bound(sf, opts, best, warm_obj, log, gap, start, source)


def _end_before_branch_and_bound(sf: StandardForm, opts: SolverOptions, best: np.ndarray | None,
                                 warm_obj: float | None, log: SearchLog, gap: float,
                                 start: float) -> SolveOutcome | None:
    """The outcome when the solve ends with the incumbent and the LP bound, else None
    (branch-and-bound is next): Ctrl-C, an infeasible LP relaxation, a plan the bound
    proves, a priced bound (a model too large for HiGHS's branch-and-bound), or too little
    time left for HiGHS's root."""
    if log.interrupted:  # Ctrl-C: the plan so far, without starting branch-and-bound
        return interrupted(sf, best, warm_obj, log.lp_bound, time.perf_counter() - start)
    if log.lp_infeasible:  # no plan, proven without branch-and-bound (1.7 s on the demo)
        return infeasible(sf, time.perf_counter() - start, log)
    if warm_obj is not None and within_gap(warm_obj, log.lp_bound, gap):
        # The LP bound already proves the plan within the gap: no branch-and-bound.
        by = "LP bound from priced budget rows" if log.lp_method == "prices" else (
            "LP relaxation bound")
        return proven_by_lp(sf, best, warm_obj, log.lp_bound, time.perf_counter() - start,
                            Status.OPTIMAL,
                            f"Optimal (warm-start plan proven within the gap by the {by})")
    left = opts.remaining()
    if warm_obj is not None and log.lp_method == "prices":
        # Priced bound: the model is too large for HiGHS's branch-and-bound (its root
        # LP alone took > 200 s at 300k, past the deadline and deaf to cancelSolve).
        return proven_by_lp(sf, best, warm_obj, log.lp_bound, time.perf_counter() - start,
                            Status.FEASIBLE, "searched plan within the reported gap of the LP "
                            "bound (priced budget rows); branch-and-bound skipped at this size")
    if (warm_obj is not None and left is not None
            and (log.lp_bound is None or left < 2 * log.lp_seconds)):
        # HiGHS's root LP takes longer than the LP relaxation did (dual simplex) — and
        # when that relaxation did not even finish, HiGHS's MIP ignores its time limit
        # (1M binaries: still in presolve 500 s past it): stop with the plan we have.
        message = ("time limit: returning the searched plan, bound from the LP relaxation"
                   if log.lp_bound is not None else "time limit: the LP relaxation did not "
                   "finish; returning the searched thriftiest plan (no bound)")
        return proven_by_lp(sf, best, warm_obj, log.lp_bound,
                            time.perf_counter() - start, Status.TIME_LIMIT, message)
    return None


def _branch_and_bound(sf: StandardForm, opts: SolverOptions, best: np.ndarray | None,
                      warm_obj: float | None, log: SearchLog, gap: float, start: float,
                      source: str) -> SolveOutcome:
    """HiGHS's branch-and-bound from the incumbent (if any), with the honest status and the
    tighter of HiGHS's bound and the LP's. HiGHS gets its own copy of the model (1–1.5 GB
    at 1M binaries) only here."""
    opts.say("branch-and-bound (HiGHS)…")
    mip = highs.solve_mip(sf, threads=opts.threads, log=opts.log, rel_gap=gap,
                          abs_gap=1e-6, seconds=opts.remaining(), deadline=opts.deadline,
                          start=best if warm_obj is not None else None)
    out = from_mip(sf, mip, time.perf_counter() - start, warm_obj)
    if not mip.interrupted and out.status == Status.FEASIBLE and opts.remaining() == 0.0:
        out.status, out.message = Status.TIME_LIMIT, "Time limit reached"  # cancelled by us
    record_search(out, source, log)
    honest_bound(out, log.lp_bound, log.lp_method)
    if mip.interrupted:
        mark_interrupted(out)
    elif out.status == Status.TIME_LIMIT and out.x is None:
        out.message = "no plan found within the time limit"
    return out


def _incumbent(
    sf: StandardForm, opts: SolverOptions, gap: float,
    initial: np.ndarray | Callable[[], np.ndarray] | None, cluster: np.ndarray | None,
    log: SearchLog, warm: WarmState | None = None,
) -> tuple[np.ndarray | None, float | None, str]:
    """The best plan we can build before branch-and-bound: ``(columns, objective, source)``.

    Time shares (of what is left before the deadline): pricing the budget rows (large
    models) up to 50%, else or then the whole LP relaxation up to 70% (without a bound and
    a point to round there is no good plan), rounding up to 30%, neighbourhood search up to
    85% of the rest (HiGHS's branch-and-bound rarely improves a searched plan on these
    models; it gets the remainder). Without a deadline the rounding gets 8× the LP time (at
    least 10 s, :func:`_rounding_seconds`), the search 2× (at least 5 s) and
    branch-and-bound runs to the gap. If no LP point is found at all, the
    thriftiest plan is completed and searched instead.
    """
    log.unmet = unmet_limits(sf, warm)
    if log.unmet:  # no plan can exist, proven without an LP (:mod:`.floors`)
        log.lp_infeasible = True
        return None, None, "none"

    def share(frac: float, default: float | None) -> float | None:
        left = opts.remaining()
        return default if left is None else frac * left

    candidates: list = []
    lp = None
    try:
        lp = _candidates(sf, opts, gap, initial, cluster, log, warm, share, candidates)
    except KeyboardInterrupt:  # Ctrl-C in our own code between two HiGHS runs (a run stops
        log.interrupted = True  # by itself and says so): the plans built so far stand
    best, value, source = best_candidate(sf, candidates)
    if best is None or log.interrupted:
        return best, value, source
    seconds = share(0.85, max(5.0, 2.0 * log.lp_seconds))
    reduced = lp.reduced if lp is not None else np.zeros(sf.n_cols)
    try:
        improved = neighbourhood_search(sf, best, reduced, cluster, gap, opts, seconds, log,
                                        lp_units=_few_fractional(sf, lp, log, best))
    except KeyboardInterrupt:
        log.interrupted = True
        return best, value, source
    v = sf.objective(improved)
    if v > value:
        best, value = improved, v
        source += " + neighbourhood search"
    return best, value, source


def _candidates(
    sf: StandardForm, opts: SolverOptions, gap: float,
    initial: np.ndarray | Callable[[], np.ndarray] | None, cluster: np.ndarray | None,
    log: SearchLog, warm: WarmState | None,
    share: Callable[[float, float | None], float | None], candidates: list,
) -> LpPoint | None:
    """Append ``(plan, source)`` pairs to ``candidates`` as they are found (so a Ctrl-C
    between two steps keeps the ones before it): the LP point rounded, re-spent, rounded
    again at tighter prices; the thriftiest plan where there is no LP point to round; the
    previous plan completed. Returns the LP point (None if there is none)."""
    lp = _bound(sf, opts, gap, cluster, log, warm, share)
    if lp is not None and not log.interrupted:
        _round(sf, lp, opts, gap, cluster, log, warm, share, candidates)
    _fall_back(sf, lp, opts, gap, initial, log, share, candidates)
    return lp


def _bound(sf: StandardForm, opts: SolverOptions, gap: float, cluster: np.ndarray | None,
           log: SearchLog, warm: WarmState | None,
           share: Callable[[float, float | None], float | None]) -> LpPoint | None:
    """The bound and its point: the dense rows priced (large models, up to half the time
    left), else or then the whole LP relaxation (up to 70%). None without an LP point."""
    lp = None
    if pricing.applies(sf, opts.prices):
        lp = pricing.lagrangian(sf, opts, share(0.5, None), log, gap, warm=warm,
                                cluster=cluster)
    if lp is None and not log.interrupted:
        lp = relaxation(sf, opts, share(0.7, None), log, warm)
    return lp


def _round(sf: StandardForm, lp: LpPoint, opts: SolverOptions, gap: float,
           cluster: np.ndarray | None, log: SearchLog, warm: WarmState | None,
           share: Callable[[float, float | None], float | None], candidates: list) -> None:
    """The LP point rounded: in steps where LPs are cheap (:func:`.respend.round_cheaply`),
    else the whole fractional units; a priced bound left loose by a warm start is tightened
    (:func:`_tighten`) and its point rounded too, unless a plan is proven already."""
    if log.lp_method == "lp" and sf.n_cols < SIMPLEX_BELOW:  # small: re-spend too
        round_cheaply(sf, lp, opts, share(0.3, _rounding_seconds(log)),
                      lambda: share(0.15, 10.0) or 0.0, log, gap, candidates)
    else:
        x = round_fractional(sf, lp.x, opts, share(0.3, _rounding_seconds(log)), log, gap)
        candidates.append((x, "lp rounding"))
    if not log.bound_loose or log.interrupted or any_proven(sf, candidates, log.lp_bound, gap):
        return
    tight = _tighten(sf, opts, share(0.5, None), log, gap, warm, cluster)
    if tight is not None and not log.interrupted and not any_proven(sf, candidates,
                                                                 log.lp_bound, gap):
        x = round_fractional(sf, tight.x, opts, share(0.3, _rounding_seconds(log)), log, gap)
        candidates.append((x, "lp rounding, tighter prices"))


def _fall_back(sf: StandardForm, lp: LpPoint | None, opts: SolverOptions, gap: float,
               initial: np.ndarray | Callable[[], np.ndarray] | None, log: SearchLog,
               share: Callable[[float, float | None], float | None], candidates: list) -> None:
    """The plans that do not come from the LP point: the thriftiest plan, completed, where
    there is no LP point or a priced one whose roundings found no plan; the previous plan
    (``initial``), completed, unless a plan is proven already."""
    # never leave a priced model without a plan, or it falls through to branch-and-bound
    # on the whole model (5M: the client at 14.8 GB and no plan in 600 s)
    unrounded = (lp is not None and log.lp_method == "prices"
                 and all(x is None for x, _ in candidates))
    if ((lp is None or unrounded) and not log.interrupted and not log.lp_infeasible
            and opts.remaining() != 0.0):
        opts.say("LP relaxation did not finish in time; starting from the thriftiest plan…"
                 if lp is None else "the rounding found no plan; starting from the thriftiest "
                 "plan…")
        thrifty = from_start(sf, thrifty_plan(sf), opts, share(0.3, 30.0) or 0.0)
        candidates.append((thrifty, "thrifty plan"))
    if (initial is not None and not log.interrupted and not log.lp_infeasible
            and not any_proven(sf, candidates, log.lp_bound, gap)):
        # completing the previous plan is a MIP of its own (1.5 s at 300k): only worth it
        # when the rounding has not already proven its plan within the gap
        plan = initial() if callable(initial) else initial
        candidates.append((from_start(sf, plan, opts), "previous plan"))


def _tighten(sf: StandardForm, opts: SolverOptions, seconds: float | None, log: SearchLog,
             gap: float, warm: WarmState | None, cluster: np.ndarray | None) -> LpPoint | None:
    """More pricing rounds at the same point, from its own prices, for a tighter bound.

    A warm start stops pricing at a loose stall (:func:`.pricing.lagrangian`): at 300k the
    third round moved the bound by 0.003%, and the rounding usually proves its plan with
    the second round's bound. When it does not, the rounds it skipped are cheaper than a
    neighbourhood search against a bound that is too high. Every bound seen is valid: the
    tighter one is kept. Returns the point the rounds end at (:func:`_incumbent` rounds it
    too: its fence is usually smaller), or None.
    """
    before, prices, spent = log.lp_bound, log.prices, log.lp_seconds
    opts.say("pricing on for a tighter bound…")
    log.bound_loose = False
    point = pricing.lagrangian(sf, opts, seconds, log, gap, warm=warm, cluster=cluster,
                               tighten=True)
    if before is not None and (log.lp_bound is None or before < log.lp_bound):
        log.lp_bound, log.prices = before, prices  # the bound kept is the tighter one
    log.lp_seconds += spent
    return point


def _rounding_seconds(log: SearchLog) -> float:
    """The rounding's time without a deadline: 8× the time the bound took, at least 10 s.

    The rounding stops at its first plan the bound proves within the gap, so a longer limit
    costs time only where that plan is hard to find, and there a short one cost more: 300k
    binaries with every linking term at 0.8× budget, priced in 14 s: with 10 s the
    rounding left its plan 1.66% under the bound and the solve ended *feasible* at 0.136%
    after 79 s of search; with 4× (60 s) at 0.22%, then 0.136% after 105 s; with 8× it
    proved 0.052% in 82 s, as a 240 s time limit (a 67 s rounding) did. The same case warm
    at 0.9× after 1.2, 1.1, 1.0: 15.3 s, 0.051%, where 10 s and a second rounding took
    18.3 s for 0.094%. No limit should not do worse than a generous one."""
    return max(10.0, 8.0 * log.lp_seconds)


def _few_fractional(sf: StandardForm, lp: LpPoint | None, log: SearchLog,
                    plan: np.ndarray | None = None) -> np.ndarray | None:
    """The units the whole LP relaxation left fractional, when they are few enough to join
    a neighbourhood (the priced point of a large model has hundreds: not used there).

    With ``plan`` (the search's starting plan), also the units it moved away from the LP
    point, while that union stays as small: a re-spent plan decided those blindly too
    (the demo at 1.1× budget, searched from a re-spent plan with 4 s steps: 11.5 s with
    them, 24.8 s without). A previous point's plan moves many units: then the fractional
    units alone, as before."""
    if lp is None or log.lp_method != "lp":
        return None
    units = fractional_units(sf, lp.x)
    if plan is not None:
        cols = sf.x_cols
        moved = np.abs(plan[cols] - lp.x[cols]) > 1e-6
        both = np.union1d(units, np.unique(sf.owner[cols][moved]))
        if len(both) <= START_SIZE // 2:
            units = both
    return units if len(units) <= START_SIZE // 2 else None
