"""The regression matrix: its axes, its cells, what a cell may not run and which incidents each cell runs.

Everything comes from one declared file, `regressions/matrix.toml`, so adding a torch version or a stack is a
data change. A `Cell` is a value object whose string (`torch=2.6.0 stack=4.51.3 gpus=0`) is the nox session id,
the pytest id and the key of results files. An incident runs only where the libraries it `depends_on` (and the
GPU count, which always matters) take a combination of versions not run before: the dtype incident, which
depends on torch alone, runs once per torch version and GPU setting, not once per transformers stack.
"""

from __future__ import annotations

import itertools
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from incidentkb.host.versions import canonical_name, version_satisfies
# A cell is what results files are keyed by, so it lives with them (one layer down); the matrix re-exports it.
from incidentkb.results.cells import AXES, Cell, MatrixError, cell_key, version_key

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "MATRIX_FILE",
    "AXES",
    "MatrixError",
    "Cell",
    "TorchOption",
    "Stack",
    "GpuSetting",
    "Exclusion",
    "Matrix",
    "load_matrix",
    "pinned_version",
    "cell_key",
    "version_key",
]

#: Where the matrix is declared, relative to the repository root.
MATRIX_FILE = "regressions/matrix.toml"


def pinned_version(requirement: str) -> tuple[str, str | None]:
    """`transformers==4.51.3` -> (`transformers`, `4.51.3`); a requirement that pins nothing -> (name, None)."""
    match = re.fullmatch(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:==\s*([^\s,;]+))?\s*", requirement)
    if match is None:
        raise MatrixError(f"requirement {requirement!r}: write 'name==version'")
    return canonical_name(match.group(1)), match.group(2)


@dataclass(frozen=True)
class TorchOption:
    """A value of the torch axis: a pinned requirement, or `installed` (the host's own torch)."""

    id: str
    why: str
    requirement: str | None = None
    also_install: tuple[str, ...] = ()
    """Packages this torch needs at run time without declaring them (installed beside it)."""
    find_links: tuple[str, ...] = ()
    host_provides: tuple[str, ...] = ()
    on_request: bool = False
    """Not multiplied into the matrix's cells: run only when a command asks for it (`nox -s latest -- --torch latest`)."""

    @property
    def requirements(self) -> tuple[str, ...]:
        return ((self.requirement,) if self.requirement else ()) + self.also_install

    @property
    def is_host(self) -> bool:
        return self.requirement is None

    @property
    def is_resolved(self) -> bool:
        """Whether the version is chosen when the cell runs (`torch` with no pin: the newest the host can install)."""
        return self.requirement is not None and pinned_version(self.requirement)[1] is None


@dataclass(frozen=True)
class Stack:
    """A value of the stack axis: transformers, trl and their companions pinned together."""

    id: str
    why: str
    packages: tuple[str, ...]
    gpu_packages: tuple[str, ...] = ()
    requires_torch: str | None = None
    resolve: tuple[str, ...] = ()
    """Names whose newest versions that install together with the cell's torch are chosen when the cell runs."""
    gpu_resolve: tuple[str, ...] = ()
    """As `resolve`, in cells with GPUs only (like `gpu_packages`)."""

    def requirements(self, *, gpus: int) -> tuple[str, ...]:
        """What the stack installs; GPU-only packages only where there are GPUs."""
        return self.packages + (self.gpu_packages if gpus else ())

    def to_resolve(self, *, gpus: int) -> tuple[str, ...]:
        """The names this stack leaves to the resolver in a cell with `gpus` GPUs."""
        return self.resolve + (self.gpu_resolve if gpus else ())

    @property
    def is_resolved(self) -> bool:
        """Whether some versions are chosen when the cell runs (`latest`, a candidate that pins only some)."""
        return bool(self.resolve or self.gpu_resolve)

    def versions(self, *, gpus: int) -> dict[str, str]:
        """Pinned versions of `requirements`, by canonical name."""
        return {name: version for name, version in map(pinned_version, self.requirements(gpus=gpus)) if version}


@dataclass(frozen=True)
class GpuSetting:
    """A value of the GPU axis and how its cases may share the host."""

    count: int
    why: str
    workers: str = "0"
    """pytest-xdist's `-n`: `auto`, a number (`1` runs the cases one at a time, and a case that kills its worker
    costs that case only), or `0` for pytest without xdist (a case that kills pytest costs the whole cell)."""


@dataclass(frozen=True)
class Exclusion:
    """Cells that must not run, matched on some axes, with the reason shown wherever they would have appeared."""

    match: Mapping[str, str]
    reason: str

    def matches(self, cell: Cell) -> bool:
        values = {"torch": cell.torch, "stack": cell.stack, "gpus": str(cell.gpus)}
        return all(values[axis] == str(value) for axis, value in self.match.items())


