"""A planner's inputs, edited the way planners edit them (issue 14): nothing may change a result
without a word, and every refusal says where and what was meant.

Each test edits a copy of the shipped demo (CSV folder or workbook) the way Excel would, then
checks the exact problems or warnings validation reports.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from svcplan import CaseError, load_case
from svcplan.cli.app import app
from svcplan.prep.generate import generate_case, write_case

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "demo"


def _problems(path: Path) -> list[str]:
    with pytest.raises(CaseError) as exc:
        load_case(path)
    return [str(p) for p in exc.value.problems]


def _book(tmp_path: Path, edit) -> Path:
    """A small generated case (3 monthly periods) as a workbook, edited with openpyxl the way a
    program writes cells: formulas stay uncalculated. (The demo workbook behaves the same; it
    only takes longer to load.)"""
    path = write_case(*generate_case(2, 2, 2, 3, seed=1), tmp_path / "book.xlsx")
    wb = openpyxl.load_workbook(path)
    edit(wb)
    wb.save(path)
    return path


def _folder(tmp_path: Path, **files: str) -> Path:
    """A copy of the demo folder with some files' text replaced by ``edit(text)``."""
    folder = tmp_path / "demo"
    shutil.copytree(DEMO, folder)
    for name, edit in files.items():
        f = folder / f"{name}.csv"
        f.write_text(edit(f.read_text(encoding="utf-8")), encoding="utf-8")
    return folder


# -- 1. a formula without a saved value, in any column ------------------------------------------


def test_an_uncalculated_formula_in_an_optional_column_is_refused_with_sheet_row_and_column(tmp_path):
    def edit(wb):
        wb["periods"]["B4"] = "=214757.14*0.7"  # budget of 2026-03: optional (blank = no budget)
        assert wb["periods"]["A4"].value == "2026-03" and wb["periods"]["B1"].value == "budget"

    problems = _problems(_book(tmp_path, edit))
    assert len(problems) == 1, problems
    assert problems[0].startswith("book.xlsx, sheet periods, row 4, column 'budget': formula "
                                  "'=214757.14*0.7' has no saved value")


def test_an_uncalculated_formula_in_the_case_sheet_is_refused(tmp_path):
    def edit(wb):
        ws = wb["case"]
        row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "switching_cost")
        ws.cell(row, 2).value = "=200+91"

    problems = _problems(_book(tmp_path, edit))
    assert len(problems) == 1, problems
    assert "sheet case" in problems[0] and "'=200+91' has no saved value" in problems[0]


# -- 2. period ids that are dates must be in calendar order --------------------------------------


def _sorted_by_budget(text: str) -> str:
    lines = text.strip().splitlines()
    body = sorted(lines[1:], key=lambda line: float(line.split(",")[1]))
    return "\n".join([lines[0], *body]) + "\n"


def test_periods_sorted_out_of_calendar_order_are_refused(tmp_path):
    problems = _problems(_folder(tmp_path, periods=_sorted_by_budget))
    assert len(problems) == 1, problems
    msg = problems[0]
    assert msg.startswith("periods.csv, row 3, column 'period':"), msg
    assert "calendar order" in msg and "'2026-03'" in msg and "'2026-02'" in msg


def _small_book_with_date_periods(path: Path, months: list[int]) -> Path:
    """A small generated case as a workbook whose period cells (periods and demand) are Excel
    dates, the periods rows in the given month order."""
    tables, settings = generate_case(2, 2, 2, 3, seed=1)
    write_case(tables, settings, path)
    wb = openpyxl.load_workbook(path)
    for r, month in zip(range(2, 5), months, strict=True):
        wb["periods"].cell(r, 1).value = dt.datetime(2026, month, 1)
    for (cell,) in wb["demand"].iter_rows(min_row=2, min_col=3, max_col=3):
        cell.value = dt.datetime(2026, int(cell.value[5:]), 1)
    wb.save(path)
    return path


def test_excel_date_periods_out_of_order_are_refused_and_in_order_say_what_was_read(tmp_path):
    ok = load_case(_small_book_with_date_periods(tmp_path / "ok.xlsx", [1, 2, 3]))
    said = [w for w in ok.warnings if "sheet periods" in w]
    assert said == ["ok.xlsx, sheet periods, column 'period': 3 Excel date cell(s) were read as "
                    "ISO text: 2026-01-01, 2026-02-01, 2026-03-01 (format the column as Text in "
                    "Excel to keep ids such as 2026-03)"], ok.warnings
    problems = _problems(_small_book_with_date_periods(tmp_path / "swapped.xlsx", [1, 3, 2]))
    assert problems == ["swapped.xlsx, sheet periods, row 4, column 'period': period '2026-02-01' is "
                        "listed after '2026-03-01', a later date: the rows are not in calendar order "
                        "and row order is the plan's time order; sort the rows by period"]


