"""Where a solve's peak memory comes from, phase by phase (issue 15, target 2).

Runs one solve through the API in this process with a sampler thread reading the resident
size (``/proc/self/statm``) every 10 ms, and wraps the phases of the solve (read, prepare,
create_model, standard_form, core prices, split, loading the blocks, pricing rounds,
rounding, neighbourhood search, the outputs) to note when each starts and ends. Prints one
markdown row per phase: resident size at its start and end, the highest sample inside it,
and what it added to the process's peak (VmHWM) — the phase that sets the peak is the one
whose row raises it last.

Usage (from the repository root)::

    python bench/memory.py CASE_DIR [--gap 0.001] [--limit 600] [--dask N]

``--dask N`` solves on a LocalCluster of N worker processes (one thread, 6 GB each) on
127.0.0.1; the table is the client's. The sampler misses peaks shorter than its period
and sees the resident size only when the GIL lets it run, so the "max in phase" column
is a lower bound; VmHWM is exact.
"""

from __future__ import annotations

import argparse
import functools
import threading
import time
from pathlib import Path

PAGE = 4096


def rss_mb() -> float:
    """Resident size now, in MB."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * PAGE / 2**20


def hwm_mb() -> float:
    """Peak resident size so far (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Sampler:
    """Resident size every ``period`` seconds, on a daemon thread."""

    def __init__(self, period: float = 0.01):
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(period,), daemon=True)
        self._thread.start()

    def _run(self, period: float) -> None:
        while not self._stop.is_set():
            self.samples.append((time.perf_counter(), rss_mb()))
            time.sleep(period)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def peak(self, t0: float, t1: float) -> float:
        return max((r for t, r in self.samples if t0 <= t <= t1), default=float("nan"))


class Phases:
    """Wraps functions so each call is one phase (name, start, end, RSS, VmHWM)."""

    def __init__(self):
        self.rows: list[dict] = []
        self.depth = 0

    def wrap(self, owner, attr: str, name: str) -> None:
        inner = getattr(owner, attr)

        @functools.wraps(inner)
        def phase(*args, **kwargs):
            row = {"name": name, "depth": self.depth, "t0": time.perf_counter(),
                   "rss0": rss_mb(), "hwm0": hwm_mb()}
            self.rows.append(row)
            self.depth += 1
            try:
                return inner(*args, **kwargs)
            finally:
                self.depth -= 1
                row.update(t1=time.perf_counter(), rss1=rss_mb(), hwm1=hwm_mb())

        setattr(owner, attr, phase)


def instrument(phases: Phases) -> None:
    """The phases of one solve, wrapped where the caller looks them up."""
    import svcplan.api as api
    import svcplan.formulation.blocks as blocks
    import svcplan.formulation.standard_form as standard_form
    import svcplan.solver.cluster as cluster
    import svcplan.solver.decompose as decompose
    import svcplan.solver.highs as highs
    import svcplan.solver.pricing as pricing
    import svcplan.solver.strategy as strategy

    phases.wrap(api, "prepare", "prepare (ModelData)")
    phases.wrap(blocks, "create_model", "create_model (recording)")
    phases.wrap(standard_form, "standard_form", "standard_form")
    phases.wrap(strategy, "solve_model", "solve_model (all of the solve)")
    phases.wrap(pricing, "lagrangian", "pricing (all of it)")
    phases.wrap(pricing, "_core_prices", "core prices")
    phases.wrap(decompose.SparseRest, "of", "split + load the blocks")
    phases.wrap(decompose, "split", "split")
    phases.wrap(highs.RepricedBlocks, "__init__", "blocks' LPs (threads)")
    phases.wrap(cluster.ClusterBlocks, "__init__", "blocks sent to Dask")
    phases.wrap(decompose.SparseRest, "solve", "pricing round")
    phases.wrap(strategy, "round_fractional", "rounding (round_fractional)")
    phases.wrap(strategy, "neighbourhood_search", "neighbourhood search")
    for name in ("assignment_table", "period_table", "mode_objective", "target_table"):
        phases.wrap(api, name, f"outputs: {name}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("case", type=Path)
    ap.add_argument("--gap", type=float, default=0.001)
    ap.add_argument("--limit", type=float, default=600.0)
    ap.add_argument("--dask", type=int, default=0)
    a = ap.parse_args()
    sampler = Sampler()
    phases = Phases()
    t_start = time.perf_counter()
    import svcplan.api as api

    phases.wrap(api, "load_case", "read (load_case)")
    instrument(phases)

    load = Path("/proc/loadavg").read_text().split()[0]
    case = api.load_case(a.case)
    kw = {"mip_gap": a.gap, "time_limit": a.limit, "marginals": False}
    if a.dask:
        import distributed

        with distributed.LocalCluster(n_workers=a.dask, threads_per_worker=1, memory_limit="6GB",
                                      host="127.0.0.1", dashboard_address=None) as cl:
            res = api.solve(case, dask=cl.scheduler_address, **kw)
            with distributed.Client(cl) as client:
                workers = sorted(client.run(hwm_mb).values())
    else:
        res = api.solve(case, **kw)
        workers = []
    sampler.stop()
    print(f"case {a.case}: {res.n_binaries:,} binaries, status {res.status}, gap "
          f"{100 * (res.mip_gap or 0):.4f}%, total {time.perf_counter() - t_start:.1f} s, "
          f"peak (VmHWM) {hwm_mb():,.0f} MB, workers {', '.join(f'{w:,.0f}' for w in workers)}"
          f" MB, load {load} → {Path('/proc/loadavg').read_text().split()[0]}")
    print("\n| phase | calls | s | RSS at start MB | max in phase MB | RSS at end MB "
          "| VmHWM after MB |")
    print("|---|---|---|---|---|---|---|")
    merged: dict[tuple, dict] = {}
    for row in phases.rows:  # repeated calls (pricing rounds) as one row
        key = (row["name"], row["depth"])
        m = merged.setdefault(key, {**row, "calls": 0, "s": 0.0, "max": 0.0})
        m["calls"] += 1
        m["s"] += row["t1"] - row["t0"]
        m["max"] = max(m["max"], sampler.peak(row["t0"], row["t1"]), row["rss1"])
        m.update(t1=row["t1"], rss1=row["rss1"], hwm1=row["hwm1"])
    for m in merged.values():
        print(f"| {'  ' * m['depth']}{m['name']} | {m['calls']} | {m['s']:.1f} "
              f"| {m['rss0']:,.0f} | {m['max']:,.0f} | {m['rss1']:,.0f} | {m['hwm1']:,.0f} |")


if __name__ == "__main__":
    main()
