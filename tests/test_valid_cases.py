"""Every VALID case answers: hypothesis draws tiny valid cases and runs ``svcplan solve`` on each.

The strategy :func:`valid_cases` writes a case as file texts (CSV + case.yaml) covering every
table and column of SPEC §5 this version reads (``model/case/schema.py``): optional columns present
or absent, optional cells blank or given; demand-only, options-only and mixed cases; response
with and without product-class rows; unit costs, policies, current levels, capacity + usage and
every case.yaml setting. Ids are Unicode on purpose (``重点客户``, ``Café``, ``Crème brûlée``).
Edge cases come up by construction: one level, one period, no budgets, zero demand everywhere,
budgets (period, horizon, capacity, inventory time) tight enough to make a case infeasible.

Every drawn case must pass validation (a refusal is a bug in this generator: the test fails
with the problems listed). Then ``svcplan solve`` runs in-process (typer's CliRunner) and must
answer: exit 0 (a plan) or 1 (no plan), never 2 and never an uncaught exception; no traceback in
the output; ``summary.json`` present, strict JSON (no NaN/Infinity), with a status that agrees
with the exit code and is never ``error``. A quarter of the runs also ask for ``--report`` (the
HTML report with its SVG charts), and every run has a wall-clock watchdog, so a hang fails the
test instead of stalling CI.

Bugs this found (regression tests at the bottom): summary.json crashed on NaN inventory days
(options-only cases, zero demand); the HTML report's axis ticks looped forever, eating memory,
when a chart's values were equal up to round-off (one level given by its safety factor).
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import signal
import tempfile
import traceback
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from svcplan import load_case
from svcplan.case.case import CaseError
from svcplan.cli.app import app
from svcplan.outputs import svg

#: The default run draws 20 cases (one takes 0.5-1 s end to end); ``-m slow`` draws 200 more.
#: Derandomized: a failure is found again by the same run, and print_blob prints its case.
SETTINGS = settings(max_examples=20, deadline=None, derandomize=True, print_blob=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
MORE = settings(SETTINGS, max_examples=200)

SEGMENT_IDS = ["重点客户", "Café", "KEY", "零售", "Ωmega s"]
PRODUCT_IDS = ["P1", "产品A", "Crème brûlée", "01", "X-2"]
LEVEL_IDS = ["基础", "Bronze", "Gold", "Prémium"]
PERIOD_IDS = [["2025-01", "2025-02", "2025-03"], ["一月", "二月", "三月"], ["t1", "t2", "t3"]]
CLASS_IDS = ["fresh", "冷冻", "Épicerie"]
RESOURCE_IDS = ["truck", "仓库"]

WITH_PLAN = {"optimal", "feasible", "time_limit"}
WITHOUT_PLAN = {"infeasible", "time_limit"}
#: Wall-clock seconds one tiny case may take end to end (a solve is well under a second).
WATCHDOG = 60


# --- writing a case ----------------------------------------------------------------------------
def csv_text(header: list[str], rows: list[list[object]]) -> str:
    """A CSV file's text (UTF-8 written by the caller); ``""`` cells are blank."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows([["" if c is None else c for c in r] for r in rows])
    return buf.getvalue()