@dataclass(frozen=True)
class Matrix:
    """The axes and exclusions as declared, and the run limits."""

    torch: tuple[TorchOption, ...]
    stacks: tuple[Stack, ...]
    gpus: tuple[GpuSetting, ...]
    exclusions: tuple[Exclusion, ...] = ()
    case_timeout_s: int = 600
    cell_timeout_s: int = 5400

    def cells(self) -> list[Cell]:
        """Every cell, exclusions included, in axis order (torch, then stack, then gpus); on-request torch left out."""
        torch = [t for t in self.torch if not t.on_request]
        return [Cell(t.id, s.id, g.count) for t, s, g in itertools.product(torch, self.stacks, self.gpus)]

    def torch_option(self, cell: Cell) -> TorchOption:
        """The cell's torch; a version that is no axis value (a candidate's `--torch 2.12.0`) is pinned as asked."""
        if re.fullmatch(r"\d+(\.\d+)+", cell.torch) and cell.torch not in {t.id for t in self.torch}:
            links = tuple(dict.fromkeys(link for t in self.torch for link in t.find_links))
            return TorchOption(cell.torch, "asked for on the command line", f"torch=={cell.torch}", find_links=links)
        return _find(self.torch, cell.torch, "torch")

    def stack(self, cell: Cell) -> Stack:
        return _find(self.stacks, cell.stack, "stack")

    def gpu_setting(self, cell: Cell) -> GpuSetting:
        for setting in self.gpus:
            if setting.count == cell.gpus:
                return setting
        raise MatrixError(f"{cell}: gpus={cell.gpus} is not an axis value; choose from {[g.count for g in self.gpus]}")

    def excluded(self, cell: Cell) -> str | None:
        """Why the matrix itself rules the cell out (whatever the host), or None."""
        for exclusion in self.exclusions:
            if exclusion.matches(cell):
                return exclusion.reason
        option, stack = self.torch_option(cell), self.stack(cell)
        if not option.is_host and stack.requires_torch and option.requirement:
            _, version = pinned_version(option.requirement)
            if version and not version_satisfies(version, stack.requires_torch):
                return f"stack {stack.id} needs torch{stack.requires_torch}, the cell pins torch {version}"
        return None

    def with_stack(self, stack: Stack) -> "Matrix":
        """This matrix with one more stack (a candidate named on the command line), or `stack` replacing its id."""
        return replace(self, stacks=tuple(s for s in self.stacks if s.id != stack.id) + (stack,))

    def pinned(self, cell: Cell, versions: Mapping[str, str]) -> "Matrix":
        """This matrix with what the cell left to the resolver pinned to `versions` (what the resolution chose)."""
        option, stack = self.torch_option(cell), self.stack(cell)
        if option.is_resolved and "torch" in versions:
            option = replace(option, requirement=f"torch=={versions['torch']}")
        chosen = lambda names: tuple(f"{n}=={versions[canonical_name(n)]}" for n in names if canonical_name(n) in versions)  # noqa: E731
        stack = replace(stack, packages=stack.packages + chosen(stack.resolve),
                        gpu_packages=stack.gpu_packages + chosen(stack.gpu_resolve), resolve=(), gpu_resolve=())
        torch = tuple(t for t in self.torch if t.id != option.id) + (option,)
        return replace(self.with_stack(stack), torch=torch)

    def packages(self) -> tuple[str, ...]:
        """Every package the stacks name (pinned or resolved) and torch: what a candidate may pin, by canonical name."""
        names = {"torch"}
        for stack in self.stacks:
            names.update(pinned_version(r)[0] for r in stack.packages + stack.gpu_packages + stack.resolve + stack.gpu_resolve)
        return tuple(sorted(names))

    def versions(self, cell: Cell) -> dict[str, str]:
        """The version each library has in the cell, as far as the matrix pins it (`installed` for the host's torch)."""
        versions = self.stack(cell).versions(gpus=cell.gpus)
        versions["torch"] = self.torch_option(cell).id
        versions.update(cell.requires)
        return versions


def _find(options: Sequence[Any], key: str, axis: str) -> Any:
    for option in options:
        if option.id == key:
            return option
    raise MatrixError(f"{axis}={key} is not in {MATRIX_FILE}; choose from {[o.id for o in options]}")


#: The keys each table may have, besides `why` and a `<key>_why` for any of them (`case_timeout_why` for
#: `case_timeout_s`); a misspelt key is an error
#: rather than a setting silently left out (`requires_toch` would drop the stack's bound on torch).
_KEYS = {
    "torch": {"id", "requirement", "also_install", "find_links", "host_provides", "on_request"},
    "stack": {"id", "packages", "gpu_packages", "requires_torch", "resolve", "gpu_resolve"},
    "gpus": {"count", "workers"},
    "run": {"case_timeout_s", "cell_timeout_s"},
}


