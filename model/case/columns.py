"""One raw table typed by its schema (:mod:`.schema`): each column parsed by its kind, every
bad cell a problem with its file, row and column.

Ids become text (a ``007`` stays ``007``), numbers floats; a blank takes the column's
default. A cell that is not a number, not finite, too large to plan with, not whole in a
whole-number column or out of the column's range is a problem; :class:`Collector` gathers
them (at most :data:`MAX_ROWS_PER_PROBLEM` rows listed per problem and column). The input
frame is never changed: the typed table is a new one. Part of :mod:`.checks`.
"""

from __future__ import annotations

import difflib

import numpy as np
import pandas as pd

from .problems import Problem, did_you_mean
from .schema import Col, Table

#: Cells at least this large are refused: the solver treats 1e20 as infinity.
MAX_MAGNITUDE = 1e15
#: At most this many rows are listed for one kind of problem in one column.
MAX_ROWS_PER_PROBLEM = 20


class Collector:
    """Accumulates problems, folding long lists of the same problem into one line."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.warnings: list[str] = []

    def rows(self, file: str, column: str | None, rows: pd.Index, messages: list[str]) -> None:
        for row, msg in list(zip(rows, messages, strict=True))[:MAX_ROWS_PER_PROBLEM]:
            self.problems.append(Problem(file, msg, row=int(row), column=column))
        if len(rows) > MAX_ROWS_PER_PROBLEM:
            more = len(rows) - MAX_ROWS_PER_PROBLEM
            self.problems.append(
                Problem(file, f"... and {more} more rows like the above", column=column)
            )


def _blank(s: pd.Series) -> pd.Series:
    if pd.api.types.is_numeric_dtype(s):
        return s.isna()
    return s.isna() | (s.astype(str).str.strip() == "")


def typed_table(spec: Table, df: pd.DataFrame, file: str, out: Collector) -> pd.DataFrame | None:
    """Check one table's columns and cells; return typed frame (index = file row numbers)."""
    known = spec.names
    for col in df.columns:
        if col in known:
            continue
        close = difflib.get_close_matches(col, known, n=1, cutoff=0.75)
        if close and close[0] not in df.columns:
            out.problems.append(
                Problem(file, f"unknown column '{col}'; did you mean '{close[0]}'?", row=1, column=col)
            )
        else:
            out.warnings.append(f"{file}: column '{col}' is not part of the format and was ignored")
    missing = [c.name for c in spec.columns if c.required and c.name not in df.columns]
    for name in missing:
        out.problems.append(Problem(file, "required column is missing", row=1, column=name))
    if missing:
        return None
    typed = pd.DataFrame(index=df.index)
    for col in spec.columns:
        if col.name in df.columns:
            typed[col.name] = _typed_column(col, df[col.name], file, out)
        else:
            typed[col.name] = _absent_column(col, len(df), df.index)
    return typed


def _absent_column(col: Col, n: int, index: pd.Index) -> pd.Series:
    if col.kind == "id":
        return pd.Series([col.default] * n, index=index, dtype=object)
    fill = np.nan if col.default is None else col.default
    return pd.Series(np.full(n, fill, dtype=float), index=index)


def _typed_column(col: Col, s: pd.Series, file: str, out: Collector) -> pd.Series:
    """One column typed by its kind: ids as text (blank: None), numbers as floats (blank:
    the column's default); a blank in a required column and every bad cell are problems."""
    blank = _blank(s)
    if col.required and blank.any():
        rows = s.index[blank]
        out.rows(file, col.name, rows, ["value is required but blank"] * len(rows))
    if col.kind == "id":
        return _id_column(col, s, blank, file, out)
    num = _numbers(col, s, blank, file, out)
    _check_numbers(col, s.index, num, file, out)
    return num if col.default is None else num.fillna(col.default)


