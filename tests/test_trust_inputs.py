"""Real-world file quirks: each is accepted with a warning, or refused with a fix-it message.

Every accepted quirk must give the same case (same optimum) as the clean file, so the
normalisation cannot silently change a number.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import pytest
from casefiles import write_case
from openpyxl import Workbook
from trustcase import BASE

from svcplan import load_case, solve
from svcplan.case.case import CaseError
from svcplan.case.reader import write_case as write_tables


def clean(text: str) -> str:
    return textwrap.dedent(text).strip() + "\n"


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    folder = write_case(tmp_path_factory.mktemp("ref"), BASE)
    case = load_case(folder)
    return case, solve(case, mip_gap=0).objective


def test_base_case_has_no_warnings(reference):
    case, objective = reference
    assert case.warnings == ()
    assert objective == pytest.approx(1795.9883954275692, rel=1e-9)


def test_utf8_bom_is_silent(tmp_path, reference):
    folder = write_case(tmp_path, BASE)
    (folder / "demand.csv").write_bytes(b"\xef\xbb\xbf" + (folder / "demand.csv").read_bytes())
    case = load_case(folder)
    assert case.warnings == ()
    assert solve(case, mip_gap=0).objective == pytest.approx(reference[1])


def test_gbk_export_is_read_with_a_warning(tmp_path):
    folder = write_case(tmp_path, BASE)
    for name in ("segments.csv", "demand.csv", "response.csv"):
        text = (folder / name).read_text().replace("KEY", "重点客户")
        (folder / name).write_bytes(text.encode("gbk"))
    case = load_case(folder)
    assert "重点客户" in set(case.tables["segments"]["segment"])
    assert any("demand.csv: read as" in w and "not UTF-8" in w for w in case.warnings)
    assert solve(case, mip_gap=0).status == "optimal"


def test_semicolons_and_decimal_commas(tmp_path, reference):
    folder = write_case(tmp_path, BASE)
    demand = clean(BASE["demand.csv"]).replace(",", ";").replace("50.5", "50,5")
    products = clean(BASE["products.csv"]).replace(",", ";").replace("0.5", "0,5")
    products = products.replace("0.3", "0,3").replace("0.2", "0,2").replace("0.1", "0,1")
    (folder / "demand.csv").write_text(demand)
    (folder / "products.csv").write_text(products)
    case = load_case(folder)
    assert case.tables["demand"]["base_demand"].tolist()[3] == 50.5
    assert any("demand.csv: read with ';'" in w for w in case.warnings)
    assert any("products.csv: 4 number(s) with a decimal comma" in w for w in case.warnings)
    assert solve(case, mip_gap=0).objective == pytest.approx(reference[1])


def test_excel_sep_line_and_percent_hint(tmp_path, reference):
    folder = write_case(tmp_path, BASE)
    demand = "sep=;\n" + clean(BASE["demand.csv"]).replace(",", ";")
    (folder / "demand.csv").write_text(demand)
    case = load_case(folder)
    assert len(case.tables["demand"]) == 6
    assert solve(case, mip_gap=0).objective == pytest.approx(reference[1])
    levels = clean(BASE["levels.csv"]).replace("0.95", "95%")
    (folder / "levels.csv").write_text(levels)
    with pytest.raises(CaseError) as err:
        load_case(folder)
    (p,) = err.value.problems
    assert (p.row, p.column) == (3, "service_target")
    assert "without '%'" in p.message


def test_comma_inside_a_number_of_a_comma_file_is_refused_with_a_hint(tmp_path):
    folder = write_case(tmp_path, BASE)
    (folder / "demand.csv").write_text(clean(BASE["demand.csv"]).replace("50.5", '"50,5"'))
    with pytest.raises(CaseError) as err:
        load_case(folder)
    (p,) = err.value.problems
    assert (p.file, p.row, p.column) == ("demand.csv", 5, "base_demand")
    assert "decimal point" in p.message


def test_ids_with_spaces_are_trimmed_with_a_warning(tmp_path, reference):
    folder = write_case(tmp_path, BASE)
    text = clean(BASE["demand.csv"]).replace("KEY,", "KEY  ,").replace(",P,", ", P,")
    (folder / "demand.csv").write_text(text)
    case = load_case(folder)
    assert any("column 'segment': spaces around 3 id(s)" in w for w in case.warnings)
    assert solve(case, mip_gap=0).objective == pytest.approx(reference[1])


def test_huge_numbers_are_refused(tmp_path):
    """Found by fuzzing: a flipped byte made cost_multiplier 1e25, past HiGHS's infinity."""
    folder = write_case(tmp_path, BASE)
    (folder / "levels.csv").write_text(clean(BASE["levels.csv"]).replace("1.25", "1e25"))
    with pytest.raises(CaseError) as err:
        load_case(folder)
    (p,) = err.value.problems
    assert (p.row, p.column) == (3, "cost_multiplier")
    assert "too large to plan with" in p.message


