"""Outputs a planner opens: results.xlsx, the CSVs in Excel, file modes, the console.

The case is small enough to solve by hand. Two segments (Chinese ids), one product, two
levels, two periods; the second period is discounted by half:

- 重点客户: 经济 q=2.5 cost 5 profit 20; 快速 q=5 cost 20 profit 30;
- 零售: 经济 q=4.5 cost 9 profit 36; 快速 q=5 cost 20 profit 30.

Budget 50 per period → 重点客户 快速 + 零售 经济 (cost 29; both 快速 would cost 40 but earn
60 < 66). Profit per period 66: undiscounted 132, objective 66 + 0.5·66 = 99.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from casefiles import write_case
from typer.testing import CliRunner

from svcplan.cli.app import app
from svcplan.outputs.files import read_table
from svcplan.outputs.html import read_run, write_report

CASE = {
    "case.yaml": "name: 华东计划\n",
    "segments.csv": "segment,tier\n重点客户,1\n零售,2\n",
    "products.csv": "product,product_class,unit_margin,base_unit_cost\n绿茶,明星,10,2\n",
    "levels.csv": "level,rank,cost_multiplier\n经济,1,1\n快速,2,2\n",
    "periods.csv": "period,budget,discount\n一月,50,1\n二月,50,0.5\n",
    "demand.csv": "segment,product,period,base_demand\n重点客户,绿茶,一月,5\n零售,绿茶,一月,5\n"
                  "重点客户,绿茶,二月,5\n零售,绿茶,二月,5\n",
    "response.csv": "segment,level,capture\n重点客户,经济,0.5\n重点客户,快速,1\n零售,经济,0.9\n零售,快速,1\n",
}


@pytest.fixture(scope="module")
def solved(tmp_path_factory) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("outputs")
    folder = write_case(base, CASE)
    out = base / "out"
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out), "--gap", "0"])
    assert result.exit_code == 0, result.output
    return out, result.output


def test_hand_checked_plan(solved):
    out, _ = solved
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["objective"] == pytest.approx(99)
    assert summary["kpis"]["profit"] == pytest.approx(132)


def test_results_xlsx_reads_like_a_planners_workbook(solved):
    out, _ = solved
    wb = openpyxl.load_workbook(out / "results.xlsx")
    csvs = sorted(p.stem for p in out.glob("*.csv"))
    assert wb.sheetnames[:2] == ["summary", "plan"]
    assert sorted(wb.sheetnames[2:]) == csvs  # one sheet per CSV, named as the CSV
    for ws in wb.worksheets:
        assert ws.freeze_panes in ("A2", "C2")
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert all(c.font.b for c in ws[1] if c.value is not None)
    periods = wb["kpi_periods"]
    head = {c.value: c.column for c in periods[1]}
    revenue = periods.cell(2, head["revenue"])
    assert revenue.number_format == "#,##0.00"
    service = periods.cell(2, head["mean_service"])
    used = periods.cell(2, head["budget_use_pct"])
    assert service.number_format == used.number_format == "0.0%"  # one convention
    csv = pd.read_csv(out / "kpi_periods.csv")
    assert used.value == pytest.approx(csv["budget_use_pct"][0] / 100)  # 58% shows as 58.0%
    assert 0 <= service.value <= 1
    summary = {r[0].value: r[1] for r in wb["summary"].iter_rows(min_row=2)}
    assert summary["objective"].number_format == "#,##0.00"
    assert summary["kpi.profit"].number_format == "#,##0.00"
    assert summary["mip_gap"].number_format == "0.000%"


def test_plan_sheet_segment_product_by_period_coloured_by_level(solved):
    out, _ = solved
    ws = openpyxl.load_workbook(out / "results.xlsx")["plan"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows == [["segment", "product", "一月", "二月"],
                    ["重点客户", "绿茶", "快速", "快速"],
                    ["零售", "绿茶", "经济", "经济"]]
    fast, eco = shown_fill(ws, "C2"), shown_fill(ws, "C3")
    assert fast and eco and fast != eco and shown_fill(ws, "D2") == fast
    assert shown_fill(ws, "A2") is None  # ids are not coloured


def shown_fill(ws, cell: str) -> str | None:
    """The fill colour Excel shows on ``cell`` by the sheet's conditional formats: the rule
    of highest priority whose range holds the cell and whose formula (``LEFT(C2,n)="text"``,
    Excel's "begins with", compared without case) is true."""
    value = str(ws[cell].value or "")
    for rule in sorted((r for cf in ws.conditional_formatting if cell in cf.sqref
                        for r in cf.rules), key=lambda r: r.priority):
        n, text = re.fullmatch(r'LEFT\([A-Z]+[0-9]+,([0-9]+)\)="(.*)"', rule.formula[0]).groups()
        assert re.fullmatch(r'(?:[^"]|"")*', text), rule.formula  # Excel's string literal
        if value[: int(n)].lower() == text.replace('""', '"').lower():
            return rule.dxf.fill.bgColor.rgb
    return None


def test_level_colours_go_to_their_own_level_only(tmp_path):
    """A level whose name begins another's (L1, L10) and one with a quote in its name
    each show their own colour; an empty cell and the ids none."""
    from svcplan.outputs.excel import Sheet, write_xlsx

    fills = {"L1": "DDEEFF", "L10": "003366", 'a"b': "AA5500", "a": "00AA00"}
    plan = pd.DataFrame({"unit": ["u1", "u2", "u3"], "p1": ["L1", "L10", 'a"b'],
                         "p2": ["L10", None, "a"]})
    book = write_xlsx(tmp_path / "p.xlsx", {"plan": Sheet(plan, fills=fills, fill_from=1)})
    ws = openpyxl.load_workbook(book)["plan"]
    for row in ws.iter_rows(min_row=2, min_col=2):
        for c in row:
            want = f"FF{fills[c.value]}" if c.value else None
            assert shown_fill(ws, c.coordinate) == want, (c.coordinate, c.value)
    assert shown_fill(ws, "A2") is None


def test_csvs_open_in_excel_with_their_chinese_ids(solved):
    out, _ = solved
    for f in out.glob("*.csv"):
        assert f.read_bytes().startswith(b"\xef\xbb\xbf"), f.name  # UTF-8 BOM
    assert read_table(out, "assignment.csv").columns[0] == "segment"
    assert set(read_run(out).assignment["segment"]) == {"重点客户", "零售"}


def test_summary_json_has_the_mode_of_every_other_output(solved):
    out, _ = solved
    modes = {f.name: f.stat().st_mode & 0o777 for f in out.iterdir()}
    assert modes["summary.json"] == modes["assignment.csv"] == modes["results.xlsx"], modes


def test_console_and_report_say_the_objective_is_discounted(solved):
    out, output = solved
    assert "objective is the discounted" in output and "132.00" in output
    html = write_report(out).read_text(encoding="utf-8")
    assert "discounted" in html and "profit (undiscounted)" in html


def test_undiscounted_case_does_not_mention_discounting(tmp_path):
    files = dict(CASE, **{"periods.csv": "period,budget\n一月,50\n二月,50\n"})
    result = CliRunner().invoke(app, ["solve", str(write_case(tmp_path, files)), "--out",
                                      str(tmp_path / "out"), "--gap", "0"])
    assert result.exit_code == 0 and "objective is the discounted" not in result.output


def test_report_of_an_infeasible_run_explains_it(tmp_path):
    files = dict(CASE, **{"periods.csv": "period,budget\n一月,3\n二月,50\n"})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(write_case(tmp_path, files)), "--out", str(out)])
    assert result.exit_code == 1
    why = json.loads((out / "summary.json").read_text(encoding="utf-8"))["explanation"]
    html = write_report(out).read_text(encoding="utf-8")
    assert "nothing to chart" not in html
    assert why and all(line.strip() in html for line in why)
    assert "infeasibility.csv" in html and "short_by" in html  # its table too


