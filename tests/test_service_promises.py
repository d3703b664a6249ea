"""Safety stock and the two promises of an option (cycle service, fill rate), checked against an
independent computation: the demand density integrated numerically (scipy.integrate.quad) for
every rule (safety_factor, service_target, fill_rate, none) × distribution (normal, gamma) ×
review (0, > 0) × lead-time spread (0, > 0). Also: the formula of earlier versions keeps its
bits, and every bad input of the new columns is located (file, row, column; exit 2)."""

from __future__ import annotations

import itertools
import math
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest
from casefiles import write_case
from scipy import integrate, stats
from typer.testing import CliRunner

from svcplan import CaseError, load_case, solve
from svcplan.case.case import Case
from svcplan.cli.app import app
from svcplan.economics.options import inventory_table, option_table
from svcplan.outputs.tables import MEANS, weighted_means

PERIOD_DAYS = 30.0
LEAD = 9.0
CV = 0.6
RULES = {"safety_factor": 1.3, "service_target": 0.9, "fill_rate": 0.97, "none": None}
REVIEWS = (0.0, 7.0)
SPREADS = (0.0, 3.0)
DISTS = ("normal", "gamma")


def _grid_case() -> Case:
    """One product per distribution, one level per rule × review × spread."""
    rows = []
    for rank, (rule, review, spread) in enumerate(itertools.product(RULES, REVIEWS, SPREADS), 1):
        row = {"level": f"L{rank}", "rank": rank, "lead_time_days": LEAD, "review_days": review,
               "lead_time_sd_days": spread}
        if RULES[rule] is not None:
            row[rule] = RULES[rule]
        rows.append(row)
    levels = pd.DataFrame(rows)
    products = pd.DataFrame({"product": list(DISTS), "unit_margin": 10.0, "demand_cv": CV,
                             "demand_distribution": list(DISTS)})
    demand = pd.DataFrame({"segment": "S", "product": list(DISTS), "period": "T", "base_demand": 40.0})
    return Case.from_tables({"segments": pd.DataFrame({"segment": ["S"]}), "products": products,
                             "levels": levels, "periods": pd.DataFrame({"period": ["T"]}),
                             "demand": demand}, {"name": "grid", "period_days": PERIOD_DAYS})


def _density(dist: str, mu: float, sigma: float):
    if dist == "normal":
        return stats.norm(mu, sigma), -np.inf
    return stats.gamma((mu / sigma) ** 2, scale=sigma**2 / mu), 0.0


def _shortage(pdf, low: float, s: float) -> float:
    """E[(D - s)^+] by integrating (x - s)·f(x) over x > s."""
    a = max(s, low)
    value, _ = integrate.quad(lambda x: (x - s) * pdf(x), a, np.inf, epsabs=1e-13, epsrel=1e-11)
    return value + max(low - s, 0.0)  # below the support every unit of (low - s) is short too


def _cdf(pdf, low: float, s: float, mu: float) -> float:
    """P(D <= s) by integrating the density (split at the mean, where the mass is)."""
    if s <= low:
        return 0.0
    a, _ = integrate.quad(pdf, low, min(s, mu), epsabs=1e-13) if s > low else (0.0, 0)
    b, _ = integrate.quad(pdf, mu, s, epsabs=1e-13) if s > mu else (0.0, 0)
    return a + b


GRID = list(itertools.product(DISTS, RULES, REVIEWS, SPREADS))


@pytest.fixture(scope="module")
def grid() -> pd.DataFrame:
    return inventory_table(_grid_case()).set_index(["product", "level"])


