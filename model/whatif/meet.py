"""A budget sweep solved from both ends: two workers walk toward each other and meet.

A frontier's points differ in cost by an order of magnitude, and not evenly: near the
budget at which the case turns infeasible a point needs a rounding and a search (3–10 s on
the demo), where money is plentiful it is proven in a fraction of a second. Cut into two
fixed halves, one worker got 22 s of work and the other 14 s. Here one worker takes the
points upward from the tightest budget and the other downward from the loosest; each takes
the next untaken point at its own end when it is done with the last, so they meet wherever
the work splits evenly. Every point still starts from its neighbour's plan, prices and LP
basis (each worker's points are consecutive), and each solved point is written by its
worker and handed back at once (a chain task returned all its points at its end, and the
client then wrote them one after the other).

The shared state lives in a multiprocessing manager for local worker processes, and in
a :class:`Meeting` (a Dask actor on one worker) on a Dask cluster, whose workers may be
other machines.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any

from ..outputs.result import SolveResult

#: The two ends of a sweep: from the first point upward, from the last downward.
LOW, HIGH = 0, 1


@dataclass
class BothEnds:
    """Points ``0..n−1`` of one sweep, taken from both ends until the ends meet.

    ``bounds`` is ``[lo, hi]`` (the untaken points are ``lo..hi−1``), ``lock`` guards it and
    ``results`` receives ``(point, result)`` as each point is solved. All three are shared
    between the workers: a manager's proxies between processes, plain objects between
    threads (the tests).

    Where the workers write the folders themselves, ``unwritten`` (a queue) and ``solving``
    (``[workers still solving]``) let a worker with nothing left to solve write a folder
    for the other (:func:`~.runners.solve_from_end`): the worker that takes the sweep's last
    point leaves the folder of the point before it there, and writes it itself only if
    nobody has taken it by the time its last point is solved and written. The ends meet a
    whole point apart (a tight demo point and its folder: 3 s), and one of the two workers
    waited for the other that long; one folder less on the other's path is about a second.
    """

    bounds: Any
    lock: Any
    results: Any
    unwritten: Any = None
    solving: Any = None

    def take(self, end: int) -> int | None:
        """The next point at ``end`` (LOW: lowest untaken, HIGH: highest), None when none is left."""
        with self.lock:
            lo, hi = self.bounds[0], self.bounds[1]
            if lo >= hi:
                return None
            if end == LOW:
                self.bounds[0] = lo + 1
                return lo
            self.bounds[1] = hi - 1
            return hi - 1

    def put(self, point: int, result: SolveResult) -> None:
        """Hand back the result of ``point``."""
        self.results.put((point, result))

    def untaken(self) -> int:
        """How many points no worker has taken yet."""
        with self.lock:
            return max(0, self.bounds[1] - self.bounds[0])

    def leave_unwritten(self, point: int, result: SolveResult) -> None:
        """Offer the folder of ``point`` to a worker with nothing left to solve."""
        self.unwritten.put((point, result))

    def take_unwritten(self, timeout: float = 0.0) -> tuple[int, SolveResult] | None:
        """An offered folder to write (waiting up to ``timeout``), or None."""
        try:
            return self.unwritten.get(timeout=timeout) if timeout else self.unwritten.get_nowait()
        except queue.Empty:
            return None

    def done_solving(self) -> None:
        """This worker has solved its last point (and written or offered every folder)."""
        with self.lock:
            self.solving[0] -= 1

    def still_solving(self) -> bool:
        """Is some worker still solving a point (so a folder may yet be offered)?"""
        with self.lock:
            return self.solving[0] > 0

    def drain(self) -> list[tuple[int, SolveResult]]:
        """Every result handed back so far."""
        out = []
        while True:
            try:
                out.append(self.results.get_nowait())
            except queue.Empty:
                return out


class Meeting(BothEnds):
    """The :class:`BothEnds` of one sweep in one object, for a Dask actor: created on one
    worker (``client.submit(Meeting, n, actor=True)``, its lock and queue made there, as
    they cannot travel), it is called by the workers that take points (:meth:`take`,
    :meth:`put`) and by the client that collects them (:meth:`drain`), each call a message
    to the worker that holds it."""

    def __init__(self, n: int):
        super().__init__([0, n], threading.Lock(), queue.SimpleQueue())


def run_both_ends(runner, segments: list[list], options: dict[str, Any],
                  record: Callable[[int, int, SolveResult], None],
                  stopped: Callable[[], bool],
                  destinations: list[list] | None = None) -> set[tuple[int, int]]:
    """Solve each segment (the cases of one sweep, in order) on two workers from both ends;
    ``record(segment, point, result)`` as each point arrives. ``destinations``: per segment,
    where the workers write each point (:class:`~.runners.Destination`), or None (the
    caller writes). Returns the ``(segment, point)`` pairs recorded: fewer than all when a
    worker process broke or a stop was requested (the caller runs or reports the rest)."""
    shared = [runner.both_ends(len(cases)) for cases in segments]
    futures = {runner.submit_from_end(cases, None, options, end, shared[k],
                                      None if destinations is None else destinations[k])
               for k, cases in enumerate(segments) for end in (LOW, HIGH)}
    done: set[tuple[int, int]] = set()

    def collect() -> None:
        for k, s in enumerate(shared):
            for i, r in s.drain():
                done.add((k, i))
                record(k, i, r)

    while futures and not stopped():
        finished = runner.wait(futures)
        collect()
        for fut in finished:
            futures.discard(fut)
            try:
                runner.result(fut)
            except BrokenProcessPool:
                futures.clear()  # the pool is broken: every worker is gone
    if not stopped():
        collect()
    return done