def write_files(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def num(x: float) -> str:
    """A number as a planner would type it (``3`` rather than ``3.0``)."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


# --- the strategy ------------------------------------------------------------------------------
def _quarters(lo: int, hi: int) -> st.SearchStrategy[str]:
    """Numbers lo..hi in steps of 0.25, as text."""
    return st.integers(4 * lo, 4 * hi).map(lambda k: num(k / 4))


def _table(draw, key: list[str], optional: dict[str, st.SearchStrategy[str]],
           rows: list[list[object]]) -> tuple[list[str], list[list[object]]]:
    """Add a drawn subset of the optional columns to ``rows`` (each cell maybe blank)."""
    cols = [c for c in optional if draw(st.booleans())]
    header = key + cols
    out = []
    for r in rows:
        cells = list(r)
        for c in cols:
            blank = draw(st.integers(0, 4)) == 0  # blank = the column's default (or "none")
            cells.append("" if blank else draw(optional[c]))
        out.append(cells)
    return header, out


def _mostly(usual: st.SearchStrategy, rare: st.SearchStrategy) -> st.SearchStrategy:
    """``usual`` about three times in four, else ``rare`` (e.g. a budget small enough to be
    infeasible)."""
    return st.one_of(usual, usual, usual, rare)


@st.composite
def valid_cases(draw) -> dict[str, str]:
    """A tiny VALID case as file name -> text (<= 3 segments, 4 products, 3 levels, 3 periods)."""
    segs = draw(st.permutations(SEGMENT_IDS))[: draw(st.sampled_from([2, 1, 3]))]
    prods = draw(st.permutations(PRODUCT_IDS))[: draw(st.sampled_from([2, 1, 3, 4]))]
    levels = draw(st.permutations(LEVEL_IDS))[: draw(st.sampled_from([2, 1, 3]))]
    periods = draw(st.sampled_from(PERIOD_IDS))[: draw(st.sampled_from([3, 2, 1]))]
    kind = draw(st.sampled_from(["demand", "demand", "options", "both"]))
    zero_demand = draw(st.integers(0, 7)) == 7  # every base_demand (and option units) 0
    files: dict[str, str] = {}

    # segments.csv: tier (blank = free), goodwill_sensitivity
    header, rows = _table(draw, ["segment"], {
        "tier": st.integers(1, 3).map(str),
        "goodwill_sensitivity": _quarters(0, 1).map(lambda v: num(float(v) / 2)),
    }, [[s] for s in segs])
    files["segments.csv"] = csv_text(header, rows)

    # products.csv: product_class (blank = none), unit_margin (may be negative), costs, cv
    classes = draw(st.lists(st.sampled_from(CLASS_IDS), min_size=1, max_size=2, unique=True))
    use_class = draw(st.booleans())
    cls_of = {p: (draw(st.sampled_from([*classes, None])) if use_class else None) for p in prods}
    rows = [[p, cls_of[p] or "", draw(_quarters(-5, 40))] if use_class else
            [p, draw(_quarters(-5, 40))] for p in prods]
    header, rows = _table(draw, ["product", "product_class", "unit_margin"] if use_class
                          else ["product", "unit_margin"], {
        "base_unit_cost": _quarters(0, 20),
        "holding_cost": _quarters(0, 5),
        "demand_cv": _quarters(0, 1),
    }, rows)
    files["products.csv"] = csv_text(header, rows)
    known_classes = sorted({c for c in cls_of.values() if c})

    # levels.csv: distinct ranks (any order, may be negative); service_target OR safety_factor
    ranks = draw(st.lists(st.integers(-3, 9), min_size=len(levels), max_size=len(levels), unique=True))
    rank_of = dict(zip(levels, ranks, strict=True))
    service = {lv: draw(st.sampled_from(["target", "factor", "both", "none"])) for lv in levels}
    targets = st.integers(1, 99).map(lambda k: num(k / 100))
    factors = _quarters(0, 3)
    header = ["level", "rank"]
    has_target = any(v in ("target", "both") for v in service.values())
    has_factor = any(v in ("factor", "both") for v in service.values())
    header += ["service_target"] * has_target + ["safety_factor"] * has_factor
    rows = []
    for lv in levels:
        r: list[object] = [lv, rank_of[lv]]
        if has_target:
            r.append(draw(targets) if service[lv] in ("target", "both") else "")
        if has_factor:
            r.append(draw(factors) if service[lv] in ("factor", "both") else "")
        rows.append(r)
    header, rows = _table(draw, header, {
        "lead_time_days": _quarters(0, 20),
        "cost_multiplier": _quarters(0, 3),
        "fixed_cost": st.sampled_from(["0", "5", "25", "120.5"]),
        "goodwill": st.sampled_from(["0", "0.1", "0.25", "1"]),
    }, rows)
    files["levels.csv"] = csv_text(header, rows)

    # periods.csv: budget (blank = none; small ones can make the case infeasible), discount
    header, rows = _table(draw, ["period"], {
        "budget": _mostly(st.integers(0, 4000), st.integers(0, 60)).map(str),
        "discount": st.sampled_from(["1", "0.95", "0.5", "0"]),
    }, [[t] for t in periods])
    files["periods.csv"] = csv_text(header, rows)

    # units: demand.csv and/or options.csv
    pairs = [(s, p) for s in segs for p in prods]
    demand_units = options_units = []
    if kind in ("demand", "both"):
        demand_units = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=len(pairs), unique=True))
    if kind in ("options", "both"):
        options_units = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=min(3, len(pairs)),
                                      unique=True))
    if demand_units:
        value = st.just("0") if zero_demand else st.sampled_from(["12", "35", "7", "80", "0", "2.5", "150"])
        rows = []
        for s, p in demand_units:  # a period left out has base_demand 0
            for t in draw(st.lists(st.sampled_from(periods), min_size=1, max_size=len(periods), unique=True)):
                rows.append([s, p, t, draw(value)])
        files["demand.csv"] = csv_text(["segment", "product", "period", "base_demand"], rows)
    allowed: dict[tuple[str, str], set[str]] = {u: set(levels) for u in set(demand_units) | set(options_units)}
    if options_units:
        rows = []
        for u in options_units:
            listed = draw(st.lists(st.sampled_from(levels), min_size=1, max_size=len(levels), unique=True))
            allowed[u] = set(listed)
            for lv in listed:
                for t in draw(st.lists(st.sampled_from(periods), min_size=1, max_size=len(periods),
                                       unique=True)):
                    rows.append([*u, t, lv, draw(_quarters(-10, 60)), draw(_quarters(-2, 40))])
        header, rows = _table(draw, ["segment", "product", "period", "level", "revenue", "cost"], {
            "units": st.just("0") if zero_demand else _quarters(0, 30),
            "safety_stock": _quarters(0, 10),
        }, rows)
        files["options.csv"] = csv_text(header, rows)

    # response.csv: a blank-class row for every segment x level (so every demanded unit has a
    # capture), plus class rows that win over them
    if draw(st.booleans()):
        capture = st.integers(0, 12).map(lambda k: num(k / 10))
        rows = [[s, lv, draw(capture)] for s in segs for lv in levels]
        header = ["segment", "level", "capture"]
        if known_classes and draw(st.booleans()):
            header.append("product_class")
            rows = [[*r, ""] for r in rows]
            extra = draw(st.lists(st.tuples(st.sampled_from(segs), st.sampled_from(levels),
                                            st.sampled_from(known_classes)), max_size=4, unique=True))
            rows += [[s, lv, draw(capture), c] for s, lv, c in extra]
        files["response.csv"] = csv_text(header, rows)

    # unit_costs.csv: some (product, level) pairs
    if draw(st.booleans()):
        some = draw(st.lists(st.tuples(st.sampled_from(prods), st.sampled_from(levels)), min_size=1,
                             max_size=4, unique=True))
        files["unit_costs.csv"] = csv_text(["product", "level", "unit_cost"],
                                           [[p, lv, draw(_quarters(0, 25))] for p, lv in some])

    # policies.csv: min rank <= max rank; a row that would leave a unit no level is dropped
    if draw(st.booleans()):
        kept = []
        for _ in range(draw(st.integers(1, 3))):
            seg = draw(st.sampled_from([None, *segs]))
            cls = draw(st.sampled_from([None, *known_classes]))
            lo, hi = draw(st.sampled_from([None, *levels])), draw(st.sampled_from([None, *levels]))
            if lo is not None and hi is not None and rank_of[lo] > rank_of[hi]:
                lo, hi = hi, lo
            narrowed = {}
            for (s, p), ok in allowed.items():
                match = (seg is None or seg == s) and (cls is None or cls == cls_of[p])
                narrowed[(s, p)] = {lv for lv in ok if not match or (
                    (lo is None or rank_of[lv] >= rank_of[lo]) and (hi is None or rank_of[lv] <= rank_of[hi]))}
            if all(narrowed.values()):
                allowed = narrowed
                kept.append([seg, cls, lo, hi])
        if kept or draw(st.booleans()):  # a header-only policies.csv is valid too
            files["policies.csv"] = csv_text(["segment", "product_class", "min_level", "max_level"], kept)

    # current.csv: some units' current level (any level, even one not allowed any more)
    if draw(st.booleans()):
        cur = draw(st.lists(st.sampled_from(pairs), min_size=1, max_size=3, unique=True))
        files["current.csv"] = csv_text(["segment", "product", "level"],
                                        [[s, p, draw(st.sampled_from(levels))] for s, p in cur])

    # capacity.csv (+ usage.csv, whose resources must be in capacity.csv)
    if draw(st.booleans()):
        res = draw(st.lists(st.sampled_from(RESOURCE_IDS), min_size=1, max_size=2, unique=True))
        rows = [[r, t, draw(_mostly(st.integers(0, 500), st.integers(0, 20)))]
                for r in res for t in draw(st.lists(st.sampled_from(periods), min_size=1,
                                                    max_size=len(periods), unique=True))]
        files["capacity.csv"] = csv_text(["resource", "period", "capacity"], rows)
        if draw(st.booleans()):
            use = draw(st.lists(st.tuples(st.sampled_from(levels), st.sampled_from(res)), min_size=1,
                                max_size=4, unique=True))
            files["usage.csv"] = csv_text(["level", "resource", "per_unit"],
                                          [[lv, r, draw(_quarters(0, 2))] for lv, r in use])

    # case.yaml: every setting, each maybe absent
    conf: dict[str, object] = {"name": draw(st.sampled_from(["fuzz", "计划 Café", "a/b: c"]))}
    maybe = {
        "period_days": st.sampled_from([7, 30, 30.5, 1]),
        "switching_cost": st.sampled_from([0, 3, 40.5]),
        "max_changes": st.integers(0, 2),
        "goodwill_retention": st.sampled_from([0, 0.5, 1]),
        "tier_ordering": st.booleans(),
        "total_budget": _mostly(st.integers(0, 8000), st.integers(0, 50)),
        "max_inventory_days": st.sampled_from([60, 15, 2, 0]),
    }
    for key, strat in maybe.items():
        if draw(st.booleans()):
            conf[key] = draw(strat)
    if draw(st.booleans()):
        conf["solver"] = {"time_limit": draw(st.sampled_from([5, 10.5])),
                          "mip_gap": draw(st.sampled_from([0, 0.01])), "threads": 1}
    files["case.yaml"] = yaml.safe_dump(conf, allow_unicode=True, sort_keys=False)
    return files


# --- the checks --------------------------------------------------------------------------------
def _no_constant(name: str):
    raise ValueError(f"summary.json is not strict JSON: it holds {name}")


def read_summary(out: Path) -> dict:
    """summary.json parsed as STRICT JSON (NaN / Infinity are refused)."""
    path = out / "summary.json"
    assert path.exists(), "summary.json was not written"
    return json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constant)


def assert_valid(folder: Path) -> None:
    """The generator promises valid cases: a refusal is a generator bug, shown loudly."""
    try:
        load_case(folder)
    except CaseError as exc:
        files = "\n".join(f"--- {f.name}\n{f.read_text(encoding='utf-8')}" for f in sorted(folder.iterdir()))
        pytest.fail(f"generator bug: validation refused a generated case:\n{exc}\n{files}")


@contextlib.contextmanager
def watchdog(seconds: float):
    """Fail (TimeoutError from SIGALRM) instead of hanging when a run takes too long."""
    def expired(signum, frame):
        raise TimeoutError(f"no answer within {seconds} s (a hang?)")

    old = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def solve_cli(folder: Path, out: Path, report: bool = False, seconds: float = WATCHDOG) -> dict:
    """``svcplan solve`` in-process; assert the run answered; return summary.json."""
    args = ["solve", str(folder), "--out", str(out), "--quiet", "--time-limit", "20"]
    with watchdog(seconds):
        result = CliRunner().invoke(app, args + ["--report"] * report)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        tb = "".join(traceback.format_exception(*result.exc_info))
        pytest.fail(f"uncaught exception from svcplan solve:\n{tb}\noutput:\n{result.output}")
    assert result.exit_code in (0, 1), f"exit {result.exit_code} for a valid case:\n{result.output}"
    assert "Traceback" not in result.output, result.output
    summary = read_summary(out)
    status = summary["status"]
    assert status != "error", f"status error: {summary}\n{result.output}"
    if result.exit_code == 0:
        assert status in WITH_PLAN, summary
        assert "kpis" in summary, "exit 0 without a plan"
        assert (out / "assignment.csv").exists()
        assert not report or (out / "report.html").exists()
    else:
        assert status in WITHOUT_PLAN, summary
        assert "kpis" not in summary, "exit 1 with a plan"
    return summary


def run_case(files: dict[str, str], report: bool = False, seconds: float = WATCHDOG) -> dict:
    with tempfile.TemporaryDirectory(prefix="svcplan-valid-") as tmp:
        folder = write_files(Path(tmp) / "case", files)
        assert_valid(folder)
        return solve_cli(folder, Path(tmp) / "out", report, seconds)


# --- regression cases (both crashed writing summary.json: kpis.inventory_days was NaN) ---------
# One period, one segment, two products, three levels given only as options.csv (no demand.csv):
# a multiple-choice knapsack. (revenue, cost) -> profit:
#   P: B (6, 1) -> 5    S (12, 4) -> 8    G (16, 7) -> 9
#   Q: B (4, 1) -> 3    S (10, 3) -> 7    G (15, 6) -> 9
MCK = {
    "case.yaml": "name: mck\n",
    "segments.csv": "segment\nA\n",
    "products.csv": "product,unit_margin\nP,0\nQ,0\n",
    "levels.csv": "level,rank\nB,1\nS,2\nG,3\n",
    "periods.csv": "period,budget\nt1,10\n",
    "options.csv": csv_text(["segment", "product", "period", "level", "revenue", "cost"], [
        ["A", "P", "t1", "B", 6, 1], ["A", "P", "t1", "S", 12, 4], ["A", "P", "t1", "G", 16, 7],
        ["A", "Q", "t1", "B", 4, 1], ["A", "Q", "t1", "S", 10, 3], ["A", "Q", "t1", "G", 15, 6],
    ]),
}
# Zero demand in every period of a derived case: nothing is served, so inventory days are 0/0.
ZERO_DEMAND = {
    "case.yaml": "name: zero\nmax_inventory_days: 10\n",
    "segments.csv": "segment\n重点客户\nCafé\n",
    "products.csv": "product,unit_margin,base_unit_cost,holding_cost,demand_cv\nP,10,4,1,0.3\n",
    "levels.csv": "level,rank,service_target,lead_time_days,fixed_cost\nB,1,0.8,5,0\nG,2,0.95,5,5\n",
    "periods.csv": "period,budget\nt1,100\nt2,\n",
    "demand.csv": "segment,product,period,base_demand\n重点客户,P,t1,0\n重点客户,P,t2,0\nCafé,P,t1,0\n",
}


def test_options_only_knapsack_answers_with_the_optimum():
    """Budget 10 buys at most: (cost, profit) of each pair of levels for (P, Q):

    BB (2, 8)  BS (4, 12)  BG (7, 14)  SB (5, 11)  SS (7, 15)  SG (10, 17)  GB (8, 12)
    GS (10, 16)  GG (13, 18: over budget). Best within 10: P at S, Q at G, profit 8 + 9 = 17.
    Nothing is served (options.csv gives no units), so inventory days are undefined (None).
    """
    s = run_case(MCK)
    assert s["status"] == "optimal"
    assert s["objective"] == pytest.approx(17.0, abs=1e-6)
    assert s["kpis"]["inventory_days"] is None
    assert s["kpis"]["budget_used"] == pytest.approx(10.0, abs=1e-6)


def test_zero_demand_everywhere_answers():
    """No demand: every option earns 0; G costs a fixed 5 per period it is used, so the
    optimum is B everywhere with objective 0. Inventory days and mean service are undefined."""
    s = run_case(ZERO_DEMAND)
    assert s["status"] == "optimal"
    assert s["objective"] == pytest.approx(0.0, abs=1e-9)
    assert s["kpis"]["inventory_days"] is None
    assert s["kpis"]["mean_service"] is None


# One level given by its safety factor (service = Phi(1.75)), an options-only unit without
# demand: the plan's mean service (a plain mean of three equal values) and the level's service
# differ by round-off, and the report's x axis spanned ~1e-16: ticks() stepped by 1e-17 and
# ``v += step`` never moved v (24 GB before the OOM killer). Found by the property with --report.
ONE_LEVEL_REPORT = {
    "case.yaml": "name: 计划 Café\nswitching_cost: 3\n",
    "segments.csv": "segment\nCafé\n",
    "products.csv": "product,unit_margin,base_unit_cost\nP1,2,9\n",
    "levels.csv": "level,rank,safety_factor\nBronze,5,1.75\n",
    "periods.csv": "period\nt1\nt2\nt3\n",
    "options.csv": "segment,product,period,level,revenue,cost\nCafé,P1,t3,Bronze,52.75,0.25\n",
}


def test_report_axis_of_values_equal_up_to_round_off_terminates():
    x = 0.9599408431361829  # Phi(1.75)
    with watchdog(5):
        assert svg.ticks(x, x) == svg.ticks(x, math.nextafter(x, 1.0))
        chart = svg.line_chart("c", "one level", [("revenue", [x], [10.0])],
                               [("revenue", math.nextafter(x, 1.0), 10.0)])
    assert chart.startswith("<svg") and chart.endswith("</svg>")


def test_report_of_a_one_level_plan_terminates():
    """Only option: Bronze in every period (it never changes, so no switching cost); t3 earns
    52.75 - 0.25 (options.csv), t1 and t2 earn nothing (no demand): objective 52.5."""
    s = run_case(ONE_LEVEL_REPORT, report=True, seconds=15)  # the hang grew ~150 MB/s
    assert s["status"] == "optimal"
    assert s["objective"] == pytest.approx(52.5, abs=1e-9)


def test_failure_writing_the_outputs_is_status_error_without_traceback(tmp_path, monkeypatch):
    """The last line of defence: whatever makes writing the outputs fail (here a NaN slipped
    into summary.json, as before the fix above) is reported as status error, exit 1."""
    import svcplan.api

    real = svcplan.api.SolveResult.summary
    monkeypatch.setattr(svcplan.api.SolveResult, "summary", lambda self: {**real(self), "x": math.nan})
    folder = write_files(tmp_path / "case", MCK)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out), "--quiet"])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    summary = read_summary(out)
    assert summary["status"] == "error" and "JSON" in summary["error"]


# --- the property ------------------------------------------------------------------------------
@SETTINGS
@given(files=valid_cases(), report=st.sampled_from([False, False, False, True]))
@example(files=MCK, report=False)
@example(files=ZERO_DEMAND, report=True)
@example(files=ONE_LEVEL_REPORT, report=True)
def test_every_valid_case_answers(files, report):
    run_case(files, report)


@pytest.mark.slow
@MORE
@given(files=valid_cases(), report=st.sampled_from([False, False, False, True]))
def test_many_more_valid_cases_answer(files, report):
    """The same property over ten times as many drawn cases."""
    run_case(files, report)
