"""Scale benchmarks of issue 15: the 1M case, budget sweeps warm vs cold, the demo frontier.

Each measurement runs in its own process (peak memory = that process's VmHWM) and prints
one JSON line; the driver prints a markdown table as rows finish. Cases come from
``svcplan.prep.generate`` (seed 1, every linking term on), as in ``bench/ladder.py``.

Usage (from the repository root)::

    python bench/scale.py build 300k            # build time and peak, with / without Pyomo
    python bench/scale.py sweep 300k            # one budget-sweep point cold vs warm
    python bench/scale.py frontier              # demo frontier vs one solve (medians of 3)
    python bench/scale.py frontier --busy-core  # the same with one core kept busy meanwhile
    python bench/scale.py solve 1M --gap 0.001  # the full 1M solve, per phase
    python bench/scale.py solve 5M --dask 2     # 5M on a LocalCluster of 2 workers (6 GB each)
    python bench/scale.py infeasible 300k --scale 0.2  # budgets no plan meets: proof and explanation
    python bench/scale.py outputs 1M --gap 0.001  # the output files, and a sheet added as simulate does

Write ``uptime`` next to every figure: the machine is shared and timings are noisy; compare
ratios measured in one run.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
import ladder  # noqa: E402
from ladder import LADDER, phase_generate, run_child  # noqa: E402

LADDER["5M"] = (10, 10000, 5, 10)  # ladder's own table: its case generator reads it
assert ladder.LADDER is LADDER


def peak_mb() -> float:
    """This process's peak resident memory (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def case_path(size: str, work: Path) -> Path:
    path = work / f"case-{size}"
    if not (path / "case.yaml").exists():
        phase_generate(path, size)
    return path


def scaled(case, s: str):
    """``case`` with every period budget times ``s`` (a sweep point, as the frontier makes it)."""
    from svcplan.whatif.scenarios import Scenario, apply

    return apply(case, Scenario(name=f"budget={s}", scale={"periods.budget": float(s)}))


def m_build(case: str, pyomo: str) -> dict:
    from svcplan.api import load_case
    from svcplan.formulation.blocks import create_model
    from svcplan.formulation.data import prepare
    from svcplan.formulation.standard_form import standard_form

    t0 = time.perf_counter()
    c = load_case(case)
    t1 = time.perf_counter()
    d = prepare(c)
    t2 = time.perf_counter()
    f = create_model(d, pyomo=pyomo == "1")
    t3 = time.perf_counter()
    sf = standard_form(f)
    t4 = time.perf_counter()
    return {"pyomo": pyomo == "1", "read": t1 - t0, "prepare": t2 - t1, "blocks": t3 - t2,
            "standard_form": t4 - t3, "binaries": int(sf.integer.sum()), "peak_mb": peak_mb()}


def m_solve(case: str, gap: str, limit: str, dask_workers: str = "0") -> dict:
    """One solve; with ``dask_workers`` > 0 on a LocalCluster of that many worker processes
    (one thread, 6 GB each) on 127.0.0.1, whose peaks are reported as ``worker_peak_mb``."""
    from svcplan.api import load_case, solve

    t0 = time.perf_counter()
    marks: list[tuple[float, str]] = []
    c = load_case(case)
    kw = {"mip_gap": float(gap), "time_limit": float(limit), "marginals": False,
          "progress": lambda m: marks.append((round(time.perf_counter() - t0, 1), m[:60]))}
    worker_peaks: list[float] = []
    if int(dask_workers):
        import distributed

        with distributed.LocalCluster(n_workers=int(dask_workers), threads_per_worker=1,
                                      memory_limit="6GB", host="127.0.0.1",
                                      dashboard_address=None) as cluster:
            t0 = time.perf_counter()  # the cluster's start is not the solve's
            res = solve(c, dask=cluster.scheduler_address, **kw)
            with distributed.Client(cluster) as client:
                worker_peaks = sorted(client.run(peak_mb).values())
    else:
        res = solve(c, **kw)
    return {"status": str(res.status), "build": res.build_seconds, "solve": res.solve_seconds,
            "total": time.perf_counter() - t0, "gap": res.mip_gap, "binaries": res.n_binaries,
            "lp_seconds": res.search.get("lp_seconds"), "lp_method": res.search.get("lp_method"),
            "blocks": res.search.get("blocks"),
            "search_seconds": res.search.get("search_seconds"), "peak_mb": peak_mb(),
            "worker_peak_mb": worker_peaks, "marks": marks}