def test_piped_console_tables_are_not_cut_to_80_columns():
    code = ("from rich.table import Table\nfrom svcplan.cli.common import console\n"
            "t = Table()\nfor i in range(12): t.add_column(f'column-{i:02d}')\n"
            "t.add_row(*[f'value-{i:04d}' for i in range(12)])\nconsole.print(t)\n")
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=60).stdout
    assert "value-0000" in out and "value-0011" in out
    assert any("value-0000" in line and "value-0011" in line for line in out.splitlines())


def test_number_columns_are_typed_like_every_other_cell(tmp_path):
    """A missing number stays an empty cell (also in a nullable column), ±inf becomes text,
    integers stay numbers, a bool column stays booleans, and a number column keeps its
    format."""
    from svcplan.outputs.excel import write_xlsx

    df = pd.DataFrame({"revenue": [2.5, np.nan, np.inf, -np.inf], "units": [1, 2, 3, 4],
                       "count": pd.array([5, None, 7, 8], dtype="Int64"),
                       "flag": [True, False, True, False]})
    ws = openpyxl.load_workbook(write_xlsx(tmp_path / "t.xlsx", {"t": df}))["t"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert rows == [[2.5, 1, 5, True], [None, 2, None, False], ["inf", 3, 7, True],
                    ["-inf", 4, 8, False]]
    assert ws["B2"].data_type == "n" and isinstance(ws["D2"].value, bool)
    assert ws["A2"].number_format == "#,##0.00"


def test_text_columns_are_written_as_text_with_missing_cells_empty(tmp_path):
    """A missing text stays an empty cell, an id that looks like a number stays text, and in
    a column that mixes text and numbers the numbers stay numbers; a categorical column is
    written as its values (the binding alone leaves its cells empty)."""
    from svcplan.outputs.excel import write_xlsx

    df = pd.DataFrame({"segment": ["KEY", None, "零售", "01"],
                       "product": pd.array(["P1", pd.NA, "P3", "1e3"], dtype="string"),
                       "mixed": ["a", 2.5, None, 3],
                       "level": pd.Categorical(["fast", "eco", None, "fast"])})
    ws = openpyxl.load_workbook(write_xlsx(tmp_path / "t.xlsx", {"t": df}))["t"]
    assert [c.value for c in ws[1]] == ["segment", "product", "mixed", "level"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert rows == [["KEY", "P1", "a", "fast"], [None, None, 2.5, "eco"], ["零售", "P3", None, None],
                    ["01", "1e3", 3, "fast"]]
    assert isinstance(ws["A5"].value, str) and ws["C5"].data_type == "n"


def test_a_table_longer_than_an_excel_sheet_is_left_out_and_said_so(tmp_path, monkeypatch):
    """Excel holds 1,048,575 rows of data below a header; a writer may drop the rest without
    a word. A plan longer than that (the limit lowered to 3 here: the assignment has 4 rows)
    leaves its sheet out of results.xlsx, and the summary sheet says so and where the whole
    table is; the CSV has every row and the other sheets are there."""
    import svcplan.outputs.excel as excel
    import svcplan.outputs.files as files

    monkeypatch.setattr(files, "MAX_ROWS", 3)
    folder = write_case(tmp_path, CASE)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out), "--gap", "0"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert "assignment" not in book.sheetnames
    assert {"summary", "plan", "kpi_periods"} <= set(book.sheetnames)
    notes = {r[0]: r[1] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert notes["sheet.assignment"] == ("not in this workbook: 4 rows, more than an Excel "
                                         "sheet holds (3); the whole table is in assignment.csv")
    assert len(read_table(out, "assignment.csv")) == 4
    # the one Excel writer never cuts a sheet short: it refuses
    monkeypatch.setattr(excel, "MAX_ROWS", 3)
    with pytest.raises(ValueError, match="4 rows, more than an Excel sheet holds"):
        excel.write_xlsx(tmp_path / "x.xlsx", {"t": pd.DataFrame({"a": range(4)})})
    assert not (tmp_path / "x.xlsx").exists()


def test_a_sheet_whose_column_names_repeat_is_refused(tmp_path):
    """The writer finds a sheet's columns by name (formats, widths, colours): two columns of
    one name are refused, naming it, rather than one of them formatted as the other."""
    from svcplan.outputs.excel import write_xlsx

    twice = pd.DataFrame([[1, 2, 3]], columns=["a", "b", "a"])
    with pytest.raises(ValueError, match="sheet 't': column names repeat: a"):
        write_xlsx(tmp_path / "x.xlsx", {"t": twice})
    assert not (tmp_path / "x.xlsx").exists()


def test_writing_the_outputs_says_which_file_comes_next(tmp_path):
    """A 1M-binary plan's files take about 11 s: the writer says each file before
    it writes it (none of them exists yet when it is named, summary.json comes after them
    all), and ``svcplan solve --log`` prints those lines after the solve's own."""
    from svcplan import load_case, solve

    folder = write_case(tmp_path, CASE)
    res = solve(load_case(folder), mip_gap=0)
    out = tmp_path / "api"
    heard: list[tuple[str, set[str]]] = []
    res.write(out, progress=lambda m: heard.append((m, {p.name for p in out.iterdir()})))
    named = [m.split()[1] for m, _ in heard]
    assert named == ["assignment.csv", "kpi_periods.csv", "kpi_segments.csv", "kpi_classes.csv",
                     "kpi_capacity.csv", "results.xlsx"]
    assert heard[0][0] == "writing assignment.csv (4 rows)…"
    book = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    longest = max(len(list(book[name].iter_rows(min_row=2))) for name in book.sheetnames)
    assert heard[-1][0] == (f"writing results.xlsx ({len(book.sheetnames)} sheets, "
                            f"the longest {longest} rows)…")
    for (_, present), name in zip(heard, named, strict=True):
        assert name not in present and "summary.json" not in present
    assert {*named, "summary.json"} == {p.name for p in out.iterdir()}

    cli = CliRunner().invoke(app, ["solve", str(folder), "--out", str(tmp_path / "cli"),
                                   "--gap", "0", "--log"])
    assert cli.exit_code == 0, cli.output
    lines = [line for line in cli.output.splitlines() if line.startswith("svcplan: writing")]
    assert lines == [f"svcplan: {m}" for m, _ in heard]


def test_a_planner_can_keep_long_tables_out_of_the_workbook(tmp_path):
    """``--xlsx-rows N``: a table longer than N rows stays out of results.xlsx (a 1M-binary
    plan's 200,000-row sheet takes about 6 s), the summary sheet says why and where
    it is, the shorter tables keep their sheets, and the CSV has every row."""
    folder = write_case(tmp_path, CASE)
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out), "--gap", "0",
                                      "--xlsx-rows", "3"])
    assert result.exit_code == 0, result.output
    book = openpyxl.load_workbook(out / "results.xlsx", read_only=True)
    assert book.sheetnames == ["summary", "plan", "kpi_periods", "kpi_segments", "kpi_classes",
                               "kpi_capacity"]
    notes = {r[0]: r[1] for r in book["summary"].iter_rows(min_row=2, values_only=True)}
    assert notes["sheet.assignment"] == ("not in this workbook: 4 rows, more than the 3 asked "
                                         "for (xlsx_rows); the whole table is in assignment.csv")
    assert "sheet.plan" not in notes  # 2 rows
    assert len(read_table(out, "assignment.csv")) == 4
    refused = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out), "--xlsx-rows", "-1"])
    assert refused.exit_code == 2


