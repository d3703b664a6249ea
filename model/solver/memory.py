"""Will a case fit in this machine's memory? Estimated before anything is built.

A solve that runs out of memory at 1M binaries dies after minutes (or takes the machine
with it); the size of the model is known from the case tables alone, so a case that will
not fit is refused up front with the estimate. The estimate is linear in the number of
binaries: a fixed base plus :data:`BYTES_PER_BINARY`, measured on generated cases with every
linking term (docs/performance.md: peak resident memory of whole solves at 300k and 1M).
"""

from __future__ import annotations

import ctypes
import functools
import gc
import resource
from pathlib import Path

from ..case.case import Case, CaseError, Problem

#: peak bytes per estimated binary of a whole solve (build, pricing, rounding, search): the
#: 1M case (1.0M estimated binaries) peaks at 1.18 GB in one process and the 5M case
#: (5.0M estimated) at 4.75 GB in the client of a ``--dask`` solve (bench/memory.py,
#: 2026-11-30): ~0.8–0.9 kB per binary over the base; 1 kB leaves a margin. The build sets
#: the peak either way, so ``--dask`` (which moves only the blocks' LPs and their solves to
#: the workers) does not lower it enough to be worth suggesting for memory.
BYTES_PER_BINARY = 1_000.0
#: the interpreter with pandas, Pyomo, HiGHS and scipy loaded
BASE_BYTES = 400e6


def estimated_binaries(case: Case) -> int:
    """An upper bound on the option binaries: every demanded unit-period at every level
    (policies may forbid some levels; fixed-cost indicators are a handful more) plus every
    options.csv row (a case may have options and no demand table)."""
    tables = case.tables
    demand = len(tables["demand"]) * len(tables["levels"]) if "demand" in tables else 0
    return int(demand + (len(tables["options"]) if "options" in tables else 0))


def estimated_bytes(case: Case) -> float:
    """Peak memory a single-process solve of ``case`` is expected to need."""
    return BASE_BYTES + BYTES_PER_BINARY * estimated_binaries(case)


def available_bytes() -> float | None:
    """Memory this process may still use: MemAvailable, capped by an address-space limit
    (``prlimit --as``, ``ulimit -v``) and a cgroup limit; None where unknown."""
    limits = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append(int(line.split()[1]) * 1024.0)
    except OSError:
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(float(soft))
    try:
        text = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if text != "max":
            limits.append(float(text))
    except (OSError, ValueError):
        pass
    return min(limits) if limits else None


def check_fits(case: Case, available: float | None = None) -> None:
    """Raise :class:`CaseError` (exit code 2 on the command line) when the estimate exceeds
    the memory available, with both numbers and what to do instead."""
    need = estimated_bytes(case)
    have = available_bytes() if available is None else available
    if have is None or need <= have:
        return
    gb = 1e9
    raise CaseError([Problem(
        "case", f"too large for this machine's memory: about {estimated_binaries(case):,} "
        f"binaries need an estimated {need / gb:.1f} GB, {have / gb:.1f} GB available. Solve "
        "it on a machine with more memory, or split it (for example by product class) and "
        "solve the parts as a batch")])


#: Models with fewer columns skip :func:`release`: its ``gc.collect`` costs ~0.1 s in a
#: process holding many objects (a test session: 15 s over 119 small solves), and a small
#: model frees little worth handing back.
RELEASE_FROM = 100_000


def release(n_cols: int) -> None:
    """Hand the memory freed so far back to the system (glibc's ``malloc_trim``; nothing
    elsewhere), when the model has ``n_cols`` ≥ :data:`RELEASE_FROM` columns. Between the
    phases of a large solve glibc keeps what the last phase freed in its heap — after the
    1M build ~270 MB of the process's ~960 MB were such free pages — and the next phase's
    large arrays are mapped afresh beside them, so the peak carried them along."""
    if n_cols < RELEASE_FROM:
        return
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


@functools.cache
def _libc():
    """glibc, or None (another C library, another system)."""
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None
