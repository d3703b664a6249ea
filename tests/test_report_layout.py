"""The report as a planner sees it: labels that can be read, headings that are true.

Geometry is checked in headless Chromium (as tests/test_html_report.py renders reports): a
small script injected into a copy of the report measures every ``<text>`` of every chart
with the browser's own layout (``getBoundingClientRect``) and records the pairs that
overlap and the labels that stick out of their chart (clipped). A screenshot of the same
page is taken too (kept in $SVCPLAN_SCREENSHOTS when set, for a human look). A control
chart with planted collisions, appended to the probed page, proves the probe sees them.

The case has 12 monthly periods (month ticks), long Chinese segment names (clipping), a
``PREMIUM`` level priced out of every plan (headings), long scenario names (a batch).
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

from svcplan.api import solve
from svcplan.case.case import Case
from svcplan.outputs.files import write_outputs
from svcplan.outputs.html import write_report
from svcplan.prep.generate import generate_case, write_case

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed")

LONG_NAMES = {"S01": "华东地区重点大客户（直营渠道）", "S02": "华南区域批发商", "S03": "零散客户"}

#: Injected into a copy of the report: every chart's text boxes, overlaps and clipped labels.
PROBE = """
<script>
document.addEventListener('DOMContentLoaded', function () {
  var out = {overlaps: [], clipped: [], texts: 0};
  document.querySelectorAll('svg.chart').forEach(function (svg) {
    var box = svg.getBoundingClientRect(), name = svg.getAttribute('data-chart');
    var items = [];
    svg.querySelectorAll(':scope > text').forEach(function (t) {
      var r = t.getBoundingClientRect();
      if (r.width === 0 || !t.textContent.trim()) { return; }
      items.push({t: t.textContent, r: r});
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 ||
          r.bottom > box.bottom + 1) { out.clipped.push(name + ': ' + t.textContent); }
    });
    out.texts += items.length;
    for (var i = 0; i < items.length; i++) {
      for (var j = i + 1; j < items.length; j++) {
        var a = items[i].r, b = items[j].r;
        var w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        var h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 1 && h > 1) { out.overlaps.push(name + ': ' + items[i].t + ' / ' + items[j].t); }
      }
    }
  });
  document.documentElement.setAttribute('data-layout', JSON.stringify(out));
});
</script>"""


#: A control chart appended to the probed page: two labels on top of each other and one
#: sticking out of the chart; the probe must report exactly these for it.
CONTROL = ('<svg class="chart" data-chart="control" width="200" height="100">'
           '<text x="100" y="50">2026-01</text><text x="104" y="50">2026-02</text>'
           '<text x="-30" y="80">华东地区重点大客户</text></svg>')


def layout(report: Path, tmp_path: Path, screenshot: bool = True) -> dict:
    """Overlapping and clipped chart labels of ``report`` (plus the :data:`CONTROL` chart),
    as Chromium lays them out; also takes the page's screenshot (without the control)."""
    probe = tmp_path / f"probe-{report.parent.name}.html"
    html = report.read_text(encoding="utf-8").replace("</head>", PROBE + "</head>")
    probe.write_text(html.replace("</body>", CONTROL + "</body>"), encoding="utf-8")
    args = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*args, "--dump-dom", "--virtual-time-budget=3000", probe.as_uri()],
                         capture_output=True, text=True, timeout=120).stdout
    m = re.search(r'data-layout="([^"]*)"', dom)
    assert m, "the layout probe did not run"
    if not screenshot:
        return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    shot = tmp_path / f"{report.parent.name}.png"
    subprocess.run([*args, f"--screenshot={shot}", "--window-size=1400,2600", report.as_uri()],
                   capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000
    if os.environ.get("SVCPLAN_SCREENSHOTS"):
        Path(os.environ["SVCPLAN_SCREENSHOTS"]).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(os.environ["SVCPLAN_SCREENSHOTS"]) / shot.name)
    return json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> Path:
    """12 months, long Chinese segment names, PREMIUM priced out of every plan."""
    base = tmp_path_factory.mktemp("layout")
    tables, settings = generate_case(3, 4, 5, 12, seed=1, demo_names=True)
    for name, t in tables.items():
        if "segment" in t:
            tables[name] = t.assign(segment=t["segment"].replace(LONG_NAMES))
    lv = tables["levels"]
    tables["levels"] = lv.assign(cost_multiplier=lv["cost_multiplier"].where(
        lv["level"] != "PREMIUM", 40.0))
    case_dir = write_case(tables, settings, base / "case")
    res = solve(_load(case_dir), mip_gap=0.05)
    assert res.has_plan and "PREMIUM" not in set(res.assignment["level"])
    out = write_outputs(res, base / "run", extra={"case_path": str(case_dir)})
    write_report(out)
    return out


def _load(folder: Path) -> Case:
    from svcplan.api import load_case

    return load_case(folder)


def test_no_heading_names_a_level_the_plan_does_not_use(solved):
    html = (solved / "report.html").read_text(encoding="utf-8")
    used = set(pd.read_csv(solved / "assignment.csv")["level"])
    unused = {"PREMIUM", "PRIORITY", "EXPRESS", "STANDARD", "ECONOMY"} - used
    assert "PREMIUM" in unused
    headings = re.findall(r"<h[1-3]>(.*?)</h[1-3]>", html)
    for h in headings:
        assert not any(lv.lower() in h.lower() for lv in unused), h


