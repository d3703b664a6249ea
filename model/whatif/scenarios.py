"""Scenario files (SPEC §7): what-if changes to a case, checked before anything runs.

A scenario file lists named ``scenarios`` (``scale`` a column, ``set`` a value, narrowed by
``where``) and ``sweeps`` (one scenario per value, the cartesian product across keys). It is
read into strict pydantic models, so a misspelt key is an error, never a silent no-op; then
every scenario is checked against the case (unknown table, column or setting, duplicate
names, a ``where`` matching no row) and all problems are reported together — a batch of
fifty solves must not die on scenario 37 because of a typo.

:func:`apply` turns (case, scenario) into a new validated :class:`Case` by changing the
typed tables and re-validating, so a scenario can never produce a case the solver would not
accept from files. Pure pandas; no solver.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..case.case import Case, CaseError, Problem
from ..case.problems import did_you_mean
from ..case.schema import TABLES
from ..case.settings import setting_keys

Scalar = float | int | str | bool | None
#: The base scenario's name when a file does not list one; comparisons are made against it.
BASE = "base"


class Scenario(BaseModel):
    """One named what-if: ``scale`` multiplies, ``set`` assigns, ``where`` narrows rows."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    description: str | None = None
    scale: dict[str, float] = Field(default_factory=dict)
    set_: dict[str, Scalar] = Field(default_factory=dict, alias="set")
    where: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)

    def keys(self) -> list[str]:
        return [*self.scale, *self.set_]


class Sweep(BaseModel):
    """One scenario per value; several keys give the cartesian product of their values."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(min_length=1)
    scale: dict[str, list[float]] = Field(default_factory=dict)
    set_: dict[str, list[Scalar]] = Field(default_factory=dict, alias="set")
    where: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)


class ScenarioFile(BaseModel):
    """The whole file: plain scenarios and sweeps (either may be absent, not both)."""

    model_config = ConfigDict(extra="forbid")

    scenarios: list[Scenario] = Field(default_factory=list)
    sweeps: list[Sweep] = Field(default_factory=list)


class ScenarioError(CaseError):
    """An invalid scenario file; carries every problem (reported like a case error, exit 2)."""


@dataclass(frozen=True)
class Planned:
    """A scenario ready to run: its (validated) case, input hash and sweep chain position.

    ``case`` is None when applying the scenario made the case invalid; ``error`` says why.
    ``chain``/``step`` group consecutive sweep scenarios that can warm-start each other.
    """

    scenario: Scenario
    case: Case | None
    input_hash: str
    error: str = ""
    chain: str = ""
    step: int = 0

    @property
    def name(self) -> str:
        return self.scenario.name


def _fmt(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return f"{v:g}"
    return str(v)


def expand(sweep: Sweep) -> list[Scenario]:
    """A sweep's scenarios, named ``budget=0.8`` (one key) or ``name:budget=0.8,margin=1.1``."""
    items = [("scale", k, vs) for k, vs in sweep.scale.items()]
    items += [("set", k, vs) for k, vs in sweep.set_.items()]
    out = []
    for combo in itertools.product(*[vs for _, _, vs in items]):
        scale = {k: v for (kind, k, _), v in zip(items, combo, strict=True) if kind == "scale"}
        sets = {k: v for (kind, k, _), v in zip(items, combo, strict=True) if kind == "set"}
        if len(items) == 1:
            name = f"{sweep.name}={_fmt(combo[0])}"
        else:
            keys = [k.split(".")[-1] for _, k, _ in items]
            parts = [f"{k}={_fmt(v)}" for k, v in zip(keys, combo, strict=True)]
            name = f"{sweep.name}:{','.join(parts)}"
        out.append(Scenario(name=name, scale=scale, set=sets, where=dict(sweep.where)))
    return out


def load_scenarios(path: str | Path) -> tuple[list[Scenario], dict[str, str]]:
    """Read a scenario file; return the scenarios (sweeps expanded) and each one's chain.

    The chain of a sweep scenario is its sweep's name (consecutive values warm-start each
    other); a plain scenario is its own chain. Raises :class:`ScenarioError`.
    """
    path = Path(path)
    label = path.name
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(label, f"cannot be read: {exc}")]) from None
    return parse_scenarios(data or {}, label)