def m_sweep(case: str, first: str, second: str, gap: str, limit: str) -> dict:
    """Cold solve at ``second``; then, in the same process, a chain ``first`` → ``second``
    sharing one Sweep (what a frontier worker does)."""
    from svcplan.api import load_case, solve
    from svcplan.solver.sweep import Sweep

    base = load_case(case)
    # the modules solve() imports on its first call (Pyomo, HiGHS, scipy: 1–2.5 s under
    # load) load before the clock starts, so the cold solve does not pay them for the chain
    import svcplan.insight.explain  # noqa: F401
    import svcplan.insight.marginals  # noqa: F401
    import svcplan.solver.cluster  # noqa: F401
    import svcplan.solver.pyomo_solvers  # noqa: F401
    import svcplan.solver.strategy  # noqa: F401

    kw = {"mip_gap": float(gap), "time_limit": float(limit), "marginals": False}
    # CPU seconds of this process (HiGHS's threads included) as well as wall seconds: under
    # load the wall clock charges each solve for the other sessions' work
    t, c = time.perf_counter(), time.process_time()
    cold = solve(scaled(base, second), **kw)
    cold_s, cold_cpu = time.perf_counter() - t, time.process_time() - c
    sweep = Sweep()
    t = time.perf_counter()
    head = solve(scaled(base, first), sweep=sweep, **kw)
    head_s = time.perf_counter() - t
    t, c = time.perf_counter(), time.process_time()
    warm = solve(scaled(base, second), sweep=sweep, start=head.assignment, **kw)
    warm_s, warm_cpu = time.perf_counter() - t, time.process_time() - c
    return {"cold_s": cold_s, "cold_cpu_s": cold_cpu, "warm_cpu_s": warm_cpu,
            "cold_obj": cold.objective, "cold_gap": cold.mip_gap,
            "cold_bound": cold.bound, "head_s": head_s, "warm_s": warm_s,
            "warm_obj": warm.objective, "warm_gap": warm.mip_gap, "warm_bound": warm.bound,
            "warm_lp_s": warm.search.get("lp_seconds"), "cold_lp_s": cold.search.get("lp_seconds"),
            "warm_build_s": warm.build_seconds, "cold_build_s": cold.build_seconds,
            "peak_mb": peak_mb()}


def m_infeasible(case: str, scale: str) -> dict:
    """The case with every budget scaled by ``scale``: the solve alone (how infeasibility
    was proven), then the solve with its explanation, each timed in this process."""
    from svcplan.api import load_case, solve

    c = scaled(load_case(case), scale)
    t = time.perf_counter()
    alone = solve(c, explain=False, marginals=False)
    alone_s = time.perf_counter() - t
    t = time.perf_counter()
    full = solve(c, marginals=False)
    return {"status": str(full.status), "binaries": full.n_binaries, "solve_s": alone_s,
            "with_explanation_s": time.perf_counter() - t, "message": alone.message,
            "explanation_rows": len(full.explanation), "peak_mb": peak_mb()}


