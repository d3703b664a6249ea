"""Calibration tools on small known data: exact logistic recovery, the two-point line,
ABC and growth/share classes against hand-computed tables, and the CLI end to end."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from svcplan.cli.app import app
from svcplan.prep import calibrate as cal

LEVELS = pd.DataFrame({"level": ["ECO", "STD", "EXP", "PRI"], "rank": [1, 2, 3, 4],
                       "service_target": [0.80, 0.90, 0.95, 0.99]})
SERVICE = cal.level_service(LEVELS)


def test_level_service_uses_safety_factor_when_no_target():
    lv = pd.DataFrame({"level": ["B", "A"], "rank": [2, 1], "service_target": [None, 0.8],
                       "safety_factor": [1.6448536269514722, None]})
    s = cal.level_service(lv)
    assert list(s.index) == ["A", "B"]
    assert s["B"] == pytest.approx(0.95)


def test_two_points_give_the_line_through_them():
    # sales = 200 + 1000*s: (0.8, 1000) and (0.95, 1150); capture = line / line(0.99) = 1190.
    obs = pd.DataFrame({"segment": ["K", "K"], "service": [0.95, 0.80], "sales": [1150, 1000]})
    resp, fit, notes = cal.two_point(obs, SERVICE)
    assert fit.loc[0, "slope"] == pytest.approx(1000)
    assert fit.loc[0, "intercept"] == pytest.approx(200)
    expected = [(200 + 1000 * s) / 1190 for s in (0.80, 0.90, 0.95, 0.99)]
    assert resp["capture"].tolist() == pytest.approx(expected)
    assert resp["level"].tolist() == ["ECO", "STD", "EXP", "PRI"]
    assert any("PRI" in n and "extrapolated" in n for n in notes)  # 0.99 > 0.95
    assert not any("ECO" in n for n in notes)


def test_two_points_that_cannot_identify_a_line_are_refused():
    obs = pd.DataFrame({"segment": ["A", "A", "B", "C", "C"],
                        "service": [0.9, 0.9, 0.9, 0.9, 0.91], "sales": [10, 12, 5, 10, 9.9]})
    resp, fit, notes = cal.two_point(obs, SERVICE)
    assert set(resp["segment"]) == {"C"}
    text = " ".join(notes)
    assert "A: both observations have service 0.9" in text
    assert "B: the two-point method needs exactly 2 observations, got 1" in text
    assert "C: the observations are only 1.0 points" in text
    assert "C: sales fall as service rises" in text


def test_exactly_sampled_logistic_is_recovered():
    K, k, s0 = 1000.0, 30.0, 0.86
    s = np.array([0.70, 0.78, 0.82, 0.86, 0.90, 0.94, 0.99])
    obs = pd.DataFrame({"segment": "MID", "service": s, "sales": cal.logistic(s, K, k, s0)})
    resp, fit, notes = cal.fit_logistic(obs, SERVICE)
    r = fit.iloc[0]
    assert (r.saturation_K, r.steepness_k, r.midpoint_s0) == pytest.approx((K, k, s0), rel=1e-6)
    assert r.r2 == pytest.approx(1.0) and r.rmse < 1e-6
    expected = 1 / (1 + np.exp(-k * (SERVICE.to_numpy() - s0)))
    assert resp["capture"].to_numpy() == pytest.approx(expected, rel=1e-6)
    assert notes == []


def test_logistic_warns_on_too_few_or_unsaturated_data():
    obs = pd.DataFrame({"segment": ["A", "A", "B", "B", "B", "B"],
                        "service": [0.8, 0.9, 0.70, 0.75, 0.80, 0.85],
                        "sales": [1, 2, 10.0, 11.0, 12.1, 13.3]})
    resp, fit, notes = cal.fit_logistic(obs, SERVICE)
    assert "A: a logistic needs observations at 3 or more service levels, got 2; skipped" in notes
    assert list(fit["segment"]) == ["B"]
    assert any(n.startswith("B: fitted saturation") for n in notes)  # still climbing: no top


# Contributions: C1 500, C2 250, C3 100, C4 80, C5 40, C6 30 (total 1000, largest first).
# Cumulative before each: 0, .50, .75, .85, .93, .97 -> A, A, A (crosses 80 %), B, B, C.
TRANSACTIONS = pd.DataFrame({
    "customer": ["C3", "C1", "C2", "C1", "C4", "C5", "C6", "C2"],
    "contribution": [100, 300, 150, 200, 80, 40, 30, 100],
})


def test_abc_tiers_match_hand_table():
    abc = cal.abc_tiers(TRANSACTIONS)
    assert abc["segment"].tolist() == ["C1", "C2", "C3", "C4", "C5", "C6"]
    assert abc["contribution"].tolist() == [500, 250, 100, 80, 40, 30]
    assert abc["cumulative_share"].tolist() == pytest.approx([.5, .75, .85, .93, .97, 1.0])
    assert abc["abc"].tolist() == ["A", "A", "A", "B", "B", "C"]
    assert abc["tier"].tolist() == [1, 1, 1, 2, 2, 3]


def test_growth_share_classes_match_hand_table():
    data = pd.DataFrame({
        "product": ["P1", "P2", "P3", "P4", "P5"],
        "sales_previous": [100, 100, 100, 100, 100],
        "sales": [130, 102, 125, 95, 110],          # growth .30 .02 .25 -.05 .10
        "market_share": [0.30, 0.40, 0.05, 0.10, 0.20],
        "competitor_share": [0.20, 0.25, 0.30, 0.30, 0.20],  # rel. 1.5 1.6 .17 .33 1.0
    })
    out = cal.growth_share(data)
    assert out["growth"].tolist() == pytest.approx([0.30, 0.02, 0.25, -0.05, 0.10])
    assert out["product_class"].tolist() == ["star", "cash_cow", "question_mark", "dog", "star"]
    pol = cal.class_policies(SERVICE, sorted(set(out["product_class"])))
    # 4 levels, m = 2: star >= EXP; cash_cow STD..EXP; dog <= STD; question_mark free.
    assert pol.set_index("product_class")[["min_level", "max_level"]].to_dict("index") == {
        "cash_cow": {"min_level": "STD", "max_level": "EXP"},
        "dog": {"min_level": "", "max_level": "STD"},
        "star": {"min_level": "EXP", "max_level": ""},
    }


def test_cli_writes_case_tables(tmp_path):
    (tmp_path / "levels.csv").write_text(LEVELS.to_csv(index=False))
    obs = tmp_path / "obs.csv"
    s = np.array([0.75, 0.8, 0.85, 0.9, 0.95])
    pd.DataFrame({"segment": "K", "service": s, "sales": cal.logistic(s, 500, 25, 0.85)}) \
        .to_csv(obs, index=False)
    r = CliRunner().invoke(app, ["calibrate", "logistic", str(obs), "--levels", str(tmp_path),
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    resp = pd.read_csv(tmp_path / "out" / "response.csv")
    assert list(resp.columns) == ["segment", "level", "capture", "product_class"]
    assert (tmp_path / "out" / "response_fit.html").read_text().count('class="chart"') == 1
    tx = tmp_path / "tx.csv"
    TRANSACTIONS.to_csv(tx, index=False)
    seg = tmp_path / "segments.csv"
    seg.write_text("segment,tier,goodwill_sensitivity\nC1,,0.1\nC4,,0\nC9,7,0\n")
    r = CliRunner().invoke(app, ["calibrate", "abc", str(tx), "--segments", str(seg),
                                 "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    out = pd.read_csv(tmp_path / "out" / "segments.csv")
    assert out["tier"].tolist() == [1, 2, 7]
    assert "no transactions for segments C9" in r.output
