"""Batches a planner stops and resumes (issue 14): Ctrl-C, resuming from the other front end,
scenario descriptions and readable labels.

One small generated case solved to proven optimality; the Ctrl-C test runs the real command
in a subprocess (its own process group, as a terminal's Ctrl-C reaches the workers too).
"""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from inprocess import InProcessRunner
from typer.testing import CliRunner

import svcplan
from svcplan import load_case
from svcplan.cli.app import app
from svcplan.prep.generate import generate_case, write_case
from svcplan.whatif.batch import BatchOptions, run_batch
from svcplan.whatif.scenarios import input_hash, load_scenarios
from svcplan.whatif.summary import short_labels

#: The import root of the svcplan under test, for subprocesses (a worktree shim or site-packages).
IMPORT_ROOT = Path(svcplan.__file__).parents[1]


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_case(*generate_case(2, 5, 3, 2, seed=11), tmp_path_factory.mktemp("c") / "case")


class _InProcess(InProcessRunner):
    """The local runner without worker processes: the input hash, not where the solve ran,
    is what resume compares."""


def _digests(out: Path) -> dict[str, str]:
    return {str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(out.glob("*/*"))}


# -- 3. --resume across front ends ---------------------------------------------------------------


def test_input_hash_is_of_normalised_settings(folder):
    case = load_case(folder)
    h = input_hash(case, {"time_limit": 20, "mip_gap": 0})
    assert input_hash(case, {"time_limit": 20.0, "mip_gap": 0.0}) == h
    in_yaml = case.with_settings(solver={"time_limit": 20, "mip_gap": 0})
    assert input_hash(in_yaml, {"time_limit": None, "mip_gap": None}) == h
    assert input_hash(case, {"time_limit": 21, "mip_gap": 0}) != h


def test_a_batch_run_from_python_resumes_from_the_cli_without_solving_again(folder, tmp_path,
                                                                             monkeypatch):
    import svcplan.cli.common as common
    import svcplan.whatif.batch as batch

    monkeypatch.setattr(batch, "_Local", _InProcess)
    # the command line's console took its width at import (80 under pytest-xdist, which sets
    # COLUMNS): widen it so that the description's cell is not wrapped
    monkeypatch.setattr(common.console, "width", 200)
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump({"scenarios": [
        {"name": "cut", "description": "Budget cut by 5%", "scale": {"periods.budget": 0.95}},
    ]}))
    out = tmp_path / "out"
    scenarios, chains = load_scenarios(sc)  # the docs' Python example: time_limit=20, an int
    first = run_batch(load_case(folder), scenarios, chains, out,
                      BatchOptions(workers=1, time_limit=20, mip_gap=0))
    assert sorted(first.ran) == ["base", "cut"]
    before = _digests(out)
    result = CliRunner().invoke(app, ["batch", str(folder), str(sc), "--out", str(out),
                                      "--time-limit", "20", "--gap", "0", "--resume", "--quiet"],
                                terminal_width=200)
    assert result.exit_code == 0, result.output
    assert "0 solved, 2 already done" in result.output
    assert {k: v for k, v in _digests(out).items() if not k.startswith("summary")} == {
        k: v for k, v in before.items() if not k.startswith("summary")}
    # 9. the description is in the summary files and in the console table
    summary = pd.read_csv(out / "summary.csv")
    assert summary.set_index("scenario").loc["cut", "description"] == "Budget cut by 5%"
    assert "description" in pd.read_excel(out / "summary.xlsx").columns
    assert "Budget cut by 5%" in result.output


# -- 9. Ctrl-C in a batch ------------------------------------------------------------------------


class _CtrlCAfterFirst(_InProcess):
    """The in-process runner, with a Ctrl-C (SIGINT to this process) as the first solves end."""

    def wait(self, futures):
        os.kill(os.getpid(), signal.SIGINT)
        return set(futures)

    def stop(self):
        pass