@pytest.mark.parametrize(("dist", "rule", "review", "spread"), GRID)
def test_safety_stock_and_promises_match_integration(grid, dist, rule, review, spread):
    level = f"L{GRID.index((dist, rule, review, spread)) % (len(RULES) * 4) + 1}"
    row = grid.loc[(dist, level)]
    assert row["rule"] == rule and row["review_days"] == review and row["lead_time_sd_days"] == spread
    # SPEC §2 by hand, q = 1
    p = LEAD + review
    mu = p / PERIOD_DAYS
    sigma = math.sqrt(p / PERIOD_DAYS * CV**2 + (spread / PERIOD_DAYS) ** 2)
    cycle = (review if review > 0 else PERIOD_DAYS) / PERIOD_DAYS
    assert row["mean_per_unit"] == pytest.approx(mu, rel=1e-14)
    assert row["sd_per_unit"] == pytest.approx(sigma, rel=1e-14)
    assert row["cycle_per_unit"] == pytest.approx(cycle, rel=1e-14)
    d, low = _density(dist, mu, sigma)
    ss = row["safety_stock_per_unit"]
    es = _shortage(d.pdf, low, mu + ss)
    cyc = _cdf(d.pdf, low, mu + ss, mu)
    assert row["cycle_service"] == pytest.approx(cyc, abs=1e-8)
    assert row["fill_rate"] == pytest.approx(max(0.0, 1 - es / cycle), abs=1e-8)
    if rule == "safety_factor":
        assert ss == pytest.approx(RULES[rule] * sigma, rel=1e-12)
    elif rule == "service_target":
        assert cyc == pytest.approx(RULES[rule], abs=1e-8)
        assert row["cycle_service"] == RULES[rule]
    elif rule == "fill_rate":
        limit = (1 - RULES[rule]) * cycle
        assert ss >= 0 and es <= limit * (1 + 1e-8)
        # the smallest such stock: a little less and the shortage is above the limit
        assert ss == 0 or _shortage(d.pdf, low, mu + ss - 1e-6 * sigma) > limit
        assert row["fill_rate"] >= RULES[rule]
    else:
        assert ss == 0


def test_distributions_have_the_bits_of_scipy_stats():
    """The scipy.special wrappers equal scipy.stats.norm / gamma bit for bit, edges included:
    below and at the support's end, infinities, NaN, q = 0 and 1 and outside [0, 1]; a
    different edge rule or a rounding difference fails ``array_equal``."""
    from svcplan.economics import service as sv

    x = np.array([-np.inf, -3.0, -1e-300, -0.0, 0.0, 1e-300, 0.3, 1.0, 7.5, 40.0, 1e6, np.inf,
                  np.nan])
    k = np.array([0.05, 0.7, 1.0, 2.5, 30.0, 4e4])
    theta = np.array([1e-3, 0.4, 1.0, 9.0])
    X, K, T = (a.ravel() for a in np.meshgrid(x, k, theta, indexing="ij"))
    same = lambda a, b: np.array_equal(a, b, equal_nan=True)  # noqa: E731
    with np.errstate(all="ignore"):
        assert same(sv._gamma_cdf(X, K, T), stats.gamma.cdf(X, K, scale=T))
        assert same(sv._gamma_sf(X, K, T), stats.gamma.sf(X, K, scale=T))
        assert same(sv._norm_pdf(x), stats.norm.pdf(x))
        # invalid shape or scale: NaN, as scipy.stats
        bad = np.array([0.0, -1.0, np.nan])
        assert same(sv._gamma_cdf(np.full(3, 2.0), bad, np.ones(3)), np.full(3, np.nan))
        assert same(sv._gamma_sf(np.full(3, 2.0), np.ones(3), bad), np.full(3, np.nan))
        q = np.array([-0.1, 0.0, 1e-12, 0.05, 0.5, 0.95, 0.999999, 1.0, 1.1, np.nan])
        Q, K2, T2 = (a.ravel() for a in np.meshgrid(q, k, theta, indexing="ij"))
        assert same(sv._gamma_ppf(Q, K2, T2), stats.gamma.ppf(Q, K2, scale=T2))
        assert same(sv._gamma_ppf(np.full(3, 0.5), bad, np.ones(3)), np.full(3, np.nan))
        # the public functions, normal and gamma side by side
        mu, sigma = np.array([10.0, 10.0, 3.0]), np.array([2.0, 2.0, 4.0])
        g = np.array([False, True, True])
        for at in (-5.0, 0.0, 2.0, 11.0):
            want = np.where(g, stats.gamma.cdf(at, (mu / sigma) ** 2, scale=sigma**2 / mu),
                            stats.norm.cdf((at - mu) / sigma))
            assert same(sv.demand_cdf(at, mu, sigma, g), want)


