"""Property-based tests (hypothesis) over random tiny valid cases, solved with ``mip_gap=0``.

Cases are drawn as CSV text and written to a folder, so the same folder feeds the solver and
the brute-force SPEC oracle (tests/oracle.py, which never imports ``model``). Properties:

- the solver is optimal exactly when the oracle finds a plan, with the same objective;
- the returned plan satisfies every SPEC constraint and its profit, recomputed by the oracle's
  own economics, equals the reported objective;
- scaling all money by a constant scales the objective by it;
- more budget never lowers the optimum;
- forbidding one unit's chosen level (in one period) never raises it;
- permuting the rows of every table (but periods.csv, whose order is time) changes nothing.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oracle import Case as OracleCase
from oracle import best

from svcplan import load_case, solve

SETTINGS = settings(max_examples=8, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
LEVELS = [("B", 1, 0.8, 1.0), ("G", 2, 0.95, 1.25), ("S", 3, 0.99, 1.5)]
PRODUCTS_HEAD = "product,product_class,unit_margin,base_unit_cost,holding_cost,demand_cv\n"
LEVELS_HEAD = "level,rank,service_target,lead_time_days,cost_multiplier,fixed_cost,goodwill\n"
MONEY = {"products.csv": ["unit_margin", "base_unit_cost", "holding_cost"],
         "levels.csv": ["fixed_cost"], "periods.csv": ["budget"]}


@st.composite
def cases(draw) -> dict[str, str]:
    """A tiny valid case as file texts (at most 3 units x 3 levels x 3 periods)."""
    n_seg = draw(st.integers(1, 2))
    n_prod = draw(st.integers(1, 2))
    n_lev = draw(st.integers(2, 3))
    n_per = draw(st.integers(1, 3 if n_seg * n_prod <= 2 else 2))
    segs = [f"S{i}" for i in range(n_seg)]
    prods = [f"P{i}" for i in range(n_prod)]
    pers = [f"2025-0{i + 1}" for i in range(n_per)]
    money = st.integers(0, 20)
    f = {}
    f["segments.csv"] = "segment,tier,goodwill_sensitivity\n" + "".join(
        f"{s},{i + 1},{draw(st.sampled_from([0, 0, 0.2]))}\n" for i, s in enumerate(segs))
    f["products.csv"] = PRODUCTS_HEAD + "".join(
        f"{p},c{draw(st.integers(0, 1))},{draw(st.integers(5, 25))},{draw(money) / 2},"
        f"{draw(st.integers(0, 2))},{draw(st.sampled_from([0, 0.3]))}\n" for p in prods)
    f["levels.csv"] = LEVELS_HEAD + "".join(
        f"{lv},{r},{svc},{draw(st.integers(0, 10))},{mult},{draw(st.sampled_from([0, 0, 15]))},"
        f"{draw(st.sampled_from([0, 0.1]))}\n" for lv, r, svc, mult in LEVELS[:n_lev])
    budget = st.one_of(st.just(""), st.integers(0, 1500).map(str))
    f["periods.csv"] = "period,budget,discount\n" + "".join(
        f"{t},{draw(budget)},{draw(st.sampled_from([1, 0.9]))}\n" for t in pers)
    units = [(s, p) for s in segs for p in prods]
    units = draw(st.lists(st.sampled_from(units), min_size=1, max_size=min(3, len(units)),
                          unique=True))
    f["demand.csv"] = "segment,product,period,base_demand\n" + "".join(
        f"{s},{p},{t},{draw(st.integers(0, 100))}\n" for s, p in units for t in pers)
    f["response.csv"] = "segment,level,capture\n" + "".join(
        f"{s},{lv},{c}\n" for s in segs for (lv, _, _, _), c in
        zip(LEVELS[:n_lev], sorted(draw(st.lists(st.sampled_from([0.6, 0.8, 1.0]),
                                                   min_size=n_lev, max_size=n_lev))), strict=True))
    yaml = ["name: prop", f"switching_cost: {draw(st.sampled_from([0, 0, 40]))}",
            f"goodwill_retention: {draw(st.sampled_from([0, 0.5]))}",
            f"tier_ordering: {draw(st.booleans())}"]
    if draw(st.booleans()):
        yaml.append(f"max_changes: {draw(st.integers(0, 1))}")
    if draw(st.booleans()):
        yaml.append(f"total_budget: {draw(st.integers(0, 3000))}")
    if draw(st.booleans()):
        yaml.append(f"max_inventory_days: {draw(st.integers(0, 8))}")
    f["case.yaml"] = "\n".join(yaml) + "\n"
    if draw(st.booleans()):
        f["current.csv"] = "segment,product,level\n" + "".join(
            f"{s},{p},{draw(st.sampled_from(LEVELS[:n_lev]))[0]}\n" for s, p in units[:1])
    if draw(st.booleans()):
        f["usage.csv"] = "level,resource,per_unit\n" + "".join(
            f"{lv},WH,{r}\n" for lv, r, _, _ in LEVELS[:n_lev])
        f["capacity.csv"] = f"resource,period,capacity\nWH,{pers[0]},{draw(st.integers(0, 400))}\n"
    return f


class Folder:
    """A throwaway case folder (hypothesis runs many examples per test function)."""

    def __init__(self, files: dict[str, str]):
        self.path = Path(tempfile.mkdtemp(prefix="prop-"))
        for name, text in files.items():
            (self.path / name).write_text(text, encoding="utf-8")

    def __enter__(self) -> Path:
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


def run(files: dict[str, str]):
    with Folder(files) as folder:
        return solve(load_case(folder), mip_gap=0)


def plan_value(folder: Path, plan: dict[tuple[str, str], tuple[str, ...]]) -> float | None:
    """The SPEC objective of ``plan`` by the oracle's economics; None if it breaks a constraint."""
    case = OracleCase(folder)
    seqs = [case.sequence(u, plan[u]) for u in case.units]
    if any(s is None for s in seqs):
        return None
    rank = {lv: d["rank"] for lv, d in case.lev.items()}
    value, total = sum(s["value"] for s in seqs), 0.0
    for k, t in enumerate(case.periods):
        levels = {s["seq"][k] for s in seqs}
        fixed = sum(case.lev[lv]["fixed"] for lv in levels)
        spend = sum(s["spend"][k] for s in seqs) + fixed
        total += spend
        value -= case.discount[t] * fixed
        if case.budget[t] is not None and spend > case.budget[t] + 1e-6:
            return None
        if case.max_inv_days is not None:
            limit = float(case.max_inv_days) / case.period_days * sum(s["q"][k] for s in seqs)
            if sum(s["ss"][k] for s in seqs) > limit + 1e-6:
                return None
        if case.tier_ordering:
            for (sa, pa), a in zip(case.units, seqs, strict=True):
                for (sb, pb), b in zip(case.units, seqs, strict=True):
                    ta, tb = case.tier.get(sa), case.tier.get(sb)
                    if pa == pb and ta < tb and rank[a["seq"][k]] < rank[b["seq"][k]]:
                        return None
    if case.total_budget is not None and total > float(case.total_budget) + 1e-6:
        return None
    for key, cap in case.capacity.items():
        if sum(s["use"].get(key, 0.0) for s in seqs) > cap + 1e-6:
            return None
    return value


