"""Reading a case from disk: a folder of CSV files or one ``.xlsx`` workbook (SPEC §5).

Reading does not interpret values: every cell comes in as text so that validation can say
exactly which cell is wrong ("row 7, column base_demand: 'twelve' is not a number") instead
of pandas guessing a dtype and failing somewhere later. The only normalisation here is of
the container (BOM, surrounding spaces in header names, fully blank trailing rows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .problems import Problem
from .schema import TABLES
from .textio import FileProblem, normalise_cells, read_csv_file, uncalculated_formulas


@dataclass
class RawCase:
    """Tables as read (text cells, or already-typed frames from the Python API) + settings.

    ``labels`` names where each table came from, for error messages ("demand.csv" or
    "demo.xlsx, sheet demand"); ``problems`` holds what already went wrong while reading.
    """

    tables: dict[str, pd.DataFrame]
    settings: dict[str, Any]
    source: str = "<memory>"
    labels: dict[str, str] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    settings_label: str = "case.yaml"
    warnings: list[str] = field(default_factory=list)  # quirks accepted and normalised
    book: str | None = None  # the workbook's file name when the case is one .xlsx
    #: tables taken unchanged from a valid Case (:meth:`~svcplan.case.case.Case.with_tables`,
    #: which only adds or replaces tables): typed and checked cell by cell already, so the
    #: check takes them as they are, and a rule across tables that reads only such tables is
    #: not run again (it held for that case); every rule that reads a changed table runs
    checked: frozenset[str] = frozenset()

    @property
    def kind(self) -> str:
        """What one table is in this source: a sheet of a workbook or a CSV file."""
        return "sheet" if self.book else "table"

    def label(self, table: str) -> str:
        """Where a table's problems are reported: ``demand.csv`` or ``book.xlsx, sheet demand``."""
        return self.labels.get(table, f"{self.book}, sheet {table}" if self.book else f"{table}.csv")

    def where(self, table: str) -> str:
        """A table named inside a message: ``periods.csv``, ``sheet periods``, or as its
        source labels it (``periods.parquet``, ``table periods``)."""
        return f"sheet {table}" if self.book else self.labels.get(table, f"{table}.csv")

    @classmethod
    def from_frames(cls, tables: dict[str, pd.DataFrame], settings: dict[str, Any],
                    checked: frozenset[str] = frozenset()) -> RawCase:
        """Frames handed in through the Python API; row numbers follow the CSV convention.
        ``checked``: see the field of that name."""
        frames = {name: _renumber(df.copy()) for name, df in tables.items()}
        return cls(tables=frames, settings=dict(settings), checked=checked)


def _renumber(df: pd.DataFrame) -> pd.DataFrame:
    """Index rows as the user sees them in a file: header is row 1, first data row is row 2."""
    df.columns = [str(c).strip() for c in df.columns]
    df.index = pd.RangeIndex(2, len(df) + 2)
    return df


def _unique_columns(df: pd.DataFrame, label: str, raw: RawCase) -> pd.DataFrame:
    """Two columns with the same name (after trimming spaces) are an error; keep the first."""
    dup = df.columns.duplicated()
    for col in sorted(set(df.columns[dup])):
        raw.problems.append(Problem(label, "column appears more than once", row=1, column=col))
    return df.loc[:, ~dup]


