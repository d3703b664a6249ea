"""Cases from Parquet folders and databases, outputs into databases, ``svcplan convert``.

Every source must give the same validated case as the CSV folder it was converted from;
bad sources are refused with exit 2 and a message that names the table (and the column of a
Parquet file); outputs written to a database are all-or-nothing. PostgreSQL runs for real:
the tests start a throw-away server (initdb + pg_ctl on a unix socket in a temporary folder)
and stop it; they are skipped only when the server binaries are not installed (.ci/run
installs Debian's postgresql package).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa
from casefiles import write_case
from typer.testing import CliRunner

from svcplan import CaseError, load_case, solve
from svcplan.case.database import engine_for
from svcplan.cli.app import app
from svcplan.prep.generate import generate_case
from svcplan.prep.generate import write_case as write_case_tables

TINY = {
    "case.yaml": "name: tiny\nperiod_days: 30\nsolver:\n  mip_gap: 0",
    "segments.csv": "segment,tier\nKEY,1\nSMB,2",
    "products.csv": "product,unit_margin,base_unit_cost\nP1,10,4\nP2,12,5",
    "levels.csv": "level,rank,cost_multiplier\nB,1,1.0\nG,2,1.25",
    "periods.csv": "period,budget\n2026-01,900\n2026-02,",
    "demand.csv": """
        segment,product,period,base_demand
        KEY,P1,2026-01,100
        KEY,P2,2026-01,80
        SMB,P1,2026-02,60
        SMB,P2,2026-02,40
    """,
    "response.csv": "segment,level,capture\nKEY,B,0.8\nKEY,G,1\nSMB,B,0.9\nSMB,G,1",
}


def _said(result) -> str:
    return " ".join(result.output.split())  # the console wraps long lines


def _same_case(a, b) -> None:
    assert a.tables.keys() == b.tables.keys()
    for name in a.tables:
        pd.testing.assert_frame_equal(a.tables[name].reset_index(drop=True),
                                      b.tables[name].reset_index(drop=True), check_dtype=False)
    assert a.settings == b.settings


def _convert(src, dst, *extra) -> None:
    r = CliRunner().invoke(app, ["convert", str(src), str(dst), *extra])
    assert r.exit_code == 0, r.output


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> Path:
    """A generated case with every table (policies, current levels, capacity and usage)."""
    tables, settings = generate_case(3, 4, 3, 3, seed=2, capacity=True)
    return write_case_tables(tables, settings, tmp_path_factory.mktemp("small") / "case")


def test_convert_round_trip_through_every_format(tmp_path, small):
    """CSV → Parquet → SQLite → workbook → CSV: the same validated case at every step."""
    demo = load_case(small)
    assert {"policies", "current", "capacity", "usage"} <= demo.tables.keys()
    steps = [tmp_path / "demo-parquet", f"sqlite:///{tmp_path / 'demo.db'}",
             tmp_path / "demo.xlsx", tmp_path / "back"]
    src = small
    for dst in steps:
        _convert(src, dst)  # validates src: an unreadable step fails here
        if not str(dst).endswith(".xlsx"):  # the workbook reader has its own tests
            _same_case(demo, load_case(str(dst)))
        src = dst
    written = {p.suffix for p in steps[0].iterdir()}
    assert written == {".parquet", ".yaml"}
    assert pq.read_schema(steps[0] / "demand.parquet").field("base_demand").type == pa.float64()


def test_parquet_wrong_column_type_names_file_and_column(tmp_path, small):
    folder = tmp_path / "pq"
    _convert(small, folder, "--format", "parquet")
    # the settings may also be a key/value case.parquet, as the workbook's case sheet
    yaml_case = load_case(folder)
    (folder / "case.yaml").unlink()
    rows = [("name", yaml_case.name), ("period_days", "30"), ("solver.mip_gap", "0.001")]
    pq.write_table(pa.table({"key": [k for k, _ in rows], "value": [v for _, v in rows]}),
                   folder / "case.parquet")
    assert load_case(folder).settings.solver.mip_gap == 0.001
    demand = pq.read_table(folder / "demand.parquet").to_pandas()
    demand["base_demand"] = demand["base_demand"].astype(str)
    pq.write_table(pa.Table.from_pandas(demand, preserve_index=False), folder / "demand.parquet")
    (folder / "levels.parquet").unlink()
    r = CliRunner().invoke(app, ["validate", str(folder)])
    said = _said(r)
    assert r.exit_code == 2 and "Traceback" not in said
    assert "demand.parquet, row 1, column 'base_demand': is text in the Parquet file" in said
    assert "levels.parquet: required table is missing" in said


def test_database_problems_are_named_like_files(tmp_path, small):
    db = tmp_path / "case.db"
    _convert(small, f"sqlite:///{db}")
    with sqlite3.connect(db) as con:
        con.execute("DROP TABLE levels")
        con.execute("UPDATE demand SET base_demand = 'twelve' WHERE rowid = 3")
    with pytest.raises(CaseError) as err:
        load_case(f"sqlite:///{db}")
    said = [str(p) for p in err.value.problems]
    assert "table levels: required table is missing" in said
    assert "table demand, row 4, column 'base_demand': 'twelve' is not a number" in said
    for url, message in [
        (f"sqlite:///{tmp_path / 'none.db'}", "does not exist"),
        ("postgresql://planner:secret@127.0.0.1:9/nodb", "cannot read the database: connection"),
    ]:
        r = CliRunner().invoke(app, ["solve", url, "--out", str(tmp_path / "run")])
        assert r.exit_code == 2 and message in _said(r), r.output
        assert "secret" not in r.output and not (tmp_path / "run").exists()
    r = CliRunner().invoke(app, ["solve", str(small), "--out", "postgresql://x@127.0.0.1:9/db"])
    assert r.exit_code == 2 and "cannot reach the database" in _said(r)


def test_references_in_a_database_case_name_its_tables(tmp_path, small):
    """An unknown id inside a database case points at "table segments", not "segments.csv"
    (a file the user does not have)."""
    db = tmp_path / "case.db"
    _convert(small, f"sqlite:///{db}")
    with sqlite3.connect(db) as con:
        con.execute("UPDATE demand SET segment = 'NOBODY' WHERE rowid = 1")
    with pytest.raises(CaseError) as err:
        load_case(f"sqlite:///{db}")
    said = " | ".join(str(p) for p in err.value.problems)
    assert "not in table segments" in said and "segments.csv" not in said, said


def _tables(url: str) -> dict[str, pd.DataFrame]:
    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            names = sa.inspect(conn).get_table_names()
            return {n: pd.read_sql_query(f'SELECT * FROM "{n}"', conn) for n in names}
    finally:
        engine.dispose()


def _outputs_are_all_or_nothing(url: str, case_folder: Path, monkeypatch) -> None:
    """A solve's outputs land as tables; a write that fails midway changes nothing."""
    res = solve(load_case(case_folder), mip_gap=0.0)
    res.write(url)
    first = _tables(url)
    assert {"summary", "assignment", "kpi_periods", "kpi_segments"} <= first.keys()
    summary = dict(zip(first["summary"]["key"], first["summary"]["value"], strict=True))
    assert summary["status"] == '"optimal"' and float(summary["objective"]) == pytest.approx(
        res.objective)
    filled = [c for c in res.assignment.columns if res.assignment[c].notna().any()]
    pd.testing.assert_frame_equal(first["assignment"][filled],  # an all-blank column reads as None
                                  res.assignment.reset_index(drop=True)[filled], check_dtype=False)
    # the second run fails while writing kpi_segments, after assignment was replaced
    res.assignment = res.assignment.assign(level="CHANGED")
    real = pd.DataFrame.to_sql

    def failing(self, name, *args, **kwargs):
        if name == "kpi_segments":
            raise RuntimeError("disk full")
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_sql", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        res.write(url)
    monkeypatch.undo()
    after = _tables(url)
    assert after.keys() == first.keys()
    for name in first:
        pd.testing.assert_frame_equal(after[name], first[name])


