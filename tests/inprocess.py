"""An in-process stand-in for the batch's worker pool (``svcplan.whatif.runners``).

Starting worker processes costs seconds per test; what the batch tests check (resume hashes,
Ctrl-C, crashes, chains) does not depend on where a solve runs. Each test module subclasses
this for its twist (a crashing worker, a Ctrl-C after the first solves).
"""

from __future__ import annotations

from concurrent.futures import Future


class InProcessRunner:
    """Runs each submitted chain at once, in this process; ``tasks`` counts the chain sizes.
    It writes the scenario folders itself, as local workers do."""

    workers = 1
    writes_outputs = True

    def __init__(self, workers: int):
        self.tasks: list[int] = []
        self.restarts = 0

    def run(self, cases, start, options, destinations=None) -> list:
        from svcplan.whatif.runners import solve_chain

        return solve_chain(cases, start, options, destinations)

    def submit(self, cases, start, options, destinations=None) -> Future:
        self.tasks.append(len(cases))
        fut: Future = Future()
        try:
            fut.set_result(self.run(cases, start, options, destinations))
        except BaseException as exc:  # a worker that dies: the batch sees a failed future
            fut.set_exception(exc)
        return fut

    def wait(self, futures):
        return set(futures)

    def result(self, fut):
        return fut.result()

    def restart(self) -> None:
        self.restarts += 1

    def stop(self) -> None:
        pass

    def close(self) -> None:
        pass
