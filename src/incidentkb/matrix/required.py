"""What an incident requires beyond the stacks: the versions of each required package, as axes of that incident.

A record's `regression.requires` (`["albumentations"]`) names packages no stack installs. In every cell that runs
the incident, each such package takes the versions that say something about it: the record's original version
(`environment.libraries`) and the newest that installs with the cell's torch and stack (resolved when the cell
runs, as the `latest` stack is); a range (`albumentations>=1.3,<2`) keeps the original only when it is inside,
and a pin (`==1.3.1`) is that version alone. Each combination is a cell of its own for that incident,
`torch=2.13.0 stack=4.51.3 gpus=0 albumentations=1.3.1`, with an environment of its own (the cell's, plus the
pins; cached like any cell's) and a results file of its own, so the versions are recorded, tabled and shown
like any axis. Incidents with equal `requires` share those environments. Nothing here skips a case: a version
that cannot be installed is that cell's environment failure, in its results file.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from incidentkb.host.versions import canonical_name, version_satisfies
from incidentkb.matrix.axes import Cell, Matrix
from incidentkb.matrix.planning import Assignment, Target

__all__ = ["ANY", "Need", "names", "split", "wanted_versions", "variant_cells", "cells_for", "run_all"]

R = TypeVar("R")

#: The version of a required package when neither the record's original nor the newest is known (offline, and
#: the record names no original): the installer chooses, and the results file's `versions` says what it chose.
ANY = "any"


@dataclass(frozen=True)
class Need:
    """Incidents of one cell that require the same packages, and so share their environments."""

    requires: tuple[str, ...]
    targets: tuple[Target, ...]

    @property
    def original(self) -> dict[str, str]:
        """The original versions the records name, by canonical name (the first record's, where they differ)."""
        found: dict[str, str] = {}
        for target in self.targets:
            for name, version in target.original:
                found.setdefault(name, version)
        return found


def split(assignment: Assignment) -> tuple[Assignment, list[Need]]:
    """The cell's own run (incidents that require nothing more) and one `Need` per distinct `requires`."""
    groups: dict[tuple[str, ...], list[Target]] = {}
    for target in assignment.run:
        if target.requires:
            groups.setdefault(tuple(sorted(target.requires)), []).append(target)
    base = Assignment(tuple(t for t in assignment.run if not t.requires), assignment.covered)
    return base, [Need(requires, tuple(targets)) for requires, targets in groups.items()]


def _specifier(requirement: str) -> tuple[str, str]:
    from packaging.requirements import Requirement

    parsed = Requirement(requirement)
    return canonical_name(parsed.name), str(parsed.specifier)


def wanted_versions(requirement: str, *, original: str | None, newest: str | None, pinned: str | None = None) -> list[str]:
    """The versions of one required package a cell runs, oldest first: the cell's own pin if it has one (a
    candidate that pins it), else the original (when inside the requirement's range) and the newest.

    >>> wanted_versions("albumentations", original="1.3.1", newest="2.0.8")
    ['1.3.1', '2.0.8']
    """
    if pinned:
        return [pinned]
    _, specifier = _specifier(requirement)
    versions = [v for v in (original, newest) if v and (not specifier or version_satisfies(v, specifier))]
    return list(dict.fromkeys(versions)) or [ANY]


def variant_cells(matrix: Matrix, cell: Cell, need: Need, newest: Mapping[str, str]) -> list[Cell]:
    """The cells in which the need's incidents run: one per combination of the wanted versions of each package."""
    pinned = matrix.versions(cell)
    choices = []
    for requirement in need.requires:
        name, _ = _specifier(requirement)
        versions = wanted_versions(requirement, original=need.original.get(name), newest=newest.get(name),
                                   pinned=pinned.get(name))
        choices.append([(name, version) for version in versions])
    return [cell.requiring(dict(combination)) for combination in itertools.product(*choices)]


def cells_for(matrix: Matrix, cell: Cell, needs: Sequence[Need], *,
              newest: Callable[[tuple[str, ...]], Mapping[str, str]]) -> list[tuple[Cell, Assignment]]:
    """Every variant cell of `cell` with the incidents it runs; `newest` resolves a need's newest versions."""
    runs: dict[Cell, list[Target]] = {}
    for need in needs:
        for variant in variant_cells(matrix, cell, need, newest(need.requires)):
            runs.setdefault(variant, []).extend(need.targets)
    return [(variant, Assignment(tuple(targets))) for variant, targets in runs.items()]


def names(targets: Sequence[Target]) -> tuple[str, ...]:
    """Every package some record requires, by canonical name: what `candidate` and `bisect` may pin beyond the stacks."""
    return tuple(sorted({_specifier(text)[0] for target in targets for text in target.requires}))


def run_all(matrix: Matrix, cell: Cell, assignment: Assignment, *, run_one: Callable[[Cell, Assignment], R],
            newest: Callable[[tuple[str, ...]], Mapping[str, str]]) -> list[R]:
    """Run the cell's own incidents, then each version of what the others require, each as a cell of its own.

    `run_one` runs one cell (`cell_run.run_cell`); `newest` resolves the newest versions of a need
    (`cell_run.newest_required`), asked only when some incident of the cell requires something.
    """
    own, needs = split(assignment)
    results = [run_one(cell, own)]
    return results + [run_one(variant, runs) for variant, runs in cells_for(matrix, cell, needs, newest=newest)]