def _snapshot(ws) -> dict:
    """What a planner sees of a sheet: values, number formats, bold cells, frozen panes,
    filter, widths and the conditional formats (the plan's level colours)."""
    cells = [[(c.value, c.number_format, bool(c.font.b)) for c in row] for row in ws.iter_rows()]
    rules = sorted((str(cf.sqref), r.priority, tuple(r.formula), r.dxf.fill.bgColor.rgb)
                   for cf in ws.conditional_formatting for r in cf.rules)
    widths = {k: round(v.width, 2) for k, v in ws.column_dimensions.items()}
    return {"cells": cells, "freeze": ws.freeze_panes, "filter": ws.auto_filter.ref,
            "widths": widths, "rules": rules}


@pytest.mark.parametrize("how", [{}, {"xlsx_rows": 3}, {"extra": {"scenario": "cut", "reason": ""}}],
                         ids=["plain", "xlsx-rows", "batch-extra"])
def test_adding_a_sheet_keeps_every_other_sheet_as_it_was(tmp_path, monkeypatch, how):
    """``svcplan simulate`` adds its sheet by writing results.xlsx again from the run's files
    (outputs.files.add_sheet), not by editing it: every sheet the solve wrote comes out as
    it was (with ``xlsx_rows`` the same table stays out, said the same way; a batch's own
    keys are in the summary sheet both times), and the new sheet comes last; adding it
    again replaces it."""
    import svcplan.outputs.files as files
    from svcplan import load_case, solve

    monkeypatch.setattr(files, "replace_sheet", lambda *a: pytest.fail("edited in place"))
    out = tmp_path / "out"
    files.write_outputs(solve(load_case(write_case(tmp_path, CASE)), mip_gap=0), out, **how)
    before = openpyxl.load_workbook(out / "results.xlsx")
    files.add_sheet(out, "simulation", pd.DataFrame({"segment": ["零售"], "achieved": [0.5]}))
    files.add_sheet(out, "simulation", pd.DataFrame({"segment": ["零售"], "achieved": [0.9]}))
    after = openpyxl.load_workbook(out / "results.xlsx")
    assert after.sheetnames == [*before.sheetnames, "simulation"]
    for name in before.sheetnames:
        assert _snapshot(after[name]) == _snapshot(before[name]), name
    assert after["simulation"]["B2"].value == 0.9 and after["simulation"]["B2"].number_format == "0.0%"