def plan_of(res) -> dict[tuple[str, str], tuple[str, ...]]:
    a = res.assignment
    by_unit = a.groupby(["segment", "product"], sort=False)
    return {(s, p): tuple(g["level"]) for (s, p), g in by_unit}


@SETTINGS
@given(cases())
def test_optimal_plan_matches_oracle_and_satisfies_every_constraint(files):
    with Folder(files) as folder:
        ref = best(folder)
        res = solve(load_case(folder), mip_gap=0)
        if ref.objective is None:
            assert res.status == "infeasible" and not res.explanation.empty
            return
        assert res.status == "optimal"
        assert res.objective == pytest.approx(ref.objective, abs=1e-5, rel=1e-7)
        value = plan_value(folder, plan_of(res))
        assert value is not None, "the returned plan breaks a SPEC constraint"
        assert value == pytest.approx(res.objective, abs=1e-5, rel=1e-7)
        assert res.solver_objective == pytest.approx(res.objective, abs=1e-4, rel=1e-6)


def _scaled(files: dict[str, str], factor: float, money: dict[str, list[str]]) -> dict[str, str]:
    import io

    out = dict(files)
    for name, cols in money.items():
        df = pd.read_csv(io.StringIO(files[name]), dtype=str, keep_default_na=False)
        for c in cols:
            num = pd.to_numeric(df[c].replace("", np.nan))
            df[c] = (num * factor).map(lambda v: "" if pd.isna(v) else repr(float(v)))
        out[name] = df.to_csv(index=False)
    return out


