"""The fingerprint of one incident's run in one cell: everything that decides its outcome, as hashes.

A stored run whose fingerprint equals the one a run would have now is not run again (`matrix.reuse` decides).
The parts, each a hash or a short string so that the log can say which one changed:

- `regression`: the regression file, `regressions/conftest.py`, every helper module or package under
  `regressions/` the file imports (read from its imports, transitively; a helper package counts whole, data files
  included, since helpers open files and start scripts), and the record's `regression` and `symptom` sections (the
  cases read the symptom's signatures and thresholds through `incident_record`; the record's prose does not
  change an outcome, and verdicts are judged anew from the records whenever results are read);
- `code`: incidentkb's code that runs a regression: the pytest plugin and every module it imports (but the
  record reader, whose output the `regression` part holds as data), the module that makes the cell's pytest
  command, and pyproject.toml; a hash of the code (its syntax tree: a reworded
  docstring or comment re-runs nothing), not its version number (the site, `check`, the table and the command
  line are left out: they never touch a run);
- `lock`: the exact versions the cell's environment holds (`matrix.locks`), not the stack's id;
- `torch`: the torch build: its version with its local tag (`2.13.0+cpu`) and where it comes from;
- `host`: the host's class: on a GPU cell the GPUs the cell sees (model and count), the driver and the CUDA the
  driver offers; on a CPU cell the CPU model, the number of CPUs and the architecture.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

__all__ = ["PARTS", "Fingerprint", "regression_files", "regression_hash", "code_files", "code_hash", "lock_hash",
           "host_class", "digest_of"]

#: The parts of a fingerprint, in the order the log names a difference.
PARTS = ("regression", "code", "lock", "torch", "host")

#: Where a run of a regression happens inside incidentkb: every module of the pytest plugin (pytest loads them
#: all) and the module that makes the cell's pytest command line and words a crash; `code_files` adds all they
#: import. How the environment is built is left out: what it holds is the `lock` part.
CODE_ROOTS = ("plugin/*.py", "matrix/pytest_process.py")
#: Left out of the `code` part although the plugin imports them: what the record reader gives a run is hashed as
#: data instead (the record's `regression` and `symptom` sections as parsed, in the `regression` part), so a change
#: of how records are checked (a new rule for an unwritten `fix:`) re-runs nothing, and a change of what a record
#: parses to re-runs exactly the incidents whose sections it changes.
CODE_LEFT_OUT = ("records",)


def digest_of(value: Any) -> str:
    """A short, stable hash of JSON-able data (keys sorted): 16 hex digits."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Fingerprint:
    """What decides one incident's outcome in one cell; equal fingerprints mean the run need not be repeated."""

    regression: str
    code: str
    lock: str
    torch: str
    host: str

    @property
    def digest(self) -> str:
        return digest_of(asdict(self))

    def as_dict(self) -> dict[str, str]:
        """As results files store it: the parts and their digest."""
        return {**asdict(self), "digest": self.digest}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Fingerprint | None":
        """A stored fingerprint, or None where a file has none (written before fingerprints) or a broken one."""
        try:
            return cls(**{part: str(data[part]) for part in PARTS})
        except (KeyError, TypeError):
            return None

    def differences(self, other: "Fingerprint") -> list[str]:
        """The parts that differ, in `PARTS` order: what the log says made a run necessary."""
        return [part for part in PARTS if getattr(self, part) != getattr(other, part)]


