"""A batch's scenario folders on disk: a safe, unique name per scenario, and whether one is done.

A scenario is *done* when its folder holds a ``summary.json`` (written last, atomically)
that records the scenario's input hash; ``resume`` skips those.
"""

from __future__ import annotations

import json
import re
from pathlib import Path


def folder_names(names: list[str]) -> dict[str, str]:
    """A safe, unique folder name per scenario (``budget=0.8`` stays readable)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for name in names:
        safe = re.sub(r"[^\w.=,+-]+", "_", name).strip("._") or "scenario"
        candidate, k = safe, 2
        while candidate.lower() in used:
            candidate, k = f"{safe}-{k}", k + 1
        used.add(candidate.lower())
        out[name] = candidate
    return out


def is_done(folder: Path, input_hash: str) -> bool:
    """A scenario is done when summary.json exists and records the same input hash."""
    try:
        data = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return data.get("input_hash") == input_hash


def all_written(out: Path, folders: dict[str, str]) -> bool:
    """Every scenario's folder holds a summary.json (whether each is done for these inputs is
    known only once planned: :func:`is_done`)."""
    return all((out / folder / "summary.json").exists() for folder in folders.values())