def test_fill_rate_already_met_without_stock_gives_zero():
    """A fill rate that the mean alone achieves needs no safety stock (the smallest ss >= 0)."""
    case = _grid_case()
    lv = case.tables["levels"].copy()
    lv["fill_rate"] = np.where(lv["fill_rate"].notna(), 0.2, np.nan)
    inv = inventory_table(Case.from_tables({**case.tables, "levels": lv}, {"period_days": PERIOD_DAYS}))
    zero = 0
    for r in inv[inv["rule"] == "fill_rate"].itertuples():
        d, low = _density(r.distribution, r.mean_per_unit, r.sd_per_unit)
        met = _shortage(d.pdf, low, r.mean_per_unit) <= 0.8 * r.cycle_per_unit
        assert (r.safety_stock_per_unit == 0) == met
        zero += met
    assert zero >= 4


def test_no_protection_interval_or_no_spread_promises_everything():
    """P = 0 or sigma = 0: no safety stock and both promises are 1, whatever the rule."""
    tables = _grid_case().tables
    lv = tables["levels"].assign(lead_time_days=0.0, review_days=0.0)
    inv = inventory_table(Case.from_tables({**tables, "levels": lv}, {"period_days": PERIOD_DAYS}))
    assert (inv["safety_stock_per_unit"] == 0).all()
    assert (inv[["cycle_service", "fill_rate"]] == 1).all().all()
    pr = tables["products"].assign(demand_cv=0.0)
    lv = tables["levels"].assign(lead_time_sd_days=0.0)
    inv = inventory_table(Case.from_tables({**tables, "products": pr, "levels": lv}, {"period_days": PERIOD_DAYS}))
    assert (inv["safety_stock_per_unit"] == 0).all()
    assert (inv[["cycle_service", "fill_rate"]] == 1).all().all()


def test_option_safety_stock_scales_with_units_and_promises_do_not():
    case = _grid_case()
    opt = option_table(case)
    inv = inventory_table(case)
    m = opt.merge(inv, on=["product", "level"], suffixes=("", "_inv"))
    assert len(m) == len(opt) and (m["units"] == 40.0).all()
    assert np.allclose(m["safety_stock"], 40.0 * m["safety_stock_per_unit"], rtol=1e-13, atol=0)
    assert (m["cycle_service"] == m["cycle_service_inv"]).all()
    assert (m["fill_rate"] == m["fill_rate_inv"]).all()


def test_old_formula_keeps_its_bits():
    """No review, no spread, normal demand: ss = z·cv·q·sqrt(LT/pd) with the NormalDist z,
    multiplied in that order, bit for bit (every existing optimum depends on it)."""
    levels = pd.DataFrame({"level": ["A", "B", "C"], "rank": [1, 2, 3],
                           "service_target": [0.83, np.nan, 0.977], "safety_factor": [np.nan, 1.7, np.nan],
                           "lead_time_days": [11.0, 3.0, 7.0]})
    products = pd.DataFrame({"product": ["P"], "unit_margin": [5.0], "demand_cv": [0.37]})
    demand = pd.DataFrame({"segment": "S", "product": "P", "period": ["T1", "T2"], "base_demand": [123.4, 7.9]})
    case = Case.from_tables({"segments": pd.DataFrame({"segment": ["S"]}), "products": products,
                             "levels": levels, "periods": pd.DataFrame({"period": ["T1", "T2"]}),
                             "demand": demand}, {"period_days": 28})
    opt = option_table(case)
    z = {"A": NormalDist().inv_cdf(0.83), "B": 1.7, "C": NormalDist().inv_cdf(0.977)}
    lt = dict(zip(levels["level"], levels["lead_time_days"], strict=True))
    for r in opt.itertuples():
        assert r.safety_stock == z[r.level] * 0.37 * r.units * math.sqrt(lt[r.level] / 28)
    assert opt.loc[opt["level"] == "A", "cycle_service"].eq(0.83).all()


