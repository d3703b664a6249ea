"""Benchmark ladder: svcplan vs plain HiGHS vs the LP relaxation, side by side.

For each size the case is generated (``model.generate``, seed 1), then three measurements
run one after another, each in its own process (so peak memory is per phase):

- ``svcplan``: read + validate + build + solve through the Python API (what ``svcplan
  solve`` does), with the case's gap (0.01%); build/solve/total seconds, peak RSS, gap;
- ``highs``: plain HiGHS with default options on svcplan's own exported model (the MPS that
  ``--write-model`` writes), same 0.01% gap, under ``--plain-limit`` seconds;
- ``lp``: HiGHS's LP relaxation of that model (the floor no MILP method beats).

Usage (from the repository root)::

    python bench/ladder.py                    # 10k, 100k, 300k, 1M
    python bench/ladder.py --sizes 10k 100k --plain-limit 300

Prints one markdown row per size as soon as it is done (also appended to ``--log`` as JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LADDER = {  # name: (segments, products, levels, periods)
    "10k": (5, 40, 5, 12),
    "100k": (10, 170, 5, 12),
    "300k": (10, 500, 5, 12),
    "1M": (10, 2000, 5, 10),
}
GAP = 1e-4


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_generate(case: Path, size: str, variant: str = "full") -> dict:
    """``full``: every linking term (switching, goodwill, tiers, policies, inventory days);
    ``core``: no switching and no goodwill (periods independent but for the budgets)."""
    from svcplan.prep.generate import generate_case, write_case

    linked = variant == "full"
    tables, settings = generate_case(*LADDER[size], seed=1, goodwill=linked, switching=linked)
    write_case(tables, settings, case)
    return {}


def phase_svcplan(case: Path, time_limit: float) -> dict:
    t0 = time.perf_counter()
    from svcplan.api import load_case, solve

    c = load_case(case)
    res = solve(c, mip_gap=GAP, time_limit=time_limit)
    return {"status": res.status, "build": res.build_seconds, "solve": res.solve_seconds,
            "total": time.perf_counter() - t0, "gap": res.mip_gap, "objective": res.objective,
            "binaries": res.n_binaries, "rows": res.n_constraints, "peak_mb": _peak_mb(),
            "message": res.message, "lp_seconds": res.search.get("lp_seconds"),
            "lp_method": res.search.get("lp_method"),
            "rounded_objective": res.search.get("rounded_objective"),
            "lp_bound": res.search.get("lp_bound"), "search_rounds": res.search.get("rounds"),
            "search_seconds": res.search.get("search_seconds")}


def phase_export(case: Path, mps: Path) -> dict:
    """Write the exact model svcplan hands to HiGHS (what ``--write-model`` writes)."""
    from svcplan.api import load_case
    from svcplan.formulation.blocks import create_model
    from svcplan.formulation.data import prepare
    from svcplan.formulation.standard_form import standard_form
    from svcplan.solver.highs import write_model

    write_model(standard_form(create_model(prepare(load_case(case)))), mps)
    return {}


def phase_highs(mps: Path, time_limit: float, relax: bool) -> dict:
    import highspy

    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.readModel(str(mps))
    if relax:
        n = h.getNumCol()
        import numpy as np

        h.changeColsIntegrality(n, np.arange(n, dtype=np.int32),
                                np.zeros(n, dtype=np.uint8))
    h.setOptionValue("mip_rel_gap", GAP)
    h.setOptionValue("time_limit", float(time_limit))
    t0 = time.perf_counter()
    h.run()
    info = h.getInfo()
    return {"status": h.modelStatusToString(h.getModelStatus()),
            "seconds": time.perf_counter() - t0,
            "gap": None if relax else float(info.mip_gap),
            "objective": float(info.objective_function_value), "peak_mb": _peak_mb()}


def run_child(script: str, flag: str, args: list[str], timeout: float) -> dict:
    """Run one measurement of ``script`` (``script flag *args``) in a fresh interpreter, so its
    peak memory is its own; the child prints its result as the last JSON line."""
    try:
        out = subprocess.run([sys.executable, script, flag, *args], cwd=ROOT,
                             capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"killed after {timeout:.0f} s"}
    lines = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
    if out.returncode or not lines:
        return {"status": "failed", "error": out.stderr[-600:]}
    return json.loads(lines[-1])


def _child(args: list[str], timeout: float) -> dict:
    """One phase of the ladder in a fresh interpreter."""
    return run_child(__file__, "--phase", args, timeout)


def _fmt(v, spec: str = ".1f") -> str:
    return "–" if v is None else format(v, spec)


def run_size(size: str, work: Path, svc_limit: float, plain_limit: float,
             variant: str = "full") -> dict:
    case, mps = work / f"case-{size}", work / f"model-{size}.mps"
    _child(["generate", str(case), size, variant], 3600)
    row = {"size": size, "shape": "x".join(map(str, LADDER[size])), "variant": variant}
    row["svcplan"] = _child(["svcplan", str(case), str(svc_limit)], svc_limit * 3 + 600)
    _child(["export", str(case), str(mps)], 3600)
    row["highs"] = _child(["highs", str(mps), str(plain_limit), "0"], plain_limit * 2 + 300)
    row["lp"] = _child(["highs", str(mps), str(plain_limit), "1"], plain_limit * 2 + 300)
    mps.unlink(missing_ok=True)
    return row


def table_row(r: dict) -> str:
    s, h, lp = r["svcplan"], r["highs"], r["lp"]
    gap = None if s.get("gap") is None else 100 * s["gap"]
    hgap = None if h.get("gap") is None else 100 * h["gap"]
    name = f"{r['size']} ({r['shape']}, {r.get('variant', 'full')})"
    return (f"| {name} | {s.get('binaries', '–')} | {_fmt(s.get('build'))} "
            f"| {_fmt(s.get('solve'))} | {_fmt(s.get('total'))} | {_fmt(s.get('peak_mb'), '.0f')} "
            f"| {_fmt(gap, '.4f')} | {s.get('status')} | {_fmt(h.get('seconds'))} "
            f"({h.get('status')}) | {_fmt(hgap, '.4f')} | {_fmt(lp.get('seconds'))} "
            f"({lp.get('status')}) | {_fmt(s.get('lp_seconds'))} ({s.get('lp_method')}) |")


HEADER = ("| size | binaries | build s | solve s | total s | peak MB | gap % | status "
          "| plain HiGHS s | plain gap % | LP relaxation s (default) | svcplan's bound s |\n"
          "|---|---|---|---|---|---|---|---|---|---|---|---|")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--phase", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", nargs="+", default=list(LADDER), choices=list(LADDER))
    ap.add_argument("--svcplan-limit", type=float, default=600.0)
    ap.add_argument("--plain-limit", type=float, default=600.0)
    ap.add_argument("--variant", choices=["full", "core"], default="full",
                    help="full: every linking term; core: without switching and goodwill")
    ap.add_argument("--log", type=Path, default=Path("bench/results.jsonl"))
    a = ap.parse_args()
    if a.phase:
        kind, *rest = a.phase
        if kind == "generate":
            out = phase_generate(Path(rest[0]), rest[1], *rest[2:])
        elif kind == "svcplan":
            out = phase_svcplan(Path(rest[0]), float(rest[1]))
        elif kind == "export":
            out = phase_export(Path(rest[0]), Path(rest[1]))
        else:
            out = phase_highs(Path(rest[0]), float(rest[1]), rest[2] == "1")
        print(json.dumps(out))
        return
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    print(HEADER, flush=True)
    with tempfile.TemporaryDirectory(prefix="svcplan-bench-") as tmp:
        for size in a.sizes:
            row = run_size(size, Path(tmp), a.svcplan_limit, a.plain_limit, a.variant)
            print(table_row(row), flush=True)
            with open(a.log, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
