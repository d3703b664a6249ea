"""Tests of the synthetic case generator (no solver needed).

The budget test recomputes the economics of SPEC sections 2-4 here with pandas, independently of
the generator's numpy code, so a slip in either shows up as a mismatch.
"""

from __future__ import annotations

import time
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
import yaml

from svcplan.prep.generate import generate_case, write_case

SPEC_COLUMNS = {  # SPEC section 5, in SPEC order
    "segments": ["segment", "tier", "goodwill_sensitivity"],
    "products": ["product", "product_class", "unit_margin", "base_unit_cost", "holding_cost",
                 "demand_cv"],
    "levels": ["level", "rank", "service_target", "safety_factor", "lead_time_days",
               "cost_multiplier", "fixed_cost", "goodwill"],
    "periods": ["period", "budget", "discount"],
    "demand": ["segment", "product", "period", "base_demand"],
    "response": ["segment", "level", "capture", "product_class"],
    "policies": ["segment", "product_class", "min_level", "max_level"],
    "current": ["segment", "product", "level"],
    "capacity": ["resource", "period", "capacity"],
    "usage": ["level", "resource", "per_unit"],
}
ID_COLUMNS = {"segment", "product", "period", "level", "product_class", "min_level", "max_level",
              "resource"}


@pytest.fixture(scope="module")
def demo() -> tuple[dict[str, pd.DataFrame], dict]:
    return generate_case(demo_names=True, seed=7)


def test_columns_match_spec() -> None:
    tables, _ = generate_case(4, 12, 5, 6, seed=1, capacity=True)
    assert set(tables) == set(SPEC_COLUMNS)
    for stem, frame in tables.items():
        assert list(frame.columns) == SPEC_COLUMNS[stem], stem


def test_optional_tables_follow_flags() -> None:
    tables, settings = generate_case(3, 8, 3, 4, goodwill=False, switching=False, policies=False)
    assert {"policies", "current", "capacity", "usage"}.isdisjoint(tables)
    assert settings["switching_cost"] == 0 and settings["goodwill_retention"] == 0
    assert (tables["segments"].goodwill_sensitivity == 0).all()
    assert (tables["levels"].goodwill == 0).all()
    tables, settings = generate_case(3, 8, 3, 4)
    assert {"policies", "current"} <= set(tables)
    assert settings["switching_cost"] > 0 and 0 < settings["goodwill_retention"] < 1
    assert (tables["segments"].goodwill_sensitivity.between(0.02, 0.1)).all()


def test_deterministic_for_a_seed() -> None:
    a, sa = generate_case(4, 15, 4, 5, seed=11, capacity=True)
    b, sb = generate_case(4, 15, 4, 5, seed=11, capacity=True)
    c, _ = generate_case(4, 15, 4, 5, seed=12, capacity=True)
    assert sa == sb
    for stem in a:
        pd.testing.assert_frame_equal(a[stem], b[stem])
    assert not a["demand"].equals(c["demand"])


def test_shapes() -> None:
    s, p, n_lv, t = 3, 7, 4, 14
    tables, _ = generate_case(s, p, n_lv, t, seed=3)
    assert len(tables["segments"]) == s and len(tables["products"]) == p
    assert len(tables["levels"]) == n_lv and len(tables["periods"]) == t
    assert len(tables["demand"]) == s * p * t
    assert not tables["demand"].duplicated(["segment", "product", "period"]).any()
    assert len(tables["current"]) == s * p
    blank = tables["response"][tables["response"].product_class.isna()]
    assert len(blank) == s * n_lv and not blank.duplicated(["segment", "level"]).any()
    assert list(tables["periods"].period[[0, 11, 12, 13]]) == [
        "2026-01", "2026-12", "2027-01", "2027-02"]
    assert list(tables["levels"]["rank"]) == [1, 2, 3, 4]


