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

The workbook is written to a temporary file in the target folder and renamed into place
(``os.replace``): an interrupted write never leaves a half-written workbook under the real
name, and a reader never sees one. The temporary name ends in ``.tmp.xlsx`` so a later run
can recognise and remove leftovers of a killed one.
"""

from __future__ import annotations

import gc
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

    Written with XlsxWriter, cell by cell with the cell's format: 3–4× faster than pandas'
    openpyxl engine followed by a styling pass (the demo's results.xlsx, 65k cells: 0.4 s
    against 1.4 s), which a frontier or batch pays once per scenario.
    """
    import xlsxwriter

    path = Path(path)
    for name, sheet in sheets.items():
        rows = len(sheet.frame if isinstance(sheet, Sheet) else sheet)
        if rows > MAX_ROWS:  # XlsxWriter would drop the rows past the limit without a word
            raise ValueError(f"sheet {name!r}: {rows:,} rows, more than an Excel sheet holds "
                             f"({MAX_ROWS:,})")
    with _atomic(path) as tmp, _no_cycle_collection():
        book = xlsxwriter.Workbook(tmp, {"strings_to_numbers": False, "strings_to_formulas": False,
                                         "strings_to_urls": False})
        try:
            styles = _Styles(book)
            for name, sheet in sheets.items():
                if not isinstance(sheet, Sheet):
                    sheet = Sheet(sheet, freeze)
                _write_sheet(book.add_worksheet(name[:31]), sheet, styles)
        finally:
            book.close()
    return path


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Python's cycle collector off while a workbook is written, then as it was.

    XlsxWriter keeps a small object per cell (65k on the demo, 5M at 1M binaries), none in a
    reference cycle, and the collector walks them again and again as they pile up: 8–10% of
    the write (demo 0.37 → 0.34 s; a 200k-row assignment sheet 27.0 → 24.8 s)."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


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


class _Styles:
    """One XlsxWriter format per look (number format, fill colour), created on first use."""

    def __init__(self, book) -> None:
        self.book = book
        self.header = book.add_format({"bold": True, "bg_color": "#F2F2F2", "pattern": 1})
        self._made: dict[tuple[str | None, str | None], object] = {}

    def get(self, number_format: str | None, colour: str | None = None):
        key = (number_format, colour)
        if key not in self._made:
            spec: dict[str, object] = {}
            if number_format:
                spec["num_format"] = number_format
            if colour:
                spec.update(bg_color=f"#{colour}", pattern=1,
                            font_color="#FFFFFF" if _dark(colour) else "#000000")
            self._made[key] = self.book.add_format(spec) if spec else None
        return self._made[key]


def _write_sheet(ws, sheet: Sheet, styles: _Styles) -> None:
    """Bold frozen header, autofilter, number formats, colours and fitted widths."""
    ws.freeze_panes(sheet.freeze)
    frame = _as_shares(sheet.frame)
    if len(frame.columns) == 0:
        return
    names = [str(c) for c in frame.columns]
    for j, name in enumerate(names):
        ws.write_string(0, j, name, styles.header)
    ws.autofilter(0, 0, len(frame), len(names) - 1)
    keyed = {"key", "value"} <= set(names)
    key_formats = ([format_of(str(k).rsplit(".", 1)[-1]) for k in frame["key"].tolist()]
                   if keyed else None)
    for j, name in enumerate(names):
        fmt = sheet.formats.get(name) or format_of(name)
        coloured = bool(sheet.fills) and j >= sheet.fill_from
        column = frame.iloc[:, j]
        width = len(name)
        plain = not coloured and not (keyed and name == "value")
        shown = None
        if plain and _plain_numbers(column):
            shown = _write_numbers(ws, j, column, styles.get(fmt))
        elif plain:
            shown = _write_texts(ws, j, column)
        if shown is not None:
            for value in shown[:WIDTH_SAMPLE_ROWS]:
                width = max(width, _text_width(value, fmt or "General"))
        else:
            for i, value in enumerate(column.tolist()):
                cell_fmt = key_formats[i] if keyed and name == "value" and key_formats[i] else fmt
                colour = sheet.fills.get(str(value)) if coloured else None
                shown_cell = _write_cell(ws, i + 1, j, value, styles, cell_fmt, colour)
                if i < WIDTH_SAMPLE_ROWS:
                    width = max(width, _text_width(shown_cell, cell_fmt or "General"))
        ws.set_column(j, j, min(max(MIN_WIDTH, width + 2), MAX_WIDTH))