def parse_scenarios(
    data: Any, label: str = "scenarios.yaml"
) -> tuple[list[Scenario], dict[str, str]]:
    """Like :func:`load_scenarios`, from already-parsed YAML (a dict)."""
    try:
        spec = ScenarioFile.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
            problems.append(Problem(label, f"{where}: {what}"))
        raise ScenarioError(problems) from None
    scenarios = list(spec.scenarios)
    chains = {s.name: f"scenario:{s.name}" for s in scenarios}
    for sw in spec.sweeps:
        if not sw.scale and not sw.set_:
            raise ScenarioError([Problem(label, f"sweep '{sw.name}' has no scale or set values")])
        for s in expand(sw):
            scenarios.append(s)
            chains.setdefault(s.name, f"sweep:{sw.name}")
    if not scenarios:
        raise ScenarioError([Problem(label, "no scenarios or sweeps")])
    return scenarios, chains


def _split(key: str) -> tuple[str, str]:
    table, _, column = key.partition(".")
    return table, column


def check(case: Case, scenarios: list[Scenario], label: str = "scenarios.yaml") -> None:
    """Every problem of the scenarios against this case, raised together (ScenarioError)."""
    problems: list[Problem] = []
    seen: set[str] = set()
    settings = set(setting_keys())
    for s in scenarios:
        found = ["duplicate name"] if s.name in seen else []
        seen.add(s.name)
        changed = _check_changes(case, s, settings, found)
        found += _where_problems(case, s, changed)
        problems += [Problem(label, f"scenario '{s.name}': {msg}") for msg in found]
    if problems:
        raise ScenarioError(problems)


def _check_changes(case: Case, s: Scenario, settings: set[str], found: list[str]) -> list[str]:
    """Append to ``found`` what is wrong with each ``scale`` and ``set`` key of ``s`` (an
    unknown table, column or setting; an id scaled; a number set to text); returns the
    tables whose columns it changes, in order."""
    changed: list[str] = []
    for kind, key, value in [("scale", k, v) for k, v in s.scale.items()] + [
        ("set", k, v) for k, v in s.set_.items()
    ]:
        table, column = _split(key)
        if not column:
            found.append(f"{kind} key '{key}' must be table.column or case.setting")
        elif table == "case":
            if column not in settings:
                hint = did_you_mean(column, settings) or f" (known: {', '.join(sorted(settings))})"
                found.append(f"unknown setting '{column}'{hint}")
            elif kind == "scale" and not isinstance(_setting(case, column), int | float):
                found.append(f"cannot scale setting '{column}': it is not a number in this case")
        elif table not in TABLES:
            found.append(f"unknown table '{table}' (known: case, {', '.join(TABLES)})")
        elif table not in case.tables:
            found.append(f"table '{table}' is not part of this case")
        elif column not in TABLES[table].names:
            found.append(f"table '{table}' has no column '{column}'"
                         f"{did_you_mean(column, TABLES[table].names)}")
        else:
            col = TABLES[table].col(column)
            changed += [table] if table not in changed else []
            if kind == "scale" and col.kind == "id":
                found.append(f"cannot scale the id column '{key}'")
            if kind == "set" and col.kind != "id" and not _is_number_or_none(value):
                found.append(f"{key} needs a number (or null for blank), got {value!r}")
    return changed


def _where_problems(case: Case, s: Scenario, changed: list[str]) -> list[str]:
    """What is wrong with the ``where`` of ``s``: nothing it could select, a column the
    changed tables lack, or no row of them that matches."""
    if s.where and not changed:
        return ["'where' needs a scale or set of a table column"]
    found = []
    for table in changed:
        df = case.tables[table]
        found += [f"where: table '{table}' has no column '{column}'"
                  for column in s.where if column not in df.columns]
        if all(c in df.columns for c in s.where) and s.where and not _mask(df, s.where).any():
            found.append(f"where {s.where} matches no row of {table}{_where_hint(df, s.where)}")
    return found


def _where_hint(df: pd.DataFrame, where: dict[str, Any]) -> str:
    """"did you mean" for the first ``where`` value found in no row (``KEYY`` for ``KEY``)."""
    for column, want in where.items():
        col = df[column]
        if pd.api.types.is_numeric_dtype(col):
            continue
        present = set(col.dropna().astype(str))
        for v in want if isinstance(want, list) else [want]:
            if str(v) not in present:
                hint = did_you_mean(v, present)
                if hint:
                    return f" ({column} {str(v)!r}{hint})"
    return ""


def _is_number_or_none(v: Any) -> bool:
    return v is None or (isinstance(v, int | float) and not isinstance(v, bool))


def _setting(case: Case, key: str) -> Any:
    node: Any = case.settings.model_dump()
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _mask(df: pd.DataFrame, where: dict[str, Any]) -> pd.Series:
    """Rows whose columns equal the given value (or one of a list); ids compare as text."""
    ok = pd.Series(True, index=df.index)
    for column, want in where.items():
        values = want if isinstance(want, list) else [want]
        col = df[column]
        if pd.api.types.is_numeric_dtype(col):
            nums = [float(v) for v in values if _is_number_or_none(v) and v is not None]
            ok &= col.isin(nums)
        else:
            ok &= col.astype(str).isin([str(v) for v in values])
    return ok