def m_outputs(case: str, gap: str) -> dict:
    """Solve ``case``, then time its files as ``svcplan solve`` writes them (the CSVs, then
    results.xlsx), and a sheet of the assignment's length added to results.xlsx as
    ``svcplan simulate`` adds its own: written again (``add_sheet``), and edited in place
    with openpyxl as before (``replace_sheet``, on a copy; up to 100,000 rows)."""
    import shutil

    from svcplan.api import load_case, solve
    from svcplan.outputs.excel import replace_sheet
    from svcplan.outputs.files import add_sheet, write_outputs

    res = solve(load_case(case), mip_gap=float(gap))
    out = Path(tempfile.mkdtemp(prefix="svcplan-outputs-"))
    heard: list[tuple[float, str]] = []
    write_outputs(res, out, progress=lambda m: heard.append((time.perf_counter(), m)))
    ends = [t for t, _ in heard[1:]] + [time.perf_counter()]
    took = [(m, end - t) for (t, m), end in zip(heard, ends, strict=True)]
    sheet = res.assignment[["segment", "product", "period", "level"]].assign(achieved=0.9)
    t = time.perf_counter()
    add_sheet(out, "simulation", sheet)
    added = time.perf_counter() - t
    edited = None
    if len(sheet) <= 100_000:
        copy = Path(tempfile.mkdtemp(prefix="svcplan-edit-")) / "results.xlsx"
        shutil.copy(out / "results.xlsx", copy)
        t = time.perf_counter()
        replace_sheet(copy, "simulation", sheet)
        edited = time.perf_counter() - t
    return {"binaries": res.n_binaries, "rows": len(res.assignment),
            "csv_s": sum(s for m, s in took if ".csv" in m.split("(")[0]),
            "xlsx_s": sum(s for m, s in took if "results.xlsx" in m),
            "add_sheet_s": added, "replace_sheet_s": edited, "peak_mb": peak_mb()}


def _child(args: list[str], timeout: float = 7200) -> dict:
    """One measurement in a fresh interpreter (its own peak memory)."""
    return run_child(__file__, "--measure", args, timeout)


def _cpu(share) -> str:
    """A run's CPU-seconds: its own, the rest of the machine's, the hypervisor's (steal)."""
    return f"{share.ours:.1f} | {share.others:.1f} | {share.steal:.1f}"


#: ``svcplan`` with the frontier cut into two fixed chains, as before it was solved from
#: both ends (the client decides; the workers need no patch)
FIXED_HALVES = [sys.executable, "-c", "import runpy, sys; import svcplan.whatif.batch as b; "
                "b._from_both_ends = lambda *a: False; sys.argv[0] = 'svcplan'; "
                "runpy.run_module('svcplan', run_name='__main__')"]


#: A run during which other processes and the hypervisor took more than this share of one
#: core shared the machine: the frontier, on both cores, lost more of it than one solve.
#: (An idle machine shows 0.1–0.6 CPU-s of "others'" a run: what our processes used after
#: their last sample, :mod:`cpu_share`; stolen time comes and goes with the host's load.)
SHARED_CORE = 0.25