def _drop_blank_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Drop trailing rows where every cell is blank (spreadsheets leave them behind)."""
    if df.empty:
        return df
    blank = df.apply(lambda s: s.isna() | (s.astype(str).str.strip() == "")).all(axis=1)
    keep = len(blank) - int(blank[::-1].cummin().sum())
    return df.iloc[:keep]


def read_case(path: str | Path) -> RawCase:
    """Read a case folder or workbook. Missing files are not an error here (validation decides)."""
    path = Path(path)
    if path.is_dir():
        return _read_folder(path)
    if path.suffix.lower() in {".xlsx", ".xlsm"} and path.is_file():
        return _read_workbook(path)
    raw = RawCase(tables={}, settings={}, source=str(path))
    what = "does not exist" if not path.exists() else "is neither a folder nor an .xlsx workbook"
    raw.problems.append(Problem(str(path), f"the case {what}"))
    return raw


def _read_folder(folder: Path) -> RawCase:
    raw = RawCase(tables={}, settings={}, source=str(folder))
    yaml_path = folder / "case.yaml"
    if not yaml_path.exists() and (folder / "case.yml").exists():
        yaml_path = folder / "case.yml"
    raw.settings_label = yaml_path.name
    if yaml_path.exists():
        try:
            loaded = yaml.safe_load(yaml_path.read_text(encoding="utf-8-sig"))
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raw.problems.append(Problem(yaml_path.name, f"cannot be read as YAML: {exc}"))
            loaded = {}
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raw.problems.append(Problem(yaml_path.name, "must be a mapping of key: value"))
            loaded = {}
        raw.settings = loaded
    else:
        raw.problems.append(Problem("case.yaml", "required file is missing"))
    for name in TABLES:
        file = folder / f"{name}.csv"
        if not file.exists():
            continue
        try:
            df = read_csv_file(file, name, raw.warnings)
        except pd.errors.EmptyDataError:
            df = pd.DataFrame()
        except FileProblem as exc:
            raw.problems.append(Problem(file.name, str(exc)))
            continue
        except (UnicodeDecodeError, pd.errors.ParserError, ValueError) as exc:
            msg = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raw.problems.append(Problem(file.name, f"cannot be read as CSV: {msg}"))
            continue
        df = normalise_cells(df, name, file.name, raw.warnings)
        raw.tables[name] = _unique_columns(_drop_blank_rows(_renumber(df)), file.name, raw)
        raw.labels[name] = file.name
    return raw


def _read_workbook(path: Path) -> RawCase:
    raw = RawCase(tables={}, settings={}, source=str(path), settings_label=f"{path.name}, sheet case",
                  book=path.name)
    try:
        sheets = pd.read_excel(path, sheet_name=None, dtype=object, keep_default_na=False)
    except Exception as exc:  # openpyxl raises many types for damaged files
        raw.problems.append(Problem(path.name, f"cannot be read as an Excel workbook: {exc}"))
        return raw
    sheets = {str(k).strip(): v for k, v in sheets.items()}
    if "case" in sheets:
        df = _drop_blank_rows(_renumber(sheets["case"]))
        formulas = _check_formulas(path, "case", df, raw.settings_label, raw)
        raw.settings = _settings_from_sheet(df, raw, skip=frozenset(row for row, _ in formulas))
    else:
        raw.problems.append(Problem(path.name, "required sheet 'case' (columns key, value) is missing"))
    for name in TABLES:
        if name in sheets:
            label = f"{path.name}, sheet {name}"
            df = normalise_cells(sheets[name], name, label, raw.warnings)
            df = _unique_columns(_drop_blank_rows(_renumber(df)), label, raw)
            raw.tables[name] = df
            raw.labels[name] = label
            _check_formulas(path, name, df, label, raw)
    return raw


def _check_formulas(path: Path, sheet: str, df: pd.DataFrame, label: str, raw: RawCase) -> set:
    """Blank cells that hold a never-calculated formula are refused, in every column.

    A workbook written by a program and never opened in Excel has formulas but no saved
    values; read as blank, an optional cell would silently mean its default (a budget would
    vanish). Returns the (row, column) cells reported, so callers can leave them out.
    """
    blank = {c: set(df.index[df[c].astype(str).str.strip() == ""].astype(int)) for c in df.columns}
    blank = {c: rows for c, rows in blank.items() if rows}
    try:
        found = uncalculated_formulas(path, sheet, blank)
    except Exception:  # a second, formula-level read is best effort only
        return set()
    for (row, col), formula in sorted(found.items()):
        raw.problems.append(Problem(
            label, f"formula {formula!r} has no saved value (the workbook was never "
            "calculated); open and save it in Excel or LibreOffice, or paste values",
            row=row, column=col))
    return set(found)


def _settings_from_sheet(df: pd.DataFrame, raw: RawCase, skip: frozenset[int] = frozenset()) -> dict[str, Any]:
    """The ``case`` sheet (or settings table): rows of key, value; dotted keys nest
    (``solver.time_limit``). Rows in ``skip`` (an uncalculated formula, already reported) are
    left out.
    """
    df = _drop_blank_rows(_renumber(df))  # idempotent: callers may pass it renumbered already
    if not {"key", "value"} <= set(df.columns):
        raw.problems.append(Problem(raw.settings_label, "needs the columns key and value", row=1))
        return {}
    settings: dict[str, Any] = {}
    for row, key, value in zip(df.index, df["key"], df["value"], strict=True):
        key = str(key).strip()
        if not key or row in skip:
            continue
        text = str(value).strip()
        try:
            parsed = yaml.safe_load(text) if text else None
        except yaml.YAMLError:
            parsed = text
        node = settings
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raw.problems.append(Problem(raw.settings_label, f"key '{key}' clashes", row=row))
                break
        else:
            node[leaf] = parsed
    return settings


def write_case(tables: dict[str, pd.DataFrame], settings: dict[str, Any], path: str | Path) -> Path:
    """Write a case as a CSV folder (plus case.yaml), or as one workbook when ``path`` is .xlsx.

    In a folder, CSV files of case tables that this case lacks are removed, so a stale
    ``options.csv`` from an earlier case cannot silently become part of this one.
    """
    path = Path(path)
    if path.suffix.lower() == ".xlsx":
        path.parent.mkdir(parents=True, exist_ok=True)
        rows = list(_flatten(settings))
        with pd.ExcelWriter(path, engine="openpyxl") as xl:
            pd.DataFrame(rows, columns=["key", "value"]).to_excel(xl, sheet_name="case", index=False)
            for name, df in tables.items():
                df.to_excel(xl, sheet_name=name, index=False)
        return path
    path.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        if name not in tables:
            (path / f"{name}.csv").unlink(missing_ok=True)
    (path / "case.yaml").write_text(
        yaml.safe_dump(settings, sort_keys=False, allow_unicode=True), encoding="utf-8"
    )
    for name, df in tables.items():
        df.to_csv(path / f"{name}.csv", index=False, encoding="utf-8")
    return path


def _flatten(settings: dict[str, Any], prefix: str = ""):
    for key, value in settings.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value
