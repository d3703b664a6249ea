"""One period, options given only through options.csv, one period budget: the model is then a
multiple-choice knapsack (pick one level per unit, total cost <= budget, maximise revenue - cost).

An exact dynamic program over the integer budget gives the optimum; the solver must match it on
seeded random instances, also when policies.csv removes levels.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest
from casefiles import write_case
from oracle import best

from svcplan import load_case, solve

CLASSES = {"P": "a", "Q": "b"}


@dataclass
class Instance:
    levels: list[str]  # in rank order (rank = index + 1)
    options: dict[tuple[str, str], dict[str, tuple[int, int]]]  # unit -> level -> (revenue, cost)
    budget: int
    policies: list[tuple[str, str, str, str]]  # segment, product_class, min_level, max_level

    def allowed(self, unit: tuple[str, str]) -> list[str]:
        """Levels of the unit's options rows that every matching policy row keeps."""
        seg, prod = unit
        rank = {lv: i for i, lv in enumerate(self.levels)}
        keep = []
        for lv in self.options[unit]:
            ok = True
            for p_seg, p_cls, lo, hi in self.policies:
                if p_seg not in ("", seg) or p_cls not in ("", CLASSES[prod]):
                    continue
                ok &= (lo == "" or rank[lv] >= rank[lo]) and (hi == "" or rank[lv] <= rank[hi])
            if ok:
                keep.append(lv)
        return keep

    def files(self) -> dict[str, str]:
        units = sorted(self.options)
        rows = [
            f"{s},{p},T1,{lv},{rev},{cost}"
            for (s, p) in units
            for lv, (rev, cost) in self.options[(s, p)].items()
        ]
        files = {
            "case.yaml": "name: knapsack",
            "segments.csv": "\n".join(["segment"] + sorted({s for s, _ in units})),
            "products.csv": "product,product_class,unit_margin\nP,a,0\nQ,b,0",
            "levels.csv": "\n".join(
                ["level,rank"] + [f"{lv},{i + 1}" for i, lv in enumerate(self.levels)]
            ),
            "periods.csv": f"period,budget\nT1,{self.budget}",
            "options.csv": "\n".join(["segment,product,period,level,revenue,cost"] + rows),
        }
        if self.policies:
            lines = [",".join(row) for row in self.policies]
            files["policies.csv"] = "\n".join(["segment,product_class,min_level,max_level"] + lines)
        return files


def make_instance(seed: int, with_policies: bool = False) -> Instance:
    """6-12 units x 2-4 levels, integer revenue and cost; the budget lies between the cheapest and
    the dearest plan (exactly the cheapest for some seeds) so that it binds."""
    rng = random.Random(seed)
    levels = [f"L{i + 1}" for i in range(rng.randint(3 if with_policies else 2, 4))]
    n_units = rng.randint(6, 12)
    while True:
        options = {}
        for i in range(n_units):
            unit = (f"S{i:02d}", rng.choice("PQ"))
            chosen = sorted(rng.sample(levels, rng.randint(2, len(levels))), key=levels.index)
            opts = {}
            for lv in chosen:
                cost = rng.randint(1, 30)
                opts[lv] = (cost + rng.randint(-5, 40), cost)
            options[unit] = opts
        policies = []
        if with_policies:
            for _ in range(rng.randint(1, 3)):
                seg = rng.choice(["", rng.choice(sorted(options))[0]])
                cls = rng.choice(["", "a", "b"])
                lo = rng.randint(1, len(levels) - 1)  # a floor above the lowest level
                hi = rng.randint(0, len(levels) - 2)  # a cap below the highest level
                kind = (
                    rng.choice(["min", "max", "both"]) if lo <= hi else rng.choice(["min", "max"])
                )
                policies.append(
                    (
                        seg,
                        cls,
                        levels[lo] if kind != "max" else "",
                        levels[hi] if kind != "min" else "",
                    )
                )
        inst = Instance(levels, options, 0, policies)
        if not with_policies:
            break
        # every unit keeps a level, and the policies do remove some options
        kept = [len(inst.allowed(u)) for u in options]
        if min(kept) > 0 and sum(kept) < sum(map(len, options.values())):
            break
    cheap = sum(min(options[u][lv][1] for lv in inst.allowed(u)) for u in options)
    dear = sum(max(options[u][lv][1] for lv in inst.allowed(u)) for u in options)
    frac = 0.0 if seed % 7 == 0 else rng.uniform(0.2, 0.8)
    inst.budget = cheap + int(frac * (dear - cheap))
    return inst