def test_ctrl_c_stops_the_batch_between_scenarios_fast(folder, tmp_path, monkeypatch):
    """The fast variant of the next test: the same stop, with solves in this process."""
    import svcplan.whatif.batch as batch

    monkeypatch.setattr(batch, "_Local", _CtrlCAfterFirst)
    monkeypatch.setenv("COLUMNS", "200")
    sc = tmp_path / "s.yaml"
    sc.write_text(yaml.safe_dump({"sweeps": [{"name": "budget",
                                              "scale": {"periods.budget": [1.0, 1.1, 1.2, 1.3]}}]}))
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["batch", str(folder), str(sc), "--out", str(out), "--gap", "0",
                                      "--workers", "1", "--quiet"])
    assert result.exit_code == 130, result.output
    finished = sorted(p.parent.name for p in out.glob("*/summary.json"))
    assert finished == ["base", "budget=1"]  # the two chain heads; the rest never started
    assert "Interrupted: 2 of 5 scenarios finished (base, budget=1)" in " ".join(result.output.split())
    assert "--resume" in result.output
    assert not (out / "summary.csv").exists() and not (out / "summary.xlsx").exists()


@pytest.mark.slow
def test_ctrl_c_prints_what_finished_and_the_resume_hint_and_leaves_no_temporary_files(folder, tmp_path):
    sc = tmp_path / "s.yaml"
    values = [round(0.7 + 0.025 * k, 3) for k in range(20)]
    sc.write_text(yaml.safe_dump({"sweeps": [{"name": "budget", "scale": {"periods.budget": values}}]}))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(IMPORT_ROOT)}
    cmd = [sys.executable, "-m", "svcplan", "batch", str(folder), str(sc), "--out", str(out),
           "--gap", "0", "--workers", "1", "--quiet"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    deadline = time.time() + 60
    while time.time() < deadline and not list(out.glob("*/summary.json")):
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal does: the batch and its workers
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stdout + stderr
    finished = sorted(p.parent.name for p in out.glob("*/summary.json"))
    assert 1 <= len(finished) < 21, "Ctrl-C should land mid-batch"
    text = " ".join(stdout.split())
    assert f"Interrupted: {len(finished)} of 21 scenarios finished" in text, stdout
    assert "--resume" in text and "Traceback" not in stderr and "leaked" not in stderr, stderr
    for name in finished:
        assert name in stdout
    leftovers = [p for p in out.rglob("*") if p.name.startswith(".") or p.suffix == ".tmp"]
    assert leftovers == []
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == finished  # no half-written folder


# -- 9. labels for long sweep names ---------------------------------------------------------------


def test_short_labels_are_unique_readable_and_short():
    names = ["base"] + [f"margin-and-budget:unit_margin={m},budget={b}"
                        for m in (0.9, 1.1) for b in (0.8, 1.2)]
    labels = short_labels(names, width=24)
    assert labels[0] == "base"
    assert len(set(labels)) == len(labels)
    assert all(len(x) <= 24 for x in labels)
    assert all(x.startswith("margin-a") for x in labels[1:])
    assert labels[1].endswith("0.9,budget=0.8") and labels[4].endswith("1.1,budget=1.2")


def test_a_stop_while_a_worker_writes_a_folder_waits_for_the_folder(monkeypatch):
    """SIGTERM (the runner's stop) during a scenario's write takes effect after it: the
    worker's exit runs once the block ends, not inside it."""
    from svcplan.whatif import runners

    events = []
    monkeypatch.setattr(runners, "_exit_tidily", lambda signum, frame: events.append("exit"))
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: events.append("outside"))
    try:
        with runners._whole_folder():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler runs here, if anywhere
            events.append("written")
        assert events == ["written", "exit"]
        os.kill(os.getpid(), signal.SIGTERM)  # the worker's own handler is back
        time.sleep(0.05)
        assert events[-1] == "outside"
    finally:
        signal.signal(signal.SIGTERM, previous)