def _local_imports(path: Path, folder: Path) -> set[Path]:
    """The helper modules or packages under `folder` that a Python file imports (top-level names only)."""
    try:
        stat = path.stat()
    except OSError:
        return set()
    return set(_imports_of(path, folder, stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=4096)
def _imports_of(path: Path, folder: Path, mtime_ns: int, size: int) -> frozenset[Path]:
    """`_local_imports`, read once per version of the file: every incident's conftest and shared helpers are
    parsed once a run, not once per incident (at 200 incidents that was a second of a warm run)."""
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    found = set()
    for name in names:
        for candidate in (folder / name, folder / f"{name}.py"):
            if candidate.exists():
                found.add(candidate)
    return frozenset(found)


def regression_files(root: Path, test_path: str) -> list[Path]:
    """The files one regression's outcome depends on: itself, the conftest, its helpers (transitively, whole)."""
    folder = root / "regressions"
    start = root / test_path
    seen: set[Path] = set()
    todo = [start, folder / "conftest.py"]
    while todo:
        item = todo.pop()
        if item in seen or not item.exists():
            continue
        seen.add(item)
        files = sorted(p for p in item.rglob("*") if p.is_file() and "__pycache__" not in p.parts) if item.is_dir() else [item]
        for file in files:
            seen.add(file)
            if file.suffix == ".py":
                todo.extend(_local_imports(file, folder) - seen)
    return sorted(p for p in seen if p.is_file())


def _files_digest(root: Path, files: Iterable[Path]) -> dict[str, str]:
    digests = {}
    for path in files:
        stat = path.stat()
        digests[str(path.relative_to(root))] = _file_digest(path, stat.st_mtime_ns, stat.st_size)
    return digests


@functools.lru_cache(maxsize=4096)
def _file_digest(path: Path, mtime_ns: int, size: int) -> str:
    """A file's sha256, read once per version of the file (shared helpers are inputs of many incidents)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def regression_hash(root: Path, test_path: str, sections: Mapping[str, Any]) -> str:
    """The `regression` part: the regression's files and the record's sections that its cases read."""
    return digest_of({"files": _files_digest(root, regression_files(root, test_path)), "record": sections})


def _package_imports(path: Path, package: Path) -> set[Path]:
    """The incidentkb modules a module of the package imports (absolute `incidentkb.x.y` imports)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("incidentkb"):
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names if alias.name.startswith("incidentkb"))
    found = set()
    for module in modules:
        relative = Path(*module.split(".")[1:])
        for candidate in (package / relative.with_suffix(".py"), package / relative / "__init__.py"):
            if candidate.is_file():
                found.add(candidate)
    return found


def code_files(package: Path) -> list[Path]:
    """incidentkb's modules that take part in running a regression: `CODE_ROOTS` and all they import."""
    seen: set[Path] = set()
    todo = [path for root in CODE_ROOTS for path in sorted(package.glob(root))] + [package / "__init__.py"]
    while todo:
        path = todo.pop()
        if path in seen or not path.is_file() or path.relative_to(package).parts[0] in CODE_LEFT_OUT:
            continue
        seen.add(path)
        todo.extend(_package_imports(path, package) - seen)
        if path.name != "__init__.py" and (path.parent / "__init__.py").is_file():
            todo.append(path.parent / "__init__.py")  # importing a module runs its package's __init__
    return sorted(seen)


def _code_digest(path: Path) -> str:
    """A module's code without its docstrings and comments (its syntax tree): rewording one re-runs nothing."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            node.body = body[1:] or [ast.Pass()]  # type: ignore[attr-defined]
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()


@functools.lru_cache(maxsize=4)
def code_hash(package: Path, pyproject: Path) -> str:
    """The `code` part: a hash of `code_files` (their code, not their docstrings or comments) and of
    pyproject.toml (the project's dependencies, its pytest plugin)."""
    files = code_files(package)
    digests = {str(p.relative_to(package.parent)): _code_digest(p) for p in files}
    if pyproject.is_file():
        digests["pyproject.toml"] = hashlib.sha256(pyproject.read_bytes()).hexdigest()
    return digest_of(digests)


def lock_hash(pins: Mapping[str, str]) -> str:
    """The `lock` part: every package of the environment and its exact version."""
    return digest_of(dict(sorted(pins.items())))


def host_class(gpus: int, *, gpu_names: Iterable[str], driver: str | None, cuda: str | None, cpu: str,
               cpu_count: int | None, arch: str) -> str:
    """The `host` part, in words: what a run on another machine of the same class would also see.

    A GPU cell's outcome is a fact about its GPUs (model and count), the driver and the CUDA it offers, so an H100
    run is never reused for an H200 cell; the CPU is left out there. A CPU cell's is a fact about the CPU: its
    model (kernels are chosen by instruction set), the number of CPUs (pytest-xdist's workers, threads) and the
    architecture. The kernel's version, the memory and the load are left out: they change with every reboot or
    container and, in the cases' own terms, decide nothing but time.
    """
    if gpus:
        names = list(gpu_names)[:gpus]
        return f"{len(names)} x {' + '.join(sorted(set(names))) or 'no GPU'}, driver {driver or '?'}, CUDA {cuda or '?'}, {arch}"
    return f"{cpu_count or '?'} x {cpu or '?'}, {arch}"
