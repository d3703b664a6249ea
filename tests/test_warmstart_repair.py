"""The greedy budget repair of a previous plan (svcplan.solver.warmstart), vectorised over all
options, takes exactly the moves of the plain loop it replaced (kept here as the oracle)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from svcplan import Case, solve
from svcplan.formulation.data import prepare
from svcplan.prep.generate import generate_case
from svcplan.solver import warmstart
from svcplan.whatif.scenarios import Scenario, apply


def _reference_repair(
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


@pytest.mark.parametrize("seed", [3])
def test_vectorised_repair_takes_the_loops_moves(seed, monkeypatch):
    tables, settings = generate_case(4, 8, 4, 5, seed=seed)
    case = Case.from_tables(tables, settings)
    plan = solve(case, mip_gap=0.05, marginals=False, explain=False).assignment
    for scale in (0.95, 0.8, 0.6):
        tighter = apply(case, Scenario(name="tighter", scale={"periods.budget": scale}))
        options = prepare(tighter).options
        fast = warmstart.start_vector(options, plan, tighter)
        monkeypatch.setattr(warmstart, "_repair", _reference_repair)
        slow = warmstart.start_vector(options, plan, tighter)
        monkeypatch.undo()
        assert np.array_equal(fast, slow)
        moved = (fast != warmstart.start_vector(options, plan, case)).sum()
        assert scale == 0.95 or moved > 0  # the tighter budgets did force downgrades