def test_explicit_options_default_to_the_level_promises():
    levels = pd.DataFrame({"level": ["A", "B"], "rank": [1, 2], "service_target": [0.8, np.nan],
                           "fill_rate": [np.nan, 0.95]})
    options = pd.DataFrame({"segment": "S", "product": "P", "period": "T", "level": ["A", "B"],
                            "revenue": [10.0, 12.0], "cost": [1.0, 2.0], "fill_rate": [0.9, np.nan]})
    case = Case.from_tables({"segments": pd.DataFrame({"segment": ["S"]}),
                             "products": pd.DataFrame({"product": ["P"], "unit_margin": [1.0]}),
                             "levels": levels, "periods": pd.DataFrame({"period": ["T"]}),
                             "options": options})
    opt = option_table(case).set_index("level")
    assert opt.loc["A", "cycle_service"] == 0.8 and opt.loc["A", "fill_rate"] == 0.9
    assert np.isnan(opt.loc["B", "cycle_service"]) and opt.loc["B", "fill_rate"] == 0.95


def test_several_rules_on_a_level_warn_which_wins(tmp_path):
    case = load_case(write_case(tmp_path, {**GOOD, "levels.csv": """
        level,rank,safety_factor,service_target,fill_rate
        LO,1,,0.8,0.9
        HI,2,2,0.95,
    """}))
    said = [w for w in case.warnings if "sets its safety stock" in w]
    assert len(said) == 2
    assert "row 2" in said[0] and "service_target sets" in said[0] and "fill_rate is ignored" in said[0]
    assert "row 3" in said[1] and "safety_factor sets" in said[1]
    inv = inventory_table(case).set_index("level")
    assert inv.loc["LO", "rule"] == "service_target" and inv.loc["HI", "rule"] == "safety_factor"


def test_distribution_is_read_case_insensitively_and_defaults_to_normal(tmp_path):
    case = load_case(write_case(tmp_path, {**GOOD, "products.csv": """
        product,unit_margin,demand_cv,demand_distribution
        P,10,0.5, Gamma
        Q,8,0.5,
    """}))
    assert list(case.tables["products"]["demand_distribution"]) == ["gamma", "normal"]


GOOD = {
    "case.yaml": "name: v\n",
    "segments.csv": "segment\nA\n",
    "products.csv": "product,unit_margin,demand_cv\nP,10,0.5\n",
    "levels.csv": "level,rank,service_target,lead_time_days\nLO,1,0.8,10\nHI,2,0.95,2\n",
    "periods.csv": "period\nT1\n",
    "demand.csv": "segment,product,period,base_demand\nA,P,T1,10\n",
}

BAD = [
    ("levels.csv", "level,rank,fill_rate\nLO,1,1\nHI,2,0.9\n", 2, "fill_rate", "out of range"),
    ("levels.csv", "level,rank,fill_rate\nLO,1,0.9\nHI,2,0\n", 3, "fill_rate", "out of range"),
    ("levels.csv", "level,rank,service_target\nLO,1,0\nHI,2,0.9\n", 2, "service_target", "out of range"),
    ("levels.csv", "level,rank,review_days\nLO,1,-1\nHI,2,7\n", 2, "review_days", "out of range"),
    ("levels.csv", "level,rank,lead_time_sd_days\nLO,1,1\nHI,2,-0.5\n", 3, "lead_time_sd_days",
     "out of range"),
    ("products.csv", "product,unit_margin,demand_distribution\nP,10,gama\n", 2, "demand_distribution",
     "did you mean 'gamma'"),
    ("products.csv", "product,unit_margin,demand_distribution\nP,10,poisson\n", 2, "demand_distribution",
     "must be 'normal' or 'gamma'"),
    ("options.csv", "segment,product,period,level,revenue,cost,cycle_service\nA,P,T1,LO,1,1,1.5\n", 2,
     "cycle_service", "out of range"),
    ("options.csv", "segment,product,period,level,revenue,cost,fill_rate\nA,P,T1,LO,1,1,-0.1\n", 2,
     "fill_rate", "out of range"),
]


