"""The one Excel writer: every ``.xlsx`` svcplan writes (results.xlsx, a batch's summary.xlsx).

A planner opens these files in Excel, so every sheet gets the same treatment: a bold header
row that stays in view while scrolling (frozen), an autofilter on it, column widths fitted
to the content (capped, so one long message does not make a sheet unreadable) and number
formats by column name (:data:`FORMATS`): money with thousands separators, shares as
percentages. Service (a fraction, 0.884) and budget use (a percentage in the CSVs, 98.8)
follow one convention in a workbook: both are stored as fractions and shown as ``88.4%`` /
``98.8%``, so a ``*_pct`` column holds its CSV value divided by 100 (same text on screen).

Other writers extend the registry instead of this module's code: :func:`register_format`
adds a column's format; a sheet may also be a :class:`Sheet` with its own freeze cell and
cell colours (the ``plan`` sheet colours each level).

The writer is rustpy-xlsxwriter (Python bindings to rust_xlsxwriter, the Rust port of
XlsxWriter), behind this one module as HiGHS is behind ``solver.highs``: it takes whole
tables with formats by column and by row, so a cell never becomes a Python object. It has
no formats per cell, so colours by value are conditional formats (:func:`_level_rules`).

The workbook is written to a temporary file in the target folder and renamed into place
(``os.replace``): an interrupted write never leaves a half-written workbook under the real
name, and a reader never sees one. The temporary name ends in ``.tmp.xlsx`` so a later run
can recognise and remove leftovers of a killed one.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # openpyxl loads when a workbook is edited (replace_sheet), not at start-up
    from openpyxl.worksheet.worksheet import Worksheet

#: Column widths in characters: never narrower than MIN_WIDTH, never wider than MAX_WIDTH.
MIN_WIDTH, MAX_WIDTH = 8, 40
#: Widths are fitted to the first rows only: enough to read the data, cheap on large sheets.
WIDTH_SAMPLE_ROWS = 200
#: Suffix of the temporary file; output folders remove leftovers matching ``*`` + this.
TMP_SUFFIX = ".tmp.xlsx"
#: Rows of data an Excel sheet holds below its header row (1,048,576 rows in all).
MAX_ROWS = 1_048_575

MONEY = "#,##0.00"
SHARE = "0.0%"
QUANTITY = "#,##0.0"
RATIO = "0.000"
COUNT = "#,##0"

#: Number format of a column, by name (every sheet; also the ``value`` of a key/value sheet,
#: by the row's key). Names ending in ``_pct`` are percentages in the CSVs: see the module doc.
FORMATS: dict[str, str] = {}


def register_format(fmt: str, *columns: str) -> None:
    """Give ``columns`` (names, in any sheet) the Excel number format ``fmt``."""
    FORMATS.update(dict.fromkeys(columns, fmt))


register_format(MONEY, "objective", "bound", "solver_objective", "revenue", "cost", "profit",
                "handling_cost", "holding_cost", "goodwill_cost", "fixed_cost", "logistics_cost",
                "switching_cost", "discounted_profit", "budget", "budget_used", "lift_revenue",
                "lift_cost", "total_profit", "profit_delta", "unit_margin", "total_budget",
                "limit", "needed", "short_by", "accounts_for", "warm_start_objective")
register_format("0.000%", "mip_gap")  # gaps are small: 0.228%, not 0.2%
register_format("0.0", "seconds", "build_seconds", "solve_seconds", "total_seconds")
register_format(SHARE, "service", "mean_service", "capture", "budget_use_pct",
                "profit_delta_pct", "cycle_service", "fill_rate", "mean_cycle_service",
                "mean_fill_rate", "min_service", "required", "achieved",
                *(f"{kind}_{metric}{end}" for kind in ("promised", "achieved")
                  for metric in ("cycle_service", "fill_rate") for end in ("", "_lo", "_hi")))
register_format(QUANTITY, "base_demand", "units", "safety_stock", "lift_units", "capacity",
                "used", "slack", "inventory_days", "goodwill", "mean_rank")
register_format(RATIO, "budget_dual", "dual", "marginal_per_budget", "scale", "discount")
register_format(COUNT, "changes", "changed_unit_periods", "variables", "binaries",
                "constraints", "options", "levels_used", "rank", "unit_periods", "switched")


def format_of(name: str) -> str | None:
    """The number format of column ``name``: :data:`FORMATS`, or a count for ``n_<LEVEL>``."""
    return FORMATS.get(name) or (COUNT if name.startswith("n_") else None)


def percent_column(name: str) -> bool:
    """A column whose CSV values are percentages (0–100): divided by 100 in a workbook."""
    return name.endswith("_pct")


@dataclass
class Sheet:
    """A sheet with more than the defaults: its own frozen cell, formats and coloured cells.

    ``formats`` overrides :data:`FORMATS` for this sheet's columns (a name that means one
    thing here and another elsewhere: a target's ``slack`` is a share, a capacity's a
    quantity). ``fills`` maps a cell value to a background colour (``"RRGGBB"``) for the
    cells of the columns from ``fill_from`` on (the plan sheet: level name → its colour).
    """

    frame: pd.DataFrame
    freeze: str = "A2"
    formats: dict[str, str] = field(default_factory=dict)
    fills: dict[str, str] = field(default_factory=dict)
    fill_from: int = 0


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame | Sheet], freeze: str = "A2") -> Path:
    """Write ``sheets`` (name → table, in order) to ``path`` atomically and return ``path``.

    ``freeze`` is the top-left cell that scrolls for plain tables: ``"A2"`` freezes the
    header row, ``"B2"`` also the first column (a key such as the scenario name).

    Written by rustpy-xlsxwriter in one call: the cells never become Python objects. A 1M-binary
    plan's results.xlsx (200,000 assignment rows) took 6.0 s against 43.5 s cell by cell
    through XlsxWriter, and the demo's whole folder 0.21–0.24 s against 0.73–0.86 s, which
    a frontier or batch pays once per scenario (docs/performance-rounds.md, twenty-fourth
    round).
    """
    import rustpy_xlsxwriter as rx  # loads with the first workbook, not at start-up

    path = Path(path)
    named = {name[:31]: sheet if isinstance(sheet, Sheet) else Sheet(sheet, freeze)
             for name, sheet in sheets.items()}
    for name, sheet in named.items():
        if len(sheet.frame) > MAX_ROWS:  # never cut a sheet short without a word
            raise ValueError(f"sheet {name!r}: {len(sheet.frame):,} rows, more than an Excel "
                             f"sheet holds ({MAX_ROWS:,})")
        header = [str(c) for c in sheet.frame.columns]
        if len(set(header)) < len(header):  # the binding finds columns by name
            twice = sorted({c for c in header if header.count(c) > 1})
            raise ValueError(f"sheet {name!r}: column names repeat: {', '.join(twice)}")
    looks = _Looks(rx)
    entries, options = [], {key: {} for key in SHEET_OPTIONS}
    for name, sheet in named.items():
        frame = _cells(sheet.frame)
        entries.append((name, frame))
        for key, value in _sheet_options(frame, sheet, looks).items():
            if value:
                options[key][name] = value
    with _atomic(path) as tmp:
        rx.write_worksheets(entries, tmp, header_format={"general": looks.header},
                            autofilter={"general": True}, inf_value="inf", **options)
    return path


@contextmanager
def _atomic(path: Path) -> Iterator[str]:
    """A temporary file beside ``path`` to write; it replaces ``path`` (with the usual file
    mode) when the block ends, and is removed if the block raises: a reader never sees a
    half-written workbook."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
        default_mode(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def default_mode(path: Path) -> None:
    """Give a file written through ``mkstemp`` (always 0600) the mode of a plainly created
    one (0666 less the umask), so an atomic output reads like every other output file.

    The umask is read by setting it and setting it straight back (there is no getter).
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def _as_shares(df: pd.DataFrame) -> pd.DataFrame:
    """``*_pct`` columns as fractions (shown as percentages); a key/value sheet likewise."""
    pct = [c for c in df.columns if percent_column(str(c))]
    out = df.copy() if pct or {"key", "value"} <= set(df.columns) else df
    for c in pct:
        out[c] = pd.to_numeric(out[c], errors="coerce") / 100
    if {"key", "value"} <= set(df.columns):
        rows = out["key"].astype(str).map(lambda k: percent_column(k.rsplit(".", 1)[-1]))
        out.loc[rows, "value"] = pd.to_numeric(out.loc[rows, "value"], errors="coerce") / 100
    return out


#: The per-sheet options of ``rustpy_xlsxwriter.write_worksheets`` that
#: :func:`_sheet_options` fills (each keyed by sheet name).
SHEET_OPTIONS = ("freeze_panes", "column_formats", "column_widths", "row_formats",
                 "conditional_formats")


class _Looks:
    """One binding ``Format`` per look (a number format, or a level's colour), made once."""

    def __init__(self, rx) -> None:
        self.rx = rx
        self.header = rx.Format().set_bold().set_background_color("#F2F2F2")
        self._made: dict[tuple[str, str], object] = {}

    def number(self, number_format: str):
        return self._look(("number", number_format),
                          lambda f: f.set_num_format(number_format))

    def fill(self, colour: str):
        font = "#FFFFFF" if _dark(colour) else "#000000"
        return self._look(("fill", colour),
                          lambda f: f.set_background_color(f"#{colour}").set_font_color(font))

    def _look(self, key: tuple[str, str], make):
        if key not in self._made:
            self._made[key] = make(self.rx.Format())
        return self._made[key]


def _sheet_options(frame: pd.DataFrame, sheet: Sheet, looks: _Looks) -> dict[str, object]:
    """Frozen panes, number formats (by column; by row for a key/value sheet's values),
    fitted widths and level colours of one sheet, as the binding takes them."""
    names = list(frame.columns)
    formats = {name: sheet.formats.get(name) or format_of(name) for name in names}
    keyed = {"key", "value"} <= set(names)
    key_formats = [format_of(str(k).rsplit(".", 1)[-1]) for k in frame["key"]] if keyed else []
    widths = [_column_width(frame[name].head(WIDTH_SAMPLE_ROWS).tolist(),
                            key_formats if keyed and name == "value" else formats[name], name)
              for name in names]
    coloured = names[sheet.fill_from:] if sheet.fills else []
    return {"freeze_panes": _frozen(sheet.freeze),
            "column_formats": {n: looks.number(f) for n, f in formats.items() if f},
            "column_widths": dict(zip(names, widths, strict=True)),
            "row_formats": {i + 1: looks.number(f) for i, f in enumerate(key_formats) if f},
            "conditional_formats": dict.fromkeys(coloured, _level_rules(sheet.fills, looks))}


def _level_rules(fills: dict[str, str], looks: _Looks) -> list[dict[str, object]]:
    """Conditional formats colouring a cell by its value (the plan sheet: level → colour).

    The binding has no per-cell formats, so each value is a rule "the cell begins with this
    text". Longer values come first: Excel applies the first rule that holds, so a cell
    ``L10`` takes L10's colour, not L1's. A ``"`` is doubled, as Excel's formula text
    needs (the binding does not). Excel compares text without case: two values that differ
    only in case share the first one's colour.
    """
    ordered = sorted(fills.items(), key=lambda item: -len(item[0]))
    return [{"type": "text", "criteria": "begins_with", "value": value.replace('"', '""'),
             "format": looks.fill(colour)} for value, colour in ordered]


def _frozen(cell: str) -> dict[str, int]:
    """``"C2"`` → the rows above and the columns left of that cell, as the binding takes them.

    openpyxl has this (``coordinate_to_tuple``), but importing it takes 0.2 s, which every
    process writing a workbook would pay (each frontier worker, each solve)."""
    letters = cell.rstrip("0123456789")
    col = 0
    for ch in letters.upper():
        col = col * 26 + ord(ch) - ord("A") + 1
    return {"row": int(cell[len(letters):]) - 1, "col": col - 1}


def _cells(frame: pd.DataFrame) -> pd.DataFrame:
    """The table as written: :func:`_as_shares`, text column names, and columns of pandas'
    extension types (categorical, nullable) as plain floats or objects: the binding leaves
    a categorical column's cells empty. The caller's frame is not changed."""
    out = _as_shares(frame).set_axis([str(c) for c in frame.columns], axis=1)
    odd = [name for name in out.columns
           if not isinstance(out[name].dtype, np.dtype) and out[name].dtype != "str"]
    return out.assign(**{name: _plain(out[name]) for name in odd}) if odd else out


def _plain(column: pd.Series) -> pd.Series | np.ndarray:
    """An extension-typed column as floats (NaN where missing) or objects (None)."""
    if _plain_numbers(column):
        return column.to_numpy(dtype=float, na_value=np.nan)
    return column.astype(object).where(column.notna(), None)


def _plain_numbers(column: pd.Series) -> bool:
    """A column of numbers only (not bool)."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _column_width(values: list[object], number_format: str | list[str | None] | None,
                  name: str) -> int:
    """Characters to show the header ``name`` and ``values`` (the first rows), within
    :data:`MIN_WIDTH` … :data:`MAX_WIDTH`; ``number_format`` may be one per value."""
    per_value = number_format if isinstance(number_format, list) else [number_format] * len(values)
    width = max([len(name), *(_text_width(v, f or "General")
                              for v, f in zip(values, per_value, strict=False))])
    return min(max(MIN_WIDTH, width + 2), MAX_WIDTH)


def replace_sheet(path: Path, name: str, df: pd.DataFrame) -> Path:
    """Put ``df`` into the workbook at ``path`` as sheet ``name`` (replacing a sheet of that
    name, keeping the others), formatted like every other sheet and written atomically.

    How a later step (``svcplan simulate``) adds its table to a run's results.xlsx. The writer
    cannot edit a workbook, so the sheet is written by :func:`write_xlsx` into a scratch
    workbook (one formatting code path) and copied, cell styles included, with openpyxl.
    """
    from openpyxl import load_workbook

    path = Path(path)
    with _atomic(path) as tmp:
        write_xlsx(Path(tmp), {name: df})
        source = load_workbook(tmp)[name[:31]]
        wb = load_workbook(path)
        if name in wb.sheetnames:
            del wb[name]
        _copy_sheet(source, wb.create_sheet(name[:31]))
        wb.save(tmp)
    return path


def _copy_sheet(source: Worksheet, target: Worksheet) -> None:
    """Values, number formats, fonts, fills, frozen panes, autofilter and widths."""
    from copy import copy

    for row in source.iter_rows():
        for c in row:
            t = target.cell(c.row, c.column, c.value)
            if c.has_style:
                t.number_format, t.font, t.fill = c.number_format, copy(c.font), copy(c.fill)
    target.freeze_panes = source.freeze_panes
    target.auto_filter.ref = source.auto_filter.ref
    for letter, dim in source.column_dimensions.items():
        target.column_dimensions[letter].width = dim.width


def _text_width(value: object, number_format: str) -> int:
    """Characters the cell shows: formatted numbers grow by their separators, wide (CJK)
    characters count twice."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return 0  # an empty cell
    formatted = isinstance(value, float) and number_format != "General"
    text = f"{value:,.2f}" if formatted else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _dark(colour: str) -> bool:
    """Whether white text reads better than black on ``colour`` ("RRGGBB")."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140