def _plain_numbers(column: pd.Series) -> bool:
    """A column of numbers only (float or int dtype, not bool): written in one loop."""
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def _write_numbers(ws, col: int, column: pd.Series, fmt) -> list[object]:
    """A column of :func:`_plain_numbers` below its header, typed as :func:`_write_cell`
    types each cell (missing: empty; ±inf: text), without its per-cell type tests: a
    frontier or batch writes one results.xlsx per scenario, most of its cells such numbers.
    Returns the values as written (for the column width)."""
    values = column.to_numpy(dtype=float, na_value=np.nan)
    ints = pd.api.types.is_integer_dtype(column)
    shown: list[object] = []
    write = ws.write_number
    for i, v in enumerate(values.tolist(), start=1):
        if v != v:  # NaN: an empty cell
            shown.append(None)
        elif v in (np.inf, -np.inf):
            text = "inf" if v > 0 else "-inf"
            ws.write_string(i, col, text)
            shown.append(text)
        else:
            number = int(v) if ints else v
            write(i, col, number, fmt)
            shown.append(number)
    return shown


def _write_texts(ws, col: int, column: pd.Series) -> list[object] | None:
    """A column of text (missing values: empty cells) below its header, as :func:`_write_cell`
    writes each such cell, without its per-cell type tests: a fifth of a results.xlsx's cells
    are text, most of them the assignment's ids (a 12,000-row assignment sheet written six
    times each way, alternating: median 3.84 against 4.07 CPU seconds). Returns the values as
    written, or None, writing nothing, when a value is not text (a mixed column goes cell by
    cell)."""
    missing = column.isna().tolist()
    shown = [None if gone else v for v, gone in zip(column.tolist(), missing, strict=True)]
    if not all(v is None or type(v) is str for v in shown):
        return None
    write = ws.write_string
    for i, v in enumerate(shown, start=1):
        if v is not None:
            write(i, col, v)
    return shown


def _write_cell(ws, row: int, col: int, value: object, styles: _Styles, fmt: str | None,
                colour: str | None) -> object:
    """One cell, typed as pandas' Excel writer types it (an empty cell for a missing value,
    ``inf`` as text); returns the value as written (for the column width)."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        if colour:
            ws.write_blank(row, col, None, styles.get(None, colour))
        return None
    if isinstance(value, (bool, np.bool_)):
        ws.write_boolean(row, col, bool(value), styles.get(None, colour))
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value) if isinstance(value, (float, np.floating)) else int(value)
        if not np.isfinite(number):
            text = "inf" if number > 0 else "-inf"
            ws.write_string(row, col, text, styles.get(None, colour))
            return text
        ws.write_number(row, col, number, styles.get(fmt, colour))
        return number
    text = str(value)
    ws.write_string(row, col, text, styles.get(None, colour))
    return text


def replace_sheet(path: Path, name: str, df: pd.DataFrame) -> Path:
    """Put ``df`` into the workbook at ``path`` as sheet ``name`` (replacing a sheet of that
    name, keeping the others), formatted like every other sheet and written atomically.

    How a later step (``svcplan simulate``) adds its table to a run's results.xlsx. XlsxWriter
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
    if value is None:
        return 0
    formatted = isinstance(value, float) and number_format != "General"
    text = f"{value:,.2f}" if formatted else str(value)
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def _dark(colour: str) -> bool:
    """Whether white text reads better than black on ``colour`` ("RRGGBB")."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (0, 2, 4))
    return 0.299 * r + 0.587 * g + 0.114 * b < 140
