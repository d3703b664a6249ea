"""Where a case comes from and goes to: a CSV folder, a workbook, a Parquet folder, a database.

:func:`read_source` picks the reader by what it is given: a database URL (``sqlite:///…``,
``postgresql://…``) → :mod:`.database`; a folder of ``<table>.parquet`` files →
:mod:`.parquet`; anything else → :mod:`.reader` (a CSV folder or an ``.xlsx`` workbook).
:func:`write_source` does the same for writing (``svcplan convert``). Every reader returns
the same :class:`~.reader.RawCase`, so validation is one and the same for all of them.

This dispatch lives here rather than in :mod:`.reader` because the new readers build on
the reader module (``RawCase``, the key/value settings table): the reader importing them
back would be an import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from .database import is_database_url, read_database_case, write_database_case
from .parquet import is_parquet_folder, read_parquet_case, write_parquet_case
from .reader import RawCase, read_case, write_case

__all__ = ["FORMATS", "is_database_url", "read_source", "source_format", "write_source"]

#: What a case can be written as (``svcplan convert --format``).
FORMATS = ("csv", "xlsx", "parquet", "database")


def source_format(target: str | Path, folder_format: str | None = None) -> str:
    """The format of a case location: a URL is a database, ``.xlsx`` a workbook, a folder
    holding Parquet tables (or named ``*parquet``) Parquet, any other folder CSV."""
    if is_database_url(str(target)):
        return "database"
    path = Path(target)
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        return "xlsx"
    if folder_format:
        return folder_format
    if is_parquet_folder(path) or path.name.lower().endswith("parquet"):
        return "parquet"
    return "csv"


def read_source(target: str | Path) -> RawCase:
    """Read a case from any source (missing tables are for validation to judge)."""
    kind = source_format(target)
    if kind == "database":
        return read_database_case(str(target))
    if kind == "parquet" and Path(target).is_dir():
        return read_parquet_case(Path(target))
    return read_case(target)


def write_source(tables: dict[str, pd.DataFrame], settings: dict[str, Any], target: str | Path,
                 folder_format: str | None = None) -> str:
    """Write a case to ``target`` in its format; returns where it went (URL without password)."""
    kind = source_format(target, folder_format)
    if kind == "database":
        return write_database_case(tables, settings, str(target))
    if kind == "parquet":
        return str(write_parquet_case(tables, settings, Path(target)))
    return str(write_case(tables, settings, target))
