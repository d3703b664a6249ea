"""A previous plan as the starting solution of the next solve (fast sweeps).

Consecutive scenarios of a sweep differ a little (a budget 10% lower, demand 5% higher), so
the previous optimum is usually close to the new one. This module maps a previous plan (an
assignment table: segment, product, period, level) onto the option table of the new case
and, where the new per-period budgets are tighter than the plan's spend, repairs it
greedily: it moves units to cheaper levels, cheapest profit lost per unit of budget saved
first, until every period fits. The solver then completes the plan (fixed-cost, switching
and goodwill variables follow from the levels) and checks it; a start that is still
infeasible for some other constraint is simply not used. Pure pandas/numpy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..case.case import Case

KEY = ["segment", "product", "period", "level"]


def start_vector(options: pd.DataFrame, start: pd.DataFrame, case: Case) -> np.ndarray:
    """0/1 value per option row: the previous plan's level where it is still allowed.

    A unit-period the previous plan does not cover (or whose level is no longer allowed)
    starts at its cheapest option, which never breaks a budget.
    """
    n = len(options)
    n_t = int(options["t"].max()) + 1 if n else 1
    ut = options["u"].to_numpy() * n_t + options["t"].to_numpy()
    cost = options["cost"].to_numpy(dtype=float)
    given = start[KEY].astype(str).drop_duplicates().assign(_hit=True)
    hit = options[KEY].astype(str).merge(given, on=KEY, how="left")["_hit"].notna().to_numpy()
    frame = pd.DataFrame({"g": ut, "hit": hit, "cost": cost, "i": np.arange(n)})
    frame = frame.sort_values(["g", "hit", "cost"], ascending=[True, False, True], kind="stable")
    choice = frame.drop_duplicates("g")["i"].to_numpy()
    choice = _repair(options, choice, start, case)
    x = np.zeros(n)
    x[choice] = 1.0
    return x


def _repair(
    options: pd.DataFrame, choice: np.ndarray, start: pd.DataFrame, case: Case
) -> np.ndarray:
    """Move units to cheaper levels until each period's spend fits its budget.

    Spend counts option costs, the fixed costs of the levels used and the goodwill lift
    cost the previous plan carried (an estimate; the solver checks the exact value). Each
    pass takes the best downgrade of every unit-period in an over-budget period, in order
    of profit lost per budget saved, until the excess is covered.
    """
    budget = case.tables["periods"]["budget"].to_numpy(dtype=float)
    if np.all(np.isnan(budget)):
        return choice
    t_of = options["t"].to_numpy()
    cost = options["cost"].to_numpy(dtype=float)
    profit = options["profit"].to_numpy(dtype=float)
    fixed = case.tables["levels"].set_index("level")["fixed_cost"]
    lift = _lift_per_period(start, case)
    n_t_opt = int(t_of.max()) + 1 if len(t_of) else 1
    group = np.unique(options["u"].to_numpy() * n_t_opt + t_of, return_inverse=True)[1]
    chosen_of = np.zeros(int(group.max()) + 1 if len(group) else 0, dtype=np.int64)
    position_of = np.zeros_like(chosen_of)
    choice = choice.copy()
    for _ in range(50):
        excess = _spend(options, choice, t_of, cost, fixed, lift) - budget
        over = np.nan_to_num(excess, nan=-1.0) > 1e-6
        if not over.any():
            return choice
        moves = _downgrades(choice, group, chosen_of, position_of, over, t_of, cost, profit)
        if moves is None:
            return choice
        _, _, k, j = moves
        take = _covering(moves, excess)
        choice[k[take]] = j[take]
    return choice


def _lift_per_period(start: pd.DataFrame, case: Case) -> np.ndarray:
    """The goodwill lift cost the previous plan ``start`` carried in each period of ``case``
    (0 without a ``lift_cost`` column, or for a period it did not cover)."""
    lift = np.zeros(len(case.periods))
    if "lift_cost" in start.columns:
        pos = {p: k for k, p in enumerate(case.periods)}
        by = start.groupby(start["period"].astype(str))["lift_cost"].sum()
        for p, v in by.items():
            if p in pos:
                lift[pos[p]] = v
    return lift


def _spend(options: pd.DataFrame, choice: np.ndarray, t_of: np.ndarray, cost: np.ndarray,
           fixed: pd.Series, lift: np.ndarray) -> np.ndarray:
    """Per period: the cost of the chosen options (``t_of``, ``cost``: the option table's
    period and cost, as arrays), the ``lift`` cost carried over, and the fixed costs of the
    levels used."""
    spend = np.bincount(t_of[choice], weights=cost[choice], minlength=len(lift)) + lift
    used = options.iloc[choice][["t", "level"]].drop_duplicates()
    spend += np.bincount(used["t"], weights=used["level"].map(fixed).fillna(0.0),
                         minlength=len(lift))
    return spend


def _covering(moves: tuple, excess: np.ndarray) -> np.ndarray:
    """Which of the ``moves`` (sorted by period, then profit lost per budget saved) to take:
    per period, each move while the savings before it fall short of the period's excess."""
    t, saving, _, _ = moves
    first = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    before = np.cumsum(saving) - saving
    before -= np.repeat(before[first], np.diff(np.r_[first, len(t)]))
    return before < excess[t] * (1 + 1e-9) + 1e-6


def _downgrades(choice, group, chosen_of, position_of, over, t_of, cost, profit):
    """The best downgrade of every unit-period in an over-budget period: ``(period, saving,
    position in choice, new option)`` sorted by period, then profit lost per budget saved
    (ties: the plan's order); None if there is none. Vectorised over all options."""
    chosen_of[group[choice]] = choice
    position_of[group[choice]] = np.arange(len(choice))
    i = chosen_of[group]  # the chosen option of each option's unit-period
    ok = over[t_of[i]] & (cost < cost[i] - 1e-12)
    j = np.flatnonzero(ok)
    if not len(j):
        return None
    i = i[j]
    ratio = (profit[i] - profit[j]) / (cost[i] - cost[j])
    order = np.lexsort((j, ratio, group[j]))  # per unit-period: the best, first on ties
    j, i, ratio = j[order], i[order], ratio[order]
    first = np.r_[True, group[j][1:] != group[j][:-1]]
    j, i, ratio = j[first], i[first], ratio[first]
    k = position_of[group[j]]
    order = np.lexsort((k, ratio, t_of[i]))
    j, i, k = j[order], i[order], k[order]
    return t_of[i], cost[i] - cost[j], k, j