def test_many_excel_dates_are_summarised_first_two_and_last():
    from svcplan.case.textio import normalise_cells

    warnings: list[str] = []
    cells = pd.DataFrame({"period": [dt.datetime(2026, m, 1) for m in range(1, 13)]}, dtype=object)
    normalise_cells(cells, "periods", "book.xlsx, sheet periods", warnings)
    assert warnings == ["book.xlsx, sheet periods, column 'period': 12 Excel date cell(s) were read "
                        "as ISO text: 2026-01-01, 2026-02-01, …, 2026-12-01 (format the column as "
                        "Text in Excel to keep ids such as 2026-03)"]


def test_ids_that_are_not_dates_keep_their_row_order(tmp_path):
    def rename(text: str) -> str:
        months = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
        for k in range(12, 0, -1):
            text = text.replace(f"2026-{k:02d}", ["Z", "Y", "X"][k % 3] + months[k - 1])
        return text

    folder = _folder(tmp_path, periods=rename, demand=rename)
    assert load_case(folder).periods[:3] == ["Yjan", "Xfeb", "Zmar"]


# -- 5. messages: one typo, one problem; the sheet named; "did you mean" for values -------------


def test_one_header_typo_reports_the_column_and_nothing_that_depends_on_it(tmp_path):
    folder = _folder(tmp_path, products=lambda t: t.replace("unit_margin", "unit margin", 1))
    assert _problems(folder) == [
        "products.csv, row 1, column 'unit margin': unknown column 'unit margin'; did you mean "
        "'unit_margin'?",
        "products.csv, row 1, column 'unit_margin': required column is missing",
    ]


def test_a_workbook_names_the_sheet_in_reference_messages(tmp_path):
    def edit(wb):
        wb["demand"]["C2"] = "2027-01"

    problems = _problems(_book(tmp_path, edit))
    assert problems == ["book.xlsx, sheet demand, row 2, column 'period': unknown period '2027-01': "
                        "not in sheet periods; did you mean '2026-01'?"], problems


def test_unknown_ids_get_a_did_you_mean(tmp_path):
    folder = _folder(
        tmp_path,
        policies=lambda t: t.replace(",dog,", ",dogs,").replace("KEY,,STANDARD", "KEYY,,EXPRES"),
    )
    assert _problems(folder) == [
        "policies.csv, row 3, column 'segment': unknown segment 'KEYY': not in segments.csv; "
        "did you mean 'KEY'?",
        "policies.csv, row 2, column 'product_class': unknown product_class 'dogs': not in "
        "products.csv; did you mean 'dog'?",
        "policies.csv, row 3, column 'min_level': unknown level 'EXPRES': not in levels.csv; "
        "did you mean 'EXPRESS'?",
    ]


# -- 10. the help text planners read ------------------------------------------------------------


def _commands(group, path=()):
    """Every command path of the app (``()`` is the app itself), sub-apps included."""
    yield list(path)
    for name, command in getattr(group, "commands", {}).items():
        yield from _commands(command, (*path, name))


@pytest.mark.parametrize("command", list(_commands(typer.main.get_command(app))), ids=" ".join)
def test_help_shows_no_type_of_a_flag_and_no_double_negative(command):
    result = CliRunner().invoke(app, [*command, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "<bool>" not in result.output and "--no-no-" not in result.output
    if command == ["solve"]:
        assert "--warm-start / --no-warm-start" in result.output


def test_did_you_mean_prefers_the_id_an_excel_date_became():
    from svcplan.case.problems import did_you_mean

    months = [f"2026-{m:02d}-01" for m in range(1, 13)]  # periods typed as dates in Excel
    assert did_you_mean("2026-01", months) == "; did you mean '2026-01-01'?"
    assert did_you_mean("SKU-9", ["KEY", "LARGE"]) == ""


def test_a_scenario_where_value_gets_a_did_you_mean():
    from svcplan.whatif.scenarios import ScenarioError, check, parse_scenarios

    case = load_case(DEMO)
    scenarios, _ = parse_scenarios({"scenarios": [
        {"name": "grow", "scale": {"demand.base_demand": 1.2}, "where": {"segment": "KEYY"}},
        {"name": "typo", "set": {"case.switching_cots": 0}},
    ]})
    with pytest.raises(ScenarioError) as exc:
        check(case, scenarios)
    assert [p.message for p in exc.value.problems] == [
        "scenario 'grow': where {'segment': 'KEYY'} matches no row of demand (segment 'KEYY'; "
        "did you mean 'KEY'?)",
        "scenario 'typo': unknown setting 'switching_cots'; did you mean 'switching_cost'?",
    ]
