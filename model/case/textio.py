"""Real-world file quirks: what ERP exports and hand-edited spreadsheets do to a case.

Each quirk is either accepted and normalised, with a warning that says what was changed
(so nothing is silently reinterpreted), or refused with a message that says how to fix the
file. The decisions:

- UTF-8 with or without BOM: accepted silently (BOM is invisible in every editor).
- Another encoding: UTF-16 by its BOM; GBK (Chinese exports) when every non-ASCII byte
  pair is common GB2312 text; otherwise the encoding ``charset-normalizer`` detects
  (Latin-1, Windows-125x, Shift-JIS …). Accepted with a warning naming the encoding;
  bytes no encoding explains are refused.
- ``;`` / tab / ``|`` delimiters: sniffed from the header line (or taken from Excel's
  ``sep=;`` first line), accepted with a warning.
- Decimal commas (``12,5``) in number columns of a ``;``-delimited file: accepted with a
  warning (``1.234,5`` → ``1234.5``). In a ``,``-delimited file a comma inside a number is
  ambiguous (thousands or decimals?) and is refused by validation with a hint.
- Spaces around ids (``"KEY "``) and numbers: removed, with a warning for ids (an id with
  a trailing space would otherwise be a different id from the one other files use).
- Excel dates in id columns (a period typed as a date): written as ISO text
  (``2025-03-01``), with a warning that says how many and which values were read;
  whole-number floats (``12.0``) become ``12``.
- Excel formulas: their saved (cached) values are read; a formula that was never
  calculated (no saved value) is refused with a fix-it message, in any column (an optional
  cell read as blank would silently take its default).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .schema import TABLES

DELIMITERS = (",", ";", "\t", "|")
_DELIM_NAME = {";": "';'", "\t": "tab", "|": "'|'"}
_DECIMAL_COMMA = re.compile(r"^\s*[-+]?(\d{1,3}(\.\d{3})+|\d+),\d+\s*$")


class FileProblem(Exception):
    """A file that cannot be read at all; the message says how to fix it."""


def decode(data: bytes, name: str, warnings: list[str]) -> str:
    """Text of a file: UTF-8 (BOM optional), else the encoding charset-normalizer detects."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text, enc = data.decode("utf-16"), "UTF-16"
    elif _is_gb2312(data):
        text, enc = data.decode("gb18030"), "GBK"
    else:
        from charset_normalizer import from_bytes

        best = from_bytes(data).best()
        if best is None:
            raise FileProblem(
                "is not UTF-8 text and its encoding could not be recognised; "
                "save it as 'CSV UTF-8' from Excel or your ERP export") from None
        text, enc = str(best), best.encoding.upper().replace("_", "-")
    warnings.append(f"{name}: read as {enc} text (not UTF-8); save as UTF-8 to silence this")
    return text