def frontier(work: Path, repeat: int = 3, busy_core: bool = False) -> None:
    """One demo solve and the demo frontier (warm, 2 workers), alternately ``repeat`` times,
    then the frontier in fixed halves and cold once each; the target is the ratio of the
    medians (one run of each swings by ±0.4 s on this shared machine). Each run also says
    who used the CPU meanwhile (:mod:`cpu_share`): the frontier needs both cores, one solve
    one, so a run where others used a core says little about svcplan (``busy_core`` keeps
    one core busy throughout, to show how much). Then per point the seconds and gaps of the
    last warm and the cold run (from each run's summary.csv)."""
    import statistics

    import pandas as pd
    from cpu_share import spin, watch

    exe = [sys.executable, "-m", "svcplan"]
    one = [*exe, "solve", "data/demo", "--quiet", "--out", str(work / "one")]
    warm = [*exe, "frontier", "data/demo", "--quiet", "--workers", "2", "--out", str(work / "warm")]
    print("| run | wall s | × median one solve | summed over points s | CPU s: ours | others' "
          "| stolen | load before → after |")
    print("|---|---|---|---|---|---|---|---|")
    spinner = spin() if busy_core else None
    try:
        rows, ones, warms = [], [], []
        for k in range(repeat):
            for name, cmd, into in (("one demo solve", one, ones),
                                    ("frontier, warm (11 points)", warm, warms)):
                before = load()
                share = watch(cmd, cwd=ROOT)
                into.append(share.wall)
                rows.append((f"{name}, run {k + 1}", cmd, share, before, load()))
        for name, cmd in [
            ("frontier, warm, fixed halves", [*FIXED_HALVES, "frontier", "data/demo", "--quiet",
                                              "--workers", "2", "--out", str(work / "halves")]),
            ("frontier, cold (--no-warm)", [*exe, "frontier", "data/demo", "--quiet", "--workers",
                                            "2", "--no-warm", "--out", str(work / "cold")]),
        ]:
            before = load()
            rows.append((name, cmd, watch(cmd, cwd=ROOT), before, load()))
    finally:
        if spinner is not None:
            spinner.kill()
    base = statistics.median(ones)
    for name, cmd, share, before, after in rows:
        out = work / cmd[-1].rsplit("/", 1)[-1] / "summary.csv"
        summed = pd.read_csv(out)["seconds"].sum() if "frontier" in cmd else share.wall
        print(f"| {name} | {share.wall:.1f} | {share.wall / base:.1f} | {summed:.1f} "
              f"| {_cpu(share)} | {before} → {after} |")
    print(f"\nmedians of {repeat}: one solve {base:.2f} s, frontier {statistics.median(warms):.2f} s "
          f"= {statistics.median(warms) / base:.2f}× one solve"
          + (" (one core kept busy throughout)" if busy_core else ""))
    # each frontier against the solve just before it: a drift of the machine's load between
    # the runs moves both sides of a pair alike
    paired = [w / o for o, w in zip(ones, warms, strict=True)]
    print("paired (each frontier / the solve just before it): "
          f"{', '.join(f'{r:.2f}×' for r in paired)}; median {statistics.median(paired):.2f}×")
    shared = [name for name, _, share, _, _ in rows
              if share.others + share.steal > SHARED_CORE * share.wall]
    print("runs that shared the machine (others' and stolen CPU above "
          f"{SHARED_CORE:.0%} of a core): {', '.join(shared) or 'none'}")
    w, c = (pd.read_csv(work / k / "summary.csv").set_index("scenario") for k in ("warm", "cold"))
    print("\n| point | status | warm s | cold s | warm gap % | cold gap % | warm objective / cold |")
    print("|---|---|---|---|---|---|---|")
    for name in w.index:
        ratio = w.at[name, "objective"] / c.at[name, "objective"]
        print(f"| {name} | {w.at[name, 'status']} | {w.at[name, 'seconds']:.1f} "
              f"| {c.at[name, 'seconds']:.1f} | {100 * w.at[name, 'mip_gap']:.3f} "
              f"| {100 * c.at[name, 'mip_gap']:.3f} | {ratio:.5f} |")