def knapsack_dp(inst: Instance) -> float:
    """Exact optimum of the multiple-choice knapsack: dp[b] = best profit with total cost b."""
    dp: dict[int, int] = {0: 0}
    for unit in sorted(inst.options):
        nxt: dict[int, int] = {}
        for spent, value in dp.items():
            for lv in inst.allowed(unit):
                rev, cost = inst.options[unit][lv]
                b = spent + cost
                if b <= inst.budget and nxt.get(b, -(10**9)) < value + rev - cost:
                    nxt[b] = value + rev - cost
        dp = nxt
    return max(dp.values())


def solve_and_check(tmp_path, inst: Instance) -> None:
    folder = write_case(tmp_path, inst.files())
    expected = knapsack_dp(inst)
    res = solve(load_case(folder), mip_gap=0.0)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(expected, abs=1e-6)
    # the plan itself: one allowed level per unit, within budget, worth the objective
    plan = res.assignment
    assert len(plan) == len(inst.options)
    total_cost = total_profit = 0
    for row in plan.itertuples():
        unit = (str(row.segment), str(row.product))
        assert str(row.level) in inst.allowed(unit), f"{unit} uses a level it may not use"
        rev, cost = inst.options[unit][str(row.level)]
        total_cost += cost
        total_profit += rev - cost
    assert total_cost <= inst.budget
    assert total_profit == expected


@pytest.mark.parametrize("seed", range(20))
def test_multiple_choice_knapsack(tmp_path, seed):
    solve_and_check(tmp_path, make_instance(seed))


@pytest.mark.parametrize("seed", range(100, 106))
def test_knapsack_with_policies(tmp_path, seed):
    inst = make_instance(seed, with_policies=True)
    assert inst.policies
    solve_and_check(tmp_path, inst)


def test_policy_changes_the_knapsack_optimum(tmp_path):
    # Two units, budget 10.  S00: L1 (rev 5, cost 1) or L2 (rev 30, cost 9): profit 4 or 21.
    # S01: L1 (rev 3, cost 1) or L2 (rev 20, cost 5): profit 2 or 15.
    # Free: L2 + L1 costs 10 -> 21 + 2 = 23 (L2 + L2 costs 14).  Policy "S00 at most L1":
    # L1 + L2 costs 6 -> 4 + 15 = 19.
    options = {
        ("S00", "P"): {"L1": (5, 1), "L2": (30, 9)},
        ("S01", "P"): {"L1": (3, 1), "L2": (20, 5)},
    }
    free = Instance(["L1", "L2"], options, 10, [])
    assert knapsack_dp(free) == 23
    solve_and_check(tmp_path / "free", free)
    capped = Instance(["L1", "L2"], options, 10, [("S00", "", "", "L1")])
    assert knapsack_dp(capped) == 19
    solve_and_check(tmp_path / "capped", capped)


@pytest.mark.parametrize("seed", [2, 7, 19, 100, 102])
def test_oracle_agrees_with_dp(tmp_path, seed):
    """The brute-force oracle used by the exact-objective tests solves these knapsacks too."""
    inst = make_instance(seed, with_policies=seed >= 100)
    n_plans = 1
    for unit in inst.options:
        n_plans *= len(inst.allowed(unit))
    assert n_plans <= 5_000, "pick a smaller seed: the brute force enumerates every plan"
    folder = write_case(tmp_path, inst.files())
    assert best(folder).objective == pytest.approx(knapsack_dp(inst), abs=1e-9)
