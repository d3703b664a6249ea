"""Service targets (SPEC §4, ``targets.csv``): which units a target row covers, and its rules.

A target row names the units it covers by filters (segment, product, product_class; blank =
any), a period (an id; blank = every period separately; ``*`` = the horizon pooled), the
promise it reads (``metric``: cycle | fill_rate) and how unit-periods are weighted
(``weight``: demand | equal). Blank metric and weight take case.yaml's ``service_metric``
and ``service_weight``.

Matching lives here, in the case stage, because validation needs it (a row matching no unit
is an input error) and the option economics (:mod:`svcplan.economics.targets`) builds its
rows from exactly the same matches. Checking never mutates the tables: it returns problems.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .problems import Problem, did_you_mean
from .settings import Settings
from .units import UNIT, units_frame

METRICS = ("cycle", "fill_rate")
WEIGHTS = ("demand", "equal")
#: The period value that pools every period of the horizon into one constraint.
POOLED = "*"
#: The option-table column holding each metric's promise.
PROMISE_COLUMN = {"cycle": "cycle_service", "fill_rate": "fill_rate"}
#: The level column an explicit option's promise defaults to (SPEC §2, options.csv).
LEVEL_DEFAULT = {"cycle": "service_target", "fill_rate": "fill_rate"}

Tables = Mapping[str, pd.DataFrame]


def resolved(targets: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """The target rows with blanks filled: metric, weight from case.yaml; name ``row N``.

    The index stays the file's row numbers (for messages); ``name`` defaults to the row.
    """
    t = targets.copy()
    t["metric"] = t["metric"].where(t["metric"].notna(), settings.service_metric)
    t["weight"] = t["weight"].where(t["weight"].notna(), settings.service_weight)
    t["name"] = [n if isinstance(n, str) else f"row {i}" for i, n in zip(t.index, t["name"],
                                                                         strict=True)]
    return t


def matches(tables: Tables, target: pd.Series) -> pd.DataFrame:
    """The units (segment, product, product_class) one target row covers."""
    units = units_frame(tables)
    keep = np.ones(len(units), dtype=bool)
    for col in ("segment", "product", "product_class"):
        v = target[col]
        if isinstance(v, str):
            keep &= (units[col] == v).to_numpy()
    return units.loc[keep, [*UNIT, "product_class"]]


def check_targets(tables: Tables, settings: Settings, label: str) -> list[Problem]:
    """Every problem of targets.csv that the column checks cannot see (file ``label``).

    Unknown metric / weight (with a suggestion), a period that is neither an id of
    periods.csv, blank nor ``*``, a name used twice.
    """
    t = tables.get("targets")
    if t is None:
        return []
    problems: list[Problem] = []
    for col, allowed in (("metric", METRICS), ("weight", WEIGHTS)):
        for row, v in t[col].items():
            if isinstance(v, str) and v not in allowed:
                problems.append(Problem(label, f"unknown {col} {v!r} (use {' or '.join(allowed)})"
                                        f"{did_you_mean(v, allowed, cutoff=0.5)}", row=int(row),
                                        column=col))
    periods = set(tables["periods"]["period"]) if "periods" in tables else set()
    for row, v in t["period"].items():
        if isinstance(v, str) and v != POOLED and v not in periods:
            problems.append(Problem(label, f"unknown period {v!r}: not in periods.csv (blank = "
                                    f"each period, {POOLED} = all periods pooled)", row=int(row),
                                    column="period"))
    names = t["name"].dropna()
    for row in names.index[names.duplicated()]:
        problems.append(Problem(label, f"target name {names[row]!r} is used twice",
                                row=int(row), column="name"))
    return problems


def check_target_units(tables: Tables, label: str) -> list[Problem]:
    """A target row that matches no unit is an input error (it would constrain nothing);
    needs the whole case consistent, so it runs after the other checks."""
    t = tables.get("targets")
    problems: list[Problem] = []
    if t is None:
        return problems
    for row, target in t.iterrows():
        if matches(tables, target).empty:
            problems.append(Problem(label, "this target matches no unit (no unit has that "
                                    "segment / product / product_class)", row=int(row)))
    return problems


def units_reading(tables: Tables, settings: Settings) -> dict[str, pd.DataFrame | None]:
    """Per promise a solve reads, the units whose promise it reads (None = every unit):
    the service objective reads its metric everywhere, a target its metric on its units."""
    read: dict[str, pd.DataFrame | None] = {}
    if settings.objective == "service":
        read[settings.service_metric] = None
    if "targets" in tables:
        for _, target in resolved(tables["targets"], settings).iterrows():
            m = target["metric"]
            if m not in METRICS or (m in read and read[m] is None):
                continue
            units = matches(tables, target)[UNIT]
            read[m] = units if m not in read else pd.concat([read[m], units])
    return read


def check_option_promises(tables: Tables, settings: Settings, label: str) -> list[Problem]:
    """An options.csv row whose promise a target or the service objective reads must have
    it: its own ``cycle_service`` / ``fill_rate`` or its level's default (SPEC §2)."""
    opts = tables.get("options")
    if opts is None:
        return []
    levels = tables["levels"].set_index("level")
    problems: list[Problem] = []
    for metric, units in sorted(units_reading(tables, settings).items()):
        col, default = PROMISE_COLUMN[metric], LEVEL_DEFAULT[metric]
        given = opts[col] if col in opts else pd.Series(np.nan, index=opts.index)
        fallback = (opts["level"].map(levels[default]) if default in levels
                    else pd.Series(np.nan, index=opts.index))
        missing = given.isna() & fallback.isna()
        if units is not None:
            covered = pd.MultiIndex.from_frame(units.drop_duplicates())
            missing &= pd.MultiIndex.from_frame(opts[UNIT]).isin(covered)
        for row in opts.index[missing][:20]:
            problems.append(Problem(label, f"no {col} for this option, and its level "
                                    f"{opts.at[row, 'level']!r} has no {default}: a service "
                                    f"target or the service objective reads it", row=int(row),
                                    column=col))
    return problems
