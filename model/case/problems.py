"""What can be wrong with an input: :class:`Problem` (one located mistake) and :class:`CaseError`.

This is the bottom of the case stage: reading (:mod:`.reader`), checking (:mod:`.checks`) and
the :class:`~svcplan.case.case.Case` itself all report through these two types, so they live
apart from all of them and import nothing from the package. :mod:`.case` re-exports both
(``from svcplan.case.case import CaseError`` keeps working for every later stage).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, located as precisely as the input allows.

    ``row`` is the line of the CSV file (or row of the sheet) as the user sees it: the
    header is row 1, the first data row is row 2.
    """

    file: str
    message: str
    row: int | None = None
    column: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.row is not None:
            where += f", row {self.row}"
        if self.column:
            where += f", column '{self.column}'"
        return f"{where}: {self.message}"


class CaseError(Exception):
    """Raised when a case is invalid; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in the case:\n{lines}")


def did_you_mean(value: object, known: Iterable[object], cutoff: float = 0.6) -> str:
    """``"; did you mean 'EXPRESS'?"`` for the known value closest to a mistyped one, else "".

    Case-insensitive first (``key`` for ``KEY``), then one id that begins with the other
    (``2026-01`` for an Excel date read as ``2026-01-01``, ``EXPRES``, ``dogs``), then by
    similarity: a planner who reads the suggestion fixes the cell without opening the other file.
    """
    text = str(value)
    if not text.strip():
        return ""
    folded = text.casefold()
    names = [str(k) for k in known]
    same = [k for k in names if k.casefold() == folded]
    prefix = sorted((k for k in names if k.casefold().startswith(folded) or folded.startswith(k.casefold())),
                    key=lambda k: abs(len(k) - len(text)))
    close = same or prefix[:1] or difflib.get_close_matches(text, names, n=1, cutoff=cutoff)
    return f"; did you mean {close[0]!r}?" if close else ""
