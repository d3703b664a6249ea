"""A solve's outputs as database tables (``svcplan solve --out sqlite:///runs.db``).

The same tables as the run folder (:mod:`.files`): ``assignment``, ``kpi_periods``,
``kpi_segments``, ``kpi_classes``, ``kpi_capacity``, ``infeasibility`` (when there is one),
and ``summary`` as key/value rows (nested keys dotted, values as JSON text). They are
written in ONE transaction (:func:`svcplan.case.database.write_frames`): a run either
replaces all of them or, when anything fails, leaves the database exactly as it was; that is
the database's counterpart of a folder's summary.json written last. Output tables this run
does not produce are dropped in the same transaction, so the database never mixes two runs.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from ..case.database import engine_for, shown, write_frames

SUMMARY_TABLE = "summary"
EXPLANATION_TABLE = "infeasibility"


def summary_rows(summary: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """summary.json as (key, value) rows: nested keys dotted, values as JSON text."""
    rows = []
    for key, value in summary.items():
        if isinstance(value, dict) and value:
            rows.extend(summary_rows(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", json.dumps(value, ensure_ascii=False, default=str)))
    return rows


def write_database(url: str, summary: dict[str, Any], frames: dict[str, pd.DataFrame],
                   explanation: pd.DataFrame, has_plan: bool) -> str:
    """Replace the output tables in the database at ``url`` in one transaction."""
    tables = {}
    if has_plan:
        tables.update({name: df for name, df in frames.items()
                       if not (df.empty and not len(df.columns))})
    if not explanation.empty:
        tables[EXPLANATION_TABLE] = explanation
    tables[SUMMARY_TABLE] = pd.DataFrame(summary_rows(summary), columns=["key", "value"])
    every = [*frames, EXPLANATION_TABLE, SUMMARY_TABLE]
    write_frames(url, tables, drop=[name for name in every if name not in tables])
    return shown(url)


def unreachable(url: str) -> str | None:
    """Why the database at ``url`` cannot take the outputs (None: it can): checked before a
    solve, so a wrong ``--out`` URL is refused at once instead of after an hour's solve."""
    try:
        engine = engine_for(url)
    except Exception as exc:  # no driver, a malformed URL
        return f"cannot use the database {shown(url)}: {exc}"
    try:
        with engine.connect():
            return None
    except Exception as exc:
        text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        return f"cannot reach the database {shown(url)}: {text[0] if text else type(exc).__name__}"
    finally:
        engine.dispose()
