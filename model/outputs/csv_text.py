"""The text of an output CSV, byte for byte what ``DataFrame.to_csv(index=False)`` writes,
formatted column-wise by pyarrow.

Why not ``to_csv`` itself: it formats every float through Python, about 1 µs a cell, and
a 1M-binary plan's assignment.csv (200,000 rows × 26 columns) took 5–6 s of it; a frontier
or batch writes a folder per scenario. pyarrow's cast of a float column to text produces
the same shortest round-trip digits as Python's ``repr`` (which ``to_csv`` uses), in C++;
only the notation differs, in two places, which :func:`_floats` puts right:

- a whole number: pyarrow ``4``, Python ``4.0``;
- pyarrow turns to scientific notation at other magnitudes (``1.5e+10`` where Python
  writes ``15000000000.0``, ``0.00001`` where Python writes ``1e-05``): those cells, rare in
  a plan, are formatted by ``repr`` itself.

A missing value (NaN) is an empty field, as ``to_csv`` writes it.

Strings are quoted as the ``csv`` module quotes them for ``to_csv`` (``QUOTE_MINIMAL``: a
field holding a comma, a double quote or a character of the line end is enclosed in double
quotes, its quotes doubled). A table with a column of any other kind (categories, dates,
nullable integers, objects that are not text) is written by ``to_csv``, as is a table of
one column (the ``csv`` module quotes an empty field there) or of a few rows
(:data:`FEWEST_ROWS`). ``tests/test_csv_text.py`` holds both to the same bytes on random
tables. Without pyarrow (installed with the extra ``sources``), ``to_csv`` writes every
table.
"""

from __future__ import annotations

import csv
import functools
import io
import os
from collections.abc import Iterator

import numpy as np
import pandas as pd

#: Rows formatted at a time: bounds the memory of the text (and stays far below the 2 GB
#: of one pyarrow string array).
CHUNK_ROWS = 100_000
#: Shorter tables go to ``to_csv``: pyarrow costs about 0.2 ms a column whatever its length,
#: so the demo's 12-row period table took 5.1 ms where ``to_csv`` took 1.4 ms, and its
#: 2,400-row assignment 18.6 ms where ``to_csv`` took 58.4 ms (medians of 30).
FEWEST_ROWS = 300


@functools.cache
def needs_quotes() -> str:
    """A regular expression of the characters that make ``to_csv`` quote a field, asked of
    the ``csv`` module it writes with rather than assumed: the delimiter, the quote and the
    characters of the line end (here a lone carriage return is not quoted)."""
    quoted = []
    for char, pattern in ((",", ","), ('"', '"'), ("\r", r"\r"), ("\n", r"\n")):
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator=os.linesep).writerow([f"a{char}", "b"])
        if buffer.getvalue().startswith('"'):
            quoted.append(pattern)
    return f"[{''.join(quoted)}]"


def csv_bytes(df: pd.DataFrame) -> bytes:
    """``df.to_csv(index=False)`` encoded as UTF-8 (the caller writes a byte-order mark if
    it wants one), its lines ended as ``to_csv`` ends them (``os.linesep``)."""
    return b"".join(csv_chunks(df))


def csv_chunks(df: pd.DataFrame) -> Iterator[bytes]:
    """:func:`csv_bytes` a piece at a time (the header, then :data:`CHUNK_ROWS` rows at a
    time), for a writer that need not hold the whole text."""
    if not (_columnwise(df) and _has_pyarrow()):
        yield _pandas(df, header=True)
        return
    header = _strings(pd.Series([str(c) for c in df.columns], dtype=object))
    yield (",".join(header.to_pylist()) + os.linesep).encode()
    for start in range(0, len(df), CHUNK_ROWS):
        yield _body(df.iloc[start:start + CHUNK_ROWS])


def _has_pyarrow() -> bool:
    """pyarrow is an optional dependency (the extra ``sources``), imported where first used
    (a run that writes no long table never loads it)."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def _pandas(df: pd.DataFrame, header: bool) -> bytes:
    return df.to_csv(index=False, header=header, lineterminator=os.linesep).encode()


def _columnwise(df: pd.DataFrame) -> bool:
    """Is ``df`` formatted column-wise (else by ``to_csv``): long enough to gain, and of
    columns :func:`_kind` knows?"""
    if (len(df) < FEWEST_ROWS or df.shape[1] < 2 or df.columns.has_duplicates
            or isinstance(df.columns, pd.MultiIndex)):
        return False
    return all(_kind(dtype) is not None for dtype in df.dtypes)


def _kind(dtype: object) -> str | None:
    """How a column of ``dtype`` is formatted, or None: by ``to_csv``."""
    if isinstance(dtype, pd.StringDtype) or dtype == np.dtype(object):
        return "text"  # and if a value is not text, its rows go to to_csv (_body)
    if not isinstance(dtype, np.dtype):
        return None  # categories, nullable numbers, dates with a time zone, …
    if dtype == np.float64:
        return "float"
    if dtype == np.bool_:
        return "bool"
    return "int" if dtype.kind in "iu" else None


def _body(df: pd.DataFrame) -> bytes:
    """The data lines of ``df``, each ended by ``os.linesep``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for name, dtype in zip(df.columns, df.dtypes, strict=True):
        column = _column(df[name], _kind(dtype))
        if column is None:  # an object column that is not all text
            return _pandas(df, header=False)
        columns.append(column)
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*columns, ","),
                                        pa.scalar(os.linesep), "")
    # the lines lie end to end in the array's data buffer
    _, offsets, data = lines.buffers()
    ends = np.frombuffer(offsets, dtype=np.int32)[lines.offset:lines.offset + len(lines) + 1]
    return data.slice(int(ends[0]), int(ends[-1] - ends[0])).to_pybytes()


def _column(column: pd.Series, kind: str | None):
    """One column as a pyarrow string array of CSV fields, or None (not all text)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    values = column.to_numpy()
    if kind == "float":
        return _floats(values)
    if kind == "bool":
        return pa.array(np.where(values, "True", "False"))
    if kind == "int":
        return pc.cast(pa.array(values), pa.string())
    return _strings(column)


def _floats(values: np.ndarray):
    """Float fields as ``repr`` writes them (NaN empty)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = pc.cast(pa.array(values, from_pandas=True), pa.string())  # NaN: null
    finite = np.isfinite(values)
    size = np.abs(values)
    with np.errstate(invalid="ignore"):
        whole = finite & (values == np.trunc(values))
    if whole.any():
        text = pc.if_else(pa.array(whole), pc.binary_join_element_wise(text, ".0", ""), text)
    scientific = pc.fill_null(pc.match_substring(text, "e"), False).to_numpy(zero_copy_only=False)
    # where Python's notation is scientific (below 1e-4, from 1e16) or pyarrow's is
    odd = np.flatnonzero(finite & (size != 0) & ((size < 1e-4) | (size >= 1e16) | scientific))
    if len(odd):
        fields = text.to_pylist()
        for i in odd.tolist():
            fields[i] = repr(float(values[i]))
        text = pa.array(fields, pa.string())
    return pc.fill_null(text, "")


def _strings(column: pd.Series):
    """Text fields, quoted where the ``csv`` module quotes them (missing: empty); None when
    a value is not text."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        text = pa.array(column.to_numpy(dtype=object), type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    quote = pc.match_substring_regex(text, needs_quotes())
    if pc.any(quote).as_py():
        quoted = pc.binary_join_element_wise('"', pc.replace_substring(text, '"', '""'), '"', "")
        text = pc.if_else(quote, quoted, text)
    return pc.fill_null(text, "")
