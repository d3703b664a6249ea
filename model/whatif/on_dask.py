"""Where a batch runs on a Dask cluster: :class:`DaskRunner`, and the sweep's shared state
held by an actor there (:class:`OnActor`).

A Dask worker may be another machine, so it hands each result back and the client writes
the folders (:mod:`.runners` has the local worker processes, which write their own). The
interface is :mod:`.runners`' (``submit``, ``wait``, ``result``, ``restart``, ``stop``,
``close``, and for a sweep solved from both ends ``both_ends`` and ``submit_from_end``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..case.case import Case
from ..outputs.result import SolveResult
from .meet import Meeting
from .runners import Destination, error_result, solve_chain, solve_from_end


class DaskRunner:
    """An existing Dask distributed cluster (``tcp://host:port``); needs the ``dask`` extra.
    Its workers share no disk with the client: the client writes every folder. A sweep
    solved from both ends shares its state through an actor (:class:`OnActor`)."""

    writes_outputs = False

    def __init__(self, address: str):
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - depends on the environment
            msg = "--dask needs the optional extra: pip install 'svcplan[dask]'"
            raise RuntimeError(msg) from exc
        self.client = Client(address, timeout="20s")
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))

    def submit(self, *args):
        return self.client.submit(solve_chain, *args, pure=False)

    def both_ends(self, n: int) -> OnActor:
        """The shared state of a sweep of ``n`` points solved from both ends (:mod:`.meet`):
        a :class:`~.meet.Meeting` held as an actor by one worker of the cluster."""
        with self.client.as_current():  # an actor handle binds to the current client
            return OnActor(self.client.submit(Meeting, n, actor=True, pure=False).result())

    def submit_from_end(self, cases, start, options, end, shared: OnActor, destinations=None):
        # the actor itself is an argument, not hidden in the OnActor around it: so the
        # scheduler knows the task depends on it, and errs the task when the worker holding
        # it is lost (hidden, each task waited for the dead actor forever: a hung frontier)
        return self.client.submit(_from_end_on_actor, cases, start, options, end, shared.actor,
                                  destinations, pure=False)

    def wait(self, futures):
        from distributed import wait as dwait

        try:  # short: Ctrl-C is seen between waits
            return dwait(list(futures), timeout=0.5, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            return set()

    def result(self, fut) -> list[SolveResult]:
        try:
            return fut.result()
        except Exception as exc:  # KilledWorker and friends: recorded, the batch goes on
            return [error_result("?", f"worker failed: {type(exc).__name__}: {exc}")]

    def restart(self) -> None:  # Dask reschedules lost tasks itself
        pass

    def stop(self) -> None:
        """Ctrl-C: the cluster is not ours to stop; closing the client cancels our tasks."""

    def close(self) -> None:
        self.client.close()


def _from_end_on_actor(cases: list[Case], start: pd.DataFrame | None, options: dict[str, Any],
                       end: int, actor: Any, destinations: list[Destination] | None) -> int:
    """:func:`solve_from_end` on a Dask worker, its shared state the Meeting ``actor``."""
    return solve_from_end(cases, start, options, end, OnActor(actor), destinations)


#: How long a call to the Meeting actor may take before its worker counts as lost. A call
#: takes milliseconds (a put carries one point's result); a call to an actor whose worker
#: died never returns on its own, and the task making it holds its worker's thread: the
#: chains that re-run the sweep's points could not start there.
ACTOR_CALL_SECONDS = 30.0


class OnActor:
    """A :class:`~.meet.Meeting` actor behind the interface of :class:`~.meet.BothEnds`
    (``take``, ``put``, ``drain``), each call waited for (at most
    :data:`ACTOR_CALL_SECONDS`). A lost actor (its worker gone) hands back nothing more: the
    points it never returned are run again as chains (:mod:`.batch`), never reported solved."""

    def __init__(self, actor: Any):
        self.actor = actor

    def take(self, end: int) -> int | None:
        return self.actor.take(end).result(timeout=ACTOR_CALL_SECONDS)

    def put(self, point: int, result: SolveResult) -> None:
        self.actor.put(point, result).result(timeout=ACTOR_CALL_SECONDS)

    def drain(self) -> list[tuple[int, SolveResult]]:
        try:
            return self.actor.drain().result(timeout=ACTOR_CALL_SECONDS)
        except Exception:  # the worker holding it is lost: its points are not done
            return []