def test_undecodable_file_is_refused(tmp_path):
    folder = write_case(tmp_path, BASE)
    (folder / "demand.csv").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(CaseError) as err:
        load_case(folder)
    assert any(p.file == "demand.csv" for p in err.value.problems)


def _frames() -> tuple[dict[str, pd.DataFrame], dict]:
    import io

    tables = {n[:-4]: pd.read_csv(io.StringIO(clean(t)), dtype=str, keep_default_na=False)
              for n, t in BASE.items() if n.endswith(".csv")}
    return tables, {"name": "trust", "period_days": 30}


def test_excel_quirks_are_normalised(tmp_path, reference):
    """Numbers stored as text, ids with trailing spaces, blank trailing rows, dates as periods."""
    tables, settings = _frames()
    path = write_tables(tables, settings, tmp_path / "c.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(path)
    dates = {"2025-01": pd.Timestamp("2025-01-01"), "2025-02": pd.Timestamp("2025-02-01"),
             "2025-03": pd.Timestamp("2025-03-01")}
    for sheet in ("periods", "demand"):
        ws = wb[sheet]
        col = [c.value for c in ws[1]].index("period") + 1
        for row in range(2, ws.max_row + 1):
            ws.cell(row, col).value = dates[ws.cell(row, col).value].to_pydatetime()
        ws.cell(ws.max_row + 3, 1).value = "   "  # blank trailing rows (a space, then nothing)
    ws = wb["demand"]
    ws.cell(2, 1).value = "KEY "  # trailing space in an id
    ws.cell(3, 4).value = "120"  # already text (write_tables keeps strings), and a real number:
    ws.cell(4, 4).value = 90
    wb.save(path)
    case = load_case(path)
    assert case.periods == ["2025-01-01", "2025-02-01", "2025-03-01"]
    assert any("column 'period': 3 Excel date cell(s) were read as ISO text: " in w for w in case.warnings)
    assert any("spaces around 1 id(s)" in w for w in case.warnings)
    assert len(case.tables["demand"]) == 6
    assert solve(case, mip_gap=0).objective == pytest.approx(reference[1])


def test_excel_formula_without_saved_value_is_refused(tmp_path):
    tables, settings = _frames()
    path = write_tables(tables, settings, tmp_path / "c.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(path)
    wb["demand"]["D3"] = "=D2*1.2"  # openpyxl stores the formula but no calculated value
    wb.save(path)
    with pytest.raises(CaseError) as err:
        load_case(path)
    p = err.value.problems[0]  # (then: "value is required but blank" for the same cell)
    assert (p.file, p.row, p.column) == ("c.xlsx, sheet demand", 3, "base_demand")
    assert "formula '=D2*1.2' has no saved value" in p.message
    assert all(q.row == 3 for q in err.value.problems)


def test_not_a_workbook(tmp_path):
    path = tmp_path / "c.xlsx"
    Workbook().save(path)
    with pytest.raises(CaseError) as err:
        load_case(path)
    assert any("sheet 'case'" in p.message for p in err.value.problems)


ZERO = dict(BASE)
ZERO["levels.csv"] = """
    level,rank,service_target,lead_time_days,cost_multiplier
    B,1,0.8,0,1.0
    G,2,0.95,0,1.25
"""
ZERO["products.csv"] = """
    product,product_class,unit_margin,base_unit_cost,holding_cost,demand_cv
    P,star,10,4,0.5,0
    Q,std,8,3,0.2,0
"""
ZERO["periods.csv"] = """
    period,budget
    2025-01,0
    2025-02,1000
    2025-03,
"""
ZERO["demand.csv"] = """
    segment,product,period,base_demand
    KEY,P,2025-01,0
    KEY,P,2025-02,120
    OTH,Q,2025-01,0
    OTH,Q,2025-02,60
"""
ZERO["response.csv"] = None


def test_zero_values_work_end_to_end(tmp_path):
    """Lead time 0, demand 0, cv 0, budget 0, inventory days 0: valid and solved exactly.

    Optimum by hand: period 1 has no demand (every level costs 0, within the budget of 0);
    in period 2 both levels capture everything (no response table), B is cheaper:
    120*(10-4) + 60*(8-3) = 1020. cv 0 and lead time 0 mean no safety stock, so the
    inventory limit of 0 days holds.
    """
    folder = write_case(tmp_path, {**ZERO, "case.yaml": "name: zero\nmax_inventory_days: 0\n"})
    res = solve(load_case(folder), mip_gap=0)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(120 * 6 + 60 * 5)
    assert res.periods["budget_used"].iloc[0] == 0
    a = res.assignment
    assert a.loc[a["period"] == "2025-02", "level"].eq("B").all()


def test_zero_total_budget_is_explained(tmp_path):
    files = {**ZERO, "case.yaml": "name: zero\ntotal_budget: 0\n"}
    res = solve(load_case(write_case(tmp_path, files)), mip_gap=0)
    assert res.status == "infeasible"
    row = res.explanation.iloc[0]
    assert row["kind"] == "total_budget"
    assert row["short_by"] == pytest.approx(120 * 4 + 60 * 3)
