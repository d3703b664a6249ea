"""Objective modes at scale: the same generated case solved in profit mode and in cost mode
with a pooled service target, side by side.

The case is the ladder's (``bench/ladder.py``, seed 1). The profit run comes first; the cost
run then asks every unit, pooled over the horizon, for at least the mean promise the profit
plan gives (``--metric``, demand-weighted, rounded down to 0.1 point), so the target binds:
the cheapest plan meeting the service the profit plan happens to give.

Usage (from the repository root)::

    python bench/modes.py --size 300k --gap 0.001 --metric fill_rate

Prints a markdown table (also appended to ``--log`` as JSON). Each solve runs in this
process, one after the other; ``uptime`` load is printed with the table.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from ladder import LADDER  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="300k", choices=list(LADDER))
    ap.add_argument("--gap", type=float, default=1e-3)
    ap.add_argument("--metric", default="fill_rate", choices=["cycle", "fill_rate"])
    ap.add_argument("--time-limit", type=float, default=900.0)
    ap.add_argument("--log", default=str(ROOT / "modes.jsonl"))
    a = ap.parse_args()

    import pandas as pd

    from svcplan.api import load_case, solve
    from svcplan.economics.targets import promise
    from svcplan.formulation.data import prepare
    from svcplan.prep.generate import generate_case, write_case

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        case_dir = Path(tmp) / "case"
        tables, settings = generate_case(*LADDER[a.size], seed=1)
        write_case(tables, settings, case_dir)
        t0 = time.perf_counter()
        case = load_case(case_dir)
        profit = solve(case, mip_gap=a.gap, time_limit=a.time_limit, marginals=False)
        rows.append(_row("profit", "-", profit, time.perf_counter() - t0))
        # the mean promise of the profit plan, demand-weighted
        opt = prepare(case).options
        chosen = opt.merge(profit.assignment[["segment", "product", "period", "level"]])
        w = chosen["base_demand"].to_numpy()
        mean = float((w * promise(chosen, a.metric)).sum() / w.sum())
        level = math.floor(mean * 1000) / 1000
        pd.DataFrame({"name": ["ALL"], "period": ["*"], "metric": [a.metric],
                      "min_service": [level]}).to_csv(case_dir / "targets.csv", index=False)
        t0 = time.perf_counter()
        cost_case = load_case(case_dir).with_settings(objective="cost")
        cost = solve(cost_case, mip_gap=a.gap, time_limit=a.time_limit, marginals=False)
        rows.append(_row("cost", f"pooled {a.metric} >= {level:.3f}", cost,
                         time.perf_counter() - t0))
        if not cost.targets.empty:
            rows[-1]["achieved"] = float(cost.targets["achieved"].iloc[0])
    load = os.getloadavg()
    print(f"\n{a.size} {LADDER[a.size]}, gap {a.gap:g}; load average {load[0]:.2f} {load[1]:.2f} "
          f"{load[2]:.2f} on {os.cpu_count()} cores\n")
    print("| mode | target | status | objective | gap | lp method | build s | solve s | total s |")
    print("|---|---|---|---|---|---|---|---|---|")
    with open(a.log, "a", encoding="utf-8") as f:  # the log first: a table error loses nothing
        f.write(json.dumps({"size": a.size, "gap": a.gap, "load": load, "rows": rows}) + "\n")
    for r in rows:
        obj = "no plan" if r["objective"] is None else f"{r['objective']:,.0f}"
        gap = "-" if r["gap"] is None else f"{100 * r['gap']:.4f}%"
        print(f"| {r['mode']} | {r['target']} | {r['status']} | {obj} | {gap} | "
              f"{r['lp_method']} | {r['build']:.1f} | {r['solve']:.1f} | {r['total']:.1f} |")


def _row(mode: str, target: str, res, total: float) -> dict:
    return {"mode": mode, "target": target, "status": str(res.status),
            "objective": res.objective, "bound": res.bound, "gap": res.mip_gap,
            "lp_method": res.search.get("lp_method"), "build": res.build_seconds,
            "message": res.message,
            "solve": res.solve_seconds, "total": total}


if __name__ == "__main__":
    main()
