"""The README's shown commands still print what it shows (docs/check_readme.py).

The fast blocks (``validate data/bad``, ``solve data/tight``: about 5 s) run with every test
run; blocks marked ``<!-- readme-check: slow -->`` (the demo solve, the calibration steps,
the calibrated case, the extension examples, the database round trip: about 30 s of CPU) run
in the ``slow`` test (blocks marked ``manual``, minutes of CPU, only by hand),
together with the blocks before them (a later block may use what an earlier one wrote).
The checker itself is tested on a small Markdown file: a drifted line fails, timings and
elisions do not.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
spec = importlib.util.spec_from_file_location("check_readme", ROOT / "docs" / "check_readme.py")
check_readme = importlib.util.module_from_spec(spec)
sys.modules["check_readme"] = check_readme
spec.loader.exec_module(check_readme)


def test_readme_fast_blocks_print_what_they_show():
    problems, _ = check_readme.check([ROOT / "README.md"], slow=False)
    assert problems == []


@pytest.mark.slow
def test_readme_every_block_prints_what_it_shows():
    problems, notes = check_readme.check([ROOT / "README.md"], slow=True)
    assert problems == []
    assert all(n.startswith(("skipped", "not run (manual")) for n in notes)  # none silently


def test_checker_sees_drift_and_forgives_timings(tmp_path):
    md = tmp_path / "x.md"
    md.write_text(
        "```\n$ printf 'solved in 1.25s\\n| a | 1 |\\nmore\\n| b | 2 |\\n'\n"
        "solved in 103.2s\n│ a │ 1 │\n...\n│ b │ 2 │\n```\n\n"
        "<!-- readme-check: skip needs a licence -->\n```\n$ false\nnever\n```\n\n"
        "```\n$ printf 'x 1\\n'; exit 3\nx 2\n$ echo $?\n3\n```\n",
        encoding="utf-8")
    problems, notes = check_readme.check([md])
    assert notes == [f"skipped {md}:10 `false`: needs a licence"]
    assert len(problems) == 1 and "x 2" in problems[0]  # the drift, not the exit code


def test_case_format_documents_every_table_column_and_setting():
    from svcplan.case.schema import TABLES
    from svcplan.case.settings import setting_keys

    doc = (ROOT / "docs" / "case-format.md").read_text(encoding="utf-8")
    for table in TABLES.values():
        assert re.search(rf"^## .*{re.escape(table.file)}", doc, re.M), table.file
        for col in table.names:
            assert f"`{col}`" in doc, f"{table.file}: {col}"
    for key in setting_keys():
        assert f"`{key}`" in doc, key
    assert "](docs/case-format.md)" in (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_and_docs_link_only_inside_the_repository():
    """Users have the repository, nothing around it: no link leaves it, none is dead, and no
    text sends them to the contract file the developers work from."""
    for md in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        text = md.read_text(encoding="utf-8")
        assert "SPEC" not in text and "../shared" not in text, md.name
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if target.startswith(("http://", "https://", "#", "mailto:")):
                continue
            path = (md.parent / target.split("#")[0]).resolve()
            assert path.is_relative_to(ROOT) and path.exists(), f"{md.name}: {target}"
