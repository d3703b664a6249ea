"""The two doors into the case stage: :func:`validate` (raw tables -> Case) and :func:`load_case`.

This is the top of the case stage (problems, settings, schema <- textio <- reader <- units <-
demand_floor <- checks <- case <- validate): it only composes what the modules below it define. The rules
themselves are in :mod:`.checks`; the :class:`~svcplan.case.case.Case` builds itself from
their result.
"""

from __future__ import annotations

from pathlib import Path

from .case import Case
from .reader import RawCase
from .sources import read_source


def validate(raw: RawCase) -> Case:
    """Validate a raw case; return a :class:`Case` or raise :class:`CaseError` listing all problems."""
    return Case.from_raw(raw)


def load_case(path: str | Path) -> Case:
    """Read and validate a case: a CSV or Parquet folder, an ``.xlsx`` workbook, or a database
    URL (``sqlite:///case.db``, :mod:`.sources`); raises :class:`CaseError`."""
    return validate(read_source(path))
