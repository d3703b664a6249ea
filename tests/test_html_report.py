"""The HTML report: content checks in Python, and a real render in headless Chromium.

The browser test opens the report from disk, lets its inline script count the charts that
rendered (non-empty box and at least one mark) and collect script errors, reads them back
with --dump-dom, and takes a screenshot (kept in tmp_path, or in $SVCPLAN_SCREENSHOTS).
A control page with a broken script proves the harness notices errors.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from svcplan.api import load_case, solve
from svcplan.outputs.files import write_outputs
from svcplan.outputs.html import write_report
from svcplan.prep.generate import generate_case, write_case

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("report")
    tables, settings = generate_case(3, 4, 4, 3, seed=5, capacity=True, tightness=0.7)
    case_dir = write_case(tables, settings, base / "case")
    res = solve(load_case(case_dir))
    assert res.has_plan
    out = write_outputs(res, base / "run", extra={"case_path": str(case_dir)})
    write_report(out)
    return out


def charts_in(html: str) -> list[str]:
    return re.findall(r'<svg class="chart" data-chart="([^"]+)"', html)


def test_report_has_every_chart_and_no_external_reference(run_dir):
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    segments = pd.read_csv(run_dir / "kpi_segments.csv")["segment"].astype(str)
    expected = {"heatmap-dominant", "heatmap-periods", "budget", "bridge", "inventory"}
    expected |= {f"curve-{s}" for s in segments}
    assert set(charts_in(html)) == expected
    assert not re.search(r'(src|href)="(https?:)?//', html), "the report must open offline"
    assert "What one more unit is worth" in html and "Capacity" in html


def test_profit_bridge_adds_up(run_dir):
    """The bridge's last bar (profit) equals the period table's profit."""
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    bridge = html.split('data-chart="bridge"')[1].split("</svg>")[0]
    labels = re.findall(r"<title>([^<:]+): ([^<]+)</title>", bridge)
    assert [k for k, _ in labels][-1] == "profit"
    profit = pd.read_csv(run_dir / "kpi_periods.csv")["profit"].sum()
    from svcplan.outputs.svg import fmt

    assert labels[-1][1] == fmt(profit)


def test_report_without_case_still_renders(run_dir, tmp_path):
    summary = json.loads((run_dir / "summary.json").read_text())
    folder = tmp_path / "nocase"
    shutil.copytree(run_dir, folder)
    summary.pop("case_path")
    (folder / "summary.json").write_text(json.dumps(summary))
    html = write_report(folder).read_text(encoding="utf-8")
    assert not any(c.startswith("curve-") for c in charts_in(html))
    assert "Response curves need the case" in html


def batch_folder(run_dir: Path, tmp_path: Path) -> Path:
    """A hand-made batch folder: summary.csv, the 'base' scenario's solve folder and a budget
    sweep (copies of it whose summary.json records the sweep's changes, as a batch does),
    one point of which has no plan."""
    folder = tmp_path / "batch"
    rows = []
    for name, scale, objective in [("budget=0.6", 0.6, 800.0), ("budget=0.8", 0.8, 950.0),
                                   ("base", 1.0, 1000.0), ("budget=1.2", 1.2, 1020.0),
                                   ("budget=0.1", 0.1, None)]:
        sub = folder / name
        shutil.copytree(run_dir, sub)
        (sub / "report.html").unlink()
        s = json.loads((sub / "summary.json").read_text(encoding="utf-8"))
        changes = {} if name == "base" else {"scale": {"periods.budget": scale}}
        s |= {"scenario": name, "changes": {"name": name, **changes}, "objective": objective}
        if objective is None:
            s["status"] = "infeasible"
            s.pop("kpis")
        p = pd.read_csv(sub / "kpi_periods.csv", dtype={"period": str})
        p.assign(budget=p["budget"] * scale).to_csv(sub / "kpi_periods.csv", index=False)
        (sub / "summary.json").write_text(json.dumps(s), encoding="utf-8")
        rows.append({"scenario": name, "status": s["status"], "objective": objective})
    pd.DataFrame(rows).to_csv(folder / "summary.csv", index=False)
    return folder


def test_batch_report_has_comparison_and_frontier(run_dir, tmp_path):
    html = write_report(batch_folder(run_dir, tmp_path)).read_text(encoding="utf-8")
    names = charts_in(html)
    assert names[:2] == ["scenarios", "frontier-budget"]
    assert "heatmap-dominant" in names  # the base scenario's plan follows
    frontier = html.split('data-chart="frontier-budget"')[1].split("</svg>")[0]
    pts = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', frontier)
    assert len(pts) == 3  # the sweep's points with a plan (base is not a sweep point)
    xs = [float(x) for x, _ in pts]
    ys = [float(y) for _, y in pts]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)  # more budget, more profit


def _browser(url: str, tmp_path: Path, screenshot: Path | None = None) -> str:
    args = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    if screenshot:
        args += [f"--screenshot={screenshot}", "--window-size=1280,2400"]
    else:
        args += ["--dump-dom", "--virtual-time-budget=3000"]
    out = subprocess.run([*args, url], capture_output=True, text=True, timeout=120)
    return out.stdout


def _rendered(dom: str) -> tuple[int, int, list[str]]:
    m = re.search(r'<html[^>]*data-charts="(\d+)"[^>]*data-charts-rendered="(\d+)"'
                  r'[^>]*data-errors="([^"]*)"', dom)
    assert m, "the report's check script did not run"
    errors = json.loads(m.group(3).replace("&quot;", '"'))
    return int(m.group(1)), int(m.group(2)), errors


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (CI installs it)")
@pytest.mark.parametrize("kind", ["solve", "batch"])
def test_chromium_renders_every_chart(run_dir, tmp_path, kind):
    folder = run_dir if kind == "solve" else batch_folder(run_dir, tmp_path)
    report = folder / "report.html" if kind == "solve" else write_report(folder)
    html = report.read_text(encoding="utf-8")
    n, ok, errors = _rendered(_browser(report.as_uri(), tmp_path))
    assert errors == []
    assert n == len(charts_in(html)) and ok == n
    shot = tmp_path / f"report-{kind}.png"
    _browser(report.as_uri(), tmp_path, shot)
    assert shot.exists() and shot.stat().st_size > 20_000
    keep = os.environ.get("SVCPLAN_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


@pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (CI installs it)")
def test_chromium_harness_catches_errors_and_missing_charts(run_dir, tmp_path):
    """Control: a script error and an empty chart must be reported by the same harness."""
    html = (run_dir / "report.html").read_text(encoding="utf-8")
    html = html.replace("</body>", "<script>undefinedFunction();</script></body>")
    html = html.replace('<svg class="chart"', '<svg class="chart" style="display:none"', 1)
    bad = tmp_path / "bad.html"
    bad.write_text(html, encoding="utf-8")
    n, ok, errors = _rendered(_browser(bad.as_uri(), tmp_path))
    assert any("undefinedFunction" in e for e in errors)
    assert ok == n - 1


def test_report_of_a_run_without_plan(tmp_path):
    folder = tmp_path / "inf"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(
        {"case": "x", "status": "infeasible", "objective": None, "solver_message": "Infeasible"}))
    html = write_report(folder).read_text(encoding="utf-8")
    assert charts_in(html) == []
    assert "<h2>No plan</h2>" in html and "<b>infeasible</b>" in html
