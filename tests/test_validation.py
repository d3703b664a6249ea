"""Invalid input: every problem found, each with file, row and column, exit code 2, no traceback."""

from __future__ import annotations

import pytest
from casefiles import write_case
from typer.testing import CliRunner

from svcplan import CaseError, load_case
from svcplan.cli.app import app

GOOD = {
    "case.yaml": "name: v\nswitching_cost: 0\n",
    "segments.csv": "segment,tier\nA,1\nB,2\n",
    "products.csv": "product,product_class,unit_margin,base_unit_cost\nP,star,10,2\nQ,dog,8,3\n",
    "levels.csv": "level,rank,service_target,lead_time_days\nLO,1,0.8,10\nHI,2,0.95,2\n",
    "periods.csv": "period,budget\nT1,100\nT2,\n",
    "demand.csv": "segment,product,period,base_demand\nA,P,T1,10\nB,Q,T2,5\n",
}


def problems_of(tmp_path, **changes) -> list:
    files = dict(GOOD)
    for name, text in changes.items():
        key = name.replace("_csv", ".csv").replace("_yaml", ".yaml")
        if text is None:
            files.pop(key)
        else:
            files[key] = text
    folder = write_case(tmp_path, files)
    with pytest.raises(CaseError) as exc:
        load_case(folder)
    return exc.value.problems


def test_good_case_is_valid(tmp_path):
    case = load_case(write_case(tmp_path, GOOD))
    assert case.name == "v"
    assert list(case.tables["periods"]["period"]) == ["T1", "T2"]


@pytest.mark.parametrize(
    ("change", "file", "row", "column", "words"),
    [
        ({"demand_csv": "segment,product,period,base_demand\nA,P,T1,ten\n"}, "demand.csv", 2,
         "base_demand", "not a number"),
        ({"demand_csv": "segment,product,period,base_demand\nA,P,T1,-1\n"}, "demand.csv", 2,
         "base_demand", "out of range"),
        ({"levels_csv": "level,rank,service_target\nLO,1,1.2\nHI,2,0.9\n"}, "levels.csv", 2,
         "service_target", "out of range"),
        ({"levels_csv": "level,rank\nLO,1\nHI,1\n"}, "levels.csv", 2, "rank", "more than one level"),
        ({"levels_csv": "level,rank\nLO,1.5\nHI,2\n"}, "levels.csv", 2, "rank", "whole number"),
        ({"demand_csv": "segment,product,period,base_demand\nZ,P,T1,3\n"}, "demand.csv", 2,
         "segment", "unknown segment 'Z'"),
        ({"demand_csv": "segment,product,period,base_demand\nA,P,T9,3\n"}, "demand.csv", 2,
         "period", "unknown period 'T9'"),
        ({"demand_csv": "segment,product,period,base_demand\nA,P,T1,3\nA,P,T1,4\n"}, "demand.csv",
         3, "segment,product,period", "duplicate row"),
        ({"demand_csv": "segment,product,base_demand\nA,P,3\n"}, "demand.csv", 1, "period",
         "required column is missing"),
        ({"demand_csv": "segment,product,period,basedemand\nA,P,T1,3\n"},
         "demand.csv", 1, "basedemand", "did you mean 'base_demand'"),
        ({"levels_csv": "level,rank,lead_time_day\nLO,1,3\nHI,2,1\n"}, "levels.csv", 1,
         "lead_time_day", "did you mean 'lead_time_days'"),
        ({"products_csv": "product,unit_margin\nP,\nQ,8\n"}, "products.csv", 2, "unit_margin",
         "required but blank"),
        ({"periods_csv": "period,budget\nT1,-5\nT2,\n"}, "periods.csv", 2, "budget", "out of range"),
        ({"case_yaml": "name: v\nswitching_costs: 5\n"}, "case.yaml", None, "switching_costs",
         "did you mean 'switching_cost'"),
        ({"case_yaml": "name: v\nperiod_days: -3\n"}, "case.yaml", None, "period_days", None),
        ({"case_yaml": "solver:\n  timelimit: 5\n"}, "case.yaml", None, "solver.timelimit",
         "did you mean 'solver.time_limit'"),
        ({"response_csv": "segment,level,capture\nA,LO,-0.5\n"}, "response.csv", 2, "capture",
         "out of range"),
        ({"policies_csv": "segment,product_class,min_level,max_level\nA,,HI,LO\n"}, "policies.csv",
         2, "min_level", "ranks above"),
        ({"policies_csv": "segment,product_class,min_level,max_level\n,nova,LO,\n"}, "policies.csv",
         2, "product_class", "unknown product_class 'nova'"),
        ({"usage_csv": "level,resource,per_unit\nLO,dock,1\n"}, "usage.csv", 2, "resource",
         "unknown resource"),
    ],
)
def test_each_bad_input_is_located(tmp_path, change, file, row, column, words):
    problems = problems_of(tmp_path, **change)
    hits = [p for p in problems if p.file == file and p.column == column and p.row == row]
    assert hits, f"no problem at {file}:{row}:{column}; got {[str(p) for p in problems]}"
    if words:
        assert any(words in p.message for p in hits), [p.message for p in hits]