def load() -> str:
    return Path("/proc/loadavg").read_text().split()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--measure", nargs="+", help=argparse.SUPPRESS)
    ap.add_argument("what", nargs="?",
                    choices=["build", "sweep", "frontier", "solve", "infeasible", "outputs"])
    ap.add_argument("size", nargs="?", default="300k", choices=list(LADDER))
    ap.add_argument("--gap", default="0.001")
    ap.add_argument("--limit", default="600")
    ap.add_argument("--work", type=Path, default=None, help="keep generated cases here")
    ap.add_argument("--dask", default="0", help="solve: on a LocalCluster of this many workers")
    ap.add_argument("--scale", default="0.2", help="infeasible: every budget times this")
    ap.add_argument("--repeat", type=int, default=3,
                    help="frontier: one solve and the frontier alternately this many times")
    ap.add_argument("--busy-core", action="store_true",
                    help="frontier: keep one core busy throughout (a machine shared with "
                         "another session)")
    a = ap.parse_args()
    if a.measure:
        kind, *rest = a.measure
        print(json.dumps({"build": m_build, "solve": m_solve, "sweep": m_sweep,
                          "infeasible": m_infeasible, "outputs": m_outputs}[kind](*rest)))
        return
    work = a.work or Path(tempfile.mkdtemp(prefix="svcplan-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    if a.what == "frontier":
        frontier(work, a.repeat, a.busy_core)
        return
    case = str(case_path(a.size, work))
    if a.what == "build":
        print("| size | Pyomo | read s | prepare s | blocks s | standard form s | peak MB | load |")
        print("|---|---|---|---|---|---|---|---|")
        for pyomo in ("1", "0"):
            r = _child(["build", case, pyomo])
            print(f"| {a.size} | {'yes' if r.get('pyomo') else 'no'} | {r.get('read', 0):.1f} "
                  f"| {r.get('prepare', 0):.1f} | {r.get('blocks', 0):.1f} "
                  f"| {r.get('standard_form', 0):.1f} | {r.get('peak_mb', 0):.0f} | {load()} |",
                  flush=True)
    elif a.what == "infeasible":
        r = _child(["infeasible", case, a.scale])
        _table(r, ["size", "budgets", "binaries", "status", "solve s", "with explanation s",
                   "explanation rows", "peak MB"],
               [a.size, f"× {a.scale}", f"{r['binaries']:,}", r["status"], f"{r['solve_s']:.1f}",
                f"{r['with_explanation_s']:.1f}", str(r["explanation_rows"]), f"{r['peak_mb']:,.0f}"])
    elif a.what == "outputs":
        r = _child(["outputs", case, a.gap])
        edited = f"{r['replace_sheet_s']:.1f}" if r["replace_sheet_s"] is not None else "–"
        _table(r, ["size", "assignment rows", "CSVs s", "results.xlsx s", "add a sheet s",
                   "the same, edited in place (openpyxl) s", "peak MB"],
               [a.size, f"{r['rows']:,}", f"{r['csv_s']:.1f}", f"{r['xlsx_s']:.1f}",
                f"{r['add_sheet_s']:.1f}", edited, f"{r['peak_mb']:,.0f}"])
    elif a.what == "sweep":
        r = _child(["sweep", case, "1.0", "0.9", a.gap, a.limit])
        _table(r, ["size", "point", "cold s", "warm s", "warm/cold", "CPU s cold / warm",
                   "CPU warm/cold", "cold gap %", "warm gap %"],
               [a.size, "budget 1.0 → 0.9", f"{r['cold_s']:.1f}", f"{r['warm_s']:.1f}",
                f"{r['warm_s'] / r['cold_s']:.2f}", f"{r['cold_cpu_s']:.1f} / {r['warm_cpu_s']:.1f}",
                f"{r['warm_cpu_s'] / r['cold_cpu_s']:.2f}", f"{100 * r['cold_gap']:.4f}",
                f"{100 * r['warm_gap']:.4f}"])
    else:
        r = _child(["solve", case, a.gap, a.limit, a.dask])
        peaks = ", ".join(f"{p:,.0f}" for p in r.get("worker_peak_mb") or []) or "–"
        _table(r, ["size", "Dask workers", "binaries", "blocks", "build s", "pricing s", "total s",
                   "peak MB", "worker peaks MB", "gap %", "status"],
               [a.size, a.dask, str(r.get("binaries")), str(r.get("blocks")),
                f"{r.get('build', 0):.1f}", f"{r.get('lp_seconds') or 0:.1f}",
                f"{r.get('total', 0):.1f}", f"{r.get('peak_mb', 0):,.0f}", peaks,
                f"{100 * (r.get('gap') or 0):.4f}", str(r.get("status"))])


def _table(r: dict, header: list[str], row: list[str]) -> None:
    """A measurement's JSON line, then the measurement as a one-row markdown table, with the
    load average at its end."""
    print(json.dumps(r))
    print("| " + " | ".join([*header, "load"]) + " |")
    print("|" + "---|" * (len(header) + 1))
    print("| " + " | ".join([*row, load()]) + " |")

if __name__ == "__main__":
    main()
