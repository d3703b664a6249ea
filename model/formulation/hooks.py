"""What a user plugs into a solve, read without Pyomo: the extension loader and its errors.

``svcplan solve --extend FILE.py:FUNCTION`` names a function in a Python file; this module
imports that file and returns the function (what the function may do to the model is
:mod:`.extend`'s business). It loads no Pyomo, so the command line can refuse a bad
``--extend`` (or ``--solver``) before the model is built, with exit code 2 and the reason,
never a traceback: every such refusal is a :class:`UsageError`.
"""

from __future__ import annotations

import contextlib
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path


class UsageError(Exception):
    """Something the user asked for cannot be used (an extension, a solver): exit code 2."""


class ExtensionError(UsageError):
    """An extension that cannot be loaded or applied; the message says why."""


def load_extension(spec: str) -> Callable:
    """The function named by ``FILE.py:FUNCTION`` (``FUNCTION`` defaults to ``extend``)."""
    file, sep, name = spec.rpartition(":")
    if not sep or not file or file.endswith(("/", "\\")):  # "rules.py" alone, or a Windows drive
        file, name = spec, "extend"
    path = Path(file)
    if not path.is_file():
        raise ExtensionError(f"extension file {file} does not exist (expected FILE.py:FUNCTION)")
    module_name = f"svcplan_extension_{abs(hash(str(path.resolve())))}"
    loader = importlib.util.spec_from_file_location(module_name, path)
    if loader is None or loader.loader is None:
        raise ExtensionError(f"extension file {file} is not a Python file")
    module = importlib.util.module_from_spec(loader)
    sys.modules[module_name] = module
    try:
        loader.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(module_name, None)
        raise ExtensionError(f"extension file {file} cannot be imported: "
                             f"{type(exc).__name__}: {exc}") from None
    function = getattr(module, name, None)
    if not callable(function):
        found = sorted(k for k, v in vars(module).items() if callable(v) and not k.startswith("_")
                       and getattr(v, "__module__", None) == module_name)
        raise ExtensionError(f"extension file {file} has no function {name!r} "
                             f"(functions there: {', '.join(found) or 'none'})")
    with contextlib.suppress(AttributeError):  # a bound method keeps its own name
        function.svcplan_name = f"{path.name}:{name}"  # named so in error messages
    return function
