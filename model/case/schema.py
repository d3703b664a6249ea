"""The case tables of SPEC §5 as data: columns, kinds, defaults and value checks.

Every other module reads the table layout from here, so the format is defined once.
:mod:`.checks` applies these declarations with vectorised pandas checks that keep each
failing cell's row number (pandera was tried: its lazy error collection was slower on
million-row tables and its messages needed translating anyway).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["id", "float", "int"]


@dataclass(frozen=True)
class Col:
    """One column of a case table.

    ``required`` columns must be present and every cell filled. Optional columns may be
    missing or blank; blanks take ``default`` (``None`` keeps them blank: for example a
    blank budget means "no budget", which is different from a budget of 0).
    ``lo``/``hi`` bound the value; ``lo_open``/``hi_open`` make a bound strict.
    ``choices`` restricts a text column to a few words (read case-insensitively, stored in
    lower case; anything else is refused with the closest word as a hint).
    """

    name: str
    kind: Kind
    required: bool = False
    default: float | str | None = None
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple[str, ...] | None = None

    def range_text(self) -> str:
        """Human text of the allowed range, used in error messages."""
        parts = []
        if self.lo is not None:
            parts.append(f"{'>' if self.lo_open else '>='} {self.lo:g}")
        if self.hi is not None:
            parts.append(f"{'<' if self.hi_open else '<='} {self.hi:g}")
        return " and ".join(parts)


@dataclass(frozen=True)
class Table:
    """A case table: its columns, the columns that form its key, and whether it is required."""

    name: str
    columns: tuple[Col, ...]
    key: tuple[str, ...]
    required: bool = False

    @property
    def file(self) -> str:
        return f"{self.name}.csv"

    def col(self, name: str) -> Col:
        return next(c for c in self.columns if c.name == name)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


NONNEG = {"lo": 0.0}
#: A probability strictly between 0 and 1 (a level's service_target or fill_rate).
PROBABILITY = {"lo": 0.0, "hi": 1.0, "lo_open": True, "hi_open": True}
#: A promise an option may carry: 1 is possible (no demand variability), 0 in principle.
PROMISE = {"lo": 0.0, "hi": 1.0}
#: The demand distributions of products.csv ``demand_distribution``.
DISTRIBUTIONS = ("normal", "gamma")
#: The levels.csv columns that set a level's safety stock, in the order the first given one
#: wins (a level giving several is accepted with a warning).
SAFETY_RULES = ("safety_factor", "service_target", "fill_rate")

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        Table(
            "segments",
            (
                Col("segment", "id", required=True),
                Col("tier", "int"),
                Col("goodwill_sensitivity", "float", default=0.0, **NONNEG),
            ),
            key=("segment",),
            required=True,
        ),
        Table(
            "products",
            (
                Col("product", "id", required=True),
                Col("product_class", "id"),
                Col("unit_margin", "float", required=True),
                Col("base_unit_cost", "float", default=0.0, **NONNEG),
                Col("holding_cost", "float", default=0.0, **NONNEG),
                Col("demand_cv", "float", default=0.0, **NONNEG),
                Col("demand_distribution", "id", default="normal", choices=DISTRIBUTIONS),
            ),
            key=("product",),
            required=True,
        ),
        Table(
            "levels",
            (
                Col("level", "id", required=True),
                Col("rank", "int", required=True),
                Col("service_target", "float", **PROBABILITY),
                Col("fill_rate", "float", **PROBABILITY),
                Col("safety_factor", "float", **NONNEG),
                Col("lead_time_days", "float", default=0.0, **NONNEG),
                Col("review_days", "float", default=0.0, **NONNEG),
                Col("lead_time_sd_days", "float", default=0.0, **NONNEG),
                Col("cost_multiplier", "float", default=1.0, **NONNEG),
                Col("fixed_cost", "float", default=0.0, **NONNEG),
                Col("goodwill", "float", default=0.0),  # < 0: poor service loses demand later
            ),
            key=("level",),
            required=True,
        ),
        Table(
            "periods",
            (
                Col("period", "id", required=True),
                Col("budget", "float", **NONNEG),
                Col("discount", "float", default=1.0, **NONNEG),
            ),
            key=("period",),
            required=True,
        ),
        Table(
            "demand",
            (
                Col("segment", "id", required=True),
                Col("product", "id", required=True),
                Col("period", "id", required=True),
                Col("base_demand", "float", required=True, **NONNEG),
            ),
            key=("segment", "product", "period"),
        ),
        Table(
            "response",
            (
                Col("segment", "id", required=True),
                Col("level", "id", required=True),
                Col("capture", "float", required=True, **NONNEG),
                Col("product_class", "id"),
            ),
            key=("segment", "level", "product_class"),
        ),
        Table(
            "unit_costs",
            (
                Col("product", "id", required=True),
                Col("level", "id", required=True),
                Col("unit_cost", "float", required=True, **NONNEG),
            ),
            key=("product", "level"),
        ),
        Table(
            "options",
            (
                Col("segment", "id", required=True),
                Col("product", "id", required=True),
                Col("period", "id", required=True),
                Col("level", "id", required=True),
                Col("revenue", "float", required=True),
                Col("cost", "float", required=True),
                Col("units", "float", default=0.0, **NONNEG),
                Col("safety_stock", "float", default=0.0, **NONNEG),
                Col("cycle_service", "float", **PROMISE),
                Col("fill_rate", "float", **PROMISE),
            ),
            key=("segment", "product", "period", "level"),
        ),
        Table(
            "policies",
            (
                Col("segment", "id"),
                Col("product_class", "id"),
                Col("min_level", "id"),
                Col("max_level", "id"),
            ),
            key=(),
        ),
        Table(
            "current",
            (
                Col("segment", "id", required=True),
                Col("product", "id", required=True),
                Col("level", "id", required=True),
            ),
            key=("segment", "product"),
        ),
        Table(
            "capacity",
            (
                Col("resource", "id", required=True),
                Col("period", "id", required=True),
                Col("capacity", "float", required=True, **NONNEG),
            ),
            key=("resource", "period"),
        ),
        Table(
            "targets",
            (
                Col("min_service", "float", required=True, lo=0.0, hi=1.0, lo_open=True),
                Col("name", "id"),
                Col("segment", "id"),
                Col("product", "id"),
                Col("product_class", "id"),
                Col("period", "id"),  # a period id, blank = each period, * = pooled horizon
                Col("metric", "id"),  # cycle | fill_rate (blank: case.yaml service_metric)
                Col("weight", "id"),  # demand | equal (blank: case.yaml service_weight)
            ),
            key=(),
        ),
        Table(
            "usage",
            (
                Col("level", "id", required=True),
                Col("resource", "id", required=True),
                Col("per_unit", "float", required=True, **NONNEG),
            ),
            key=("level", "resource"),
        ),
    )
}

#: (table, column) -> (table whose key it must be found in, that key column).
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("demand", "segment"): ("segments", "segment"),
    ("demand", "product"): ("products", "product"),
    ("demand", "period"): ("periods", "period"),
    ("response", "segment"): ("segments", "segment"),
    ("response", "level"): ("levels", "level"),
    ("unit_costs", "product"): ("products", "product"),
    ("unit_costs", "level"): ("levels", "level"),
    ("options", "segment"): ("segments", "segment"),
    ("options", "product"): ("products", "product"),
    ("options", "period"): ("periods", "period"),
    ("options", "level"): ("levels", "level"),
    ("response", "product_class"): ("products", "product_class"),
    ("policies", "segment"): ("segments", "segment"),
    ("policies", "product_class"): ("products", "product_class"),
    ("policies", "min_level"): ("levels", "level"),
    ("policies", "max_level"): ("levels", "level"),
    ("current", "segment"): ("segments", "segment"),
    ("current", "product"): ("products", "product"),
    ("current", "level"): ("levels", "level"),
    ("capacity", "period"): ("periods", "period"),
    ("usage", "level"): ("levels", "level"),
    ("targets", "segment"): ("segments", "segment"),
    ("targets", "product"): ("products", "product"),
    ("targets", "product_class"): ("products", "product_class"),
    ("usage", "resource"): ("capacity", "resource"),
}

#: dtype of every id column that appears in a case table or an output table, for reading
#: CSV files back (``pd.read_csv(f, dtype=ID_DTYPES)``): ids such as ``007`` or ``2026-03``
#: must stay text, never become numbers or dates.
ID_DTYPES: dict[str, type] = {
    c.name: str for t in TABLES.values() for c in t.columns if c.kind == "id"
} | {"previous_level": str, "scenario": str}
