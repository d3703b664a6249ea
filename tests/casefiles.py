"""Write small planning cases inline, the way OptiMods tests read.

A test keeps a case as a ``dict`` of file name -> inline text::

    folder = write_case(tmp_path, {
        "case.yaml": "name: tiny",
        "levels.csv": '''
            level,rank
            B,1
        ''',
        ...
    })

The text of every file is dedented and stripped, so it can be indented with the test.
"""

from __future__ import annotations

import textwrap
from pathlib import Path


def write_case(tmp_path: Path, files: dict[str, str], name: str = "case") -> Path:
    """Write ``files`` (file name -> text) into ``tmp_path / name`` and return that folder.

    ``name`` lets one test write several cases (e.g. a case and its counterfactual) side by side.
    A value of ``None`` skips the file, which makes "the same case without X" easy to express.
    """
    folder = Path(tmp_path) / name
    folder.mkdir(parents=True, exist_ok=True)
    for filename, text in files.items():
        if text is None:
            continue
        body = textwrap.dedent(text).strip("\n").strip() + "\n"
        (folder / filename).write_text(body, encoding="utf-8")
    return folder


def without(files: dict[str, str], *names: str, **changes: str) -> dict[str, str]:
    """A copy of ``files`` with the files ``names`` removed and files replaced by ``changes``.

    Keyword names use ``_`` for ``.``: ``without(files, case_yaml="name: x")`` replaces
    ``case.yaml``; ``without(files, "current.csv")`` drops ``current.csv``.
    """
    out = {k: v for k, v in files.items() if k not in names}
    for key, text in changes.items():
        stem, _, ext = key.rpartition("_")
        out[f"{stem}.{ext}"] = text
    return out
