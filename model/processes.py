"""Where every stage's worker processes come from, and how they are stopped.

Python keeps one fork server per process, started by whoever forks a worker from it first,
with the modules to preload as they were set then. A batch's solvers (:mod:`.whatif`) and a
simulation's chunks (:mod:`.simulation`) both fork their workers there, so the preload list
is one list for both: a simulation run before a batch in the same Python session must not
leave the batch's workers without their solver stages (each worker's first point would
import them again), nor the other way round.

This module imports nothing but the standard library, so that the ``svcplan`` command can
start the fork server before its own imports (:mod:`svcplan.cli.entry`): the fork server
then loads svcplan while the command line does, instead of after it. It names the modules
to preload as text and imports none of them itself.
"""

from __future__ import annotations

import multiprocessing as mp
import signal
from concurrent.futures import ProcessPoolExecutor

#: What a worker process needs loaded; the fork server imports it once for all its workers.
#: A batch's: the solver stages and scipy.special too, which a solve imports on first use
#: (forked from a server that has them, a worker's first point is 0.2 s shorter). A
#: simulation's: the engine.
WORKER_MODULES = ["svcplan.whatif.runners", "svcplan.solver.sweep", "svcplan.solver.strategy",
                  "svcplan.insight.explain", "svcplan.insight.marginals", "scipy.special",
                  "svcplan.simulation.policy"]


#: What a script must do to start worker processes: each one imports the script again (as
#: every multiprocessing child does), and one that would start processes of its own while
#: it does fails at once.
SCRIPT_GUARD = ("Run from a Python script, the call must be under `if __name__ == \"__main__\":`, "
                "because each worker process imports the script again.")

#: Why a worker process ends abruptly, as a batch and a simulation both say it: killed (by
#: the kernel for memory, say), or, from a script without :data:`SCRIPT_GUARD`, the script's
#: top level run again in it, where it fails at once.
WORKER_DEATH_CAUSES = ("killed, for example out of memory (fewer workers use less: --workers, "
                       f"workers=). {SCRIPT_GUARD}")


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


def leave_ctrl_c_to_parent() -> None:
    """In a worker process: ignore Ctrl-C. A terminal sends SIGINT to the whole process
    group, and the parent, which stops its workers itself (:func:`stop_now`), decides what
    a press means; a worker must not turn it into a result of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def stop_now(pool: ProcessPoolExecutor, grace: float = 5.0) -> None:
    """End ``pool`` now (Ctrl-C, an error): its processes are terminated rather than left
    to finish work whose outcome nobody will read. One that has not exited ``grace``
    seconds after SIGTERM (a batch worker finishing the folder it writes waits for it) is
    killed."""
    procs = list((getattr(pool, "_processes", None) or {}).values())  # public in 3.14+
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.join(timeout=grace)
        if proc.is_alive():
            proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)