def _id_column(col: Col, s: pd.Series, blank: pd.Series, file: str, out: Collector) -> pd.Series:
    """Ids as text (``7`` read as a number becomes ``"7"``), blanks as None; a column with
    ``choices`` is checked against them (:func:`_choice_column`)."""
    values = s.to_numpy(dtype=object, copy=True)
    values[blank.to_numpy()] = None
    ok = ~blank.to_numpy()
    values[ok] = [str(v) for v in values[ok]]
    if col.choices is not None:
        return _choice_column(col, pd.Series(values, index=s.index, dtype=object), file, out)
    return pd.Series(values, index=s.index, dtype=object)


def _numbers(col: Col, s: pd.Series, blank: pd.Series, file: str, out: Collector) -> pd.Series:
    """The column as floats (blank: NaN); a cell that is not a number is a problem."""
    if pd.api.types.is_numeric_dtype(s):
        return s.astype(float)
    num = pd.to_numeric(s.astype(str).str.strip().where(~blank), errors="coerce").astype(float)
    bad = ~blank & num.isna()
    if bad.any():
        rows = s.index[bad]
        out.rows(file, col.name, rows, [_not_a_number(v) for v in s[bad]])
    return num


def _check_numbers(col: Col, index: pd.Index, num: pd.Series, file: str, out: Collector) -> None:
    """The column's numbers must be finite, below :data:`MAX_MAGNITUDE`, whole for an
    ``int`` column, and in the column's range."""
    finite = num.isna() | np.isfinite(num)
    if not finite.all():
        rows = index[~finite]
        out.rows(file, col.name, rows, [f"{v} is not a finite number" for v in num[~finite]])
    huge = finite & num.notna() & (num.abs() >= MAX_MAGNITUDE)
    if huge.any():  # HiGHS treats |coefficients| >= 1e20 as infinite; products of cells get there
        rows = index[huge]
        msg = f"is too large to plan with (must be below {MAX_MAGNITUDE:g}; check the units)"
        out.rows(file, col.name, rows, [f"{v:g} {msg}" for v in num[huge]])
        finite &= ~huge
    if col.kind == "int":
        frac = num.notna() & finite & (num != np.round(num))
        if frac.any():
            rows = index[frac]
            out.rows(file, col.name, rows, [f"{v:g} is not a whole number" for v in num[frac]])
    bad_range = pd.Series(False, index=index)
    if col.lo is not None:
        bad_range |= (num <= col.lo) if col.lo_open else (num < col.lo)
    if col.hi is not None:
        bad_range |= (num >= col.hi) if col.hi_open else (num > col.hi)
    if bad_range.any():
        rows = index[bad_range]
        text = col.range_text()
        out.rows(file, col.name, rows, [f"{v:g} is out of range (must be {text})" for v in num[bad_range]])


def _choice_column(col: Col, s: pd.Series, file: str, out: Collector) -> pd.Series:
    """A text column limited to ``col.choices``: lower-cased, blanks take the default, any
    other word is refused with the closest allowed one as a hint."""
    given = s.notna()
    word = s.where(~given, s.astype(str).str.strip().str.lower())
    bad = given & ~word.isin(col.choices)
    if bad.any():
        allowed = " or ".join(repr(c) for c in col.choices)
        msgs = []
        for v in s[bad]:
            hint = did_you_mean(str(v).strip().lower(), col.choices, cutoff=0.5)
            msgs.append(f"unknown value {v!r} (must be {allowed}){hint}")
        out.rows(file, col.name, s.index[bad], msgs)
    return word.where(given, col.default)


def _not_a_number(v: object) -> str:
    """The message for a cell that is not a number, with a hint for a comma in it."""
    if str(v).strip().endswith("%"):
        return f"{v!r} is not a number (write fractions without '%', e.g. 0.95)"
    if "," in str(v):
        return (f"{v!r} is not a number (write numbers with a decimal point and no thousands "
                "separators, e.g. 1234.5)")
    return f"{v!r} is not a number"
