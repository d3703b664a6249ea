"""Solver controls shared by every phase of a solve, with the run's one deadline."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SolverOptions:
    """Solver controls (CLI flags override case.yaml ``solver:``)."""

    time_limit: float | None = None
    mip_gap: float | None = None
    threads: int | None = None
    write_model: Path | None = None
    warm_start: bool = True
    log: bool = False
    #: ``time.perf_counter()`` by which the whole run (build, LP, search, MIP) must end; set
    #: by :func:`svcplan.solve` from ``time_limit`` so the limit bounds the run, not each step.
    deadline: float | None = None
    #: bound by pricing the dense budget rows (:mod:`.pricing`) instead of solving the
    #: whole LP relaxation: None = for large models (≥ 100k columns), True/False = always/never
    prices: bool | None = None
    #: a Dask scheduler address: the product blocks of a priced model are solved on that
    #: cluster (:mod:`.cluster`) instead of on this machine's threads
    dask: str | None = None
    #: called with a short line at each phase (the CLI shows it as a status line)
    progress: Callable[[str], None] | None = field(default=None, compare=False)

    def say(self, message: str) -> None:
        if self.progress is not None:
            self.progress(message)

    def remaining(self) -> float | None:
        """Seconds left before the deadline (None: no limit)."""
        if self.deadline is None:
            return None
        return max(0.0, self.deadline - time.perf_counter())
