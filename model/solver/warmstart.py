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
    n_t = len(budget)
    fixed = case.tables["levels"].set_index("level")["fixed_cost"]
    lift = np.zeros(n_t)
    if "lift_cost" in start.columns:
        pos = {p: k for k, p in enumerate(case.periods)}
        by = start.groupby(start["period"].astype(str))["lift_cost"].sum()
        for p, v in by.items():
            if p in pos:
                lift[pos[p]] = v
    groups = options.assign(_i=np.arange(len(options))).groupby(["u", "t"], sort=False)["_i"]
    members = {k: v.to_numpy() for k, v in groups}
    choice = choice.copy()
    for _ in range(50):
        chosen = options.iloc[choice]
        spend = np.bincount(t_of[choice], weights=cost[choice], minlength=n_t) + lift
        used = chosen[["t", "level"]].drop_duplicates()
        spend += np.bincount(used["t"], weights=used["level"].map(fixed).fillna(0.0), minlength=n_t)
        excess = spend - budget
        over = np.flatnonzero(np.nan_to_num(excess, nan=-1.0) > 1e-6)
        if not len(over):
            return choice
        moves = []  # (period, ratio, saving, position in choice, new option)
        for k, i in enumerate(choice):
            t = t_of[i]
            if t not in over:
                continue
            alt = members[(options["u"].iat[i], t)]
            alt = alt[cost[alt] < cost[i] - 1e-12]
            if not len(alt):
                continue
            ratio = (profit[i] - profit[alt]) / (cost[i] - cost[alt])
            j = alt[np.argmin(ratio)]
            moves.append((t, float(ratio.min()), cost[i] - cost[j], k, j))
        if not moves:
            return choice
        moves.sort(key=lambda m: (m[0], m[1]))
        covered = np.zeros(n_t)
        for t, _, saving, k, j in moves:
            if covered[t] < excess[t] * (1 + 1e-9) + 1e-6:
                choice[k] = j
                covered[t] += saving
    return choice