def test_all_problems_are_reported_together(tmp_path):
    problems = problems_of(
        tmp_path,
        demand_csv="segment,product,period,base_demand\nA,P,T1,x\nZ,P,T1,3\n",
        case_yaml="name: v\nswitching_costs: 1\n",
    )
    where = {(p.file, p.column) for p in problems}
    assert {("demand.csv", "base_demand"), ("demand.csv", "segment"), ("case.yaml", "switching_costs")} <= where


def test_missing_required_files(tmp_path):
    problems = problems_of(tmp_path, levels_csv=None, demand_csv=None)
    files = {p.file for p in problems}
    assert "levels.csv" in files
    assert "demand.csv" in files


def test_policy_leaving_a_unit_without_level_names_the_unit(tmp_path):
    problems = problems_of(
        tmp_path,
        policies_csv="segment,product_class,min_level,max_level\nA,,HI,\nA,star,,LO\n",
    )
    assert any("'A'" in p.message and "'P'" in p.message and "no allowed level" in p.message
               for p in problems)


def test_response_without_capture_for_a_demanded_unit(tmp_path):
    problems = problems_of(tmp_path, response_csv="segment,level,capture\nA,LO,0.5\nA,HI,1\n")
    assert any(p.file == "response.csv" and "segment 'B'" in p.message for p in problems)


def test_cli_exit_code_2_lists_file_row_column_without_traceback(tmp_path):
    files = dict(GOOD)
    files["demand.csv"] = "segment,product,period,base_demand\nA,P,T1,abc\nA,X,T1,2\n"
    folder = write_case(tmp_path, files)
    for command in ("validate", "solve"):
        result = CliRunner().invoke(app, [command, str(folder), "--out", str(tmp_path / "o")]
                                    if command == "solve" else [command, str(folder)])
        assert result.exit_code == 2
        text = result.output
        assert "demand.csv, row 2, column 'base_demand': 'abc' is not a number" in text
        assert "demand.csv, row 3, column 'product': unknown product 'X'" in text
        assert "Traceback" not in text
    assert not (tmp_path / "o" / "summary.json").exists()


def test_cli_usage_errors_exit_2(tmp_path):
    assert CliRunner().invoke(app, ["solve"]).exit_code == 2
    assert CliRunner().invoke(app, ["solve", str(tmp_path / "nowhere")]).exit_code == 2
    folder = write_case(tmp_path, GOOD)
    bad = CliRunner().invoke(app, ["solve", str(folder), "--write-model", str(tmp_path / "m.txt")])
    assert bad.exit_code == 2


def test_validation_does_not_mutate_input_frames():
    import pandas as pd

    from svcplan import Case

    demand = pd.DataFrame({"segment": ["A"], "product": ["P"], "period": ["T1"], "base_demand": ["4"]})
    tables = {
        "segments": pd.DataFrame({"segment": ["A"]}),
        "products": pd.DataFrame({"product": ["P"], "unit_margin": [3.0]}),
        "levels": pd.DataFrame({"level": ["L"], "rank": [1]}),
        "periods": pd.DataFrame({"period": ["T1"]}),
        "demand": demand,
    }
    before = demand.copy()
    case = Case.from_tables(tables, {"name": "m"})
    pd.testing.assert_frame_equal(demand, before)
    assert case.tables["demand"]["base_demand"].iloc[0] == 4.0
