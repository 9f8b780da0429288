"""Where a workaround is no longer needed: the fixes and failed attempts that read *not needed here*, with the
versions of the runs that said so, for the site and the change report to show (`verdict.needed` decides it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from incidentkb.results.cells import Cell, cell_key
from incidentkb.results.runs import Run, newest_cases
from incidentkb.verdict.outcomes import Outcome

if TYPE_CHECKING:
    from incidentkb.records.schema import Incident

__all__ = ["NotNeeded", "not_needed", "SHOWN"]

#: The versions that say where a workaround stopped being needed.
SHOWN = ("torch", "transformers", "trl")


@dataclass(frozen=True)
class NotNeeded:
    """One case that is not needed in one cell's newest run, and the versions that run had."""

    incident: str
    role: str
    case: str
    cell: Cell
    versions: str
    """`torch 2.11.0, transformers 4.57.6, trl 0.27.0`: what the run installed of `SHOWN`."""
    source: str


def not_needed(runs: Iterable[Run], records: Mapping[str, Incident]) -> dict[str, list[NotNeeded]]:
    """By incident, every fix or failed attempt that reads *not needed here* in the newest run of a cell, in cell
    order: the versions with which the original code works without it."""
    found: dict[str, list[NotNeeded]] = {}
    for pairs in newest_cases(run.judged(records) for run in runs).values():
        for run, case in pairs:
            if case.outcome is Outcome.not_needed:
                versions = ", ".join(f"{n} {run.versions[n]}" for n in SHOWN if run.versions.get(n))
                found.setdefault(case.incident, []).append(
                    NotNeeded(case.incident, case.role, case.name, run.cell, versions, run.source))
    return {incident: sorted(items, key=lambda n: (cell_key(n.cell), n.role)) for incident, items in found.items()}