def test_sqlite_outputs_are_one_transaction(tmp_path, monkeypatch):
    folder = write_case(tmp_path, TINY)
    _outputs_are_all_or_nothing(f"sqlite:///{tmp_path / 'runs.db'}", folder, monkeypatch)


# --- PostgreSQL: a real server, started and stopped by the test ------------------------------

def _pg_bin(name: str) -> str | None:
    found = shutil.which(name) or sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found if isinstance(found, str) else (found[-1] if found else None)


@pytest.fixture(scope="module")
def postgres():
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server binaries not installed (apt-get install postgresql)")
    as_user: list[str] = []
    base = Path(tempfile.mkdtemp(prefix="svcplan-pg-"))
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as 'postgres'
        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run the server")
        os.chmod(base, 0o755)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    run = dict(check=True, capture_output=True, text=True)
    subprocess.run([*as_user, initdb, "-D", str(data), "-A", "trust", "-U", "svcplan",
                    "--no-sync", "--no-locale", "-E", "UTF8"], **run)
    subprocess.run([*as_user, pg_ctl, "-D", str(data), "-l", str(base / "log"), "-w", "-o",
                    f"-k {base} -c listen_addresses='' -F", "start"], **run)
    try:
        yield f"postgresql://svcplan@/postgres?host={base}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def test_postgresql_case_and_outputs(postgres, tmp_path, monkeypatch):
    folder = write_case(tmp_path, TINY)
    _convert(folder, postgres)
    _same_case(load_case(folder), load_case(postgres))
    r = CliRunner().invoke(app, ["solve", postgres, "--out", postgres, "--quiet"])
    assert r.exit_code == 0, r.output
    assert r.output.startswith("optimal")
    _outputs_are_all_or_nothing(postgres, folder, monkeypatch)
    # the case tables are still there beside the outputs, and still the same case
    _same_case(load_case(folder), load_case(postgres))
