"""User extensions: Pyomo components a user's function adds to the model, made into rows.

An extension is a function ``function(m, h)`` (``svcplan solve --extend FILE.py:FUNCTION``,
``svcplan.solve(..., extend=function)``). It may add Pyomo ``Var`` and ``Constraint``
components to the model ``m``; ``h.x(segment, product, level, period)`` is the binary of an
option and ``h.options`` the option table. The rule the case tables cannot say ("KEY
accounts never below EXPRESS in Q4") becomes a few lines of Pyomo.

The fast path does not read the Pyomo model (:mod:`.recorder`): it reads arrays. So after
the function ran, :func:`apply_extension` finds the components it added and compiles each
new constraint row with Pyomo's own linear compiler (``generate_standard_repn``) into the
same arrays, appended as row blocks of kind ``USER`` (the row touches one unit's columns)
or ``USER_DENSE`` (it spans units: priced like a budget row by the solver, see
:mod:`.rows`). New variables become new columns. Every solve path then sees the same
model: the HiGHS pipeline and ``--write-model`` through the standard form, other solvers
(:mod:`svcplan.solver.pyomo_solvers`) through the Pyomo model itself.

What an extension may not do is refused with an :class:`ExtensionError` (no traceback):
raise, add a nonlinear row, touch the objective, or remove svcplan's rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyomo.environ as pyo
from pyomo.repn.standard_repn import generate_standard_repn

from .data import ModelData
from .hooks import ExtensionError
from .recorder import Formulation, RowBlock, csr
from .rows import RowKind

#: The option table's columns an extension sees (``h.options``).
OPTION_COLUMNS = ["segment", "product", "level", "period", "rank", "units", "revenue", "cost",
                  "profit", "safety_stock"]

Extension = Callable[[pyo.ConcreteModel, "ExtensionHandle"], object]


@dataclass
class ExtensionHandle:
    """What an extension function gets besides the model: the options and their binaries."""

    options: pd.DataFrame
    _x: pyo.Var
    _index: dict[tuple[str, str, str, str], int]

    def x(self, segment: str, product: str, level: str, period: str):
        """The binary ``x`` of option (segment, product, level, period).

        Raises ``KeyError`` when the option is not allowed (a policy or options.csv rules
        it out) or names an id the case does not have: a rule on a level the unit can
        never take needs no row.
        """
        key = (str(segment), str(product), str(level), str(period))
        try:
            return self._x[self._index[key]]
        except KeyError:
            raise KeyError(f"no allowed option {key} (segment, product, level, period)") from None


def handle(f: Formulation, d: ModelData) -> ExtensionHandle:
    """The handle for the model of ``f`` built from ``d``."""
    opt = d.options
    keys = zip(*(opt[c].astype(str).tolist() for c in ("segment", "product", "level", "period")),
               strict=True)
    index = {k: i for i, k in enumerate(keys)}
    table = opt[OPTION_COLUMNS].reset_index(drop=True).copy()
    return ExtensionHandle(table, f.model.x, index)


def apply_extension(f: Formulation, d: ModelData, function: Extension, name: str = "") -> int:
    """Run ``function(m, h)`` on the model and record what it added; returns the rows added.

    ``name`` names the extension in error messages (e.g. ``rules.py:key_accounts``).
    """
    m = f.model
    label = name or getattr(function, "svcplan_name", None) or getattr(function, "__name__", "?")
    before = {id(c) for c in m.component_objects(descend_into=True)}
    objective = m.profit.expr
    try:
        function(m, handle(f, d))
    except Exception as exc:
        detail = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc  # no repr quotes
        raise ExtensionError(f"the extension {label} failed: {type(exc).__name__}: {detail}"
                             ) from None
    added = [c for c in m.component_objects(descend_into=True) if id(c) not in before]
    _refuse_changes(m, objective, added, label)
    for var in (c for c in added if c.ctype is pyo.Var):
        _add_columns(f, var)
    _apply_fixed(f)
    rows = [c for comp in added if comp.ctype is pyo.Constraint
            for c in comp.values() if c.active]
    _add_rows(f, rows, label)
    return len(rows)


def _refuse_changes(m: pyo.ConcreteModel, objective, added: list, label: str) -> None:
    """The objective stays svcplan's, and svcplan's rows stay in force."""
    new_objective = [c.name for c in added if c.ctype is pyo.Objective]
    if new_objective or m.profit.expr is not objective or not m.profit.active:
        raise ExtensionError(f"the extension {label} changes the objective; extensions add "
                             "constraints and variables, the objective is svcplan's")
    kinds = {str(k) for k in RowKind}
    off = [c.name for c in m.component_objects(pyo.Constraint) if c.name in kinds and not c.active]
    if off:
        raise ExtensionError(f"the extension {label} deactivates svcplan's rows {off}")


def _add_columns(f: Formulation, var: pyo.Var) -> None:
    """The elements of a Var the extension added, as new shared columns (objective 0)."""
    form = f.form
    data = list(var.values())
    lb = np.array([-np.inf if v.lb is None else v.lb for v in data], dtype=float)
    ub = np.array([np.inf if v.ub is None else v.ub for v in data], dtype=float)
    form.var_names.append(var.name)
    form.offsets[var.name] = form.n_cols
    form.counts[var.name] = len(data)
    form.lb.append(lb)
    form.ub.append(ub)
    form.integer.append(np.array([v.is_integer() for v in data], dtype=bool))
    form.owner.append(np.full(len(data), -1, dtype=np.int64))
    form.variables.extend(data)
    form.n_cols += len(data)
    if form.cost is not None:
        form.cost = np.r_[form.cost, np.zeros(len(data))]


def _apply_fixed(f: Formulation) -> None:
    """A column the extension fixed (``h.x(...).fix(0)``) gets that value as both bounds."""
    form = f.form
    fixed = [(j, v.value) for j, v in enumerate(form.variables) if v.fixed]
    if not fixed:
        return
    lb, ub = np.concatenate(form.lb), np.concatenate(form.ub)
    for j, value in fixed:
        lb[j] = ub[j] = float(value)
    cuts = np.cumsum([len(a) for a in form.lb])[:-1]
    form.lb, form.ub = np.split(lb, cuts), np.split(ub, cuts)


def _add_rows(f: Formulation, rows: list, label: str) -> None:
    """Compile each new row and append them as a USER and a USER_DENSE row block."""
    form = f.form
    column = {id(v): j for j, v in enumerate(form.variables)}
    owner = np.concatenate(form.owner) if form.owner else np.zeros(0, dtype=np.int64)
    blocks: dict[RowKind, list] = {RowKind.USER: [], RowKind.USER_DENSE: []}
    for c in rows:
        cols, vals, lo, hi = _compile(c, column, label)
        kind = RowKind.USER_DENSE if len(set(owner[cols].tolist())) > 1 else RowKind.USER
        blocks[kind].append(((c.parent_component().name, c.index()), cols, vals, lo, hi))
    for kind, entries in blocks.items():
        if entries:
            form.blocks.append(_block(kind, entries))


def _compile(c, column: dict[int, int], label: str):
    """One row as (columns, coefficients, lower, upper); a one-sided ``≥`` row is stored
    negated as ``≤``, so dense rows are all ``≤`` rows as pricing needs."""
    repn = generate_standard_repn(c.body, compute_values=True, quadratic=False)
    if not repn.is_linear():
        raise ExtensionError(f"the extension {label} adds a nonlinear row {c.name}; "
                             "only linear rows can be added to the MILP")
    try:
        cols = np.array([column[id(v)] for v in repn.linear_vars], dtype=np.int64)
    except KeyError:
        raise ExtensionError(f"the extension {label}: row {c.name} uses a variable that is not "
                             "part of the model") from None
    vals = np.array(repn.linear_coefs, dtype=float)
    const = float(pyo.value(repn.constant))
    lo = -np.inf if c.lower is None else float(pyo.value(c.lower)) - const
    hi = np.inf if c.upper is None else float(pyo.value(c.upper)) - const
    if np.isinf(hi) and np.isfinite(lo):
        vals, lo, hi = -vals, -np.inf, -lo
    return cols, vals, lo, hi


def _block(kind: RowKind, entries: list) -> RowBlock:
    """Row entries ``(name, cols, vals, lo, hi)`` as one CSR row block."""
    n = len(entries)
    rows = np.repeat(np.arange(n), [len(e[1]) for e in entries])
    cols = np.concatenate([e[1] for e in entries])
    vals = np.concatenate([e[2] for e in entries])
    ptr, cols, vals = csr(rows, cols, vals, n)
    return RowBlock(kind, [e[0] for e in entries], ptr, cols, vals,
                    np.array([e[3] for e in entries], dtype=float),
                    np.array([e[4] for e in entries], dtype=float))
