"""Option economics (SPEC §2) checked cell by cell against hand arithmetic; no solver."""

from __future__ import annotations

import math
from statistics import NormalDist

import pandas as pd
import pytest
from casefiles import write_case

from svcplan import load_case
from svcplan.case.units import allowed_options
from svcplan.economics.options import level_table, option_table

FILES = {
    "case.yaml": "name: econ\nperiod_days: 20\n",
    "segments.csv": "segment,tier\nKEY,1\nWEB,2\n",
    "products.csv": (
        "product,product_class,unit_margin,base_unit_cost,holding_cost,demand_cv\n"
        "P,star,10,2,0.5,0.4\nQ,dog,6,1,0,0\n"
    ),
    "levels.csv": (
        "level,rank,service_target,safety_factor,lead_time_days,cost_multiplier\n"
        "LO,1,0.9,,5,1\nHI,2,,2.5,1,1.5\n"
    ),
    "periods.csv": "period,budget\nM1,100\nM2,\n",
    "demand.csv": "segment,product,period,base_demand\nKEY,P,M1,100\nWEB,Q,M2,40\n",
    "response.csv": (
        "segment,level,capture,product_class\nKEY,LO,0.5,\nKEY,HI,0.9,\nKEY,HI,1.1,star\n"
        "WEB,LO,0.8,\nWEB,HI,1.0,\n"
    ),
    "unit_costs.csv": "product,level,unit_cost\nQ,HI,4\n",
    "options.csv": "segment,product,period,level,revenue,cost,units\nOEM,P,M1,LO,70,20,9\n",
    "policies.csv": "segment,product_class,min_level,max_level\n,dog,,LO\n",
}
FILES["segments.csv"] += "OEM,\n"


@pytest.fixture(scope="module")
def options(tmp_path_factory):
    case = load_case(write_case(tmp_path_factory.mktemp("econ"), FILES))
    return option_table(case).set_index(["segment", "product", "period", "level"])


def test_derived_option_matches_hand_arithmetic(options):
    row = options.loc[("KEY", "P", "M1", "LO")]
    q = 100 * 0.5
    z = NormalDist().inv_cdf(0.9)
    ss = z * 0.4 * q * math.sqrt(5 / 20)
    assert row["units"] == pytest.approx(q)
    assert row["revenue"] == pytest.approx(q * 10)
    assert row["safety_stock"] == pytest.approx(ss)
    assert row["cost"] == pytest.approx(q * 2 * 1 + 0.5 * ss)
    assert row["profit"] == pytest.approx(q * 10 - q * 2 - 0.5 * ss)


def test_class_row_wins_and_safety_factor_wins(options):
    row = options.loc[("KEY", "P", "M1", "HI")]
    q = 100 * 1.1  # the star row, not the blank-class 0.9
    ss = 2.5 * 0.4 * q * math.sqrt(1 / 20)  # safety_factor given: no quantile
    assert row["capture"] == pytest.approx(1.1)
    assert row["cost"] == pytest.approx(q * 2 * 1.5 + 0.5 * ss)


def test_missing_demand_is_zero_and_unit_costs_override(options):
    assert options.loc[("KEY", "P", "M2", "HI")]["units"] == 0
    # Q is a dog: the policy caps it at LO, so no HI option exists at all (sparse).
    assert ("WEB", "Q", "M2", "HI") not in options.index
    assert options.loc[("WEB", "Q", "M2", "LO")]["cost"] == pytest.approx(40 * 0.8 * 1 * 1)


def test_explicit_options_replace_and_restrict(options):
    row = options.loc[("OEM", "P", "M1", "LO")]
    assert (row["revenue"], row["cost"], row["units"], row["safety_stock"]) == (70, 20, 9, 0)
    assert bool(row["explicit"])
    oem_levels = {lv for (s, _, _, lv) in options.index if s == "OEM"}
    assert oem_levels == {"LO"}
    # M2 has no options.csv row: derived from tables with base_demand 0.
    assert options.loc[("OEM", "P", "M2", "LO")]["revenue"] == 0


def test_unit_cost_override_is_used(tmp_path):
    files = dict(FILES)
    files["policies.csv"] = "segment,product_class,min_level,max_level\n"
    case = load_case(write_case(tmp_path, files))
    opt = option_table(case).set_index(["segment", "product", "period", "level"])
    q = 40 * 1.0
    assert opt.loc[("WEB", "Q", "M2", "HI")]["cost"] == pytest.approx(q * 4)


def test_level_table_z_and_service(tmp_path):
    case = load_case(write_case(tmp_path, FILES))
    lv = level_table(case).set_index("level")
    assert lv.loc["LO", "z"] == pytest.approx(NormalDist().inv_cdf(0.9))
    assert lv.loc["HI", "z"] == 2.5
    assert lv.loc["HI", "service"] == pytest.approx(NormalDist().cdf(2.5))


def test_allowed_options_intersect_policies(tmp_path):
    files = dict(FILES)
    files["policies.csv"] = "segment,product_class,min_level,max_level\nKEY,,HI,\n,star,,HI\n"
    case = load_case(write_case(tmp_path, files))
    allowed = allowed_options(case.tables)
    got = set(map(tuple, allowed[allowed["allowed"]][["segment", "product", "level"]].to_numpy()))
    assert ("KEY", "P", "LO") not in got
    assert ("KEY", "P", "HI") in got
    assert {("WEB", "Q", "LO"), ("WEB", "Q", "HI")} <= got
    assert isinstance(allowed, pd.DataFrame)
