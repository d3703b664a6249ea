"""The command line's own surface: ``--version`` and the one error printer (exit 2)."""

from __future__ import annotations

from importlib.metadata import version

from typer.testing import CliRunner

import svcplan
from svcplan.cli.app import app


def test_version_prints_the_installed_version_and_exits_0():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"svcplan {version('svcplan')}"


def test_version_falls_back_to_the_package_version(monkeypatch):
    import svcplan.cli.app as cli

    def not_installed(name):
        raise cli.PackageNotFoundError(name)

    monkeypatch.setattr(cli, "version", not_installed)
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"svcplan {svcplan.__version__}"


def test_a_plain_usage_error_goes_through_the_error_printer(tmp_path):
    result = CliRunner().invoke(app, ["solve", str(tmp_path), "--write-model", "m.txt"])
    assert result.exit_code == 2
    assert "error: --write-model needs a file ending in .mps or .lp" in result.output
