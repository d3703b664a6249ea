"""A HiGHS instance with our options, a standard form loaded into it, and running it with
Ctrl-C and our deadline honoured: what the LP, MIP and block modules of this package share."""

from __future__ import annotations

import contextlib
import os
import sys
import time

import highspy
import numpy as np

from ...formulation.standard_form import StandardForm

INF = highspy.kHighsInf
FEASIBLE = 2  # HiGHS kSolutionStatusFeasible
KINDS = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)

@contextlib.contextmanager
def fd_silenced(fd: int):
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


def new_highs(threads: int | None = None, log: bool = False) -> highspy.Highs:
    """A HiGHS instance with our options. HiGHS prints a banner when it is constructed,
    before any option can silence it; we route it away unless logging."""
    if log:
        h = highspy.Highs()
    else:
        with fd_silenced(1):
            h = highspy.Highs()
    h.setOptionValue("output_flag", bool(log))
    if threads:
        h.setOptionValue("threads", int(threads))
    return h


def highs_lp(sf: StandardForm, cost: np.ndarray | None = None) -> highspy.HighsLp:
    """The standard form as a HighsLp (maximisation); integrality only for a MIP."""
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = sf.n_cols, sf.n_rows
    lp.sense_ = highspy.ObjSense.kMaximize
    lp.offset_ = float(sf.offset)
    lp.col_cost_ = np.asarray(sf.cost if cost is None else cost, dtype=float)
    lp.col_lower_ = np.clip(sf.col_lower, -INF, INF)
    lp.col_upper_ = np.clip(sf.col_upper, -INF, INF)
    lp.row_lower_ = np.clip(sf.row_lower, -INF, INF)
    lp.row_upper_ = np.clip(sf.row_upper, -INF, INF)
    A = sf.A.tocsc()
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = A.indptr
    lp.a_matrix_.index_ = A.indices
    lp.a_matrix_.value_ = A.data
    if sf.is_mip:
        lp.integrality_ = [KINDS[i] for i in sf.integer.astype(int).tolist()]
    return lp


def loaded(sf: StandardForm, threads: int | None, log: bool = False) -> highspy.Highs:
    h = new_highs(threads, log)
    h.passModel(highs_lp(sf))
    return h


def run_interruptible(h: highspy.Highs, deadline: float | None = None) -> bool:
    """Run HiGHS in its worker thread so Ctrl-C stops the search instead of killing us.

    The main thread waits in short slices; a ``KeyboardInterrupt`` (SIGINT) asks HiGHS to
    stop at its next interrupt check (``cancelSolve``) and we keep waiting, so the caller
    still gets the incumbent, the bound and an honest status. Returns True if interrupted.
    ``deadline`` (a ``time.perf_counter()`` value) is enforced here too: on large MIPs HiGHS
    checks its own ``time_limit`` only between phases and was seen to run 575 s past a 140 s
    limit (300k binaries, presolve and root LP).
    """
    h.HandleUserInterrupt = True
    thread = h.startSolve()
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
