"""The package layout as tests (docs/architecture.md), read from the source with ``ast``.

Nothing here imports svcplan: the rules hold for the files in model/ as written, whether or not
they import. Every import counts — top level, inside a function, under ``if TYPE_CHECKING`` and
``importlib.import_module("literal")`` — because each is a dependency of the module that holds it.

Rules:
  a. inside model/ the package imports itself relatively (never ``import svcplan`` / ``model``);
  b. a stage imports only earlier stages (STAGE_RANK) or itself; nothing imports cli but
     model/__main__.py;
  c. no import cycle between the modules of one stage;
  d. highspy only in model/solver/highs/, rustpy_xlsxwriter only in model/outputs/excel.py; pyomo
     only in model/formulation/ (and PYOMO_IN_SOLVER);
  e. no module over MAX_LINES lines;
  f. setup.py finds every subpackage of model/ itself, and every folder of modules is a package.

The ``test_check_*`` tests at the end run each check on a small made-up package with known
faults, so a check that stops finding anything fails too.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PKG_DIR = REPO / "model"  # the folder; installed as PKG_NAME (setup.py: package_dir)
PKG_NAME = "svcplan"
SELF_NAMES = {PKG_NAME, PKG_DIR.name}  # absolute imports of the package by either name

# A module of stage A may import stage B only when B == A or rank(B) < rank(A).
STAGE_RANK = {
    "processes": -1,  # model/processes.py: where every stage's worker processes come from
    "case": 0,
    "economics": 1,
    "formulation": 2,
    "solver": 3,
    "insight": 4,
    "outputs": 5,
    "simulation": 6,  # reads a run folder (outputs) and the case; api.simulate imports it
    "api": 7,  # model/api.py
    "whatif": 8,
    "prep": 8,
    "cli": 9,
}
ROOT = "(root)"  # model/__init__.py: may import anything but cli
MAIN = "__main__"  # model/__main__.py: imports cli only

MAX_LINES = 400
HIGHSPY_HOME = "model/solver/highs/"
# The workbook writer's binding, behind the one Excel module as highspy is behind solver/highs/.
XLSX_HOME = "model/outputs/excel.py"
PYOMO_HOME = "model/formulation/"
# Modules of model/solver/ that call other solvers through Pyomo (and so may import pyomo).
# pyomo_solvers.py is the door for `--solver NAME` (cbc, glpk, gurobi_direct, ...): it hands
# the Pyomo model itself to SolverFactory, which no array-based module can do; deliberately
# the one exception, so everything else in the solver stage stays Pyomo-free.
PYOMO_IN_SOLVER: frozenset[str] = frozenset({"model/solver/pyomo_solvers.py"})


# ---------------------------------------------------------------------------------------------
# Reading the package


@dataclass(frozen=True)
class Imp:
    """One imported name of one import statement."""

    file: str  # "model/solver/search.py"
    line: int
    text: str  # the statement
    top: str | None  # first component of an absolute import ("highspy"); None when relative
    target: str | None  # the module of the package it loads ("svcplan.solver.highs"), if any
    unresolved: str = ""  # why a package import names no module of model/
    function_level: bool = False
    type_only: bool = False

    def where(self) -> str:
        how = " (in a function)" if self.function_level else ""
        how += " (under TYPE_CHECKING)" if self.type_only else ""
        return f"{self.file}:{self.line}: `{self.text}`{how}"


@dataclass(frozen=True)
class Tree:
    pkg_dir: Path
    files: dict[str, str]  # module name → "model/..." path
    lines: dict[str, int]  # "model/..." path → line count
    packages: frozenset[str]  # module names that are packages (folders with __init__.py)
    imports: tuple[Imp, ...]

    def file_of(self, module: str) -> str:
        return self.files[module]


def module_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PKG_NAME, *parts])


def stage_of(module: str) -> str:
    parts = module.split(".")
    return ROOT if len(parts) == 1 else parts[1]


def _short(node: ast.AST) -> str:
    text = ast.unparse(node)
    return text if len(text) <= 110 else text[:107] + "..."


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _dynamic_import(node: ast.Call) -> str | None:
    """The literal name of ``importlib.import_module("x")`` / ``import_module("x")`` / ``__import__("x")``."""
    f = node.func
    name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
    if name not in ("import_module", "__import__") or not node.args:
        return None
    arg = node.args[0]
    return arg.value if isinstance(arg, ast.Constant) and isinstance(arg.value, str) else None


def _walk(node: ast.AST, in_func: bool = False, type_only: bool = False):
    """Yield (import-like node, in a function, under TYPE_CHECKING) for the whole module."""
    for child in ast.iter_child_nodes(node):
        dynamic = isinstance(child, ast.Call) and _dynamic_import(child) is not None
        if isinstance(child, ast.Import | ast.ImportFrom) or dynamic:
            yield child, in_func, type_only
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk(child, True, type_only)
        elif isinstance(child, ast.If) and _is_type_checking(child.test):
            for sub in child.body:
                yield from _walk_stmt(sub, in_func, True)
            for sub in child.orelse:
                yield from _walk_stmt(sub, in_func, type_only)
        else:
            yield from _walk(child, in_func, type_only)


def _walk_stmt(stmt: ast.AST, in_func: bool, type_only: bool):
    wrapper = ast.Module(body=[stmt], type_ignores=[])
    yield from _walk(wrapper, in_func, type_only)


@functools.cache
def load(pkg_dir: Path) -> Tree:
    folder = pkg_dir.name
    paths = sorted(p for p in pkg_dir.rglob("*.py") if "__pycache__" not in p.parts)
    files = {module_name(p.relative_to(pkg_dir)): f"{folder}/{p.relative_to(pkg_dir).as_posix()}" for p in paths}
    packages = frozenset(module_name(p.relative_to(pkg_dir)) for p in paths if p.name == "__init__.py")
    lines: dict[str, int] = {}
    imports: list[Imp] = []
    for module, rel in files.items():
        source = (pkg_dir.parent / rel).read_text(encoding="utf-8")
        lines[rel] = len(source.splitlines())
        is_pkg = module in packages
        for node, in_func, type_only in _walk(ast.parse(source, filename=rel)):
            common = {"file": rel, "line": node.lineno, "text": _short(node)}
            common |= {"function_level": in_func, "type_only": type_only}
            for top, target, why in _targets(node, module, is_pkg, files):
                imports.append(Imp(top=top, target=target, unresolved=why, **common))
    return Tree(pkg_dir, files, lines, packages, tuple(imports))


def _resolve_base(module: str, is_pkg: bool, level: int, name: str | None) -> str | None:
    """The absolute module a relative import starts from; None when it climbs out of the package."""
    here = module.split(".") if is_pkg else module.split(".")[:-1]
    keep = len(here) - (level - 1)
    if keep < 1:
        return None
    return ".".join(here[:keep] + (name.split(".") if name else []))


def _targets(node: ast.AST, module: str, is_pkg: bool, files: dict[str, str]):
    """(top, target, unresolved) for each name the import statement loads."""

    def in_pkg(base: str | None, names: list[str]):
        if base is None:
            yield None, None, "climbs above the package"
            return
        if not names:  # import a.b.c / import_module("a.b.c")
            yield (None, base, "") if base in files else (None, None, f"{base} is no module of {PKG_DIR.name}/")
        for n in names:
            sub = f"{base}.{n}"
            if n != "*" and sub in files:
                yield None, sub, ""
            elif base in files:
                yield None, base, ""
            else:
                yield None, None, f"{base} is no module of {PKG_DIR.name}/"

    def absolute(name: str, names: list[str]):
        top = name.split(".")[0]
        if top in SELF_NAMES:
            base = ".".join([PKG_NAME, *name.split(".")[1:]])
            for _, target, why in in_pkg(base, names):
                yield top, target, why
        else:
            yield top, None, ""

    if isinstance(node, ast.Import):
        for alias in node.names:
            yield from absolute(alias.name, [])
    elif isinstance(node, ast.ImportFrom):
        names = [a.name for a in node.names]
        if node.level == 0:
            yield from absolute(node.module or "", names)
        else:
            yield from in_pkg(_resolve_base(module, is_pkg, node.level, node.module), names)
    else:  # importlib.import_module("literal")
        name = _dynamic_import(node)
        level = len(name) - len(name.lstrip("."))
        if level:
            yield from in_pkg(_resolve_base(module, is_pkg, level, name[level:] or None), [])
        else:
            yield from absolute(name, [])


# ---------------------------------------------------------------------------------------------
# The checks: each returns one message per fault, naming file:line and the import


def _once(messages) -> list[str]:
    """One message per statement, not per imported name (``from x import a, b``)."""
    return list(dict.fromkeys(messages))


def relative_self_imports(tree: Tree) -> list[str]:
    """a. The package imports itself relatively."""
    return _once(
        f"{imp.where()}: absolute import of the package itself; inside {PKG_DIR.name}/ import "
        f"relatively (`from ..stage.module import name`, `from . import module`)"
        for imp in tree.imports
        if imp.top in SELF_NAMES
    )


def stage_order(tree: Tree) -> list[str]:
    """b. A stage imports only earlier stages or itself; nothing imports cli but __main__."""
    problems: list[str] = []
    for stage in sorted({stage_of(m) for m in tree.files} - {ROOT, MAIN} - STAGE_RANK.keys()):
        first = min(f for m, f in tree.files.items() if stage_of(m) == stage)
        problems.append(
            f"{first}: stage {stage!r} has no rank: add it to STAGE_RANK in tests/test_layout.py "
            f"and to docs/architecture.md"
        )
    for imp in tree.imports:
        if imp.top is not None and imp.top not in SELF_NAMES:
            continue  # a third-party or standard-library import
        if imp.target is None:
            problems.append(f"{imp.where()}: does not resolve to a module of {PKG_DIR.name}/ ({imp.unresolved})")
            continue
        importer = stage_of(next(m for m, f in tree.files.items() if f == imp.file))
        target = stage_of(imp.target)
        why = _stage_fault(importer, target)
        if why:
            problems.append(f"{imp.where()}: {why}")
    return _once(problems)


def _stage_fault(a: str, b: str) -> str:
    if b == MAIN:
        return f"nothing imports {PKG_DIR.name}/__main__.py"
    if a == ROOT:
        return f"the package root may import anything but cli (imports {b})" if b == "cli" else ""
    if a == MAIN:
        return "" if b == "cli" else f"{PKG_DIR.name}/__main__.py imports cli only (imports {b})"
    if b == ROOT:
        return (
            f"imports the package root {PKG_NAME} (its __init__ re-exports api and case): "
            f"import from the module that defines the name"
        )
    if b == a or a not in STAGE_RANK or b not in STAGE_RANK:
        return ""  # unranked stages are reported once above
    if b == "cli":
        return f"nothing imports cli except {PKG_DIR.name}/__main__.py ({a} imports cli)"
    ra, rb = STAGE_RANK[a], STAGE_RANK[b]
    if rb == ra:
        return f"{a} and {b} share rank {ra}: neither may import the other"
    if rb > ra:
        return f"{a} (rank {ra}) may not import {b} (rank {rb}): a stage imports only earlier stages"
    return ""


def stage_cycles(tree: Tree) -> list[str]:
    """c. No import cycle between the modules of one stage (all imports count)."""
    edges: dict[str, dict[str, Imp]] = {m: {} for m in tree.files}
    module_of = {f: m for m, f in tree.files.items()}
    for imp in tree.imports:
        src, dst = module_of[imp.file], imp.target
        if dst is None or dst == src or stage_of(dst) != stage_of(src):
            continue
        edges[src].setdefault(dst, imp)  # the first import of dst in src speaks for the edge
    problems = []
    for component in _strongly_connected(edges):
        cycle = _shortest_cycle(min(component), edges, component)
        chain = " → ".join(m.removeprefix(PKG_NAME + ".") for m in [*cycle, cycle[0]])
        steps = "; ".join(edges[a][b].where() for a, b in zip(cycle, [*cycle[1:], cycle[0]], strict=True))
        others = sorted(m.removeprefix(PKG_NAME + ".") for m in component - set(cycle))
        more = f" (the circle also takes in {', '.join(others)})" if others else ""
        problems.append(f"import cycle in stage {stage_of(cycle[0])}: {chain}{more}: {steps}")
    return problems


def _strongly_connected(edges: dict[str, dict[str, Imp]]) -> list[frozenset[str]]:
    """Tarjan's components with more than one module, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return sorted(found, key=min)