def test_a_planners_own_sheet_survives_adding_one(tmp_path, solved):
    """A workbook holding a sheet the run did not write (a planner's notes) is edited in
    place, the slow way, so that sheet stays."""
    from svcplan.outputs.files import add_sheet

    out = tmp_path / "run"
    out.mkdir()
    for f in solved[0].iterdir():
        (out / f.name).write_bytes(f.read_bytes())
    book = openpyxl.load_workbook(out / "results.xlsx")
    book.create_sheet("notes")["A1"] = "ask KEY about March"
    book.save(out / "results.xlsx")
    add_sheet(out, "simulation", pd.DataFrame({"segment": ["零售"], "achieved": [0.5]}))
    after = openpyxl.load_workbook(out / "results.xlsx")
    assert after.sheetnames[-2:] == ["notes", "simulation"]
    assert after["notes"]["A1"].value == "ask KEY about March"


def test_frozen_cells_and_fitted_widths(tmp_path):
    """``freeze`` keeps the header (``A2``) or also the first columns (``B2``: a batch's
    scenario names; ``C2``: the plan's segment and product) in view; widths fit the first
    rows, never narrower than MIN_WIDTH nor wider than MAX_WIDTH characters."""
    from svcplan.outputs.excel import MAX_WIDTH, MIN_WIDTH, Sheet, write_xlsx

    df = pd.DataFrame({"scenario": ["a" * 100, "b"], "id": ["x", "y"], "revenue": [1234567.891, 2.0]})
    book = openpyxl.load_workbook(write_xlsx(tmp_path / "w.xlsx", {
        "batch": df, "plan": Sheet(df, freeze="C2")}, freeze="B2"))
    assert book["batch"].freeze_panes == "B2" and book["plan"].freeze_panes == "C2"
    width = {k: v.width for k, v in book["batch"].column_dimensions.items()}
    assert MAX_WIDTH <= width["A"] < MAX_WIDTH + 1  # 100 characters, capped
    assert MIN_WIDTH <= width["B"] < MIN_WIDTH + 1  # "id", "x": at least the minimum
    assert len("1,234,567.89") + 2 <= width["C"] < len("1,234,567.89") + 3  # as shown, money format
