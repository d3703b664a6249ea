"""Rerun the commands a Markdown file shows and fail when their shown output has drifted.

    python docs/check_readme.py                 # README.md, fast blocks
    python docs/check_readme.py --slow          # also the blocks marked slow
    python docs/check_readme.py --slow --manual # and those marked manual (minutes of CPU)
    python docs/check_readme.py docs/batch.md   # any Markdown file(s)

What is checked: every fenced code block with lines of the form ``$ command`` (a shell
prompt), each followed by the output the README claims. Each command runs with bash from
the repository root, exactly as typed (``svcplan`` is the one on PATH; this script puts the
running interpreter's ``bin`` first so a virtual environment's ``svcplan`` is used); stdout
and stderr are read together. ``$ echo $?`` shows the exit code of the command before it.

How output is compared, so that only a real change fails:

- every non-blank shown line must appear, in order, in the real output (the real output
  may have more lines: a README shows an excerpt; a line ``...`` or ``…`` marks the cut);
- spaces are collapsed, table borders (``┏━┳``, ``└─┴``) and progress bars are dropped,
  ``│``/``┃`` become ``|``;
- durations are masked: ``2.84s``, ``103.2 s``, ``0:01:41``.

A block can carry one HTML comment on the line before its fence (invisible on GitHub):

- ``<!-- readme-check: slow -->`` run only with ``--slow`` (tests/test_readme.py runs them
  in its ``slow``-marked test);
- ``<!-- readme-check: manual -->`` run only with ``--manual`` (minutes of CPU: the
  simulation of the demo plan; no test runs these — run them before changing such a block);
- ``<!-- readme-check: skip WHY -->`` never run (say why: e.g. results depend on a time
  limit on a shared machine); listed in the report so that nothing is skipped silently;
- ``<!-- readme-check: ignore-columns s, seconds -->`` blank those columns of the block's
  tables (timings in a table); combine with ``;``: ``<!-- readme-check: slow; ignore-columns s -->``.

Exit code 0 when every checked block matches, 1 otherwise (each drift is printed with the
first shown line that was not found and the real output around it).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FENCE = re.compile(r"^```")
MARK = re.compile(r"<!--\s*readme-check:\s*(.*?)\s*-->")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
BORDER = re.compile(r"^[\s┏┓┗┛┣┫┳┻╋━┡┩╇└┘┌┐├┤┬┴┼─╞╡╪═]+$")
DURATION = [(re.compile(r"\b\d+(\.\d+)?\s?s\b"), "<s>"), (re.compile(r"\b\d+:\d\d:\d\d\b"), "<hms>")]
ELISION = {"...", "…"}
#: Seconds a command may take before the check gives up on it.
TIMEOUT = 900


@dataclass
class Command:
    text: str
    expected: list[str] = field(default_factory=list)


@dataclass
class Block:
    file: str
    line: int
    commands: list[Command]
    slow: bool = False
    manual: bool = False
    skip: str = ""
    ignore_columns: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        return f"{self.file}:{self.line} `{self.commands[0].text}`"


def parse(path: Path) -> list[Block]:
    """The blocks of ``path`` that show at least one ``$ command``."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks, i = [], 0
    while i < len(lines):
        if not FENCE.match(lines[i]):
            i += 1
            continue
        start, body, i = i, [], i + 1
        while i < len(lines) and not FENCE.match(lines[i]):
            body.append(lines[i])
            i += 1
        i += 1
        commands: list[Command] = []
        for text in body:
            if text.startswith("$ "):
                commands.append(Command(text[2:].strip()))
            elif commands:
                commands[-1].expected.append(text)
        if not commands:
            continue
        block = Block(_rel(path), start + 1, commands)
        prev = next((lines[k] for k in range(start - 1, -1, -1) if lines[k].strip()), "")
        m = MARK.search(prev)
        for part in (m.group(1).split(";") if m else []):
            key, _, value = part.strip().partition(" ")
            if key == "slow":
                block.slow = True
            elif key == "manual":
                block.manual = True
            elif key == "skip":
                block.skip = value.strip() or "no reason given"
            elif key == "ignore-columns":
                block.ignore_columns = {c.strip() for c in value.split(",") if c.strip()}
        blocks.append(block)
    return blocks