def sweep_batch(run: Path, tmp_path: Path) -> Path:
    """A batch folder made of copies of one solve: a base, a budget sweep (one point without
    a plan) and unrelated scenarios with long names, each recording its changes as
    ``svcplan batch`` does (summary.json: scenario, changes)."""
    folder = tmp_path / "batch"
    base_obj = json.loads((run / "summary.json").read_text(encoding="utf-8"))["objective"]
    rows = []
    plan = [("base", {}, 1.0, base_obj),
            ("fuel-up-for-every-product-in-every-region", {"scale": {"products.base_unit_cost": 1.15}},
             1.0, base_obj * 0.7),
            ("key-accounts-grow-by-thirty-percent", {"scale": {"demand.base_demand": 1.3},
                                                     "where": {"segment": "KEY"}}, 1.0, base_obj * 1.2),
            ("budget=0.5", {"scale": {"periods.budget": 0.5}}, 0.5, None),
            ("budget=0.8", {"scale": {"periods.budget": 0.8}}, 0.8, base_obj * 0.9),
            ("budget=1", {"scale": {"periods.budget": 1.0}}, 1.0, base_obj),
            ("budget=1.2", {"scale": {"periods.budget": 1.2}}, 1.2, base_obj * 1.05),
            ("demand-x-budget:budget=1.1,base_demand=1.1",
             {"scale": {"periods.budget": 1.1, "demand.base_demand": 1.1}}, 1.1, base_obj * 1.3)]
    for name, changes, scale, objective in plan:
        sub = folder / re.sub(r"[^\w.=,+-]+", "_", name)
        shutil.copytree(run, sub)
        (sub / "report.html").unlink(missing_ok=True)
        s = json.loads((sub / "summary.json").read_text(encoding="utf-8"))
        s |= {"scenario": name, "changes": {"name": name, **changes}, "objective": objective}
        if objective is None:
            s |= {"status": "infeasible"}
            s.pop("kpis")
            for f in sub.glob("*.csv"):
                f.unlink()
        else:
            p = pd.read_csv(sub / "kpi_periods.csv", dtype={"period": str})
            p.assign(budget=p["budget"] * scale).to_csv(sub / "kpi_periods.csv", index=False)
        (sub / "summary.json").write_text(json.dumps(s), encoding="utf-8")
        rows.append({"scenario": name, "status": s["status"], "objective": objective,
                     "budget_used": 1000 * scale})
    pd.DataFrame(rows).to_csv(folder / "summary.csv", index=False)
    return folder


def test_batch_frontier_follows_the_budget_sweep_only(solved, tmp_path):
    html = write_report(sweep_batch(solved, tmp_path)).read_text(encoding="utf-8")
    charts = re.findall(r'data-chart="([^"]+)"', html)
    assert charts[:2] == ["scenarios", "frontier-budget"]  # not the two-key sweep
    frontier = html.split('data-chart="frontier-budget"')[1].split("</svg>")[0]
    assert "fuel-up" not in frontier and "key-accounts" not in frontier
    pts = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)"', frontier)
    assert len(pts) == 3  # 0.8, 1, 1.2; 0.5 has no plan
    xs, ys = [float(x) for x, _ in pts], [float(y) for _, y in pts]
    assert xs == sorted(xs) and ys == sorted(ys, reverse=True)
    assert "budget=0.5: infeasible" in html
    comparison = html.split('data-chart="scenarios"')[1].split("</svg>")[0]
    labels = re.findall(r'text-anchor="end">([^<]+)</text>', comparison)
    assert "budget=0.8" in labels and "key-accounts-grow-by-thirty-percent" in labels  # whole
    assert "Plan of scenario base" in html


def test_frontier_report_shows_the_plan_at_todays_budget(solved, tmp_path):
    folder = sweep_batch(solved, tmp_path)
    for sub in folder.iterdir():  # a frontier folder: the budget sweep alone, no base
        if sub.is_dir() and not sub.name.startswith("budget="):
            shutil.rmtree(sub)
    html = write_report(folder).read_text(encoding="utf-8")
    assert "Plan of scenario budget=1<" in html


def test_batch_without_budget_sweep_draws_no_frontier(solved, tmp_path):
    folder = sweep_batch(solved, tmp_path)
    for sub in folder.glob("budget=*"):
        shutil.rmtree(sub)
    html = write_report(folder).read_text(encoding="utf-8")
    assert not re.findall(r'data-chart="frontier', html)
    assert "No frontier" in html


@needs_chromium
def test_report_labels_neither_collide_nor_clip(solved, tmp_path):
    """The batch report holds every chart of the solve report (the base plan: heatmaps with
    the long names, 12-month bars, the bridge, response curves) plus the scenario comparison
    with long names and the frontier: one browser run checks them all."""
    report = write_report(sweep_batch(solved, tmp_path))
    charts = set(re.findall(r'data-chart="([^"]+)"', report.read_text(encoding="utf-8")))
    assert {"scenarios", "frontier-budget", "heatmap-dominant", "heatmap-periods", "budget",
            "bridge", "inventory"} <= charts and any(c.startswith("curve-") for c in charts)
    found = layout(report, tmp_path)
    assert found["texts"] > 100  # the probe measured the charts
    assert found["overlaps"] == ["control: 2026-01 / 2026-02"]  # the control's, no other
    assert found["clipped"] == ["control: 华东地区重点大客户"]
