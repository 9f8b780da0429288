"""What changed: for each cell, every case whose outcome differs from the run before, since when, and the error seen.

Results files are never overwritten, so a cell's files are its history. Each run is judged anew against today's
records (`Run.judged`) before runs are compared, so a corrected record never shows up as a change of
behaviour. A case is compared between two runs only where both ran it (a case skipped for unmet needs, `not run`,
or deselected, says nothing about the libraries). `nox -s changes` prints the newest change of each cell and fails
when a fix broke, so a scheduled run of `latest` can raise the alarm; the site shows each cell's whole history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from incidentkb.results.cells import Cell, cell_key
from incidentkb.results.runs import Run
from incidentkb.verdict.outcomes import LEVEL_RANK, Outcome

if TYPE_CHECKING:
    from incidentkb.records.schema import Incident

__all__ = ["Change", "history", "newest", "broken_fixes", "render", "role_outcomes"]


@dataclass(frozen=True)
class Change:
    """One case of one cell whose outcome differs from its previous run."""

    cell: Cell
    incident: str
    case: str
    """The test function with its parameters, `test_fix_cast_to_float32[cpu]`."""
    role: str
    before: Outcome
    after: Outcome
    since: str
    """When the first run with the new outcome finished (ISO time)."""
    since_file: str | None
    """That run's results file (name), and the previous run's below."""
    previous_file: str | None
    error: str | None
    """The error the new run observed (`type: message`, first line), else the verdict's detail."""
    versions: tuple[str, ...] = ()
    """What differed between the two runs' installed versions: `transformers 5.24.0 -> 5.25.0`."""

    @property
    def broke(self) -> bool:
        """A fix that held (or was new) and now fails: what a scheduled job must raise an alarm for."""
        return self.role.startswith("fix") and self.after.fails_run and not self.before.fails_run


def history(results: Iterable[Run], records: Mapping[str, Incident]) -> dict[Cell, list[Change]]:
    """Every outcome change of every cell, oldest first, each run judged against `records` before comparing.

    `results` are the results files as `results.runs.read_all` reads them (any order); cells without a change
    are left out. A case is followed from run to run of its cell: a change is reported in the first run with the
    new outcome (`since`), compared with the case's previous run in that cell (runs that left the case out are
    skipped over, not counted as a change).
    """
    by_cell: dict[Cell, list[Run]] = defaultdict(list)
    for result in results:
        by_cell[result.cell].append(result)
    out: dict[Cell, list[Change]] = {}
    for cell in sorted(by_cell, key=cell_key):
        last: dict[tuple[str, str], tuple[Outcome, Run]] = {}
        changes: list[Change] = []
        for run in sorted(by_cell[cell], key=lambda r: r.finished):
            judged = run.judged(records)
            for case in judged.cases:
                if case.outcome is Outcome.not_run:
                    continue
                key = (case.incident, case.name)
                previous = last.get(key)
                if previous is not None and previous[0] is not case.outcome:
                    changes.append(Change(
                        cell=cell, incident=case.incident, case=case.name, role=case.role, before=previous[0],
                        after=case.outcome, since=run.finished, since_file=run.path.name if run.path else None,
                        previous_file=previous[1].path.name if previous[1].path else None,
                        error=case.error_line or case.detail,
                        versions=previous[1].versions.changes(run.versions),
                    ))
                last[key] = (case.outcome, run)
        if changes:
            out[cell] = changes
    return out


def role_outcomes(run: Run) -> dict[tuple[str, str], Outcome]:
    """The outcome of each (incident, role) in a judged run: the most telling of its cases and variants."""
    outcomes: dict[tuple[str, str], Outcome] = {}
    for case in run.incident_cases:
        key = (case.incident, case.role)
        kept = outcomes.get(key)
        if kept is None or LEVEL_RANK[case.outcome.level] > LEVEL_RANK[kept.level]:
            outcomes[key] = case.outcome
    return outcomes


def newest(changes: Mapping[Cell, list[Change]], results: Iterable[Run]) -> dict[Cell, list[Change]]:
    """Of each cell's changes, those its newest run brought (the newest result compared with the previous one)."""
    latest: dict[Cell, str] = {}
    for result in results:
        latest[result.cell] = max(latest.get(result.cell, ""), result.finished)
    return {cell: found for cell, items in changes.items()
            if (found := [c for c in items if c.since == latest.get(cell)])}


def broken_fixes(changes: Mapping[Cell, list[Change]]) -> list[Change]:
    """The changes that broke a fix."""
    return [change for items in changes.values() for change in items if change.broke]


def render(changes: Mapping[Cell, list[Change]], *, cells: int | None = None) -> str:
    """The changes for a terminal: a heading per cell (its two files, what versions moved), a line per case."""
    if not changes:
        where = f" in {cells} cell(s)" if cells is not None else ""
        return f"no outcome changed{where} (newest run against the previous one)\n"
    lines = []
    for cell, items in changes.items():
        first = items[-1]
        moved = f"; {', '.join(first.versions)}" if first.versions else ""
        lines.append(f"{cell}: {len(items)} change(s), {first.previous_file} -> {first.since_file}{moved}")
        for change in items:
            alarm = "  <- a fix BROKE" if change.broke else ""
            lines.append(f"  {change.incident}::{change.case} ({change.role}): {change.before.value} -> "
                         f"{change.after.value} since {change.since}{alarm}")
            if change.error:
                lines.append(f"      {change.error}")
    return "\n".join(lines) + "\n"