def _shortest_cycle(start: str, edges: dict[str, dict[str, Imp]], within: frozenset[str]) -> list[str]:
    """Breadth-first from start back to start inside one component."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        nxt = []
        for v in frontier:
            for w in sorted(edges[v]):
                if w == start:
                    return paths[v]
                if w in within and w not in paths:
                    paths[w] = [*paths[v], w]
                    nxt.append(w)
        frontier = nxt
    raise AssertionError(f"no cycle through {start}")  # cannot happen inside a component


def solver_libraries(tree: Tree) -> list[str]:
    """d. highspy only in solver/highs/; rustpy_xlsxwriter only in outputs/excel.py; pyomo
    only in formulation/ (and PYOMO_IN_SOLVER)."""
    folder = PKG_DIR.name
    highspy_home = HIGHSPY_HOME.replace("model/", f"{folder}/", 1)
    pyomo_home = PYOMO_HOME.replace("model/", f"{folder}/", 1)
    pyomo_allowed = {p.replace("model/", f"{folder}/", 1) for p in PYOMO_IN_SOLVER}
    xlsx_home = XLSX_HOME.replace("model/", f"{folder}/", 1)
    problems = []
    for imp in tree.imports:
        if imp.top == "highspy" and not imp.file.startswith(highspy_home):
            problems.append(f"{imp.where()}: only {highspy_home} imports highspy")
        if imp.top == "rustpy_xlsxwriter" and imp.file != xlsx_home:
            problems.append(f"{imp.where()}: only {xlsx_home} imports rustpy_xlsxwriter")
        if imp.top == "pyomo" and not (imp.file.startswith(pyomo_home) or imp.file in pyomo_allowed):
            allowed = f" and {sorted(pyomo_allowed)}" if pyomo_allowed else ""
            problems.append(f"{imp.where()}: pyomo is imported only in {pyomo_home}{allowed}")
    return _once(problems)


def long_modules(tree: Tree) -> list[str]:
    """e. No module over MAX_LINES lines."""
    return [
        f"{rel}: {n} lines (at most {MAX_LINES}): split it by responsibility"
        for rel, n in sorted(tree.lines.items())
        if n > MAX_LINES
    ]


def wheel_packages(tree: Tree, setup_py: Path) -> list[str]:
    """f. setup.py maps svcplan to the package folder and finds its subpackages itself
    (``find_packages``), and every folder of modules is a package: a folder without
    ``__init__.py`` is what ``find_packages`` would leave out of the wheel."""
    problems = []
    text = setup_py.read_text(encoding="utf-8") if setup_py.exists() else ""
    calls = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call)]
    setup = next((c for c in calls if isinstance(c.func, ast.Name) and c.func.id == "setup"), None)
    kw = {k.arg: k.value for k in setup.keywords} if setup is not None else {}
    try:
        package_dir = ast.literal_eval(kw["package_dir"]) if "package_dir" in kw else {}
    except ValueError:
        package_dir = {}
    if package_dir.get(PKG_NAME) != tree.pkg_dir.name:
        problems.append(f"{setup_py.name}: package_dir must map {PKG_NAME!r} to {tree.pkg_dir.name!r} "
                        f"(it is {package_dir!r})")
    finds = [c for c in (ast.walk(kw["packages"]) if "packages" in kw else ())
             if isinstance(c, ast.Call) and isinstance(c.func, ast.Name) and c.func.id == "find_packages"]
    if not any(f.args and isinstance(f.args[0], ast.Constant) and f.args[0].value == tree.pkg_dir.name
               for f in finds):
        problems.append(f"{setup_py.name}: packages must be found by find_packages({tree.pkg_dir.name!r}), "
                        "not listed by hand (a forgotten one would vanish from the wheel)")
    folder = tree.pkg_dir.name
    for d in sorted({p.parent for p in tree.pkg_dir.rglob("*.py") if "__pycache__" not in p.parts}):
        if not (d / "__init__.py").exists():
            rel = f"{folder}/{d.relative_to(tree.pkg_dir).as_posix()}/"
            problems.append(f"{rel}: holds modules but no __init__.py (a namespace folder, left out of the wheel)")
    return problems


# ---------------------------------------------------------------------------------------------
# The layout of model/


def _fail(problems: list[str], what: str) -> None:
    assert not problems, f"{len(problems)} {what}:\n  " + "\n  ".join(problems)


def test_package_is_read():
    tree = load(PKG_DIR)
    assert f"{PKG_NAME}.api" in tree.files and f"{PKG_NAME}.solver.highs" in tree.files, sorted(tree.files)
    assert len(tree.imports) > 50  # the walk sees the imports


def test_imports_of_the_package_are_relative():
    _fail(relative_self_imports(load(PKG_DIR)), "absolute import(s) of the package inside it")


def test_stages_import_only_earlier_stages():
    _fail(stage_order(load(PKG_DIR)), "import(s) against the stage order")


def test_no_import_cycle_inside_a_stage():
    _fail(stage_cycles(load(PKG_DIR)), "import cycle(s)")


def test_solver_libraries_stay_in_their_modules():
    _fail(solver_libraries(load(PKG_DIR)), "solver-library import(s) outside their module")


def test_pyomo_allowlist_names_solver_modules():
    for path in PYOMO_IN_SOLVER:
        assert path.startswith("model/solver/") and (REPO / path).is_file(), path


def test_no_module_over_the_line_limit():
    _fail(long_modules(load(PKG_DIR)), f"module(s) over {MAX_LINES} lines")


def test_wheel_lists_every_subpackage():
    _fail(wheel_packages(load(PKG_DIR), REPO / "setup.py"), "packaging fault(s)")


# ---------------------------------------------------------------------------------------------
# Each check finds faults planted in a small made-up package

FAULTY = {
    "__init__.py": "from .api import solve\nfrom .cli.app import app\n",
    "__main__.py": "from .cli.app import app\nfrom .api import solve\n",
    "api.py": "from .case.case import Case\n\n\ndef solve():\n    from .solver.strategy import run\n",
    "case/__init__.py": "",
    "case/case.py": "import svcplan.economics.options\n\n\ndef f():\n    from .reader import read\n",
    "case/reader.py": "from .case import Case\nfrom . import case\n",
    "economics/__init__.py": "",
    "economics/options.py": "from ..case.case import Case\nfrom model.case import reader\n",
    "formulation/__init__.py": "",
    "formulation/blocks.py": "import pyomo.environ as pyo\n" + "x = 1\n" * 400,
    "solver/__init__.py": "",
    "solver/highs/__init__.py": "import highspy\nimport pyomo.environ as pyo\n",
    "solver/strategy.py": "from ..outputs import svg\nfrom .. import api\nfrom .. import solve\n\n\n"
    "def g():\n    import highspy\n    from ... import x\n",
    "outputs/__init__.py": "",
    "outputs/svg.py": "import rustpy_xlsxwriter\n",
    "outputs/files.py": "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from .result import R\n",
    "outputs/result.py": "from .files import w\nfrom . import svg\n",
    "whatif/__init__.py": "",
    "whatif/batch.py": "import importlib\n\nfrom ..prep.generate import g\n\n"
    "m = importlib.import_module('svcplan.cli.app')\n",
    "prep/__init__.py": "",
    "prep/generate.py": "from ..nothere import y\nfrom ..whatif.batch import a, b\n",
    "cli/__init__.py": "",
    "cli/app.py": "from ..api import solve\nfrom .. import __main__\n",
    "extra/__init__.py": "",
    "extra/x.py": "",
    "loose/y.py": "",
}
FAULTY_PACKAGES = ["svcplan", "svcplan.case", "svcplan.economics", "svcplan.formulation", "svcplan.solver",
                   "svcplan.outputs", "svcplan.whatif", "svcplan.cli", "svcplan.extra", "svcplan.gone"]  # fmt: skip


@pytest.fixture(scope="module")
def faulty(tmp_path_factory) -> tuple[Tree, Path]:
    root = tmp_path_factory.mktemp("layout")
    for rel, text in FAULTY.items():
        (root / "model" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "model" / rel).write_text(text, encoding="utf-8")
    setup_py = root / "setup.py"
    listed = ", ".join(f'"{p}"' for p in FAULTY_PACKAGES)
    setup_py.write_text("from setuptools import setup\n\n"
                        f'setup(package_dir={{"svcplan": "model"}}, packages=[{listed}])\n')
    return load(root / "model"), setup_py


def _expect(problems: list[str], expected: list[str]) -> None:
    for text in expected:
        assert any(text in p for p in problems), f"not reported: {text!r}\nreported:\n  " + "\n  ".join(problems)
    assert len(problems) == len(expected), "reported:\n  " + "\n  ".join(problems)


def test_check_relative_imports_finds_absolute_ones(faulty):
    _expect(
        relative_self_imports(faulty[0]),
        [
            "model/case/case.py:1: `import svcplan.economics.options`",
            "model/economics/options.py:2: `from model.case import reader`",
            "model/whatif/batch.py:5: `importlib.import_module('svcplan.cli.app')`",
        ],
    )


def test_check_stage_order_resolves_and_ranks(faulty):
    _expect(
        stage_order(faulty[0]),
        [
            "model/extra/__init__.py: stage 'extra' has no rank",
            "model/loose/y.py: stage 'loose' has no rank",
            "model/__init__.py:2: `from .cli.app import app`: the package root may import anything but cli",
            "model/__main__.py:2: `from .api import solve`: model/__main__.py imports cli only (imports api)",
            "model/case/case.py:1: `import svcplan.economics.options`: case (rank 0) may not import economics",
            "model/solver/strategy.py:1: `from ..outputs import svg`: solver (rank 3) may not import outputs (rank 5)",
            "model/solver/strategy.py:2: `from .. import api`: solver (rank 3) may not import api (rank 7)",
            "model/solver/strategy.py:3: `from .. import solve`: imports the package root svcplan",
            "model/solver/strategy.py:8: `from ... import x` (in a function): does not resolve",
            "model/whatif/batch.py:3: `from ..prep.generate import g`: whatif and prep share rank 8",
            "model/whatif/batch.py:5: `importlib.import_module('svcplan.cli.app')`: nothing imports cli except",
            "model/prep/generate.py:1: `from ..nothere import y`: does not resolve",
            "model/prep/generate.py:2: `from ..whatif.batch import a, b`: prep and whatif share rank 8",
            "model/cli/app.py:2: `from .. import __main__`: nothing imports model/__main__.py",
        ],
    )


def test_check_cycles_counts_function_and_type_only_imports(faulty):
    _expect(
        stage_cycles(faulty[0]),
        [
            "import cycle in stage case: case.case → case.reader → case.case: "
            "model/case/case.py:5: `from .reader import read` (in a function); "
            "model/case/reader.py:1: `from .case import Case`",
            "import cycle in stage outputs: outputs.files → outputs.result → outputs.files: "
            "model/outputs/files.py:4: `from .result import R` (under TYPE_CHECKING); "
            "model/outputs/result.py:1: `from .files import w`",
        ],
    )


def test_check_solver_libraries(faulty):
    _expect(
        solver_libraries(faulty[0]),
        [
            "model/solver/highs/__init__.py:2: `import pyomo.environ as pyo`: pyomo is imported only in "
            "model/formulation/",
            "model/solver/strategy.py:7: `import highspy` (in a function): only model/solver/highs/ imports highspy",
            "model/outputs/svg.py:1: `import rustpy_xlsxwriter`: only model/outputs/excel.py imports rustpy_xlsxwriter",
        ],
    )


def test_check_line_limit(faulty):
    _expect(long_modules(faulty[0]), ["model/formulation/blocks.py: 401 lines (at most 400)"])


def test_check_wheel_packages(faulty):
    _expect(
        wheel_packages(*faulty),
        [
            "setup.py: packages must be found by find_packages('model'), not listed by hand",
            "model/loose/: holds modules but no __init__.py",
        ],
    )
