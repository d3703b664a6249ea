"""The model as HiGHS sees it: one standard-form matrix, options, and a Ctrl-C-safe run.

The model is defined once, in Pyomo (:mod:`model.build`). :func:`to_highs` hands it to
HiGHS as one sparse matrix built from the arrays the blocks recorded (instead of a walk
over Pyomo expressions); :mod:`model.incumbent` and :mod:`model.highs` solve it.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
import pyomo.environ as pyo
import scipy.sparse as sp

_INF = highspy.kHighsInf


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
    #: by :func:`model.api.solve` from ``time_limit`` so the limit bounds the run, not each step.
    deadline: float | None = None
    #: bound by pricing the dense budget rows (:mod:`model.lagrange`) instead of solving the
    #: whole LP relaxation: None = for large models (≥ 100k columns), True/False = always/never
    prices: bool | None = None
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


@contextlib.contextmanager
def _fd_silenced(fd: int):
    """Silence a C-level file descriptor (stdout) for the duration of the block."""
    sys.stdout.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


@dataclass
class _Matrix:
    """The model as HiGHS sees it, plus the maps back to Pyomo names.

    ``rows[k]`` is (constraint component name, index) of row k, e.g. ``("budget", 3)``;
    ``x_cols[i]`` is the column of option i.
    """

    lp: highspy.HighsLp
    x_cols: np.ndarray
    integrality: np.ndarray
    rows: list[tuple[str, object]]
    A: sp.csc_matrix  # the constraint matrix (rows × columns), for sub-models
    owner: np.ndarray  # unit of each column (−1: shared, e.g. offered-level indicators)

    @functools.cached_property
    def kinds(self) -> np.ndarray:
        """Constraint component name of each row (``"budget"``, ``"assign"``, …)."""
        return np.array([name for name, _ in self.rows], dtype=object)

    @functools.cached_property
    def groups(self) -> np.ndarray:
        """Unit-period of each column: its ``assign`` row's number among them (−1: none)."""
        assign = self.A.tocsr()[np.flatnonzero(self.kinds == "assign")].tocoo()
        group = np.full(self.lp.num_col_, -1)
        group[assign.col] = assign.row
        return group


def to_highs(m: pyo.ConcreteModel) -> _Matrix:
    """The Pyomo model as one HiGHS LP/MIP, from the arrays its blocks were built from.

    :mod:`model.build_arrays` records every constraint's (row, column, coefficient) arrays
    while creating it in Pyomo, so the hand-off is one sparse stack instead of a walk over
    Pyomo expressions (``LinearStandardFormCompiler`` costs ~10 µs per nonzero).
    """
    form = m._form
    n = form.n_cols
    blocks = form.blocks
    nnz = [len(b.cols) for b in blocks]
    ptr = np.concatenate([[0]] + [b.ptr[1:] + off for b, off in
                                  zip(blocks, np.cumsum([0, *nnz[:-1]]), strict=True)])
    cols = np.concatenate([b.cols for b in blocks]) if blocks else np.zeros(0, np.int64)
    vals = np.concatenate([b.vals for b in blocks]) if blocks else np.zeros(0)
    A = sp.csr_matrix((vals, cols, ptr), shape=(len(ptr) - 1, n)).tocsc()
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, A.shape[0]
    lp.col_cost_ = form.cost if form.cost is not None else np.zeros(n)
    lp.offset_ = 0.0
    lp.sense_ = highspy.ObjSense.kMaximize

    def inf(a: np.ndarray) -> np.ndarray:
        return np.clip(a, -_INF, _INF)

    lp.col_lower_ = inf(np.concatenate(form.lb))
    lp.col_upper_ = inf(np.concatenate(form.ub))
    lp.row_lower_ = inf(np.concatenate([b.lo for b in blocks]))
    lp.row_upper_ = inf(np.concatenate([b.hi for b in blocks]))
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    integ = np.concatenate(form.integer)
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    lp.integrality_ = [kinds[i] for i in integ.tolist()]
    x_cols = form.offsets["x"] + np.arange(len(m._xs))
    rows = [(b.name, k) for b in blocks for k in b.index]
    owner = np.concatenate(form.owner) if form.owner else np.zeros(0, dtype=np.int64)
    return _Matrix(lp, x_cols, integ, rows, A, owner)


_BANNER_SHOWN = False


def _new_highs(opts: SolverOptions) -> highspy.Highs:
    """A HiGHS instance with our options. HiGHS prints a banner on the first construction
    in a process, before any option can silence it; we route it away unless logging."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN or opts.log:
        h = highspy.Highs()
    else:
        with _fd_silenced(1):
            h = highspy.Highs()
    _BANNER_SHOWN = True
    h.setOptionValue("output_flag", bool(opts.log))
    if opts.threads:
        h.setOptionValue("threads", int(opts.threads))
    return h


def run_interruptible(
    h: highspy.Highs, cancel: bool = False, deadline: float | None = None
) -> bool:
    """Run HiGHS in its worker thread so Ctrl-C stops the search instead of killing us.

    The main thread waits in short slices; a ``KeyboardInterrupt`` (SIGINT) asks HiGHS to
    stop at its next interrupt check (``cancelSolve``) and we keep waiting, so the caller
    still gets the incumbent, the bound and an honest status. Returns True if interrupted.
    ``cancel`` stops at once (Ctrl-C came during an earlier phase): HiGHS still reports the
    solution it was given. ``deadline`` (a ``time.perf_counter()`` value) is enforced here
    too: on large MIPs HiGHS checks its own ``time_limit`` only between phases and was
    seen to run 575 s past a 140 s limit (300k binaries, presolve and root LP).
    """
    h.HandleUserInterrupt = True
    thread = h.startSolve()
    if cancel:
        h.cancelSolve()
    interrupted = timed_out = False
    while True:
        try:
            done, _ = h.wait(0.1)
        except KeyboardInterrupt:
            interrupted = True
            h.cancelSolve()
            continue
        if done:
            break
        if deadline is not None and not timed_out and time.perf_counter() > deadline:
            timed_out = True
            h.cancelSolve()
    thread.join()
    return interrupted
