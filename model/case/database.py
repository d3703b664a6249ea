"""A case in a database: one table per case table (SPEC §5 names) plus a ``case`` table.

The URL is SQLAlchemy's (``sqlite:///case.db``, ``postgresql://user@host/db``; a bare
``postgresql://`` uses psycopg 3). The ``case`` table holds the settings as key/value rows,
dotted keys nesting (``solver.time_limit``), exactly as the ``case`` sheet of a workbook.
Columns come back typed from the database; cells are turned into the same text cells a CSV
gives (:func:`.textio.normalise_cells`), so every rule and message of :mod:`.checks` applies,
with "table demand" where a folder says "demand.csv".

Writing (:func:`write_database_case`, used by ``svcplan convert``) replaces the case's tables
in one transaction: a failure leaves the database as it was. SQLAlchemy is imported when a
database is used (the ``sources`` extra).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from .problems import Problem
from .reader import RawCase, _drop_blank_rows, _flatten, _renumber, _settings_from_sheet
from .schema import TABLES
from .textio import normalise_cells

SETTINGS_TABLE = "case"
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def is_database_url(target: object) -> bool:
    """``sqlite:///…``, ``postgresql://…``: a string with a URL scheme (not a Windows drive)."""
    return isinstance(target, str) and bool(_URL.match(target))


def engine_for(url: str):
    """A SQLAlchemy engine for ``url``; SQLite made to run DDL inside transactions too.

    Python's sqlite3 driver commits before ``CREATE``/``DROP`` on its own, which would let a
    failed write leave half the tables replaced; the SQLAlchemy recipe for transactional
    DDL (driver autocommit off, ``BEGIN`` emitted by us) makes the write all-or-nothing.
    """
    try:
        import sqlalchemy as sa
    except ImportError as exc:
        raise ImportError("database cases need SQLAlchemy: pip install 'svcplan[sources]'") from exc
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _no_driver_transactions(dbapi_connection, _record):
            dbapi_connection.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin(connection):
            connection.exec_driver_sql("BEGIN")
    return engine


def shown(url: str) -> str:
    """The URL as messages show it: without its password."""
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"://([^:/@]+):[^@]*@", r"://\1:***@", url)


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_database_case(url: str) -> RawCase:
    """Read every case table (and the ``case`` settings table) from the database at ``url``."""
    where = shown(url)
    raw = RawCase(tables={}, settings={}, source=where,
                  settings_label=f"table {SETTINGS_TABLE}")
    raw.labels = {name: f"table {name}" for name in TABLES}
    frames = _fetch_tables(url, where, raw.problems)
    if frames is None:
        return raw
    if SETTINGS_TABLE in frames:
        df = normalise_cells(frames.pop(SETTINGS_TABLE), SETTINGS_TABLE, raw.settings_label,
                             raw.warnings)
        raw.settings = _settings_from_sheet(_drop_blank_rows(_renumber(df)), raw, skip=set())
    else:
        raw.problems.append(Problem(raw.settings_label,
                                    "required table is missing (columns key, value)"))
    for name, df in frames.items():
        df = normalise_cells(df, name, raw.labels[name], raw.warnings)
        df.index = pd.RangeIndex(2, len(df) + 2)  # row 2 = the first row, as in a file
        raw.tables[name] = df
    return raw


def _fetch_tables(url: str, where: str, problems: list[Problem]) -> dict[str, pd.DataFrame] | None:
    """The case tables and the settings table the database at ``url`` holds, as stored; None
    (and why, appended to ``problems``) when it cannot be read: no driver, no such SQLite
    file, an unreachable server, bad credentials."""
    engine = None
    try:
        engine = engine_for(url)
        missing = _missing_sqlite_file(engine)
        if missing:
            problems.append(Problem(where, f"the database file {missing} does not exist"))
            return None
        with engine.connect() as conn:
            present = _table_names(conn)
            # a plain SELECT: read_sql_table would coerce a text cell in a REAL column and fail
            # on the whole table; the checks name the cell instead
            return {name: pd.read_sql_query(f'SELECT * FROM "{name}"', conn)
                    for name in [*TABLES, SETTINGS_TABLE] if name in present}
    except ModuleNotFoundError as exc:  # the driver of this kind of database
        problems.append(Problem(where, f"cannot use the database: {exc} (install the Python "
                                "driver of this database)"))
    except ImportError as exc:
        problems.append(Problem(where, str(exc)))
    except Exception as exc:  # unreachable server, bad credentials, not a database file
        problems.append(Problem(where, f"cannot read the database: {_first_line(exc)}"))
    finally:
        if engine is not None:
            engine.dispose()
    return None


def _missing_sqlite_file(engine) -> str | None:
    """The file of a SQLite URL that does not exist (SQLite would create it empty)."""
    from pathlib import Path

    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    return None if Path(database).exists() else database


def _table_names(conn) -> set[str]:
    import sqlalchemy as sa

    return set(sa.inspect(conn).get_table_names())


def write_frames(url: str, frames: dict[str, pd.DataFrame], drop: list[str] = ()) -> None:
    """Replace the tables ``frames`` (and drop the tables ``drop``) in ONE transaction."""
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            present = _table_names(conn)
            for name in drop:
                if name in present:
                    conn.exec_driver_sql(f'DROP TABLE "{name}"')
            for name, df in frames.items():
                df.to_sql(name, conn, if_exists="replace", index=False)
    finally:
        engine.dispose()


def write_database_case(tables: dict[str, pd.DataFrame], settings: dict[str, Any], url: str) -> str:
    """Write a case into the database at ``url``: its tables and the ``case`` settings table;
    case tables it lacks are dropped (a stale ``options`` table must not join this case)."""
    from .parquet import typed_frame

    frames = {SETTINGS_TABLE: pd.DataFrame(
        [(k, "" if v is None else str(v)) for k, v in _flatten(settings)], columns=["key", "value"])}
    frames.update({name: typed_frame(name, df) for name, df in tables.items()})
    write_frames(url, frames, drop=[name for name in TABLES if name not in tables])
    return shown(url)
