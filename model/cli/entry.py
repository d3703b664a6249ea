"""The ``svcplan`` command's entry point: the console script and ``python -m svcplan``.

A batch or frontier on local worker processes starts the workers' fork server first, before
the command line's own imports (typer, pandas, the API: about 0.7 s). The fork server then
loads svcplan beside them instead of after them, and the first points of the demo frontier
start 0.5–1.0 s sooner. Only the command's name and ``--dask`` are looked at here; typer
parses the command line (:mod:`.app`), and the batch commands start the fork server again
where it is not running yet (a no-op where it is).
"""

from __future__ import annotations

import sys

#: Commands that run scenarios on local worker processes, unless given ``--dask``.
LOCAL_WORKER_COMMANDS = frozenset({"batch", "frontier"})


def starts_local_workers(args: list[str]) -> bool:
    """Will the command line ``args`` (without the program name) run scenarios on local
    worker processes? Its first word is the command: svcplan takes no option before it but
    ``--version`` and ``--help``, which run nothing."""
    if not args or args[0] not in LOCAL_WORKER_COMMANDS:
        return False
    rest = args[1:]
    return not any(a in ("--dask", "--help") or a.startswith("--dask=") for a in rest)


def main() -> None:
    """Run the ``svcplan`` command line."""
    if starts_local_workers(sys.argv[1:]):
        from ..processes import start_fork_server

        start_fork_server()
    from .app import app

    app(prog_name="svcplan")