@pytest.mark.parametrize(("file", "text", "row", "column", "words"), BAD)
def test_bad_new_columns_are_located(tmp_path, file, text, row, column, words):
    folder = write_case(tmp_path, {**GOOD, file: text})
    with pytest.raises(CaseError) as exc:
        load_case(folder)
    hits = [p for p in exc.value.problems if p.file == file and p.row == row and p.column == column]
    assert hits and words in hits[0].message, exc.value.problems


def test_bad_new_column_exits_2_without_output(tmp_path):
    file, text, row, column, _ = BAD[5]
    folder = write_case(tmp_path, {**GOOD, file: text})
    out = tmp_path / "out"
    res = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out)])
    assert res.exit_code == 2
    assert f"{file}, row {row}, column '{column}'" in res.output and "Traceback" not in res.output
    assert not out.exists()


def test_outputs_report_promises_weighted_by_demand(tmp_path):
    """assignment.csv carries each chosen option's safety stock and promises; the KPI tables
    weight them by base demand (per period, segment and class) and summary.json has both."""
    files = {**GOOD, "segments.csv": "segment\nA\nB\n",
             "levels.csv": "level,rank,fill_rate,review_days,lead_time_days\nLO,1,0.9,7,10\n",
             "products.csv": "product,product_class,unit_margin,demand_cv,demand_distribution\n"
                             "P,x,10,0.5,gamma\nQ,x,10,0.2,normal\n",
             "demand.csv": "segment,product,period,base_demand\nA,P,T1,30\nB,Q,T1,10\n"}
    res = solve(load_case(write_case(tmp_path, files)), marginals=False)
    inv = inventory_table(load_case(write_case(tmp_path, files, "again"))).set_index("product")
    a = res.assignment.set_index("product")
    for p, q in (("P", 30.0), ("Q", 10.0)):
        assert a.loc[p, "fill_rate"] == inv.loc[p, "fill_rate"] >= 0.9
        assert a.loc[p, "cycle_service"] == inv.loc[p, "cycle_service"]
        assert a.loc[p, "safety_stock"] == pytest.approx(q * inv.loc[p, "safety_stock_per_unit"])
    want = (30 * inv.loc["P", "cycle_service"] + 10 * inv.loc["Q", "cycle_service"]) / 40
    assert res.periods["mean_cycle_service"].iloc[0] == pytest.approx(want)
    assert res.classes["mean_cycle_service"].iloc[0] == pytest.approx(want)
    seg = res.segments.set_index("segment")
    assert seg.loc["B", "mean_fill_rate"] == pytest.approx(inv.loc["Q", "fill_rate"])
    kpis = res.summary()["kpis"]
    assert kpis["mean_cycle_service"] == pytest.approx(want)


def test_kpi_means_without_demand_are_plain_means():
    """A group without demand (a period nobody orders in) still shows the service of its
    levels: the plain mean, where the demand-weighted one would divide by zero. Groups keep
    the order in which they first appear, and every mean of :data:`MEANS` is there."""
    a = pd.DataFrame({"period": ["T2", "T2", "T1", "T1"], "base_demand": [0.0, 0.0, 30.0, 10.0],
                      "service": [0.8, 0.6, 0.9, 0.5], "cycle_service": [0.7, 0.5, 0.95, 0.55],
                      "fill_rate": [0.9, 0.7, 0.99, 0.8], "rank": [2, 4, 1, 3]})
    m = weighted_means(a, "period")
    assert list(m.columns) == list(MEANS) and list(m.index) == ["T2", "T1"]
    assert m.loc["T1"].tolist() == pytest.approx([(30 * 0.9 + 10 * 0.5) / 40,
                                                  (30 * 0.95 + 10 * 0.55) / 40,
                                                  (30 * 0.99 + 10 * 0.8) / 40, (30 + 30) / 40])
    assert m.loc["T2"].tolist() == pytest.approx([0.7, 0.6, 0.8, 3.0])

