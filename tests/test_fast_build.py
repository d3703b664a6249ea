"""The fast build and hand-off must not change the model, and the warm start not the optimum.

``svcplan.formulation.recorder`` records every constraint as arrays while it creates it in
Pyomo, and ``standard_form`` stacks those arrays into the matrix every solver reads. Here
the recorded matrix is compared entry by
entry with what Pyomo's own ``LinearStandardFormCompiler`` makes of the Pyomo model, on
generated cases that switch every linking term on. Then warm-started solves are compared
with plain solves (``warm_start=False``) at gap 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
import scipy.sparse as sp
import yaml
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from svcplan import load_case, solve
from svcplan.formulation.blocks import create_model
from svcplan.formulation.data import prepare
from svcplan.prep.generate import generate_case, write_case

DEMO = Path(__file__).resolve().parents[1] / "data" / "demo"


def _case(tmp_path, seed: int, **extra):
    tables, settings = generate_case(3, 6, 4, 4, seed=seed, capacity=True)
    settings.update(extra)
    folder = write_case(tables, settings, tmp_path / f"case{seed}")
    return load_case(folder)


def _compiled(m):
    """The Pyomo model through Pyomo's compiler: {(row name, index): (row dict, lo, hi)}."""
    repn = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    col = [id(v) for v in repn.columns]
    A = repn.A.tocsr()
    out = {}
    for k, r in enumerate(repn.rows):
        name = (r.constraint.parent_component().local_name, r.constraint.index())
        rhs = float(repn.rhs[k])  # bound_type: 1 means <=, -1 means >=, 0 means ==
        lo = rhs if r.bound_type <= 0 else -np.inf
        r_hi = rhs if r.bound_type >= 0 else np.inf
        s, e = A.indptr[k], A.indptr[k + 1]
        out[name] = ({col[j]: v for j, v in zip(A.indices[s:e], A.data[s:e], strict=True)},
                     lo, r_hi)
    cost = dict(zip(col, repn.c.toarray().ravel(), strict=True))
    return out, cost


def _user_rows(m, h):
    """An extension with every kind of row: a ``≤`` row across units (USER_DENSE), ``≥`` rows
    within one unit (USER, stored negated), a new variable in an equality row."""
    o = h.options
    top = o[o["rank"] == o["rank"].max()]
    periods = sorted(set(o["period"]))
    m.cap_top = pyo.Constraint(periods, rule=lambda m, t: sum(
        h.x(r.segment, r.product, r.level, t) for r in top[top["period"] == t].itertuples()) <= 3)
    first = o.iloc[0]
    mine = o[(o["segment"] == first["segment"]) & (o["product"] == first["product"])]
    m.floor = pyo.Constraint(periods, rule=lambda m, t: sum(
        r.rank * h.x(r.segment, r.product, r.level, t)
        for r in mine[mine["period"] == t].itertuples()) >= 2)
    m.slack = pyo.Var(bounds=(0, None))
    m.count = pyo.Constraint(expr=m.slack + sum(
        h.x(r.segment, r.product, r.level, r.period) for r in top.itertuples()) == 5 + 2)


@pytest.mark.parametrize("seed,extra,extend", [
    (1, {}, None),
    (2, {"max_changes": 1, "total_budget": 1e9}, None),
    (3, {"tier_ordering": False, "switching_cost": 0.0, "max_changes": 2}, None),
    (1, {}, _user_rows),
])
def test_recorded_matrix_is_the_pyomo_model(tmp_path, seed, extra, extend):
    """The recorded matrix, extension rows included (``user`` rows are named by their
    component and index; one-sided ``≥`` rows are recorded negated as ``≤``)."""
    from svcplan.formulation.extend import apply_extension
    from svcplan.formulation.rows import RowKind
    from svcplan.formulation.standard_form import standard_form

    data = prepare(_case(tmp_path, seed, **extra))
    f = create_model(data, pyomo=True)
    if extend is not None:
        apply_extension(f, data, extend)
    m = f.model
    sf = standard_form(f)
    compiled, cost = _compiled(m)
    ids = [id(v) for v in f.form.variables]
    A = sp.csc_matrix(sf.A).tocsr()
    seen = 0
    for k, name in enumerate(sf.rows):
        s, e = A.indptr[k], A.indptr[k + 1]
        if s == e:
            continue  # empty rows are skipped in Pyomo (see add_rows)
        row = {ids[j]: v for j, v in zip(A.indices[s:e], A.data[s:e], strict=True)}
        user = name[0] in (RowKind.USER, RowKind.USER_DENSE)
        want, lo, hi = compiled[name[1] if user else name]
        if user and np.isfinite(lo) and not np.isfinite(hi):  # >= row: recorded as -row <= -lo
            want, lo, hi = {c: -v for c, v in want.items()}, -np.inf, -lo
        assert row.keys() == want.keys(), name
        assert all(np.isclose(row[c], want[c]) for c in row), name
        assert np.isclose(sf.row_lower[k], lo) or sf.row_lower[k] == lo == -np.inf, name
        assert np.isclose(sf.row_upper[k], hi) or sf.row_upper[k] == hi == np.inf, name
        seen += 1
    assert seen == len(compiled)
    for j, c in enumerate(sf.cost):
        assert np.isclose(c, cost.get(ids[j], 0.0)), j
    lb = [v.lb if v.lb is not None else -np.inf for v in f.form.variables]
    assert np.allclose(sf.col_lower, lb)