def _scale_yaml(text: str, factor: float, keys: tuple[str, ...]) -> str:
    lines = []
    for line in text.splitlines():
        key, _, value = line.partition(": ")
        lines.append(f"{key}: {float(value) * factor}" if key in keys else line)
    return "\n".join(lines) + "\n"


@SETTINGS
@given(cases())
def test_scaling_money_scales_the_objective(files):
    base = run(files)
    scaled = _scaled(files, 3.0, MONEY)
    scaled["case.yaml"] = _scale_yaml(files["case.yaml"], 3.0, ("switching_cost", "total_budget"))
    res = run(scaled)
    assert res.status == base.status
    if base.has_plan:
        assert res.objective == pytest.approx(3 * base.objective, abs=1e-5, rel=1e-7)


@SETTINGS
@given(cases())
def test_more_budget_never_lowers_the_optimum(files):
    base = run(files)
    more = _scaled(files, 1.5, {"periods.csv": ["budget"]})
    more["case.yaml"] = _scale_yaml(files["case.yaml"], 1.5, ("total_budget",))
    res = run(more)
    if base.has_plan:
        assert res.status == "optimal"
        assert res.objective >= base.objective - 1e-6


@SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_forbidding_a_chosen_level_never_raises_the_optimum(files, rnd):
    from svcplan.formulation.blocks import create_model
    from svcplan.formulation.data import prepare
    from svcplan.formulation.standard_form import standard_form
    from svcplan.solver.options import SolverOptions
    from svcplan.solver.strategy import solve_model

    base = run(files)
    if not base.has_plan:
        return
    with Folder(files) as folder:
        case = load_case(folder)
    data = prepare(case)
    opt = data.options
    sizes = opt.groupby(["u", "t"])["level"].transform("size")
    a = base.assignment.merge(opt.reset_index(), on=["segment", "product", "period", "level"])
    a = a[a["index"].map(sizes) > 1]
    if a.empty:
        return
    drop = int(a["index"].iloc[rnd.randrange(len(a))])
    data2 = prepare(case, options=opt.drop(index=drop).reset_index(drop=True))
    out = solve_model(standard_form(create_model(data2)), SolverOptions(mip_gap=0))
    if out.status == "optimal":
        assert out.objective <= base.solver_objective + 1e-6
    else:
        assert out.status == "infeasible"


@SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_permuting_rows_changes_nothing(files, rnd: random.Random):
    base = run(files)
    shuffled = {}
    for name, text in files.items():
        if not name.endswith(".csv") or name == "periods.csv":
            shuffled[name] = text
            continue
        head, *rows = text.strip().splitlines()
        rnd.shuffle(rows)
        shuffled[name] = "\n".join([head, *rows]) + "\n"
    res = run(shuffled)
    assert res.status == base.status
    if base.has_plan:
        assert res.objective == pytest.approx(base.objective, abs=1e-6, rel=1e-9)
