"""The command line's own surface: ``--version`` and the one error printer (exit 2)."""

from __future__ import annotations

from importlib.metadata import version

import pytest
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


def test_batch_and_frontier_start_the_workers_before_reading_the_case(monkeypatch, tmp_path):
    """The local workers' fork server imports svcplan while the case is read (about 1 s on
    the path to the first point); with --dask there is none to start."""
    import svcplan.cli.batch as cli_batch

    calls: list[str] = []
    monkeypatch.setattr(cli_batch, "start_fork_server", lambda: calls.append("workers"))

    def load(case):
        calls.append("case")
        raise SystemExit(2)

    monkeypatch.setattr(cli_batch, "load", load)
    (tmp_path / "s.yaml").write_text("scenarios:\n  - name: base\n")
    for args in (["frontier", "data/demo"], ["batch", "data/demo", str(tmp_path / "s.yaml")],
                 ["frontier", "data/demo", "--dask", "tcp://127.0.0.1:1"]):
        calls.clear()
        CliRunner().invoke(app, args)
        assert calls == (["case"] if "--dask" in args else ["workers", "case"]), args


def test_the_command_starts_a_batchs_workers_before_its_own_imports(tmp_path):
    """``svcplan batch|frontier`` on local workers start their fork server before typer,
    pandas and the API load (svcplan.cli.entry): it then imports svcplan beside the command
    line. ``import svcplan`` alone loads none of them (the package's names load on first use)."""
    import subprocess
    import sys

    from svcplan.cli.entry import starts_local_workers

    assert starts_local_workers(["frontier", "data/demo"])
    assert starts_local_workers(["batch", "case", "s.yaml", "--workers", "2"])
    for args in (["frontier", "case", "--dask", "tcp://h:8786"], ["batch", "c", "s.yaml",
                 "--dask=tcp://h:8786"], ["frontier", "--help"], ["solve", "case"],
                 ["--version"], []):
        assert not starts_local_workers(args), args
    probe = (
        "import sys\n"
        "import svcplan\n"
        "print('pandas' in sys.modules, 'svcplan.api' in sys.modules)\n"
        "import svcplan.processes as w\n"
        "seen = []\n"
        "w.start_fork_server = lambda: seen.append('pandas' in sys.modules)\n"
        f"sys.argv = ['svcplan', 'frontier', {str(tmp_path / 'none')!r}]\n"
        "from svcplan.cli.entry import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as exc:\n"
        "    print(seen, exc.code)\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         timeout=120).stdout.split("\n")
    assert out[0] == "False False"  # nothing but the package root
    assert out[1] == "[False, True] 2"  # first before pandas, then again by the command


def test_the_package_names_load_on_first_use():
    from svcplan import Case, Status, solve

    assert callable(solve) and Status.OPTIMAL == "optimal" and Case.__name__ == "Case"
    assert {"solve", "load_case", "Case", "Status"} <= set(dir(svcplan))
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        svcplan.nothing  # noqa: B018