def _unknown_keys(entry: Mapping[str, Any], table: str, where: str) -> None:
    allowed = _KEYS[table] | {"why"} | {f"{key.removesuffix('_s')}_why" for key in _KEYS[table]}
    unknown = sorted(set(entry) - allowed)
    if unknown:
        raise MatrixError(f"{where}: [{table}] has the unknown key {unknown[0]!r}; use {sorted(_KEYS[table])}")


def _entries(data: Mapping[str, Any], key: str, where: str) -> list[Mapping[str, Any]]:
    entries = data.get(key, [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise MatrixError(f"{where}: [[{key}]] must be a list of tables")
    for index, entry in enumerate(entries, 1):
        if not str(entry.get("why" if key != "exclude" else "reason", "")).strip():
            what = "reason" if key == "exclude" else "why"
            raise MatrixError(f"{where}: [[{key}]] entry {index} has no '{what}'; say why it is there")
        if key in _KEYS:
            _unknown_keys(entry, key, where)
    return entries


def _check_specifier(stack: Stack, where: str) -> None:
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        SpecifierSet(str(stack.requires_torch))
    except InvalidSpecifier:
        raise MatrixError(
            f"{where}: stack {stack.id}: requires_torch {stack.requires_torch!r} is not a version specifier; "
            "write e.g. '>=2.6'"
        ) from None


def load_matrix(path: str | Path = MATRIX_FILE) -> Matrix:
    """Read and check the declared matrix; a mistake raises `MatrixError` naming the file and the entry."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MatrixError(f"{path}: {exc}") from None
    where = str(path)
    try:
        torch = tuple(
            TorchOption(
                id=str(e["id"]), why=e["why"], requirement=e.get("requirement"), also_install=tuple(e.get("also_install", ())),
                find_links=tuple(e.get("find_links", ())), host_provides=tuple(e.get("host_provides", ())),
                on_request=bool(e.get("on_request", False)),
            )
            for e in _entries(data, "torch", where)
        )
        stacks = tuple(
            Stack(
                id=str(e["id"]), why=e["why"], packages=tuple(e["packages"]),
                gpu_packages=tuple(e.get("gpu_packages", ())), requires_torch=e.get("requires_torch"),
                resolve=tuple(e.get("resolve", ())), gpu_resolve=tuple(e.get("gpu_resolve", ())),
            )
            for e in _entries(data, "stack", where)
        )
        gpus = tuple(
            GpuSetting(count=int(e["count"]), why=e["why"], workers=str(e.get("workers", "0")))
            for e in _entries(data, "gpus", where)
        )
        exclusions = tuple(
            Exclusion(match={k: str(v) for k, v in e.items() if k != "reason"}, reason=e["reason"])
            for e in _entries(data, "exclude", where)
        )
    except KeyError as exc:
        raise MatrixError(f"{where}: an entry lacks the key {exc.args[0]!r}") from None
    for axis, ids in (("torch", [t.id for t in torch]), ("stack", [s.id for s in stacks]), ("gpus", [g.count for g in gpus])):
        if not ids:
            raise MatrixError(f"{where}: the axis '{axis}' has no entry")
        if len(set(ids)) != len(ids):
            raise MatrixError(f"{where}: the axis '{axis}' lists a value twice: {ids}")
    for exclusion in exclusions:
        if not set(exclusion.match) <= set(AXES) or not exclusion.match:
            raise MatrixError(f"{where}: an [[exclude]] entry matches on {sorted(exclusion.match)}; use {list(AXES)}")
    for stack in stacks:
        for requirement in stack.packages + stack.gpu_packages:
            if pinned_version(requirement)[1] is None:
                raise MatrixError(f"{where}: stack {stack.id}: {requirement!r} must pin a version with '=='"
                                  " (a name to choose when the cell runs belongs in `resolve`)")
        for name in stack.resolve + stack.gpu_resolve:
            if pinned_version(name)[1] is not None:
                raise MatrixError(f"{where}: stack {stack.id}: `resolve` names packages, not versions: {name!r}")
        if stack.requires_torch is not None:
            _check_specifier(stack, where)
    run = data.get("run", {})
    _unknown_keys(run, "run", where)
    return Matrix(
        torch=torch, stacks=stacks, gpus=gpus, exclusions=exclusions,
        case_timeout_s=int(run.get("case_timeout_s", 600)), cell_timeout_s=int(run.get("cell_timeout_s", 5400)),
    )
