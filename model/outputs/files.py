"""Writing a solve's outputs (SPEC §6): files only (the console summary is :mod:`.console`).

Files are written so that a folder is never mistaken for a finished run: an existing
``summary.json`` is removed first, the tables are written next, and ``summary.json`` comes
last through a temporary file and an atomic rename. Files a previous run left that this
run does not write are removed, so a folder never mixes two runs.
"""

from __future__ import annotations

import codecs
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import pandas as pd

from ..case.database import is_database_url
from ..case.schema import ID_DTYPES
from ..solver.status import Status
from .csv_text import csv_chunks
from .database import write_database
from .excel import MAX_ROWS, TMP_SUFFIX, Sheet, default_mode, replace_sheet, write_xlsx

TABLE_FILES = {
    "assignment": "assignment.csv",
    "periods": "kpi_periods.csv",
    "segments": "kpi_segments.csv",
    "classes": "kpi_classes.csv",
    "capacity": "kpi_capacity.csv",
    "targets": "kpi_targets.csv",
}
EXPLANATION_FILE = "infeasibility.csv"
#: The summary.json key that records ``xlsx_rows`` (tables longer stay out of results.xlsx).
XLSX_ROWS = "xlsx_rows"
#: Encoding of every CSV svcplan writes: UTF-8 with a byte-order mark, so Excel (which reads
#: a CSV without one in the local code page) shows non-ASCII ids such as ``重点客户``
#: correctly. pandas, svcplan's own case reader and every reader here skip the mark.
CSV_ENCODING = "utf-8-sig"
#: What ``svcplan simulate`` adds to a run folder; a new solve removes them (they describe
#: the plan that was there before).
SIMULATION_CSV, SIMULATION_JSON = "simulation.csv", "simulation.json"
OUTPUT_FILES = [*TABLE_FILES.values(), "results.xlsx", "report.html", EXPLANATION_FILE, SIMULATION_CSV,
                SIMULATION_JSON, "summary.json"]


class Outcome(Protocol):
    """What the writer reads of a solve: :class:`.result.SolveResult` is one.

    Spelled out here instead of importing SolveResult because result imports this module
    (``SolveResult.write``): files must not import it back, not even for type checking.
    """

    assignment: pd.DataFrame
    periods: pd.DataFrame
    segments: pd.DataFrame
    classes: pd.DataFrame
    capacity: pd.DataFrame
    targets: pd.DataFrame
    explanation: pd.DataFrame

    @property
    def has_plan(self) -> bool: ...

    def summary(self) -> dict[str, Any]: ...


