"""Which incidents each cell runs: an incident runs where its dependencies take versions not run before.

An incident runs only where the libraries it `depends_on` (and the GPU count, which always matters) take a
combination of versions not run before: the dtype incident, which depends on torch alone, runs once per torch
version and GPU setting, not once per transformers stack; the other cells note which cell's run stands for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from incidentkb.host.versions import canonical_name
from incidentkb.matrix.axes import Cell, Matrix, MatrixError

if TYPE_CHECKING:
    from incidentkb.records.schema import Incident

__all__ = ["Target", "Assignment", "Planner", "load_targets", "target_of", "plan"]


@dataclass(frozen=True)
class Target:
    """What the matrix needs of an incident record: its regression file, cases and dependencies."""

    incident: str
    path: str
    depends_on: tuple[str, ...]
    cases: tuple[tuple[str, str], ...] = ()
    """(test function name, role) pairs, as the record lists them."""
    requires: tuple[str, ...] = ()
    """What the regression needs beyond the stacks (`regression.requires`, PEP 508): it runs in environments of its
    own, one per version of these packages (`incidentkb.matrix.required`)."""
    original: tuple[tuple[str, str], ...] = ()
    """The versions of the required packages in the record's `environment.libraries`, by canonical name."""

    def key(self, matrix: Matrix, cell: Cell) -> tuple[tuple[str, str], ...]:
        """The cell seen through the incident's dependencies: cells with equal keys cannot differ for it."""
        versions = matrix.versions(cell)
        libraries = sorted({canonical_name(name) for name in self.depends_on})
        return (("gpus", str(cell.gpus)),) + tuple((name, versions.get(name, "*")) for name in libraries)


def load_targets(root: str | Path = ".") -> list[Target]:
    """The regression part of every record in `incidents/`, sorted by file name.

    Read as `incidentkb check` reads records (its YAML reader, the schema); a record that cannot be read (a
    duplicate key, a `TODO:` left) stops the run with its first problem, placed at its line.
    """
    from incidentkb.records.reader import read_record, record_files

    targets = []
    for path in record_files(Path(root, "incidents")):
        record = read_record(path, check_patterns=False)
        if record.incident is None:
            first = record.problems[0] if record.problems else f"{path}: not a valid record"
            raise MatrixError(f"{first}; run `incidentkb check {path}`")
        targets.append(target_of(record.incident))
    return targets


def target_of(incident: Incident) -> Target:
    """What the matrix needs of one record."""
    from incidentkb.records.schema import requirement_name

    regression = incident.regression
    required = {requirement_name(text) for text in regression.requires}
    libraries = {canonical_name(name): version.split("+", 1)[0] for name, version in incident.environment.libraries.items()}
    return Target(
        incident=incident.id, path=regression.path, depends_on=tuple(regression.depends_on),
        cases=tuple((case.name, case.role) for case in regression.cases), requires=tuple(regression.requires),
        original=tuple(sorted((name, libraries[name]) for name in required if name in libraries)),
    )


@dataclass(frozen=True)
class Assignment:
    """What one cell runs, and for each incident it leaves out, the earlier cell whose run stands for it."""

    run: tuple[Target, ...]
    covered: Mapping[str, Cell] = field(default_factory=dict)

    @property
    def files(self) -> list[str]:
        return sorted({target.path for target in self.run})


class Planner:
    """Hands each cell, in the order cells run, the incidents whose dependency key no earlier cell has run."""

    def __init__(self, matrix: Matrix, targets: Iterable[Target]) -> None:
        self.matrix = matrix
        self.targets = tuple(targets)
        self._first: dict[tuple[str, tuple[tuple[str, str], ...]], Cell] = {}

    def assign(self, cell: Cell) -> Assignment:
        run, covered = [], {}
        for target in self.targets:
            key = (target.incident, target.key(self.matrix, cell))
            first = self._first.setdefault(key, cell)
            if first == cell:
                run.append(target)
            else:
                covered[target.incident] = first
        return Assignment(tuple(run), covered)


def plan(matrix: Matrix, cells: Iterable[Cell], targets: Iterable[Target]) -> dict[Cell, Assignment]:
    """Each cell's assignment when the cells run in the given order (the pure form of `Planner`)."""
    planner = Planner(matrix, targets)
    return {cell: planner.assign(cell) for cell in cells}
