"""The validated case: what every later stage consumes.

A :class:`Case` holds typed tables (defaults filled, blanks kept where blank means "none")
and :class:`~svcplan.case.settings.Settings`. It is only ever made from checked parts
(:func:`~svcplan.case.checks.check`), through :meth:`Case.from_raw` or
:meth:`Case.from_tables`, so holding one means the input is consistent.

The class sits above the rules it relies on (problems, settings, schema <- textio <- reader <-
units <- demand_floor <- checks <- case <- validate): checking returns parts and the class
builds itself from them, so ``Case.from_tables`` validates without a function-level import
and no module of the case stage imports one that imports it back. :class:`Problem` and :class:`CaseError` are
defined in :mod:`.problems` and re-exported here, where later stages import them from.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import pandas as pd

from .checks import check
from .problems import CaseError, Problem
from .reader import RawCase
from .settings import Settings

__all__ = ["Case", "CaseError", "Problem"]


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
    def from_raw(cls, raw: RawCase) -> Case:
        """Validate a raw case (as read, or frames) into a Case; raises :class:`CaseError`."""
        checked = check(raw)
        return cls(tables=checked.tables, settings=checked.settings, source=raw.source,
                   warnings=checked.warnings)

    @classmethod
    def from_tables(
        cls, tables: dict[str, pd.DataFrame], settings: dict[str, Any] | None = None
    ) -> Case:
        """Validate in-memory tables (pandas in) into a Case; raises :class:`CaseError`."""
        return cls.from_raw(RawCase.from_frames(tables, settings or {}))

    def with_tables(self, changed: dict[str, pd.DataFrame],
                    settings: dict[str, Any] | None = None) -> Case:
        """This case with the ``changed`` tables (and ``settings``, when given) instead of its
        own, validated again: the changed tables cell by cell and every rule across tables
        that reads one of them, while the tables kept, checked when this case was made, are
        neither typed nor put through a rule that reads only them a second time (a what-if
        scenario changes one or two tables). Raises :class:`CaseError`."""
        given = self.settings.model_dump(exclude_none=True) if settings is None else settings
        kept = frozenset(self.tables) - set(changed)
        return Case.from_raw(RawCase.from_frames({**self.tables, **changed}, given, kept))

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
