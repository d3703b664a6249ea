"""Reading a case with a 1M-row demand table: CSV folder vs Parquet folder vs SQLite.

The case: 10 segments × N products × 12 periods of demand (N = rows / 120; 1M rows by
default), 3 levels, no other table. Written once as a CSV folder, a Parquet folder and a
SQLite database (``svcplan convert`` does the same), then read alternately, ``--repeat``
times each, best time kept:

- ``read``: the source into raw tables (``svcplan.case.sources.read_source``), the part that
  differs between sources;
- ``load``: read + validate (``svcplan.load_case``), what a solve starts with.

Usage (from the repository root)::

    python bench/read_sources.py              # 1M rows, best of 3
    python bench/read_sources.py --rows 200000 --repeat 2

Prints a markdown table with the load average of the machine (``uptime``) before and after.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from svcplan import load_case
from svcplan.case.sources import read_source, write_source


def demand_case(rows: int) -> tuple[dict[str, pd.DataFrame], dict]:
    """10 segments × products × 12 periods of demand, and the tables it needs."""
    n_seg, n_per = 10, 12
    n_prod = max(1, rows // (n_seg * n_per))
    rng = np.random.default_rng(1)
    seg = [f"S{i:02d}" for i in range(n_seg)]
    prod = [f"SKU-{i:06d}" for i in range(n_prod)]
    per = [f"2026-{m:02d}" for m in range(1, n_per + 1)]
    n = n_seg * n_prod * n_per
    demand = pd.DataFrame({
        "segment": np.repeat(seg, n_prod * n_per),
        "product": np.tile(np.repeat(prod, n_per), n_seg),
        "period": np.tile(per, n_seg * n_prod),
        "base_demand": rng.integers(1, 500, n).astype(float),
    })
    tables = {
        "segments": pd.DataFrame({"segment": seg}),
        "products": pd.DataFrame({"product": prod, "unit_margin": rng.uniform(5, 20, n_prod).round(2),
                                  "base_unit_cost": rng.uniform(1, 5, n_prod).round(2)}),
        "levels": pd.DataFrame({"level": ["B", "S", "G"], "rank": [1, 2, 3],
                                "cost_multiplier": [1.0, 1.1, 1.3]}),
        "periods": pd.DataFrame({"period": per}),
        "demand": demand,
    }
    return tables, {"name": f"read-{n}", "period_days": 30}


def best_of(repeat: int, fn) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(f"load before: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    tables, settings = demand_case(args.rows)
    n = len(tables["demand"])
    with tempfile.TemporaryDirectory() as tmp:
        sources = {"CSV folder": Path(tmp) / "csv", "Parquet folder": Path(tmp) / "case-parquet",
                   "SQLite": f"sqlite:///{Path(tmp) / 'case.db'}"}
        for target in sources.values():
            write_source(tables, settings, target)
        sizes = {"CSV folder": (Path(tmp) / "csv" / "demand.csv").stat().st_size,
                 "Parquet folder": (Path(tmp) / "case-parquet" / "demand.parquet").stat().st_size,
                 "SQLite": (Path(tmp) / "case.db").stat().st_size}
        read = {k: [] for k in sources}
        load = {k: [] for k in sources}
        for _ in range(args.repeat):  # alternate, so machine noise hits every source alike
            for name, target in sources.items():
                read[name].append(best_of(1, lambda t=target: read_source(t)))
                load[name].append(best_of(1, lambda t=target: load_case(t)))
    csv_read, csv_load = min(read["CSV folder"]), min(load["CSV folder"])
    print(f"\n{n:,} demand rows, best of {args.repeat} (alternating)\n")
    print("| source | demand file MB | read s | read vs CSV | read + validate s | vs CSV |")
    print("|---|---:|---:|---:|---:|---:|")
    for name in sources:
        r, ld = min(read[name]), min(load[name])
        print(f"| {name} | {sizes[name] / 1e6:.1f} | {r:.2f} | {r / csv_read:.2f} | {ld:.2f} | "
              f"{ld / csv_load:.2f} |")
    print(f"\nload after: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")


if __name__ == "__main__":
    main()
