"""An incident's own axes: which parts of a cell can change its outcome, as its record says.

The matrix multiplies torch x stack x GPUs for every incident, but an incident that `depends_on: [torch]` cannot
differ between stacks, and one that `requires` albumentations differs between albumentations versions that the
matrix's axes do not name. The incident's grid and its run-locally command show its own axes: the GPU count
(always), torch where `depends_on` names it, the stacks where it names any other library of theirs, and the
versions of each package it `requires` (cells `... albumentations=1.3.1`). Also here: the words for a case whose
stated hardware no run has shown: `verifiable on no cell of this matrix` where `incidentkb check` says so (the
same function, `gpu_conditions.hardware_note`, over the same GPUs: those the results files recorded), else `not yet
run on a GPU that meets its conditions`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from incidentkb.host.gpu_conditions import NOT_YET, GpuFacts, condition_words, hardware_note
from incidentkb.host.versions import canonical_name
from incidentkb.matrix.axes import Cell, version_key
from incidentkb.records.schema import Incident, requirement_name
from incidentkb.verdict.outcomes import Outcome

__all__ = ["OwnAxes", "own_axes", "unverifiable"]

Row = tuple[str, tuple[tuple[str, str], ...]]
Column = tuple[str, int]


@dataclass(frozen=True)
class OwnAxes:
    """Which axes matter to one incident; the others are shown as `any`."""

    torch: bool
    stacks: bool

    def row(self, cell: Cell) -> Row:
        """The grid row of a cell: its stack (where stacks matter) and its required packages' versions."""
        return (cell.stack if self.stacks else "", cell.requires)

    def column(self, cell: Cell) -> Column:
        """The grid column of a cell: its torch (where torch matters) and its GPU count."""
        return (cell.torch if self.torch else "", cell.gpus)

    def rows(self, cells: Iterable[Cell]) -> list[Row]:
        """Newest stack first, each package's versions oldest first."""
        found = {self.row(cell) for cell in cells}
        by_requires = sorted(found, key=lambda r: tuple((n, version_key(v)) for n, v in r[1]))
        return sorted(by_requires, key=lambda r: version_key(r[0]), reverse=True)

    def columns(self, cells: Iterable[Cell]) -> list[Column]:
        return sorted({self.column(cell) for cell in cells},
                      key=lambda c: (c[1], c[0] == "installed", version_key(c[0])))


def own_axes(incident: Incident) -> OwnAxes:
    """What `regression.depends_on` (and `requires`) make this incident's axes."""
    depends = {canonical_name(name) for name in incident.regression.depends_on}
    required = {requirement_name(text) for text in incident.regression.requires}
    return OwnAxes(torch="torch" in depends, stacks=bool(depends - {"torch"} - required))


def unverifiable(incident: Incident, outcomes: dict[str, list[Outcome]], gpus: Sequence[GpuFacts]
                 ) -> list[tuple[str, str]]:
    """(case, words) for each case whose `applies_when` names hardware and that no run has shown: every outcome it
    has is *not applicable* or *not run*. `outcomes`: each case's outcomes in the cells it has entries in; `gpus`:
    every GPU the results files recorded. Whether it is verifiable on no cell is `check`'s answer (`hardware_note`);
    where a GPU the matrix has meets the conditions, the case has simply not run on one yet."""
    found = []
    for case in incident.regression.cases:
        applies = case.applies_when
        if applies is None or not applies.hardware:
            continue
        if all(o in (Outcome.not_applicable, Outcome.not_run) for o in outcomes.get(case.role, [])):
            capability, memory = applies.compute_capability, applies.gpu_memory_gb
            words = hardware_note(gpus, capability, memory, applies.why) or \
                f"{NOT_YET}{condition_words(capability, memory)} ({applies.why})"
            found.append((case.name, words))
    return found
