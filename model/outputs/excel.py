"""The one Excel writer: every ``.xlsx`` svcplan writes (results.xlsx, a batch's summary.xlsx).

A planner opens these files in Excel, so each sheet gets the same treatment: a frozen
header row (it stays in view while scrolling), an autofilter on the header, and column
widths fitted to the content (capped, so one long message does not make a sheet unreadable).

The workbook is written to a temporary file in the target folder and renamed into place
(``os.replace``): an interrupted write never leaves a half-written workbook under the real
name, and a reader never sees one. The temporary name ends in ``.tmp.xlsx`` so a later run
can recognise and remove leftovers of a killed one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # openpyxl loads when a workbook is written (pandas' engine), not at start-up
    from openpyxl.worksheet.worksheet import Worksheet

#: Column widths in characters: never narrower than MIN_WIDTH, never wider than MAX_WIDTH.
MIN_WIDTH, MAX_WIDTH = 10, 40
#: Widths are fitted to the first rows only: enough to read the data, cheap on large sheets.
WIDTH_SAMPLE_ROWS = 200
#: Suffix of the temporary file; output folders remove leftovers matching ``*`` + this.
TMP_SUFFIX = ".tmp.xlsx"


def write_xlsx(path: Path, sheets: dict[str, pd.DataFrame], freeze: str = "A2") -> Path:
    """Write ``sheets`` (name → table, in order) to ``path`` atomically and return ``path``.

    ``freeze`` is the top-left cell that scrolls: ``"A2"`` freezes the header row, ``"B2"``
    also the first column (a key such as the scenario name).
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xl:
            for name, df in sheets.items():
                df.to_excel(xl, sheet_name=name, index=False)
                _format(xl.sheets[name], freeze, has_header=len(df.columns) > 0)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _format(ws: Worksheet, freeze: str, has_header: bool) -> None:
    """Frozen header, autofilter and fitted column widths for one sheet."""
    ws.freeze_panes = freeze
    if has_header:
        ws.auto_filter.ref = ws.dimensions
    for col in ws.iter_cols(max_row=min(ws.max_row, WIDTH_SAMPLE_ROWS)):
        width = max((len(str(c.value)) for c in col if c.value is not None), default=0)
        ws.column_dimensions[col[0].column_letter].width = min(max(MIN_WIDTH, width + 2), MAX_WIDTH)


def replace_sheet(path: Path, name: str, df: pd.DataFrame) -> Path:
    """Put ``df`` into the workbook at ``path`` as sheet ``name`` (replacing a sheet of that
    name, keeping the others), formatted like every other sheet and written atomically.

    How a later step (``svcplan simulate``) adds its table to a run's results.xlsx.
    """
    from openpyxl import load_workbook

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=TMP_SUFFIX, dir=path.parent)
    os.close(fd)
    try:
        wb = load_workbook(path)
        if name in wb.sheetnames:
            del wb[name]
        wb.save(tmp)
        with pd.ExcelWriter(tmp, engine="openpyxl", mode="a") as xl:
            df.to_excel(xl, sheet_name=name, index=False)
            _format(xl.sheets[name], "A2", has_header=len(df.columns) > 0)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
