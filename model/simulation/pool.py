"""Where the chunks of a simulation run: here, in worker processes, or on a Dask cluster.

The chunks are independent by construction (each unit-period draws from its own stream,
:mod:`.policy`), so a large plan's chunks can run on every core: 200,000 unit-periods ×
1,000 cycles are about 16 CPU minutes. The outcomes come back in the chunks' order however
the workers took them, so the merged result is the same to the bit with any number of
workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol, TypeVar

from ..processes import WORKER_DEATH_CAUSES, leave_ctrl_c_to_parent, stop_now, worker_context

R = TypeVar("R", covariant=True)

#: What a simulation says when one of its worker processes ended abruptly.
WORKER_LOST = f"a simulation worker process ended abruptly: {WORKER_DEATH_CAUSES}"


class Task(Protocol[R]):
    """A chunk to simulate (:class:`.policy.ChunkTask`), picklable: it travels to a worker."""

    @property
    def unit_days(self) -> int:
        """The unit-days it runs (what ``progress`` hears when it comes back)."""
        ...

    def run(self, progress: Callable[[int], None] | None = None) -> R:
        """Its outcome; ``progress`` hears the unit-days as they are simulated."""
        ...


def chunk_outcomes(tasks: Sequence[Task[R]], workers: int,
                   progress: Callable[[int], None] | None = None,
                   dask: str | None = None) -> Iterator[R]:
    """The outcome of each task, in order. On the Dask cluster whose scheduler is at
    ``dask`` when one is given (:func:`_on_dask`). Else with one worker (or one task) they
    run here and ``progress`` hears every block of days; else in ``workers`` processes, and
    ``progress`` hears each chunk as it comes back. A worker that dies (killed, out of
    memory) raises ``BrokenProcessPool`` with :data:`WORKER_LOST`; Ctrl-C or any error
    stops the other workers at once."""
    if dask is not None:
        yield from _on_dask(tasks, dask, progress)
        return
    if workers <= 1 or len(tasks) <= 1:
        yield from (task.run(progress) for task in tasks)
        return
    pool = ProcessPoolExecutor(min(workers, len(tasks)), mp_context=worker_context(),
                               initializer=leave_ctrl_c_to_parent)
    try:
        yield from _reported(tasks, pool.map(_run, tasks), progress)
    except BrokenProcessPool as exc:
        raise BrokenProcessPool(WORKER_LOST) from exc
    finally:
        stop_now(pool)


def _on_dask(tasks: Sequence[Task[R]], address: str,
             progress: Callable[[int], None] | None) -> Iterator[R]:
    """The tasks run on the cluster's workers (which need svcplan installed, as for
    ``svcplan solve --dask``), their outcomes read back in order. A worker lost mid-chunk is
    Dask's to retry (its chunk runs again elsewhere); one that keeps failing raises
    ``KilledWorker``. Ctrl-C or any error cancels what has not run."""
    from ..solver.cluster import connect

    client, _ = connect(address)
    futures = client.map(_run, tasks, pure=False)
    try:
        yield from _reported(tasks, (future.result() for future in futures), progress)
    finally:
        client.cancel(futures)
        client.close()


def _reported(tasks: Sequence[Task[R]], outcomes: Iterable[R],
              progress: Callable[[int], None] | None) -> Iterator[R]:
    """``outcomes`` (the tasks', in order, as they come back), ``progress`` told each
    task's unit-days as its outcome arrives."""
    for task, out in zip(tasks, outcomes, strict=True):
        if progress is not None:
            progress(task.unit_days)
        yield out


def _run(task: Task[R]) -> R:
    return task.run()
