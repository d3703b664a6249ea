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
from ..interrupts import Cancelling

INF = highspy.kHighsInf
FEASIBLE = 2  # HiGHS kSolutionStatusFeasible

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


def pass_model(h: highspy.Highs, sf: StandardForm) -> None:
    """Hand ``sf`` to ``h`` as a maximisation (integrality only for a MIP's columns).

    Through highspy's overload of ``passModel`` that reads numpy arrays: filling a
    ``HighsLp`` field by field converts every element on its own, 0.65–0.8 s for the 3.4M
    nonzeros of a 300k-binary model against 0.11–0.13 s this way, and 21 ms against 3–6 ms
    for the demo, which a solve hands to HiGHS many times (LPs, sub-MIPs, marginal values).
    """
    A = sf.A.tocsc()
    status = h.passModel(
        sf.n_cols, sf.n_rows, A.nnz, int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMaximize), float(sf.offset), _floats(sf.cost),
        _floats(sf.col_lower), _floats(sf.col_upper), _floats(sf.row_lower),
        _floats(sf.row_upper), A.indptr.astype(np.int32), A.indices.astype(np.int32),
        _floats(A.data), np.asarray(sf.integer, dtype=np.int32))
    if status == highspy.HighsStatus.kError:
        raise ValueError(f"HiGHS refused the model ({sf.n_cols} columns, {sf.n_rows} rows)")


def _floats(values: np.ndarray) -> np.ndarray:
    """Contiguous doubles, infinities as HiGHS's own."""
    return np.clip(np.ascontiguousarray(values, dtype=float), -INF, INF)


def highs_lp(sf: StandardForm) -> highspy.HighsLp:
    """The standard form as a ``HighsLp`` (what :class:`.blocks.RepricedBlocks` keeps between
    rounds), filled by :func:`pass_model` into a bare instance and copied out of it."""
    h = highspy._core._Highs()  # no banner, no callbacks: freed on return
    h.setOptionValue("output_flag", False)
    pass_model(h, sf)
    return h.getLp()


def loaded(sf: StandardForm, threads: int | None, log: bool = False) -> highspy.Highs:
    h = new_highs(threads, log)
    pass_model(h, sf)
    return h


def run_interruptible(h: highspy.Highs, deadline: float | None = None) -> bool:
    """Run HiGHS in its worker thread so Ctrl-C stops the search instead of killing us.

    The main thread waits in short slices; a Ctrl-C asks HiGHS to stop at its next
    interrupt check (``cancelSolve``) and we keep waiting, so the caller still gets the
    incumbent, the bound and an honest status. Returns True if interrupted. The press is
    turned into the request wherever it lands, from the thread's start to its join
    (:class:`~svcplan.solver.interrupts.Cancelling`): one raised while the thread started
    left HiGHS solving unattended and the process aborted at exit. ``deadline`` (a
    ``time.perf_counter()`` value) is enforced here too: on large MIPs HiGHS checks its
    own ``time_limit`` only between phases and was seen to run 575 s past a 140 s limit
    (300k binaries, presolve and root LP).
    """
    h.HandleUserInterrupt = True
    with Cancelling(h.cancelSolve) as ctrl_c:
        thread = h.startSolve()
        if ctrl_c.requested:  # pressed as it started, maybe before HiGHS cleared its stop flag
            h.cancelSolve()
        timed_out = False
        while not h.wait(0.1)[0]:
            if deadline is not None and not timed_out and time.perf_counter() > deadline:
                timed_out = True
                h.cancelSolve()
        thread.join()
    return ctrl_c.requested