def _is_gb2312(data: bytes) -> bool:
    """Chinese ERP exports: every non-ASCII byte pair in the common GB2312 range.

    Short samples are ambiguous for statistical detectors (a few hanzi decode as Korean or
    Big5 equally well), so the common Chinese case is tried first and strictly; Latin-1
    text (an accented letter followed by an ASCII one) fails this test.
    """
    try:
        data.decode("gb2312")
    except UnicodeDecodeError:
        return False
    return True


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV: the candidate found most often in its header line."""
    header = text.split("\n", 1)[0]
    counts = {d: header.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] > counts[","] else ","


def read_csv_file(file: Path, table: str, warnings: list[str]) -> pd.DataFrame:
    """Read one case CSV as text cells, normalising the quirks above."""
    text = decode(file.read_bytes(), file.name, warnings)
    text = text.lstrip("\ufeff")
    if not text.strip():
        return pd.DataFrame()
    hint = re.match(r"sep=(.)\r?\n", text)  # Excel's "sep=;" first line
    if hint:
        text = text[hint.end():]
    sep = hint.group(1) if hint and hint.group(1) in DELIMITERS else sniff_delimiter(text)
    if sep != ",":
        warnings.append(f"{file.name}: read with {_DELIM_NAME[sep]} as the delimiter")
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    if sep == ";":
        _decimal_commas(df, table, file.name, warnings)
    return df


def _decimal_commas(df: pd.DataFrame, table: str, name: str, warnings: list[str]) -> None:
    """``12,5`` → ``12.5`` in number columns (a ';' file uses the comma as decimal mark)."""
    spec = TABLES.get(table)
    if spec is None:
        return
    changed = 0
    for col in spec.columns:
        if col.kind == "id" or col.name not in df.columns:
            continue
        s = df[col.name].astype(str)
        hit = s.str.match(_DECIMAL_COMMA)
        if hit.any():
            plain = s[hit].str.strip().str.replace(".", "", regex=False)
            df.loc[hit, col.name] = plain.str.replace(",", ".", regex=False)
            changed += int(hit.sum())
    if changed:
        warnings.append(f"{name}: {changed} number(s) with a decimal comma were read as decimals "
                        "(1.234,5 = 1234.5)")


def normalise_cells(df: pd.DataFrame, table: str, label: str, warnings: list[str]) -> pd.DataFrame:
    """Cells as clean text: Excel dates/floats to text, spaces around values removed."""
    spec = TABLES.get(table)
    ids = {c.name for c in spec.columns if c.kind == "id"} if spec else set()
    out = df.copy()
    unnamed = [c for c in out.columns if re.fullmatch(r"Unnamed: \d+", str(c))
               and out[c].map(lambda v: _cell_text(v).strip() == "").all()]
    out = out.drop(columns=unnamed)
    for col in out.columns:
        s = out[col]
        if s.dtype == object and s.map(lambda v: isinstance(v, (dt.date, dt.datetime))).any():
            out[col] = s.map(_cell_text)
            if col in ids:
                warnings.append(_dates_read(label, col, out[col][s.map(_is_date)]))
        elif s.dtype != object:
            out[col] = s.map(_cell_text)
        s = out[col].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else v)
        text = s.astype(str)
        stripped = text.str.strip()
        if col in ids:
            n = int((stripped != text).sum())
            if n:
                warnings.append(f"{label}, column '{col}': spaces around {n} id(s) were removed")
        out[col] = stripped
    return out


def _dates_read(label: str, col: str, read: pd.Series) -> str:
    """What Excel date cells in an id column became, so a planner can compare it with the ids
    other sheets use (a month typed as ``Mar 2026`` is stored by Excel as 2026-03-01)."""
    shown = list(read) if len(read) <= 3 else [*read.iloc[:2], "…", read.iloc[-1]]
    return (f"{label}, column '{col}': {len(read)} Excel date cell(s) were read as ISO text: "
            f"{', '.join(shown)} (format the column as Text in Excel to keep ids such as 2026-03)")


def _is_date(v) -> bool:
    return isinstance(v, (dt.date, dt.datetime))


def _cell_text(v) -> str:
    """One Excel cell as the text a user typed: dates ISO, 12.0 as 12."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):
        return v.date().isoformat() if v.time() == dt.time() else v.isoformat(sep=" ")
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    return str(v)


def uncalculated_formulas(path: Path, sheet: str, blank: dict[str, set[int]]) -> dict:
    """Of the blank cells of a sheet (column name -> row numbers), those holding a formula with
    no saved value (a workbook written by a program and never opened in Excel): cell -> formula."""
    if not blank:
        return {}
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True, data_only=False)
    try:
        rows = wb[sheet].iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(rows, ())]
        where = {header.index(c): (c, r) for c, r in blank.items() if c in header}
        found = {}
        for number, values in enumerate(rows, start=2):
            for i, (col, wanted) in where.items():
                v = values[i] if i < len(values) else None
                if number in wanted and isinstance(v, str) and v.startswith("="):
                    found[(number, col)] = v
        return found
    finally:
        wb.close()
