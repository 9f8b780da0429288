"""What a regression file declares, read with `ast`: its test functions and their `incident` markers.

`incidentkb check` must not import regression files: importing one imports torch or transformers, which is slow,
may not be installed where records are edited, and runs code. The plugin contract therefore asks for markers
written as decorators with literal strings, ``@pytest.mark.incident("<incident id>", "<role>")``, which can be
read from the syntax tree alone. A module-level constant (``ID = "..."``) is read as well, since a file usually
names its incident once.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, NamedTuple

from incidentkb.records.reader import PLACEHOLDER, placeholder_shown

__all__ = ["IncidentMarker", "Case", "ScanIssue", "RegressionFile", "scan_regression", "regression_files"]


class ScanIssue(NamedTuple):
    """Something in a regression file that `check` reports: unreadable syntax or marker, or a placeholder."""

    line: int
    col: int
    message: str


@dataclass(frozen=True)
class IncidentMarker:
    """One ``@pytest.mark.incident(incident_id, role)`` decorator; a part is None when it is not a literal."""

    incident: str | None
    role: str | None
    line: int
    col: int


@dataclass(frozen=True)
class Case:
    """A function defined in a regression file (a test case when it is marked)."""

    name: str
    line: int
    col: int
    markers: tuple[IncidentMarker, ...]


@dataclass(frozen=True)
class RegressionFile:
    """A regression file as scanned; `parsed` is False when it is not valid Python (then it has no cases)."""

    path: Path
    functions: Mapping[str, Case]
    issues: tuple[ScanIssue, ...]
    parsed: bool

    @property
    def marked(self) -> list[Case]:
        return [case for case in self.functions.values() if case.markers]


def _constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` assignments, which markers may use instead of literals."""
    found: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if isinstance(value, ast.Constant) and isinstance(value.value, str):
            found.update({t.id: value.value for t in targets if isinstance(t, ast.Name)})
    return found


def _is_incident_marker(node: ast.Call) -> bool:
    if not (isinstance(node.func, ast.Attribute) and node.func.attr == "incident"):
        return False
    owner = node.func.value
    return (isinstance(owner, ast.Attribute) and owner.attr == "mark") or (
        isinstance(owner, ast.Name) and owner.id == "mark"
    )


class _Scanner:
    def __init__(self, source: str, tree: ast.Module) -> None:
        self.lines = source.splitlines()
        self.constants = _constants(tree)
        self.issues: list[ScanIssue] = []
        self.functions: dict[str, Case] = {}

    def col(self, node: ast.expr | ast.stmt) -> int:
        """1-based column in characters (`ast` counts UTF-8 bytes)."""
        line = self.lines[node.lineno - 1] if 0 < node.lineno <= len(self.lines) else ""
        return len(line.encode("utf-8")[: node.col_offset].decode("utf-8", "replace")) + 1

    def literal(self, node: ast.expr | None) -> str | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.Name):
            return self.constants.get(node.id)
        return None

    def marker(self, function: str, call: ast.Call) -> IncidentMarker:
        keywords = {k.arg: k.value for k in call.keywords if k.arg}
        args: list[ast.expr | None] = [*call.args, None, None]
        incident_node = args[0] or keywords.get("incident_id") or keywords.get("incident")
        role_node = args[1] or keywords.get("role")
        incident, role = self.literal(incident_node), self.literal(role_node)
        line, col = call.lineno, self.col(call)
        if incident is None or role is None:
            self.issues.append(
                ScanIssue(
                    line,
                    col,
                    f"the incident marker of '{function}' must give the incident id and the role as literal strings "
                    '(or module-level string constants), e.g. @pytest.mark.incident("2025-04-12-short-name", "symptom"), '
                    "so that `incidentkb check` can read it without importing the file",
                )
            )
        return IncidentMarker(incident, role, line, col)

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        markers = tuple(
            self.marker(node.name, d) for d in node.decorator_list if isinstance(d, ast.Call) and _is_incident_marker(d)
        )
        # The first definition is what the checker points at; a redefinition is reported by linters, not here.
        self.functions.setdefault(node.name, Case(node.name, node.lineno, self.col(node), markers))

    def walk(self, body: list[ast.stmt]) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.function(node)
            elif isinstance(node, ast.ClassDef):
                self.walk(node.body)

    def placeholders(self, tree: ast.Module) -> Iterator[ScanIssue]:
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and PLACEHOLDER.match(node.value):
                shown = placeholder_shown(node.value)
                yield ScanIssue(
                    node.lineno, self.col(node), f"placeholder left: '{shown}'; replace it with the real code"
                )


def scan_regression(path: Path) -> RegressionFile:
    """Scan one regression file without importing it."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return RegressionFile(path, {}, (ScanIssue(1, 1, f"cannot read the file: {exc}"),), parsed=False)
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as exc:
        message = f"invalid Python: {exc.msg}"
        return RegressionFile(path, {}, (ScanIssue(exc.lineno or 1, exc.offset or 1, message),), parsed=False)
    except (RecursionError, MemoryError, ValueError):
        # CPython's parser gives up on deeply nested expressions (`- - - ... 1`) with these, not a SyntaxError.
        message = "invalid Python: an expression is nested too deep for Python to parse"
        return RegressionFile(path, {}, (ScanIssue(1, 1, message),), parsed=False)
    scanner = _Scanner(source, tree)
    scanner.walk(tree.body)
    issues = scanner.issues + (list(scanner.placeholders(tree)) if "TODO" in source else [])
    issues += _script_block(source) if "# /// script" in source else []
    return RegressionFile(path, scanner.functions, tuple(sorted(issues)), parsed=True)


def _script_block(source: str) -> list[ScanIssue]:
    """A PEP 723 `# /// script` block: the matrix never reads it, so what it lists would be installed nowhere and
    disagree with the record, the one place that says what a regression needs (`regression.requires`)."""
    for number, line in enumerate(source.splitlines(), 1):
        if line.rstrip() == "# /// script":
            return [ScanIssue(number, 1, "a PEP 723 `# /// script` block is not read by the matrix; list its "
                                         "dependencies in the record's regression.requires instead, and remove it")]
    return []


def regression_files(directory: Path) -> list[Path]:
    """Every Python file under `directory`, skipping caches and hidden folders, in a stable order."""
    if not directory.is_dir():
        return []
    return sorted(
        p
        for p in directory.rglob("*.py")
        if p.is_file()
        and not any(part.startswith(".") or part == "__pycache__" for part in p.relative_to(directory).parts)
    )
