"""How a batch's local worker processes start, importing nothing but ``multiprocessing``.

Kept apart from :mod:`.runners` (which loads pandas and the API) so that the ``svcplan``
command can start the workers' fork server before its own imports
(:mod:`svcplan.cli.entry`): the fork server then loads svcplan while the command line
does, instead of after it.
"""

from __future__ import annotations

import multiprocessing as mp

#: What a worker process needs loaded: the fork server imports it once for all its workers
#: (the solver stages and scipy.special too, which a solve imports on first use: forked from
#: a server that has them, a worker's first point is 0.2 s shorter).
WORKER_MODULES = ["svcplan.whatif.runners", "svcplan.solver.sweep", "svcplan.solver.strategy",
                  "svcplan.insight.explain", "svcplan.insight.marginals", "scipy.special"]


def worker_context():
    """How worker processes start: from a fork server where the platform has one, else
    spawned.

    Never a plain fork of this process, which runs threads (the progress bar, HiGHS). A
    spawned worker imports svcplan on its own (about 0.9 s of CPU each, and as much for the
    manager process of a sweep solved from both ends); the fork server is a fresh,
    single-threaded process that imports :data:`WORKER_MODULES` once and forks every worker
    from there, ready at once. The fork server is this process's (Python keeps one per
    process) and lives as long as it does.
    """
    if "forkserver" not in mp.get_all_start_methods():  # Windows
        return mp.get_context("spawn")
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(WORKER_MODULES)
    return ctx


def start_fork_server() -> None:
    """Start the fork server of :func:`worker_context` now, where the platform has one, and
    return at once: it imports :data:`WORKER_MODULES` (about 1 s) while the caller goes on.
    Called again once it runs, it does nothing."""
    if worker_context().get_start_method() == "forkserver":
        from multiprocessing import forkserver

        forkserver.ensure_running()
