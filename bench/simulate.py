"""Benchmark of ``svcplan simulate``: the demo plan, and 100k unit-periods.

1. The demo case (data/demo: 200 units × 12 periods = 2,400 unit-periods) is solved into a
   temporary folder (or ``--run DIR`` is used), then ``svcplan.simulate`` runs with
   ``--cycles`` cycles (default 1,000): the whole API call, reading the run and the case
   included. Target: ≤ 20 s on 2 cores.
2. 100k unit-periods: the demo plan's policies repeated (each copy with its own stream keys)
   to ``--large`` unit-periods and run through the engine (``simulate_policies``) with
   ``--large-cycles`` cycles, once per count of worker processes in ``--workers`` (default
   ``1,2``); every run must give the same numbers as the first.

Prints a markdown table with the unit-days simulated, wall and CPU seconds, unit-days per
second and the load average (the machine is shared: read the figures with the load next to them).

Usage (from the repository root)::

    python bench/simulate.py [--cycles 1000] [--large 100000] [--large-cycles 200] [--workers 1,2]
                             [--run DIR]

CPU seconds are this process's: a run with worker processes shows "–" (they are forked
by a fork server, not by this process, so its resource usage never counts them).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def _load() -> str:
    return " / ".join(f"{v:.1f}" for v in os.getloadavg())


def _row(name: str, unit_periods: int, cycles: int, unit_days: int, seconds: float,
         cpu: float | None, load: str) -> str:
    cpu_text = "–" if cpu is None else f"{cpu:.1f}"
    return (f"| {name} | {unit_periods:,} | {cycles:,} | {unit_days / 1e6:,.1f} M | {seconds:.1f} | "
            f"{cpu_text} | {unit_days / seconds / 1e6:.1f} M | {load} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cycles", type=int, default=1000)
    ap.add_argument("--large", type=int, default=100_000)
    ap.add_argument("--large-cycles", type=int, default=200)
    ap.add_argument("--workers", default="1,2", help="worker processes of the engine runs, e.g. 1,2")
    ap.add_argument("--run", type=Path, default=None, help="a solved demo run folder to reuse")
    args = ap.parse_args()

    import svcplan
    from svcplan.simulation.plan import plan_frame, policies, read_run
    from svcplan.simulation.policy import Policy, simulate_policies, total_unit_days

    run = args.run
    if run is None:
        run = Path(tempfile.mkdtemp(prefix="svcplan-bench-sim-")) / "demo"
        svcplan.solve(svcplan.load_case(ROOT / "data" / "demo")).write(run)
    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, {os.cpu_count()} cores")
    print("| what | unit-periods | cycles | unit-days | seconds | CPU s | unit-days/s | load (1/5/15 min) |")
    print("|---|---|---|---|---|---|---|---|")

    t0, c0 = time.perf_counter(), time.process_time()
    res = svcplan.simulate(run, cycles=args.cycles, seed=0)
    sec, cpu = time.perf_counter() - t0, time.process_time() - c0
    print(_row("demo plan (API call)", res.summary["simulated"], args.cycles, res.summary["unit_days"],
               sec, cpu, _load()), flush=True)

    case = svcplan.load_case(res.summary["case_path"])
    f = plan_frame(case, read_run(run).assignment)
    pol, _ = policies(f, round(case.settings.period_days))
    reps = -(-args.large // len(pol))
    idx = np.tile(np.arange(len(pol)), reps)[:args.large]
    big = pol.take(idx)
    keys = np.arange(args.large, dtype=np.uint64) + np.uint64(1 << 40)
    big = Policy(**{**big.__dict__, "keys": keys})
    pd_days = round(case.settings.period_days)
    days = total_unit_days(big, args.large_cycles, pd_days)
    first = None
    for workers in (int(w) for w in args.workers.split(",")):
        t0, c0 = time.perf_counter(), time.process_time()
        out = simulate_policies(big, args.large_cycles, 0, pd_days, workers=workers)
        sec = time.perf_counter() - t0
        cpu = time.process_time() - c0 if workers == 1 else None
        first = out if first is None else first
        same = all(np.array_equal(getattr(out, k), getattr(first, k))
                   for k in ("cycles", "stockouts", "demand", "short"))
        print(_row(f"demo policies repeated (engine), {workers} worker(s)"
                   f"{'' if same else ', NUMBERS DIFFER'}", args.large, args.large_cycles, days,
                   sec, cpu, _load()), flush=True)


if __name__ == "__main__":
    main()
