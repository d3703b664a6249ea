"""``svcplan convert SRC DST``: a case from one kind of source to another.

Any source :func:`svcplan.load_case` reads (CSV folder, ``.xlsx`` workbook, Parquet folder,
database URL) to any of them. The case is validated first: an invalid case is reported like
``svcplan validate`` does (exit 2) and nothing is written. What is written is the validated
tables with their declared types (numbers as numbers, ids as text) and the settings as read.
"""

from __future__ import annotations

from typing import Annotated

import pandas as pd
import typer

from ..case.case import CaseError
from ..case.sources import read_source, source_format, write_source
from ..case.validate import validate
from .common import console, fail

FolderFormat = Annotated[str | None, typer.Option(
    "--format", help="For a folder DST: csv or parquet (default: parquet when the folder holds "
    "Parquet files or its name ends in 'parquet', else csv).")]


def convert(
    src: Annotated[str, typer.Argument(help="The case: CSV or Parquet folder, .xlsx, database URL.")],
    dst: Annotated[str, typer.Argument(help="Where to write it: a folder, a .xlsx file, or a "
                                            "database URL (sqlite:///case.db, postgresql://...).")],
    folder_format: FolderFormat = None,
) -> None:
    """Convert a case between CSV folder, workbook, Parquet folder and database."""
    if folder_format not in (None, "csv", "parquet"):
        fail("--format is csv or parquet (a workbook or a database is told by DST itself)")
    raw = read_source(src)
    try:
        case = validate(raw)
    except CaseError as exc:
        fail(exc)
    kind = source_format(dst, folder_format)
    tables = case.tables if kind in ("parquet", "database") else {
        name: _whole_numbers(df) for name, df in case.tables.items()}
    try:
        where = write_source(tables, raw.settings, dst, folder_format)
    except ImportError as exc:  # pyarrow or SQLAlchemy missing
        fail(str(exc))
    except Exception as exc:  # unreachable database, no permission to write
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        fail(f"cannot write {kind} case {dst}: {text[0] if text else type(exc).__name__} "
             "(nothing was written)" if kind == "database" else
             f"cannot write {kind} case {dst}: {type(exc).__name__}: {exc}")
    console.print(f"wrote {case.describe()} to [bold]{where}[/] ({kind})", highlight=False)


def _whole_numbers(df: pd.DataFrame) -> pd.DataFrame:
    """Float columns holding only whole numbers as integers, so a CSV reads ``3``, not ``3.0``."""
    out = df.reset_index(drop=True).copy()
    for col in out.columns:
        s = out[col]
        if s.dtype.kind == "f" and s.notna().any() and (s.dropna() % 1 == 0).all() \
                and s.abs().max() < 2 ** 53:
            out[col] = s.astype("Int64")
    return out


def register(app: typer.Typer) -> None:
    """Add ``convert`` to the ``svcplan`` app."""
    app.command("convert")(convert)
