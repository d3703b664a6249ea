"""The product blocks of a priced model solved on a Dask cluster (``svcplan solve --dask``).

Pricing (:mod:`.pricing`) re-solves the independent product blocks of the sparse rest
(:mod:`.decompose`) once per round, at new prices. Here those blocks live on the cluster's
workers: each worker holds one *actor*, a :class:`~svcplan.solver.highs.RepricedBlocks`
over its share of the blocks (their LPs and last bases, sent once, in chunks as the split
makes them), and a round sends each actor only its slice of the objective and gets back its
slice of the solution. The master (this process) keeps the prices and the dense rows; the
rounding and the search that follow run here too.

One honest deadline: every round is given the seconds left, each actor stops starting
blocks when they are spent, and the round is not optimal unless every block is. A worker
lost mid-round makes :meth:`ClusterBlocks.solve` answer "not optimal" with the cluster's
error; pricing then takes no bound from this round, never a wrong optimum. Ctrl-C stops
waiting; the actors finish the block in hand (each is small) and are released with the
client.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np

from ..formulation.hooks import UsageError
from ..formulation.standard_form import StandardForm
from . import highs


def check_cluster(address: str, timeout: float = 10.0) -> None:
    """Refuse an address where no Dask scheduler answers, or one without workers, before
    anything is built (:class:`~svcplan.formulation.hooks.UsageError`: exit code 2)."""
    client, _ = connect(address, timeout)
    client.close()


def connect(address: str, timeout: float | None = None):
    """A client of the scheduler at ``address`` and its workers' information (address →
    info); :class:`~svcplan.formulation.hooks.UsageError` if there is none or no worker.
    Also how ``svcplan simulate --dask`` reaches a cluster (:mod:`svcplan.simulation.pool`)."""
    try:
        from distributed import Client  # only a --dask solve needs it
    except ImportError:
        raise UsageError("--dask needs Dask's distributed package: pip install "
                         "'svcplan[dask]'") from None
    try:
        wait = {} if timeout is None else {"timeout": timeout}  # None: Dask's own default
        client = Client(address, set_as_default=False, **wait)
    except (OSError, TimeoutError, ValueError) as exc:
        raise UsageError(f"no Dask scheduler answers at {address}: {exc}") from None
    workers = client.scheduler_info()["workers"]
    if not workers:
        client.close()
        raise UsageError(f"the Dask cluster at {address} has no workers")
    return client, workers


class ClusterBlocks:
    """The blocks of :class:`~svcplan.solver.highs.RepricedBlocks`, held by actors on the
    Dask cluster at ``address`` (a scheduler address, e.g. ``tcp://10.0.0.5:8786``)."""

    def __init__(self, blocks: Iterable[tuple[np.ndarray, StandardForm]], n_cols: int,
                 address: str, sizes: Sequence[int] | None = None, chunk: int = 16):
        """``blocks`` may be lazy (made one by one) when ``sizes`` gives their column
        counts up front: each block is then sent in a chunk of ``chunk`` blocks as it is
        made, and the client never holds all of them, nor one big task of them (sending
        the 1M case's blocks as one task per actor left ~350 MB in the client)."""
        if sizes is None:
            blocks = list(blocks)
            sizes = [len(cols) for cols, _ in blocks]
        self._client, info = connect(address)
        workers = sorted(info)
        self.n_blocks = len(sizes)
        self._n_cols = n_cols
        owner, load = _assign(sizes, len(workers))
        used = [w for w in range(len(workers)) if load[w] > 0]
        with self._client.as_current():  # an actor handle binds to the current client
            actors = {w: self._client.submit(
                highs.RepricedBlocks, [], int(load[w]), info[workers[w]].get("nthreads", 1),
                workers=[workers[w]], actor=True, pure=False).result() for w in used}
            cols = _send(actors, owner, blocks, chunk)
        self._actors = [actors[w] for w in used]
        self._cols = [np.concatenate(cols[w]) for w in used]

    def solve(self, cost: np.ndarray, seconds: float | None, deadline: float | None
              ) -> highs.LpSolution:
        """Every block at objective ``cost`` (per column of the whole model), as
        :meth:`~svcplan.solver.highs.RepricedBlocks.solve` answers it."""
        if deadline is not None:
            left = max(0.0, deadline - time.perf_counter())
            seconds = left if seconds is None else min(seconds, left)
        cost = np.asarray(cost, dtype=float)
        try:
            with self._client.as_current():
                calls = [actor.solve(cost[cols], seconds, None)
                         for actor, cols in zip(self._actors, self._cols, strict=True)]
                answers = [call.result() for call in calls]
        except KeyboardInterrupt:
            return highs.LpSolution(False, message="interrupted", interrupted=True)
        except Exception as exc:  # a worker lost, the scheduler gone: no answer this round
            return highs.LpSolution(False, message=f"the Dask cluster failed: {exc}")
        x, dual = np.zeros(self._n_cols), np.zeros(self._n_cols)
        objective = 0.0
        for cols, answer in zip(self._cols, answers, strict=True):
            if not answer.optimal:
                return answer
            x[cols], dual[cols] = answer.x, answer.col_dual
            objective += answer.objective
        return highs.LpSolution(True, x, dual, None, objective)

    def close(self) -> None:
        """Release the actors (their workers free the blocks) and the client."""
        self._actors.clear()
        self._client.close()


def _assign(sizes: Sequence[int], n_workers: int) -> tuple[np.ndarray, np.ndarray]:
    """Each block's worker and each worker's columns: the largest blocks first, each to the
    worker with the fewest columns so far."""
    owner = np.zeros(len(sizes), dtype=np.int64)
    load = np.zeros(n_workers, dtype=np.int64)
    for k in np.argsort(-np.asarray(sizes), kind="stable"):
        w = int(np.argmin(load))
        owner[k] = w
        load[w] += sizes[k]
    return owner, load


def _send(actors: dict, owner: np.ndarray, blocks: Iterable[tuple[np.ndarray, StandardForm]],
          chunk: int) -> dict[int, list[np.ndarray]]:
    """Hand each block to its worker's actor, ``chunk`` blocks per call, as ``blocks``
    makes them; returns per worker the model columns of its blocks, in the actor's order."""
    cols: dict[int, list[np.ndarray]] = {w: [] for w in actors}
    filled = dict.fromkeys(actors, 0)
    waiting: dict[int, list] = {w: [] for w in actors}
    for k, (mine, part) in enumerate(blocks):
        w = int(owner[k])
        waiting[w].append((np.arange(filled[w], filled[w] + len(mine)), part))
        cols[w].append(np.asarray(mine))
        filled[w] += len(mine)
        if len(waiting[w]) >= chunk:
            actors[w].add(waiting[w]).result()
            waiting[w] = []
    for w, rest in waiting.items():
        if rest:
            actors[w].add(rest).result()
    return cols