@pytest.mark.parametrize("seed,extra", [(1, {}), (2, {"max_changes": 1, "total_budget": 1e9}),
                                        (None, {})])
def test_record_only_build_is_the_same_model(tmp_path, seed, extra):
    """svcplan's own solves skip the Pyomo components (create_model(pyomo=False)): the
    blocks must record exactly the arrays they record while creating them (seed None: the
    demo case, with goodwill, tier ordering, policies and targets)."""
    from svcplan.formulation.standard_form import standard_form

    case = load_case(DEMO) if seed is None else _case(tmp_path, seed, **extra)
    d = prepare(case)
    full, bare = create_model(d, pyomo=True), create_model(d, pyomo=False)
    assert bare.model is None and not bare.form.variables
    a, b = standard_form(full), standard_form(bare)
    assert (a.A != b.A).nnz == 0 and a.rows == b.rows
    for name in ("cost", "col_lower", "col_upper", "integer", "row_lower", "row_upper",
                 "x_cols", "owner"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_warm_start_never_changes_the_optimum(tmp_path, seed):
    case = _case(tmp_path, seed)
    warm = solve(case, mip_gap=0.0)
    cold = solve(case, mip_gap=0.0, warm_start=False)
    assert warm.status == cold.status == "optimal"
    assert warm.objective == pytest.approx(cold.objective, rel=1e-7, abs=1e-6)
    assert warm.warm_start_objective is not None
    assert warm.warm_start_objective <= cold.objective + 1e-6


def test_generated_settings_round_trip(tmp_path):
    """The generator's case.yaml is what the model reads (guards the bench ladder)."""
    case = _case(tmp_path, 7)
    settings = yaml.safe_load((tmp_path / "case7" / "case.yaml").read_text())
    assert case.settings.switching_cost == settings["switching_cost"]
    assert case.settings.tier_ordering is True


@pytest.mark.parametrize("seed", [8, 9])
def test_gap_target_is_honest(tmp_path, seed):
    """With the default 0.01% gap (possibly proven by the LP bound alone, without a MIP
    run), the plan is within the gap of the true optimum and the bound is a real bound."""
    case = _case(tmp_path, seed)
    fast = solve(case, mip_gap=1e-4)
    exact = solve(case, mip_gap=0.0, warm_start=False)
    assert fast.status == exact.status == "optimal"
    assert fast.objective <= exact.objective + 1e-6
    assert fast.objective >= exact.objective - 1e-4 * abs(exact.objective) - 1e-6
    assert fast.bound >= exact.objective - 1e-6


def test_own_solve_loads_neither_pyomo_nor_scipy_stats():
    """svcplan's own pipeline solves from the recorded arrays with scipy.special's
    distributions: a demo solve in a fresh interpreter must not import Pyomo (0.7 s) or
    scipy.stats (0.6 s), and ``import svcplan`` (validate, a batch worker's start) no scipy
    at all. An eager import anywhere on those paths fails this."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    code = ("import sys; from svcplan import load_case, solve; "
            "print('scipy' in sys.modules); r = solve(load_case('data/demo')); "
            "print(r.status, sorted(m for m in ('pyomo', 'scipy.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True,
                         text=True, timeout=300, check=True).stdout.split()
    assert out == ["False", "optimal", "[]"]
