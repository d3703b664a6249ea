"""Who had the CPU while a benchmark command ran: the command's own processes, everything
else on the machine, and the hypervisor (steal).

A parallel command (the frontier's two workers) needs both cores of this 2-core machine;
one solve needs one. When anything else runs meanwhile, the parallel command loses more
than the serial one, and a ratio of the two says more about the machine than about
svcplan. :class:`Watch` runs a command and reports, besides its wall time, the CPU-seconds
its process tree used, the CPU-seconds the rest of the machine used, and the time the
hypervisor gave our virtual cores to someone else (steal), so that each run of the table can
be judged: a run with the machine to itself shows "others" near zero.

The command's processes are found by their parent chain (``/proc/PID/stat``), sampled
every :data:`EVERY` seconds: a batch's workers are children of the fork server, not of the
command, so ``getrusage(RUSAGE_CHILDREN)`` does not see them. A process of ours that starts
and ends between two samples is missed, and so is what each of ours used after its last
sample (at most :data:`EVERY` seconds each): both count as "others".
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

#: Seconds between two samples of the process table.
EVERY = 0.2
HZ = os.sysconf("SC_CLK_TCK")


@dataclass
class Share:
    """One command's run: wall seconds; CPU-seconds of its process tree, of the rest of the
    machine, and stolen by the hypervisor."""

    wall: float
    ours: float
    others: float
    steal: float


def _machine() -> tuple[float, float]:
    """(busy, steal) CPU-seconds of the whole machine since boot (``/proc/stat``)."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(
        int, Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9])
    return (user + nice + system + irq + softirq) / HZ, steal / HZ


def _processes() -> dict[int, tuple[int, float]]:
    """pid → (parent pid, CPU-seconds used so far) of every process now running."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            text = Path(f"/proc/{name}/stat").read_text()
        except OSError:  # ended meanwhile
            continue
        fields = text[text.rindex(")") + 2:].split()
        out[int(name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / HZ)
    return out


def _descendants(root: int, table: dict[int, tuple[int, float]]) -> set[int]:
    """``root`` and every process below it in ``table`` (those of them still running)."""
    tree, grew = {root}, True
    while grew:
        more = {pid for pid, (parent, _) in table.items() if parent in tree} - tree
        tree |= more
        grew = bool(more)
    return tree & table.keys()


def watch(cmd: list[str], cwd: Path | None = None) -> Share:
    """Run ``cmd`` (output discarded) and measure who used the CPU meanwhile."""
    busy0, steal0 = _machine()
    own0 = time.process_time()  # this process's sampling is no one else's
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    used: dict[int, float] = {}  # our processes' CPU at their last sample
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            table = _processes()
            for pid in _descendants(proc.pid, table):
                used[pid] = table[pid][1]
            done.wait(EVERY)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    proc.wait()
    wall = time.perf_counter() - start
    done.set()
    sampler.join()
    busy1, steal1 = _machine()
    ours = sum(used.values())
    own = time.process_time() - own0
    return Share(wall, ours, max(0.0, busy1 - busy0 - ours - own), steal1 - steal0)


def spin() -> subprocess.Popen:
    """A process that keeps one core busy (``--busy-core``): what another session's tests do
    to a benchmark on this machine. Stop it with ``.kill()``."""
    return subprocess.Popen(["python3", "-c", "while True: pass"])