def test_references_exist(demo: tuple[dict[str, pd.DataFrame], dict]) -> None:
    tables, _ = demo
    seg = set(tables["segments"].segment)
    prod = set(tables["products"]["product"])
    lvl = set(tables["levels"].level)
    per = set(tables["periods"].period)
    classes = set(tables["products"].product_class)
    for col in ("segment", "product", "period", "level"):
        assert tables[col + "s"][col].is_unique, col
    d = tables["demand"]
    assert set(d.segment) == seg and set(d["product"]) == prod and set(d.period) == per
    r = tables["response"]
    assert set(r.segment) == seg and set(r.level) == lvl
    assert set(r.product_class.dropna()) <= classes
    pol = tables["policies"]
    assert set(pol.min_level.dropna()) | set(pol.max_level.dropna()) <= lvl
    assert set(pol.segment.dropna()) <= seg and set(pol.product_class.dropna()) <= classes
    cur = tables["current"]
    assert set(cur.segment) <= seg and set(cur["product"]) <= prod and set(cur.level) <= lvl


def test_ranges_and_shape_of_economics(demo: tuple[dict[str, pd.DataFrame], dict]) -> None:
    tables, _ = demo
    lv, pr = tables["levels"], tables["products"]
    assert lv.service_target.between(0, 1, inclusive="neither").all()
    assert lv.service_target.is_monotonic_increasing and lv.cost_multiplier.is_monotonic_increasing
    assert lv.lead_time_days.is_monotonic_decreasing and lv.goodwill.is_monotonic_increasing
    assert (lv.fixed_cost >= 0).all() and lv.fixed_cost.iloc[-1] > 0
    assert (pr.base_unit_cost < 0.5 * pr.unit_margin).all() and (pr.holding_cost > 0).all()
    assert pr.demand_cv.between(0.2, 0.8).all()
    assert set(pr.product_class) == {"star", "cash_cow", "question_mark", "dog"}
    assert tables["response"].capture.between(0, 1.2).all()
    assert (tables["demand"].base_demand >= 0).all() and tables["demand"].base_demand.sum() > 0
    assert (tables["periods"].budget >= 0).all()
    assert tables["segments"].tier.is_monotonic_increasing
    assert list(tables["segments"].segment) == ["KEY", "LARGE", "MID", "SMALL", "OCCASIONAL"]
    assert list(lv.level) == ["ECONOMY", "STANDARD", "EXPRESS", "PRIORITY", "PREMIUM"]


def test_capture_is_s_shaped_and_differs_by_segment(
        demo: tuple[dict[str, pd.DataFrame], dict]) -> None:
    r = demo[0]["response"]
    spread = {}
    for (seg, cls), g in r.fillna({"product_class": ""}).groupby(["segment", "product_class"]):
        assert g.capture.is_monotonic_increasing, (seg, cls)
        spread[seg, cls] = g.capture.max() - g.capture.min()
    assert spread["KEY", ""] > 2 * spread["OCCASIONAL", ""]
    assert spread["KEY", "star"] > spread["KEY", ""] > spread["KEY", "dog"]
    key = r[(r.segment == "KEY") & r.product_class.isna()].capture.to_numpy()
    assert key[0] < 0.5 and key[-1] > 1.0  # low at economy, saturates high


def test_policies_leave_levels_and_current_is_allowed(
        demo: tuple[dict[str, pd.DataFrame], dict]) -> None:
    tables, _ = demo
    allowed = _allowed(tables)
    assert allowed.groupby(["segment", "product"]).size().min() >= 1
    cur = tables["current"].merge(allowed, on=["segment", "product", "level"], how="left",
                                  indicator=True)
    assert (cur["_merge"] == "both").all()
    ranks = allowed.groupby("product_class")["rank"].max()
    assert ranks["dog"] == 3 and ranks["star"] == 5