#: Formats of columns whose name means something else in this table than elsewhere.
SHEET_FORMATS = {"targets": {"slack": "0.0%", "marginal_per_point": "#,##0.00"}}


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write one output table as CSV (:data:`CSV_ENCODING`, no index): the text of
    ``df.to_csv``, formatted column-wise (:mod:`.csv_text`: a 1M-binary plan's CSVs in
    1.1–1.9 s instead of 5.8–6.2 s, the demo's in 29 ms instead of 88 ms)."""
    with open(path, "wb") as f:
        f.write(codecs.BOM_UTF8)  # what CSV_ENCODING puts first
        for chunk in csv_chunks(df):
            f.write(chunk)


def write_json_atomic(path: Path, data: dict[str, Any]) -> None:
    """Write JSON through a temporary file in the same folder and rename it into place
    (with the file mode of the other outputs, not mkstemp's 0600)."""
    fd, tmp = tempfile.mkstemp(prefix=".summary-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=2, ensure_ascii=False, allow_nan=False)
            f.flush()
            os.fsync(f.fileno())
        default_mode(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _clear(out: Path) -> None:
    """Make ``out`` an empty run folder: summary.json goes first, so from the first deletion
    on the folder reads as "not done"; then every other output and leftovers of killed runs."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").unlink(missing_ok=True)
    for name in OUTPUT_FILES:
        (out / name).unlink(missing_ok=True)
    for leftover in [*out.glob(".summary-*.json"), *out.glob(f"*{TMP_SUFFIX}")]:
        leftover.unlink(missing_ok=True)


def write_outputs(res: Outcome, out: str | Path, extra: dict[str, Any] | None = None,
                  progress: Callable[[str], None] | None = None,
                  xlsx_rows: int | None = None) -> Path | str:
    """Write every output file of one solve into ``out`` (created if needed); a database URL
    gets the same outputs as tables, in one transaction (:mod:`.database`).

    ``progress`` hears which file is being written: a 1M-binary plan's files take about
    8 s here (the CSVs 1.7 s, results.xlsx 6 s), which the command line shows instead of a
    silent pause after the solve. ``xlsx_rows``: a table longer
    than this stays out of results.xlsx (:func:`write_excel`)."""
    say = progress or (lambda message: None)
    if is_database_url(out):
        say("writing the outputs to the database…")
        frames = {Path(file).stem: getattr(res, name) for name, file in TABLE_FILES.items()}
        return write_database(str(out), {**res.summary(), **(extra or {})}, frames,
                              res.explanation, res.has_plan)
    out = Path(out)
    _clear(out)
    # the workbook's summary sheet shows what summary.json holds, so that add_sheet can
    # write the same workbook again from the folder's files
    summary = {**res.summary(), **(extra or {})}
    if xlsx_rows is not None:
        summary[XLSX_ROWS] = xlsx_rows
    frames = {name: getattr(res, name) for name in TABLE_FILES}
    if res.has_plan:
        for name, file in TABLE_FILES.items():
            if frames[name].empty and not len(frames[name].columns):
                continue  # e.g. no capacity rows (or marginals off): no file
            say(f"writing {file} ({len(frames[name]):,} rows)…")
            write_csv(frames[name], out / file)
        write_excel(out / "results.xlsx", summary, frames, xlsx_rows, progress)
    if not res.explanation.empty:
        write_csv(res.explanation, out / EXPLANATION_FILE)
    write_json_atomic(out / "summary.json", summary)
    return out


def add_sheet(folder: Path, name: str, df: pd.DataFrame) -> Path:
    """Put ``df`` into the run's results.xlsx as sheet ``name``, after the others (a sheet of
    that name is replaced); how ``svcplan simulate`` adds its table.

    The workbook is written again from the run's own files (summary.json, the CSVs), which
    are what the solve wrote it from, so every other sheet comes out as it was: on the demo
    0.4 s, where opening and saving it with openpyxl took 6.8 s (60 s at 300k binaries). A
    workbook with a sheet the run did not write (the planner's own) is edited in place
    instead, keeping that sheet (:func:`.excel.replace_sheet`, the slow way)."""
    from openpyxl import load_workbook

    path = Path(folder) / "results.xlsx"
    summary = json.loads((path.parent / "summary.json").read_text(encoding="utf-8"))
    tables = {key: read_table(path.parent, file) for key, file in TABLE_FILES.items()}
    frames = {key: pd.DataFrame() if t is None else t for key, t in tables.items()}
    sheets = excel_sheets(summary, frames, summary.get(XLSX_ROWS))
    book = load_workbook(path, read_only=True)  # reads the sheet names only
    present = set(book.sheetnames) - {name[:31]}
    book.close()
    if present != set(sheets):
        return replace_sheet(path, name, df)
    return write_xlsx(path, {**sheets, name: df})


def read_table(folder: Path, file: str, columns: list[str] | None = None) -> pd.DataFrame | None:
    """A table of a run (or scenario) folder as written, ids as text (``007`` stays
    ``007``); None if the run wrote none (no capacity rows, no plan). ``columns``: only
    these (a frontier reads 4 of assignment.csv's 26 columns per point, in half the time)."""
    f = Path(folder) / file
    if not f.exists():
        return None
    return pd.read_csv(f, dtype=ID_DTYPES, encoding=CSV_ENCODING, usecols=columns)


def write_error_summary(out: Path, case_name: str, exc: BaseException) -> None:
    """A summary.json with status ``error`` for a run that failed unexpectedly."""
    _clear(out)
    summary = {"case": case_name, "status": Status.ERROR, "objective": None, "bound": None,
               "mip_gap": None, "error": f"{type(exc).__name__}: {exc}"}
    write_json_atomic(out / "summary.json", summary)


def write_excel(path: Path, summary: dict[str, Any], frames: dict[str, pd.DataFrame],
                max_rows: int | None = None,
                progress: Callable[[str], None] | None = None) -> None:
    """results.xlsx (:func:`excel_sheets`), written by the one Excel writer (:mod:`.excel`:
    formats, atomic); ``progress`` hears its size first."""
    sheets = excel_sheets(summary, frames, max_rows)
    if progress:
        longest = max(len(sheet.frame) if isinstance(sheet, Sheet) else len(sheet)
                      for sheet in sheets.values())
        progress(f"writing results.xlsx ({len(sheets)} sheets, the longest {longest:,} rows)…")
    write_xlsx(path, sheets)


def excel_sheets(summary: dict[str, Any], frames: dict[str, pd.DataFrame],
                 max_rows: int | None = None) -> dict[str, pd.DataFrame | Sheet]:
    """The sheets of results.xlsx: a summary sheet (the flat keys of summary.json and its
    KPIs), the plan at a glance, then one sheet per CSV, named as the CSV.

    A table longer than an Excel sheet holds (:data:`~.excel.MAX_ROWS`: a plan of more than
    a million unit-periods), or than the planner's ``max_rows``, is left out, and the summary
    sheet says so and where the whole table is; cutting it off at the limit would show a
    planner part of a plan as all of it. The planner's limit is for plans too long to
    browse in Excel anyway (a 200,000-row assignment sheet takes about 6 s to write here)."""
    flat = [(k, v) for k, v in summary.items() if not isinstance(v, (dict, list))]
    flat += [(f"kpi.{k}", v) for k, v in summary.get("kpis", {}).items()]
    sheets: dict[str, Sheet] = {}
    if not frames["assignment"].empty:
        sheets["plan"] = plan_sheet(frames["assignment"])
    for name, file in TABLE_FILES.items():
        if name in frames and not (frames[name].empty and not len(frames[name].columns)):
            sheets[Path(file).stem] = Sheet(frames[name], formats=SHEET_FORMATS.get(name, {}))
    limit = MAX_ROWS if max_rows is None else min(max_rows, MAX_ROWS)
    why = (f"more than an Excel sheet holds ({MAX_ROWS:,})" if limit == MAX_ROWS
           else f"more than the {limit:,} asked for (xlsx_rows)")
    for name in [n for n, sheet in sheets.items() if len(sheet.frame) > limit]:
        rows = len(sheets.pop(name).frame)
        where = f"{name}.csv" if name != "plan" else "assignment.csv (the level of each unit-period)"
        flat.append((f"sheet.{name}", f"not in this workbook: {rows:,} rows, {why}; the whole "
                                      f"table is in {where}"))
    return {"summary": pd.DataFrame(flat, columns=["key", "value"]), **sheets}


def plan_table(assignment: pd.DataFrame) -> pd.DataFrame:
    """The plan at a glance: one row per segment × product (in case order), one column per
    period (in time order), the level name in each cell."""
    a = assignment
    wide = a.pivot(index=["segment", "product"], columns="period", values="level")
    units = list(dict.fromkeys(zip(a["segment"], a["product"], strict=True)))
    wide = wide.reindex(index=pd.MultiIndex.from_tuples(units, names=["segment", "product"]),
                        columns=list(dict.fromkeys(a["period"])))
    wide.columns = [str(c) for c in wide.columns]
    return wide.reset_index()


def level_colours(assignment: pd.DataFrame) -> dict[str, str]:
    """A colour per level, light (lowest rank) to dark blue (highest), as in the report."""
    from .svg import shade

    lv = assignment.drop_duplicates("level").sort_values("rank")
    ranks = lv["rank"].rank(method="dense")
    top = max(1.0, float(ranks.max()) - 1) if len(ranks) else 1.0
    return {str(name): shade((r - 1) / top).lstrip("#").upper()
            for name, r in zip(lv["level"], ranks, strict=True)}


def plan_sheet(assignment: pd.DataFrame) -> Sheet:
    """The ``plan`` sheet: :func:`plan_table` with each level's colour; segment and product
    stay in view while scrolling through the periods."""
    return Sheet(plan_table(assignment), freeze="C2", fills=level_colours(assignment), fill_from=2)
