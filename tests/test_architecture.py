"""The package's layers: every import between subpackages runs one way, down, as docs/architecture.md draws it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "incidentkb"

#: What each part may import besides itself (its `__init__.py` says the same in words).
MAY_IMPORT: dict[str, set[str]] = {
    "host": set(),
    "records": {"host"},
    "match": {"records", "host"},
    "verdict": {"match", "records", "host"},
    "plugin": {"verdict", "match", "records", "host"},
    "results": {"verdict", "match", "records", "host"},
    "matrix": {"results", "verdict", "records", "host"},
    "check": {"matrix", "results", "verdict", "match", "records", "host"},
    "site": {"matrix", "results", "verdict", "match", "records", "host"},
    "cli": {"check", "site", "matrix", "results", "plugin", "verdict", "match", "records", "host", "scaffold",
            "__version__"},
    "scaffold": {"records", "host"},
    "__init__": set(),
}


def _part(path: Path) -> str:
    relative = path.relative_to(PACKAGE)
    return relative.parts[0] if len(relative.parts) > 1 else relative.stem


def _imported_parts(path: Path) -> set[tuple[str, int]]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names] if node.module == "incidentkb" else [node.module]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "incidentkb" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_every_import_runs_down_the_layers(path: Path) -> None:
    part = _part(path)
    allowed = MAY_IMPORT[part] | {part}
    wrong = sorted(f"line {line}: incidentkb.{target}" for target, line in _imported_parts(path) if target not in allowed)
    assert not wrong, f"{path.relative_to(PACKAGE)} ({part}) may import only {sorted(allowed)}: {wrong}"


def test_every_subpackage_says_what_it_holds_and_may_import() -> None:
    for package in (p for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()):
        doc = ast.get_docstring(ast.parse((package / "__init__.py").read_text(encoding="utf-8"))) or ""
        assert package.name in MAY_IMPORT, f"{package.name}: a new subpackage needs its place in MAY_IMPORT"
        assert "May import" in doc, f"{package.name}/__init__.py: say which subpackages it may import"


def _functions(path: Path) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]


def test_no_function_is_longer_than_a_screen_without_saying_why() -> None:
    long = [
        f"{path.relative_to(PACKAGE)}:{fn.lineno} {fn.name} ({fn.end_lineno - fn.lineno + 1} lines)"  # type: ignore[operator]
        for path in MODULES
        for fn in _functions(path)
        if fn.end_lineno - fn.lineno + 1 > 60 and "long because" not in (ast.get_docstring(fn) or "")  # type: ignore[operator]
    ]
    assert not long, "split these, or say in the docstring why each is long because ...: " + "; ".join(long)


#: What a results file holds at its top and in each case: reading one of these keys is reading a results file.
RESULTS_KEYS = {"cases", "observation", "versions", "host", "gpus", "axes", "incidents", "covered_by", "resolved",
                "candidate", "outcome", "finished"}
#: Modules outside `results/` that may use those keys, and why: they write (or build) the data, not read a file.
WRITERS = {
    "plugin/report.py": "writes the pytest plugin's report, which a cell's results file is made from",
    "plugin/skipping.py": "reads a case's `needs` marker, whose `versions` is no results file's",
    "check/reach.py": "reads a case's `needs` marker from its syntax tree, whose `versions` is no results file's",
    "matrix/pytest_process.py": "reads the plugin's report of a cell's pytest before it is a results file",
    "matrix/bisect_run.py": "builds a bisection's file before writing it",
    "matrix/results_files.py": "names the file it writes from the data it writes",
}


def _results_keys_read(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get" \
                and node.args and isinstance(node.args[0], ast.Constant):
            key = node.args[0].value
        if key in RESULTS_KEYS:
            found.append(f"line {node.lineno}: {key!r}")
    return found


def test_only_the_results_package_reads_a_results_files_json() -> None:
    """The site, the table, `changes`, `check` and the candidate summary read typed runs (incidentkb.results)."""
    wrong = {}
    for path in MODULES:
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith("results/") or relative in WRITERS:
            continue
        if found := _results_keys_read(path):
            wrong[relative] = found
    assert not wrong, f"read results through incidentkb.results.runs, not the JSON: {wrong}"
