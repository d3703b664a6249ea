"""Cold vs warm sweep: each budget scale solved from scratch and from the previous plan.

Usage: python bench/sweep_warm.py CASE [--scales 0.8,0.9,1.0,1.1,1.2] [--gap 0.005]
       [--time-limit 60]

Both modes run in this process, one after the other, single-threaded, on the same machine
state, so compare the ratio rather than absolute seconds. "cold" uses the LP-rounding warm
start of a plain solve; "warm" starts from the previous scale's plan (repaired to the
budget when it shrank) as ``svcplan batch`` does inside a sweep chain.
"""

from __future__ import annotations

import argparse
import time

from svcplan.api import load_case, solve
from svcplan.whatif.scenarios import Scenario, apply


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("case")
    ap.add_argument("--scales", default="0.8,0.9,1.0,1.1,1.2")
    ap.add_argument("--gap", type=float, default=0.005)
    ap.add_argument("--time-limit", type=float, default=60.0)
    a = ap.parse_args()
    base = load_case(a.case)
    scales = [float(s) for s in a.scales.split(",")]
    prev = None
    print("scale  cold_s  cold_obj         warm_s  warm_obj         start")
    tot_c = tot_w = 0.0
    for s in scales:
        case = apply(base, Scenario(name=f"b{s}", scale={"periods.budget": s}))
        t = time.perf_counter()
        cold = solve(case, mip_gap=a.gap, time_limit=a.time_limit, threads=1)
        tc = time.perf_counter() - t
        t = time.perf_counter()
        warm = solve(case, mip_gap=a.gap, time_limit=a.time_limit, threads=1,
                     start=None if prev is None else prev.assignment)
        tw = time.perf_counter() - t
        prev = warm if warm.has_plan else None
        tot_c += tc
        tot_w += tw
        print(f"{s:5.2f}  {tc:6.1f}  {cold.objective or 0:15,.1f}  {tw:6.1f}  "
              f"{warm.objective or 0:15,.1f}  {warm.warm_start} ({cold.status}/{warm.status})",
              flush=True)
    print(f"total  {tot_c:6.1f}  {'':15}  {tot_w:6.1f}")


if __name__ == "__main__":
    main()
