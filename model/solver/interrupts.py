"""Signals held back while a step that must not be cut in half runs.

Ctrl-C during a solve stops HiGHS (:func:`.highs.run_interruptible`) and keeps the best
plan so far (:mod:`.outcome`). Elsewhere a signal must wait for the end of a step, or work
already done is lost: four steps hold it back, each with its own answer once it ends.

- a batch (``svcplan.whatif.batch``): Ctrl-C is a request the loop reads between
  scenarios, so no folder is left half-written;
- a batch worker writing a scenario's folder (``svcplan.whatif.runners``): the runner's
  stop (SIGTERM) takes effect once the folder is complete;
- a solve's result tables (``svcplan.api.solve``) and the command line's outputs
  (``svcplan solve``): the first Ctrl-C lets them finish (:func:`finish_first`), and a
  second abandons them.

:class:`Cancelling` turns a Ctrl-C into a request to stop HiGHS for the few lines that
start and join its thread, which no exception may leave.

:class:`Deferred` is the one mechanism under all four: while its block runs it counts the
signal instead of acting on it. Only the main thread can install a signal handler;
elsewhere (a batch run from a thread, the tests' in-process stand-ins) the block runs with
the signal as it was, and a ``KeyboardInterrupt`` reaches the caller as before. A signal
the process ignores stays ignored (a batch worker leaves Ctrl-C to its client), and one held
inside another :class:`Deferred` is passed on to it when the inner block ends (a solve's
tables inside a batch run in the same process: the batch still stops).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import Any


class Deferred:
    """Count ``signum`` while the ``with`` block runs (main thread only), restoring the
    previous handler when it ends.

    ``on_signal`` is called with the count so far at each signal (it may raise, e.g. a
    ``KeyboardInterrupt`` to give up on the block at a second Ctrl-C); ``requested`` says
    whether any came. A signal the process ignores is left ignored unless
    ``even_if_ignored``.
    """

    def __init__(self, signum: int = signal.SIGINT,
                 on_signal: Callable[[int], None] | None = None, *,
                 even_if_ignored: bool = False) -> None:
        self.signum = signum
        self.count = 0
        self._on_signal = on_signal
        self._even_if_ignored = even_if_ignored
        self._previous: Any = None
        self._installed = False

    def __enter__(self) -> Deferred:
        # a signal the process ignores stays ignored: a batch worker leaves Ctrl-C to the
        # client (svcplan.whatif.runners), and the solves it runs must not take it back;
        # ``even_if_ignored``: the batch client, which a `kill -INT` stops cleanly even when
        # it was started in the background (where the shell makes it ignore SIGINT)
        ignored = signal.getsignal(self.signum) is signal.SIG_IGN
        if (threading.current_thread() is threading.main_thread()
                and (self._even_if_ignored or not ignored)):
            self._previous = signal.signal(self.signum, self._note)
            self._installed = True
        return self

    def _note(self, signum: int, frame: object) -> None:
        self.count += 1
        if self._on_signal is not None:
            self._on_signal(self.count)

    def __exit__(self, *exc: object) -> None:
        if self._installed:
            signal.signal(self.signum, self._previous)
            self._installed = False
            if self.count and isinstance(getattr(self._previous, "__self__", None), Deferred):
                self._previous(self.signum, None)  # held inside another: it hears of it too

    @property
    def requested(self) -> bool:
        """Whether the signal came while the block ran."""
        return self.count > 0

    @requested.setter
    def requested(self, value: bool) -> None:
        """Set by a caller that saw the signal another way: a ``KeyboardInterrupt`` outside
        the main thread, where no handler could be installed."""
        self.count = max(self.count, 1) if value else 0


class Cancelling:
    """While the ``with`` block runs (main thread only), a Ctrl-C that would raise
    ``KeyboardInterrupt`` calls ``cancel`` instead, and :attr:`requested` says one came.

    For code that must not be left by an exception at any point: a HiGHS solve running in
    highspy's thread (:func:`.highs.run_interruptible`). A ``KeyboardInterrupt`` landing
    while that thread starts or is joined left HiGHS solving, unattended, in a daemon thread,
    and the process aborted at exit ("terminate called without an active exception").
    Whatever handled SIGINT before still hears it first: the default handler's
    ``KeyboardInterrupt``, or an outer :class:`Deferred` that counts the press (a batch
    run in this process: the solve goes on) or raises at a second one (:func:`finish_first`),
    becomes the call to ``cancel``. A SIGINT that is ignored, or left to its default action,
    is left so.
    """

    def __init__(self, cancel: Callable[[], None]) -> None:
        self.requested = False
        self._cancel = cancel
        self._previous: Any = None

    def __enter__(self) -> Cancelling:
        previous = signal.getsignal(signal.SIGINT)
        if threading.current_thread() is threading.main_thread() and callable(previous):
            self._previous = previous
            signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def _on_sigint(self, signum: int, frame: Any) -> None:
        try:
            self._previous(signum, frame)
        except KeyboardInterrupt:
            self.requested = True
            self._cancel()

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None


def finish_first(say: Callable[[], None] | None = None) -> Deferred:
    """Ctrl-C held back: the first press is counted (and ``say`` tells the planner the step
    finishes first), a second raises ``KeyboardInterrupt`` where the block then is."""

    def on_press(count: int) -> None:
        if count > 1:
            raise KeyboardInterrupt
        if say is not None:
            say()

    return Deferred(signal.SIGINT, on_press)