def _rel(path: Path) -> str:
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return str(path)


def normalise(lines: list[str], ignore_columns: set[str] = frozenset()) -> list[str]:
    """Comparable lines: no borders or progress bars, collapsed spaces, masked durations,
    the ignored table columns blanked."""
    out, blank_at = [], set()
    for raw in lines:
        line = ANSI.sub("", raw).rstrip()
        if not line.strip() or BORDER.match(line):
            if line.strip().startswith(("└", "┗")):
                blank_at = set()
            continue
        if "━" in line or "ETA" in line:  # a progress bar
            continue
        if "┃" in line:  # a table header: find the columns to blank
            cells = [c.strip() for c in line.split("┃")]
            blank_at = {k for k, c in enumerate(cells) if c in ignore_columns}
        cells = re.split(r"[│┃]", line)
        if len(cells) > 1:
            cells = ["" if k in blank_at else c for k, c in enumerate(cells)]
            line = "|".join(cells)
        for pattern, mask in DURATION:
            line = pattern.sub(mask, line)
        out.append(" ".join(line.split()))
    return out


def run(command: str, env: dict[str, str]) -> tuple[str, int]:
    """Output (stdout and stderr together) and exit code of one shown command."""
    proc = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=TIMEOUT)
    return proc.stdout, proc.returncode


def check_block(block: Block, env: dict[str, str]) -> list[str]:
    """Problems of one block (empty when its shown output matches)."""
    problems, last_code = [], 0
    for cmd in block.commands:
        if cmd.text.strip() == "echo $?":
            output = f"{last_code}\n"
        else:
            output, last_code = run(cmd.text, env)
        shown = [x for x in normalise(cmd.expected, block.ignore_columns) if x not in ELISION]
        real = normalise(output.splitlines(), block.ignore_columns)
        k = 0
        for want in shown:
            while k < len(real) and real[k] != want:
                k += 1
            if k == len(real):
                context = "\n      ".join(real[:40]) or "(no output)"
                problems.append(f"`$ {cmd.text}`: shown line not in the output:\n    {want}\n"
                                f"  real output:\n      {context}")
                break
            k += 1
    return problems


def environment() -> dict[str, str]:
    """The caller's environment with this interpreter's scripts first on PATH."""
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.pop("COLUMNS", None)
    return env


def check(paths: list[Path], slow: bool = False, only: str = "",
          manual: bool = False) -> tuple[list[str], list[str]]:
    """(problems, notes) over every block of ``paths`` (with ``only``: the blocks whose
    commands contain that text); notes list what was not run."""
    problems, notes, env = [], [], environment()
    for path in paths:
        for block in parse(path):
            if only and not any(only in c.text for c in block.commands):
                continue
            if block.skip:
                notes.append(f"skipped {block.label}: {block.skip}")
            elif block.manual and not manual:
                notes.append(f"not run (manual; use --manual) {block.label}")
            elif block.slow and not slow:
                notes.append(f"not run (slow; use --slow) {block.label}")
            else:
                problems += [f"{block.label}: {p}" for p in check_block(block, env)]
    return problems, notes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path, default=[ROOT / "README.md"])
    ap.add_argument("--slow", action="store_true", help="also run blocks marked slow")
    ap.add_argument("--manual", action="store_true", help="also run blocks marked manual")
    ap.add_argument("--only", default="", help="only blocks whose commands contain this text")
    args = ap.parse_args(argv)
    problems, notes = check(args.files, args.slow, args.only, args.manual)
    for n in notes:
        print(n)
    for p in problems:
        print(f"DRIFT {p}")
    print(f"{len(problems)} drift(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