def apply(case: Case, scenario: Scenario) -> Case:
    """The case with the scenario's changes, re-validated (raises :class:`CaseError`)."""
    changed: dict[str, pd.DataFrame] = {}
    settings = case.settings.model_dump(exclude_none=True)
    for kind, changes in (("scale", scenario.scale), ("set", scenario.set_)):
        for key, value in changes.items():
            table, column = _split(key)
            if table == "case":
                *parents, leaf = column.split(".")
                node = settings
                for p in parents:
                    node = node.setdefault(p, {})
                if kind == "scale":
                    node[leaf] = _setting(case, column) * value
                elif value is None:
                    node.pop(leaf, None)
                else:
                    node[leaf] = value
                continue
            df = changed.setdefault(table, case.tables[table].copy())
            if TABLES[table].col(column).kind != "id":
                df[column] = df[column].astype(float)
            rows = _mask(df, scenario.where) if scenario.where else slice(None)
            if kind == "scale":
                df.loc[rows, column] = df.loc[rows, column] * float(value)
            elif value is None:
                df.loc[rows, column] = None if TABLES[table].col(column).kind == "id" else np.nan
            else:
                is_id = TABLES[table].col(column).kind == "id"
                df.loc[rows, column] = str(value) if is_id else float(value)
    return case.with_tables(changed, settings)


def table_text(name: str, table: pd.DataFrame) -> bytes:
    """A table as :func:`input_hash` reads it: its CSV text, every float to the last digit."""
    return table.to_csv(index=False, float_format="%.17g").encode()


def input_hash(case: Case, solve_options: dict[str, Any],
               text: Callable[[str, pd.DataFrame], bytes] = table_text) -> str:
    """A hash of everything a scenario's result depends on: its case and solver settings.

    The solver options are folded into the case's own solver settings first (an option
    overrides case.yaml, as in a solve), numbers as floats like the settings model holds
    them, so equal settings hash equally whichever front end gave them: ``time_limit=20`` from
    Python, ``--time-limit 20`` (20.0) from the command line or ``solver.time_limit: 20`` in
    case.yaml. ``text``: each table's text (:func:`table_text`; :func:`plan` renders the
    tables its scenarios keep once).
    """
    settings = case.settings.model_dump()
    settings["solver"].update({k: _number(v) for k, v in solve_options.items() if v is not None})
    h = hashlib.sha256()
    h.update(json.dumps(settings, sort_keys=True, default=str).encode())
    for name in sorted(case.tables):
        h.update(name.encode())
        h.update(text(name, case.tables[name]))
    return h.hexdigest()[:16]


def _kept_text(case: Case, scenario: Scenario,
               seen: dict[str, bytes]) -> Callable[[str, pd.DataFrame], bytes]:
    """:func:`table_text` for ``scenario``'s case, where each table the scenario leaves as it
    is in ``case`` is rendered once for the whole batch (``seen``): it is a copy of that
    table, so it has the same text (a 300k-binary case's tables took 0.12 s per scenario)."""
    changed = {_split(key)[0] for key in [*scenario.scale, *scenario.set_]}

    def text(name: str, table: pd.DataFrame) -> bytes:
        if name in changed or name not in case.tables:
            return table_text(name, table)
        if name not in seen:
            seen[name] = table_text(name, case.tables[name])
        return seen[name]

    return text


def _number(v: Any) -> Any:
    """A solver option as the settings model holds it: numbers as floats (20 and 20.0 are one
    limit), anything else unchanged."""
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else v


def plan(
    case: Case, scenarios: list[Scenario], chains: dict[str, str], solve_options: dict[str, Any]
) -> list[Planned]:
    """Apply every scenario (checked first); an invalid result is kept as an error entry."""
    out: list[Planned] = []
    steps: dict[str, int] = {}
    seen: dict[str, bytes] = {}  # the text of the tables scenarios keep, for their hashes
    for s in scenarios:
        chain = chains.get(s.name, f"scenario:{s.name}")
        step = steps.get(chain, 0)
        steps[chain] = step + 1
        try:
            c = apply(case, s)
        except CaseError as exc:
            reason = "; ".join(str(p) for p in exc.problems)
            digest = hashlib.sha256(s.model_dump_json().encode()).hexdigest()[:16]
            out.append(Planned(s, None, digest, f"invalid case: {reason}", chain, step))
            continue
        out.append(Planned(s, c, input_hash(c, solve_options, _kept_text(case, s, seen)), "",
                           chain, step))
    return out
