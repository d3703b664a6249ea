"""Independent LPs re-solved after each change of objective (:class:`RepricedBlocks`)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor, wait

import highspy
import numpy as np

from ...formulation.standard_form import StandardForm
from ..interrupts import Cancelling
from .instance import highs_lp
from .lp import LpSolution


class RepricedBlocks:
    """Independent LPs re-solved by HiGHS (dual simplex) after each change of objective:
    the sparse rest of a model whose dense rows are priced (:mod:`.pricing`), split into
    product blocks (:mod:`.decompose`; one block when it does not split).

    Only each block's LP and its last optimal basis are kept between rounds; a round gives
    every block a fresh HiGHS instance started from that basis. A solved instance keeps
    ~200 bytes per nonzero of workspace: 2.4 GB over the 176 blocks of the 1M case if they
    all stayed alive, 80 MB this way, for a round time of 1.3–2.2 s instead of 0.9–1.2 s.
    Blocks are solved side by side on ``workers`` threads: HiGHS releases the GIL while it
    runs, so threads share the model's memory with no copy, and each instance runs on one
    thread. (highspy's ``startSolve`` cannot be used here: its locks are class attributes,
    so two instances cannot run at once through it.) Ctrl-C or the deadline stops the
    round: no further block starts.
    """

    def __init__(self, blocks: Iterable[tuple[np.ndarray, StandardForm]], n_cols: int,
                 workers: int | None = None):
        self._cols: list[np.ndarray] = []
        self._lps: list[highspy.HighsLp] = []
        self._bases: list[object | None] = []
        self._n_cols = n_cols
        self._threads = workers or os.cpu_count() or 1
        self.add(blocks)

    def add(self, blocks: Iterable[tuple[np.ndarray, StandardForm]]) -> None:
        """Hold more blocks. Each is kept as its HiGHS LP only, so a lazy ``blocks``
        (:func:`svcplan.solver.decompose.split`) never has more than one alive here; on a
        Dask cluster the blocks arrive in chunks (:mod:`.cluster`)."""
        for cols, part in blocks:
            self._cols.append(np.asarray(cols))
            self._lps.append(highs_lp(part.relaxed()))
            self._bases.append(None)

    @property
    def n_blocks(self) -> int:
        return len(self._lps)

    @property
    def _workers(self) -> int:
        return max(1, min(self._threads, self.n_blocks))

    def solve(self, cost: np.ndarray, seconds: float | None, deadline: float | None) -> LpSolution:
        """Every block at objective ``cost`` (one entry per column of the whole model).

        The answer is the blocks' answers side by side: ``x`` and ``col_dual`` per column of
        the whole model (0 for columns in no block), ``objective`` their sum (no offset);
        optimal only if every block is."""
        cost = np.asarray(cost, dtype=float)
        if deadline is None and seconds is not None:
            deadline = time.perf_counter() + seconds
        x, dual = np.zeros(self._n_cols), np.zeros(self._n_cols)
        stop = threading.Event()
        # Ctrl-C anywhere in the round (as blocks are handed out, too) stops it: no exception
        # leaves it with blocks still running
        with Cancelling(stop.set) as ctrl_c, ThreadPoolExecutor(self._workers) as pool:
            futures = [pool.submit(self._run, k, cost, seconds, stop, x, dual)
                       for k in range(self.n_blocks)]
            _wait_all(futures, deadline, stop)
        interrupted = ctrl_c.requested
        answers = [future.result() for future in futures]  # a block that raised raises here
        failed = [message for ok, message, _ in answers if not ok]
        if failed:
            return LpSolution(False, message=failed[0], interrupted=interrupted)
        objective = sum(value for _, _, value in answers)
        return LpSolution(True, x, dual, None, objective, interrupted=interrupted)

    def _run(self, k: int, cost: np.ndarray, seconds: float | None, stop: threading.Event,
             x: np.ndarray, dual: np.ndarray) -> tuple[bool, str, float]:
        """Block ``k`` at objective ``cost`` (on a worker thread): its columns' values and
        reduced costs into ``x`` and ``dual``, its basis kept; returns (optimal, HiGHS's
        status, objective). Not run once ``stop`` is set."""
        if stop.is_set():
            return False, "not run", 0.0
        h = self._instance(k, seconds)
        cols = self._cols[k]
        h.changeColsCost(len(cols), np.arange(len(cols), dtype=np.int32), cost[cols])
        h.run()
        status = h.getModelStatus()
        ok = status == highspy.HighsModelStatus.kOptimal
        if ok:
            sol = h.getSolution()
            x[cols], dual[cols] = sol.col_value, sol.col_dual
            self._bases[k] = h.getBasis()
        return ok, h.modelStatusToString(status), float(h.getInfo().objective_function_value)

    def close(self) -> None:
        """Nothing to release: no HiGHS instance outlives a round."""

    def _instance(self, k: int, seconds: float | None) -> highspy._core._Highs:
        """A fresh instance of block ``k``, started from its last optimal basis.

        highspy's own ``Highs`` class would hold its interrupt callbacks, and they it: a
        reference cycle, so every block's workspace would wait for the garbage collector.
        The bare class has no callbacks (and prints no banner): freed when ``run`` ends."""
        h = highspy._core._Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("solver", "simplex")
        # presolve of a block costs more than it saves (at 1M binaries the first solve of
        # the blocks took 15.2 s with it, 7.5 s without)
        h.setOptionValue("presolve", "off")
        if seconds is not None:
            h.setOptionValue("time_limit", max(0.5, float(seconds)))
        h.passModel(self._lps[k])
        if self._bases[k] is not None:
            h.setBasis(self._bases[k])
        return h


def _wait_all(futures: list, deadline: float | None, stop: threading.Event) -> None:
    """Wait for every block of a round. The ``deadline`` (or Ctrl-C, through
    :class:`~svcplan.solver.interrupts.Cancelling`) sets ``stop``: no block starts any more,
    and a running one is small and ends within its time limit (its instance has no interrupt
    callback, :meth:`RepricedBlocks._instance`)."""
    pending = set(futures)
    while pending:
        _, pending = wait(pending, timeout=0.1)
        if deadline is not None and time.perf_counter() > deadline:
            stop.set()
