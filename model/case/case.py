"""The validated case and the problems found on the way to it.

A :class:`Case` is what every later step consumes: typed tables (defaults filled, blanks
kept where blank means "none") and :class:`~model.settings.Settings`. It is only ever made
by :func:`model.validate.validate`, so holding one means the input is consistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from .settings import Settings


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


@dataclass(frozen=True)
class Case:
    """A validated planning case.

    ``tables`` maps SPEC table names (``"demand"``, ``"levels"``, …) to typed DataFrames;
    optional tables that were not given are absent. ``warnings`` are things accepted but
    worth telling the user (for example an unknown extra column that was ignored).
    """

    tables: dict[str, pd.DataFrame]
    settings: Settings
    source: str = "<memory>"
    warnings: tuple[str, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.settings.name

    def table(self, name: str) -> pd.DataFrame | None:
        return self.tables.get(name)

    @classmethod
    def from_tables(
        cls, tables: dict[str, pd.DataFrame], settings: dict[str, Any] | None = None
    ) -> Case:
        """Validate in-memory tables (pandas in) into a Case; raises :class:`CaseError`."""
        from .reader import RawCase
        from .validate import validate

        raw = RawCase.from_frames(tables, settings or {})
        return validate(raw)

    def with_settings(self, **changes: Any) -> Case:
        """A copy with some settings replaced (used by the CLI flags and by scenarios)."""
        solver = changes.pop("solver", None)
        settings = self.settings.model_copy(update=changes)
        if solver:
            settings = settings.model_copy(
                update={"solver": settings.solver.model_copy(update=solver)}
            )
        return replace(self, settings=Settings.model_validate(settings.model_dump()))

    @property
    def periods(self) -> list[str]:
        return list(self.tables["periods"]["period"])

    def describe(self) -> str:
        d = self.tables.get("demand")
        n_units = 0 if d is None else len(d[["segment", "product"]].drop_duplicates())
        return (
            f"{self.name}: {len(self.tables['segments'])} segments, "
            f"{len(self.tables['products'])} products, {len(self.tables['levels'])} levels, "
            f"{len(self.tables['periods'])} periods, {n_units} demanded units"
        )
