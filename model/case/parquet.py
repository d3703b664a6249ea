"""A case as a folder of Parquet files: ``demand.parquet``, ``levels.parquet``, … (SPEC §5 names).

The settings are ``case.yaml`` as in a CSV folder (or a ``case.parquet`` table of key, value
rows, as the ``case`` sheet of a workbook). Parquet files carry types, so unlike a CSV reader
this one checks types and leaves numbers numbers: a number column must be stored as integers
or floats (a text ``base_demand`` is refused, naming the file and column, before any cell is
read), id columns may be text or integers and are read as text. Validation is then the same
as for every source (:mod:`.checks`); numeric columns skip the text-to-number parse, which is
what makes a million-row table load fast (``bench/read_sources.py``).

pyarrow is imported when a Parquet case is read or written (the ``sources`` extra).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from .problems import Problem
from .reader import RawCase, _drop_blank_rows, _renumber, _settings_from_sheet
from .schema import TABLES

SUFFIX = ".parquet"


def is_parquet_folder(path: Path) -> bool:
    """A folder holding at least one case table as ``<table>.parquet``."""
    return path.is_dir() and any((path / f"{name}{SUFFIX}").is_file() for name in TABLES)


def _arrow():
    try:
        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.parquet as pq
    except ImportError as exc:  # the sources extra is not installed
        raise ImportError("Parquet cases need pyarrow: pip install 'svcplan[sources]'") from exc
    return pa, pc, pq


def read_parquet_case(folder: Path) -> RawCase:
    """Read a Parquet case folder into a :class:`RawCase` (typed numbers, text ids)."""
    raw = RawCase(tables={}, settings={}, source=str(folder))
    raw.labels = {name: f"{name}{SUFFIX}" for name in TABLES}
    try:
        pa, pc, pq = _arrow()
    except ImportError as exc:
        raw.problems.append(Problem(str(folder), str(exc)))
        return raw
    _read_settings(folder, raw, pq)
    for name, spec in TABLES.items():
        file = folder / f"{name}{SUFFIX}"
        if not file.is_file():
            continue
        try:
            table = pq.read_table(file)
        except Exception as exc:  # pyarrow raises several types for damaged files
            raw.problems.append(Problem(file.name, f"cannot be read as Parquet: {exc}"))
            continue
        kinds = {c.name: c.kind for c in spec.columns}
        columns = {}
        for field, column in zip(table.schema, table.columns, strict=True):
            col = field.name.strip()
            kind = kinds.get(col, "id")
            problem = _type_problem(pa, field.type, kind)
            if problem:  # refused; the column still goes on as text so the rest is checked
                raw.problems.append(Problem(file.name, problem, row=1, column=col))
            numeric = pa.types.is_integer(field.type) or pa.types.is_floating(field.type)
            if kind == "id" or not numeric:
                try:
                    column = pc.utf8_trim_whitespace(pc.cast(column, pa.string()))
                except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # lists, structs
                    continue  # already reported as a wrong type
            columns[col] = column.to_pandas()
        df = pd.DataFrame(columns)
        df.index = pd.RangeIndex(2, len(df) + 2)  # "rows" as a CSV user would count them
        raw.tables[name] = df
    return raw


def _type_problem(pa, type_, kind: str) -> str | None:
    """Why a Parquet column of ``type_`` cannot hold a column of ``kind`` (None: it can)."""
    t = pa.types
    if t.is_null(type_):
        return None
    text = t.is_string(type_) or t.is_large_string(type_) or t.is_dictionary(type_)
    if kind == "id":
        if text or t.is_integer(type_):
            return None
        return f"is {_word(pa, type_)} in the Parquet file ({type_}); an id column must be text"
    if t.is_integer(type_) or t.is_floating(type_) or t.is_decimal(type_):
        return None
    return (f"is {_word(pa, type_)} in the Parquet file ({type_}); expected numbers "
            "(integers or floats)")


def _word(pa, type_) -> str:
    t = pa.types
    if t.is_string(type_) or t.is_large_string(type_) or t.is_dictionary(type_):
        return "text"
    if t.is_temporal(type_):
        return "a date or time"
    if t.is_boolean(type_):
        return "true/false"
    return "numbers" if t.is_floating(type_) or t.is_integer(type_) else "of another type"


def _read_settings(folder: Path, raw: RawCase, pq) -> None:
    """case.yaml (as in a CSV folder), else a key/value ``case.parquet``."""
    yaml_path = folder / "case.yaml"
    table = folder / f"case{SUFFIX}"
    if yaml_path.is_file():
        try:
            loaded = yaml.safe_load(yaml_path.read_text(encoding="utf-8-sig")) or {}
        except (yaml.YAMLError, UnicodeDecodeError) as exc:
            raw.problems.append(Problem(yaml_path.name, f"cannot be read as YAML: {exc}"))
            return
        if not isinstance(loaded, dict):
            raw.problems.append(Problem(yaml_path.name, "must be a mapping of key: value"))
            return
        raw.settings = loaded
    elif table.is_file():
        raw.settings_label = table.name
        frame = pq.read_table(table).to_pandas().astype(object).fillna("").astype(str)
        raw.settings = _settings_from_sheet(_drop_blank_rows(_renumber(frame)), raw, skip=set())
    else:
        raw.problems.append(Problem("case.yaml", "required file is missing (or case.parquet)"))


def write_parquet_case(tables: dict[str, pd.DataFrame], settings: dict[str, Any], folder: Path) -> Path:
    """Write a case as a Parquet folder: typed columns (ids as text), plus case.yaml.

    Parquet files of case tables this case lacks are removed, as :func:`.reader.write_case`
    removes stale CSV files.
    """
    pa, _, pq = _arrow()
    folder.mkdir(parents=True, exist_ok=True)
    for name in TABLES:
        if name not in tables:
            (folder / f"{name}{SUFFIX}").unlink(missing_ok=True)
    (folder / "case.yaml").write_text(yaml.safe_dump(settings, sort_keys=False, allow_unicode=True),
                                      encoding="utf-8")
    for name, df in tables.items():
        pq.write_table(pa.Table.from_pandas(typed_frame(name, df), preserve_index=False),
                       folder / f"{name}{SUFFIX}")
    return folder


def typed_frame(name: str, df: pd.DataFrame) -> pd.DataFrame:
    """A case table with its declared types: ids as text (blank = null), numbers as floats."""
    spec = TABLES.get(name)
    kinds = {c.name: c.kind for c in spec.columns} if spec else {}
    out = pd.DataFrame(index=range(len(df)))
    for col in df.columns:
        s = df[col].reset_index(drop=True)
        if kinds.get(col, "id") == "id":
            text = s.astype(object).where(s.notna(), None)
            out[col] = pd.Series([None if v is None or str(v) == "" else str(v) for v in text],
                                 dtype=object)
        else:
            out[col] = pd.to_numeric(s.replace("", None), errors="coerce").astype(float)
    return out
