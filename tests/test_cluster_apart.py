"""A Dask cluster that shares nothing with the planner's machine but the network.

The other cluster tests use a LocalCluster inside the test process. Here the scheduler and
two workers are separate processes started with Dask's own command line, as on other
machines: they listen on this host's outward address (loopback only where it has none), run
from another folder, and each worker lives in a mount namespace where the planner's folder
(the case and the outputs) is an empty directory. Whatever the workers need must therefore
come over the network: ``svcplan solve CASE --dask`` (product blocks on the workers) and
``svcplan batch --dask`` (whole scenarios on the workers) must still give proven plans, and
every output is written on the planner's side.

Needs ``unshare`` with the right to mount (root, as on CI): skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.slow


def _can_hide_folders() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs none /mnt"],
                           capture_output=True)
    return probe.returncode == 0


def _outward_address() -> str:
    """The address other machines would reach this one at (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
            return s.getsockname()[0]
        except OSError:
            return "127.0.0.1"


@pytest.fixture(scope="module")
def apart(tmp_path_factory):
    """``(scheduler address, planner folder)``: a scheduler and two workers that cannot see
    the planner folder."""
    if not _can_hide_folders():
        pytest.skip("needs `unshare -m` with the right to mount (root) to hide folders")
    root = tmp_path_factory.mktemp("apart")
    planner, cluster = root / "planner", root / "cluster"
    planner.mkdir()
    cluster.mkdir()
    info = cluster / "scheduler.json"
    dask = [sys.executable, "-m", "dask"]
    procs = [subprocess.Popen(
        [*dask, "scheduler", "--host", _outward_address(), "--port", "0", "--no-dashboard",
         "--scheduler-file", str(info)], cwd=cluster, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)]
    worker = " ".join([*dask, "worker", "--scheduler-file", str(info), "--nthreads", "1",
                       "--memory-limit", "4GB", "--no-dashboard", "--local-directory",
                       str(cluster)])
    for _ in range(2):  # the planner folder is an empty tmpfs in the worker's own namespace
        procs.append(subprocess.Popen(
            ["unshare", "-m", "sh", "-c",
             f"mount -t tmpfs none {planner} && cd {cluster} && exec {worker}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    marker = planner / "marker"
    marker.write_text("only on the planner's side")
    try:
        with distributed.Client(scheduler_file=str(info), timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
            address = client.scheduler.address
            seen = client.run(marker.exists)  # per worker: does it see the planner's file?
        yield address, planner, seen
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def _svcplan(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "svcplan", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_workers_cannot_see_the_planner_folder(apart):
    address, planner, seen = apart
    assert not address.startswith("inproc")
    assert len(seen) == 2 and not any(seen.values())


def test_solve_on_a_cluster_that_shares_no_files(apart):
    """A case over the 100k columns from which the blocks go to the cluster."""
    address, planner, _ = apart
    assert _svcplan("generate", str(planner / "case"), "--segments", "10", "--products", "130",
                    "--levels", "5", "--periods", "10", "--seed", "5",
                    cwd=planner).returncode == 0
    out = planner / "out"
    run = _svcplan("solve", str(planner / "case"), "--dask", address, "--gap", "0.001",
                   "--out", str(out), "--quiet", cwd=planner)
    assert run.returncode == 0, run.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "optimal" and summary["mip_gap"] <= 0.001
    assert summary["search"]["dask"] == address
    assert summary["search"]["blocks"] > 1 and summary["search"]["lp_method"] == "prices"
    assert len(pd.read_csv(out / "assignment.csv")) == 10 * 130 * 10


def test_batch_on_a_cluster_that_shares_no_files(apart):
    address, planner, _ = apart
    case = Path(__file__).resolve().parents[1] / "data" / "demo"
    shutil.copytree(case, planner / "demo")
    (planner / "sweep.yaml").write_text(
        "sweeps:\n  - name: budget\n    scale: {periods.budget: [0.9, 1.1]}\n")
    out = planner / "batch"
    run = _svcplan("batch", str(planner / "demo"), str(planner / "sweep.yaml"), "--dask",
                   address, "--out", str(out), "--quiet", cwd=planner)
    assert run.returncode == 0, run.stderr
    summary = pd.read_csv(out / "summary.csv")
    assert summary["scenario"].tolist() == ["base", "budget=0.9", "budget=1.1"]
    assert summary["status"].tolist() == ["optimal"] * 3
    for name in summary["scenario"]:
        assert (out / name / "results.xlsx").exists()
    with distributed.Client(address, timeout="20s") as client:  # the scenarios ran there
        ran = client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.task_prefixes))
    assert "solve_chain" in ran
