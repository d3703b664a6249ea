"""The output CSVs are formatted column-wise (svcplan.outputs.csv_text) but must stay, byte
for byte, what ``DataFrame.to_csv(index=False)`` writes: every reader, the docs' examples
and planners' own scripts see the same text as before."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from svcplan.outputs import csv_text
from svcplan.outputs.csv_text import csv_bytes
from svcplan.outputs.files import CSV_ENCODING, read_table, write_csv

pytest.importorskip("pyarrow")  # without it csv_bytes is to_csv itself


@pytest.fixture(autouse=True)
def every_table_columnwise(monkeypatch: pytest.MonkeyPatch) -> None:
    """Short tables normally go to to_csv; these tests hold the column-wise path to it."""
    monkeypatch.setattr(csv_text, "FEWEST_ROWS", 1)


def expected(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False).encode()


#: Floats where the notations of pyarrow and Python part: whole numbers, the edges of
#: Python's scientific notation (1e-4, 1e16), pyarrow's own (from 1e10 for a few digits,
#: below 1e-6), signed zero, infinities, missing values, the extremes of float64.
AWKWARD = [0.0, -0.0, 4.0, -3.0, 1e-4, 9.999999999999999e-05, 1e-05, 2.5e-7, 1e16, -1e16,
           9999999999999998.0, 1e15, 1.5e10, 15000000001.5, 123456789012345678.0,
           5e-324, 1.7976931348623157e308, np.inf, -np.inf, np.nan, 0.1 + 0.2, 2031.0255000000002]
TEXT = ["KEY", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "", " lead", "tab\there", "重点客户",
        None, "end,", '"']


def test_awkward_values_are_written_as_to_csv_writes_them() -> None:
    n = len(AWKWARD) * len(TEXT)
    df = pd.DataFrame({
        "x": np.resize(np.array(AWKWARD), n),
        "id": np.resize(np.array(TEXT, dtype=object), n),
        "count": np.arange(n, dtype=np.int64) - 7,
        "flag": np.arange(n) % 3 == 0,
        "level": pd.array(np.resize(np.array(["A", None, "B,C"], dtype=object), n), dtype="str"),
    })
    assert csv_bytes(df) == expected(df)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=50),
       st.lists(st.text(max_size=6), min_size=1, max_size=50))
def test_any_floats_and_text(floats: list[float], text: list[str]) -> None:
    n = max(len(floats), len(text))
    df = pd.DataFrame({"a": np.resize(np.array(floats, dtype=float), n),
                       "b": np.resize(np.array(text, dtype=object), n)})
    assert csv_bytes(df) == expected(df)


def test_random_bit_patterns_in_many_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every float64 (random bits: tiny, huge, subnormal, NaN), over several chunks."""
    monkeypatch.setattr(csv_text, "CHUNK_ROWS", 7_000)
    rng = np.random.default_rng(5)
    bits = rng.integers(0, 2**63, 20_000, dtype=np.int64).view(np.float64)
    scaled = rng.random(20_000) * 10.0 ** rng.integers(-8, 20, 20_000)
    df = pd.DataFrame({"bits": bits, "scaled": scaled, "cents": np.round(scaled) / 100})
    assert csv_bytes(df) == expected(df)


@pytest.mark.parametrize("df", [
    pd.DataFrame({"only": [1.0, None]}),  # one column: the csv module quotes an empty field
    pd.DataFrame({"a": [1, 2], "b": pd.Categorical(["x", "y"])}),
    pd.DataFrame({"a": pd.array([1, None], dtype="Int64"), "b": [0.5, 1.5]}),
    pd.DataFrame({"a": [1, "x"], "b": [0.5, 1.5]}),  # an object column that is not all text
    pd.DataFrame({"a": pd.to_datetime(["2026-01-01", "2026-02-01"]), "b": [1.0, 2.0]}),
    pd.DataFrame({"a,b": [1.0, 2.0], 'q"': ["x", "y"], 7: [True, False]}),
    pd.DataFrame({"a": pd.Series([], dtype=float), "b": pd.Series([], dtype=object)}),
    pd.DataFrame([[1.0, "x"], [2.0, "y"]], columns=pd.MultiIndex.from_tuples([("a", "b"), ("a", "c")])),
    pd.DataFrame(),
], ids=["one column", "categories", "nullable ints", "mixed objects", "dates",
        "awkward names", "no rows", "two header rows", "nothing"])
def test_tables_it_leaves_to_pandas_or_formats_alike(df: pd.DataFrame) -> None:
    assert csv_bytes(df) == expected(df)


def test_short_tables_go_to_pandas(monkeypatch: pytest.MonkeyPatch) -> None:
    """Below FEWEST_ROWS the text comes from to_csv (faster there), at it column-wise."""
    monkeypatch.setattr(csv_text, "FEWEST_ROWS", 3)
    calls: list[int] = []
    monkeypatch.setattr(csv_text, "_body", lambda df: calls.append(len(df)) or b"")
    df = pd.DataFrame({"a": [0.5, 1.0, 2.0], "b": ["x", "y", "z"]})
    assert csv_bytes(df.head(2)) == expected(df.head(2)) and not calls
    csv_bytes(df)
    assert calls == [3]


def test_a_written_csv_reads_back_as_written(tmp_path) -> None:
    df = pd.DataFrame({"segment": ["KEY", "重点客户"], "profit": [1204.2437927062426, 5.0],
                       "switched": [True, False]})
    write_csv(df, tmp_path / "t.csv")
    raw = (tmp_path / "t.csv").read_bytes()
    assert raw == expected(df).decode().encode(CSV_ENCODING)  # the mark Excel needs, first
    assert raw.count(os.linesep.encode()) == 3
    pd.testing.assert_frame_equal(read_table(tmp_path, "t.csv"), df, check_dtype=False)