def _allowed(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Units x levels allowed by policies.csv (min/max level compared by rank)."""
    lv = tables["levels"][["level", "rank"]]
    rank = dict(zip(lv.level, lv["rank"], strict=True))
    units = tables["demand"][["segment", "product"]].drop_duplicates()
    units = units.merge(tables["products"][["product", "product_class"]], on="product")
    x = units.merge(lv, how="cross")
    keep = pd.Series(True, index=x.index)
    for _, pol in tables.get("policies", pd.DataFrame()).iterrows():
        hit = pd.Series(True, index=x.index)
        if pd.notna(pol.segment):
            hit &= x.segment == pol.segment
        if pd.notna(pol.product_class):
            hit &= x.product_class == pol.product_class
        if pd.notna(pol.min_level):
            keep &= ~(hit & (x["rank"] < rank[pol.min_level]))
        if pd.notna(pol.max_level):
            keep &= ~(hit & (x["rank"] > rank[pol.max_level]))
    return x[keep]


def _plans(tables: dict[str, pd.DataFrame], settings: dict) -> list[pd.DataFrame]:
    """Options (SPEC section 2) of the cheapest and of the most profitable plan, level kept."""
    lv, pr, seg = tables["levels"], tables["products"], tables["segments"]
    x = _allowed(tables).merge(tables["demand"], on=["segment", "product"])
    x = x.merge(pr.drop(columns="product_class"), on="product").merge(
        lv.drop(columns="rank"), on="level").merge(seg, on="segment")
    r = tables["response"]
    x = x.merge(r[r.product_class.isna()].drop(columns="product_class"), on=["segment", "level"])
    special = r[r.product_class.notna()].rename(columns={"capture": "class_capture"})
    x = x.merge(special, on=["segment", "level", "product_class"], how="left")
    x["q"] = x.base_demand * x.class_capture.fillna(x.capture)
    z = x.service_target.map(NormalDist().inv_cdf)
    ss = z * x.demand_cv * x.q * np.sqrt(x.lead_time_days / settings["period_days"])
    x["cost"] = x.q * x.base_unit_cost * x.cost_multiplier + x.holding_cost * ss
    x["profit"] = x.q * x.unit_margin - x.cost
    # grouped by rank so ties (units without demand) go to the lowest rank, as in the generator
    per_option = x.groupby(["segment", "product", "rank"])[["cost", "profit"]].sum()
    x = x.set_index(["segment", "product", "rank"])
    return [x.loc[list(pick)].reset_index()
            for pick in (per_option.cost.groupby(level=[0, 1]).idxmin(),
                         per_option.profit.groupby(level=[0, 1]).idxmax())]


def _plan_use(tables: dict[str, pd.DataFrame], settings: dict) -> list[np.ndarray]:
    """Per-period budget use (SPEC section 4) of the cheapest and of the most profitable plan."""
    periods = list(tables["periods"].period)
    out = []
    for chosen in _plans(tables, settings):
        use = chosen.groupby("period").cost.sum().reindex(periods).to_numpy()
        fixed = tables["levels"].set_index("level").fixed_cost[chosen.level.unique()].sum()
        chosen = chosen.assign(t=chosen.period.map(periods.index)).sort_values("t")
        g = pd.Series(0.0, index=pd.MultiIndex.from_frame(chosen[["segment", "product"]]
                                                          .drop_duplicates()))
        lift_cost = np.zeros(len(periods))
        for t, rows in chosen.groupby("t"):
            rows = rows.set_index(["segment", "product"])
            lift = rows.goodwill_sensitivity * rows.base_demand * g[rows.index]
            lift_cost[t] = (lift * rows.base_unit_cost).sum()
            g = settings["goodwill_retention"] * g + rows.goodwill.reindex(g.index)
        out.append(use + fixed + lift_cost)
    return out


@pytest.mark.parametrize("kwargs", [{}, {"goodwill": False, "policies": False}])
def test_budget_between_cheapest_and_best_plan(kwargs: dict) -> None:
    tables, settings = generate_case(4, 20, 5, 6, seed=5, **kwargs)
    low, high = _plan_use(tables, settings)
    budget = tables["periods"].budget.to_numpy()
    assert (low < budget).all() and (budget < high).all()
    assert budget == pytest.approx(low + 0.75 * (high - low), abs=0.01)


def test_tightness_zero_is_the_cheapest_plan() -> None:
    tables, settings = generate_case(3, 10, 5, 4, seed=2, tightness=0.0)
    low, _ = _plan_use(tables, settings)
    assert tables["periods"].budget.to_numpy() == pytest.approx(low, abs=0.01)


def test_capacity_between_plans() -> None:
    tables, settings = generate_case(3, 10, 5, 4, seed=2, capacity=True)
    cap, usage = tables["capacity"], tables["usage"]
    assert set(usage.level) <= set(tables["levels"].level)
    assert set(cap.resource) == set(usage.resource) == {"PICKING", "EXPRESS_FLEET"}
    low, high = (plan.merge(usage, on="level").assign(need=lambda d: d.q * d.per_unit)
                 .groupby(["resource", "period"]).need.sum() for plan in _plans(tables, settings))
    cap = cap.set_index(["resource", "period"]).capacity
    low = low.reindex(cap.index, fill_value=0.0)
    assert (low < cap).all() and (cap < high[cap.index]).all()


def test_invalid_sizes_raise() -> None:
    with pytest.raises(ValueError):
        generate_case(levels=1)
    with pytest.raises(ValueError):
        generate_case(products=0)


def test_large_case_is_fast() -> None:
    start = time.perf_counter()
    tables, _ = generate_case(10, 2000, 5, 12, seed=1)
    assert time.perf_counter() - start < 10
    assert len(tables["demand"]) == 240_000


def _read_csv_case(path) -> tuple[dict[str, pd.DataFrame], dict]:
    tables = {f.stem: pd.read_csv(f, dtype={c: str for c in ID_COLUMNS}, encoding="utf-8")
              for f in sorted(path.glob("*.csv"))}
    return tables, yaml.safe_load((path / "case.yaml").read_text(encoding="utf-8"))


def _read_xlsx_case(path) -> tuple[dict[str, pd.DataFrame], dict]:
    sheets = pd.read_excel(path, sheet_name=None, dtype={c: str for c in ID_COLUMNS})
    case = sheets.pop("case")
    return sheets, dict(zip(case.key, case.value, strict=True))


def _assert_same(written: dict[str, pd.DataFrame], read: dict[str, pd.DataFrame]) -> None:
    assert set(written) == set(read)
    for stem, frame in written.items():
        back = read[stem]
        assert list(back.columns) == list(frame.columns), stem
        for col in frame.columns:
            if col in ID_COLUMNS:
                a = frame[col].astype(object).where(frame[col].notna(), None).tolist()
                b = back[col].astype(object).where(back[col].notna(), None).tolist()
                assert a == b, (stem, col)
            else:
                np.testing.assert_allclose(pd.to_numeric(back[col]).to_numpy(dtype=float),
                                           frame[col].to_numpy(dtype=float), err_msg=stem)


@pytest.fixture
def unicode_case() -> tuple[dict[str, pd.DataFrame], dict]:
    """A small case with a Chinese segment id and name, to catch ASCII assumptions."""
    tables, settings = generate_case(3, 6, 3, 3, seed=4, capacity=True, name="演示")
    old = tables["segments"].segment.iloc[0]
    for frame in tables.values():
        if "segment" in frame.columns:
            frame["segment"] = frame["segment"].replace({old: "重点客户"})
    return tables, settings


def test_write_case_csv_round_trip(tmp_path, unicode_case) -> None:
    tables, settings = unicode_case
    (tmp_path / "options.csv").write_text("stale", encoding="utf-8")
    write_case(tables, settings, tmp_path)
    read, read_settings = _read_csv_case(tmp_path)
    _assert_same(tables, read)
    assert read_settings == settings and list(read_settings) == list(settings)
    assert "重点客户" in (tmp_path / "segments.csv").read_text(encoding="utf-8")


def test_write_case_xlsx_round_trip(tmp_path, unicode_case) -> None:
    tables, settings = unicode_case
    path = write_case(tables, settings, tmp_path / "sub" / "case.xlsx")
    read, flat = _read_xlsx_case(path)
    _assert_same(tables, read)
    expected = {k: v for k, v in settings.items() if k != "solver"}
    expected["solver.mip_gap"] = settings["solver"]["mip_gap"]
    assert flat == expected
