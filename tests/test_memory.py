"""A case that will not fit in memory is refused before anything is built (exit code 2)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from svcplan import Case, CaseError
from svcplan.cli.app import app
from svcplan.prep.generate import generate_case, write_case
from svcplan.solver import memory


def _case() -> Case:
    tables, settings = generate_case(2, 4, 3, 2, seed=1)
    return Case.from_tables(tables, settings)


def test_estimate_grows_with_the_binaries_and_bounds_the_option_count():
    from svcplan.formulation.data import prepare

    case = _case()
    assert memory.estimated_binaries(case) >= len(prepare(case).options)
    big = generate_case(2, 8, 3, 2, seed=1)
    assert memory.estimated_bytes(Case.from_tables(*big)) > memory.estimated_bytes(case)


def test_refused_with_the_estimate_when_it_does_not_fit():
    case = _case()
    need = memory.estimated_bytes(case)
    memory.check_fits(case, available=need * 1.01)  # fits: no error
    with pytest.raises(CaseError) as exc:
        memory.check_fits(case, available=need / 2)
    text = str(exc.value.problems[0])
    assert "GB" in text and "binaries" in text and "more memory" in text


def test_cli_exits_2_and_builds_nothing(tmp_path, monkeypatch):
    tables, settings = generate_case(2, 4, 3, 2, seed=1)
    folder = write_case(tables, settings, tmp_path / "case")
    monkeypatch.setattr(memory, "available_bytes", lambda: 1e6)

    def no_build(*a, **k):  # pragma: no cover - reached only if the check is bypassed
        raise AssertionError("built a model that was refused")

    monkeypatch.setattr("svcplan.api.prepare", no_build)
    out = tmp_path / "run"
    res = CliRunner().invoke(app, ["solve", str(folder), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert "too large" in res.output
    assert not (out / "summary.json").exists()
