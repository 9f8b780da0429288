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
from incidentkb.results.runs import Case, Run
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
    installed: str = ""
    """The versions that matter in the newer run: `torch 2.11.0, transformers 4.57.6, trl 0.27.0`."""

    @property
    def broke(self) -> bool:
        """A fix that ran and failed its checks (BROKEN), where it did not before: what a scheduled job must raise
        an alarm for. A crash, a timeout or a harness error says nothing about the fix (`alarm` words them)."""
        return self.role.startswith("fix") and self.after is Outcome.broken and self.before is not Outcome.broken

    @property
    def alarm(self) -> str:
        """What the change means for a fix, in a few words, or '' where it means nothing for one."""
        if not self.role.startswith("fix") or self.after is self.before:
            return ""
        if self.broke:
            return "a fix BROKE"
        if self.after.fails_run:
            return f"a fix {self.after.verb} (not a broken fix: it did not finish its checks)"
        if self.after is Outcome.not_needed:
            return f"the fix is no longer needed with {self.installed or 'these versions'}"
        if self.before is Outcome.not_needed and self.after is Outcome.holds:
            return f"the fix is needed again with {self.installed or 'these versions'}"
        return ""


def history(results: Iterable[Run], records: Mapping[str, Incident]) -> dict[Cell, list[Change]]:
    """Every outcome change of every cell, oldest first, each run judged against `records` before comparing.

    `results` are the results files as `results.runs.read_all` reads them (any order); cells without a change
    are left out. A case is followed from run to run of its cell by its incident and role, as the site's history
    follows it (`role_outcomes`, the one rule): a change is reported in the first run with the new outcome
    (`since`), compared with the previous run in that cell where the case ran (runs that skipped it, left it out
    or could not show its claim are passed over, not counted as a change).
    """
    by_cell: dict[Cell, list[Run]] = defaultdict(list)
    for result in results:
        by_cell[result.cell].append(result)
    out: dict[Cell, list[Change]] = {}
    for cell in sorted(by_cell, key=cell_key):
        last: dict[tuple[str, str], tuple[Case, Run]] = {}
        changes: list[Change] = []
        for run in sorted(by_cell[cell], key=lambda r: r.finished):
            for key, case in role_outcomes(run.judged(records)).items():
                previous = last.get(key)
                if previous is not None and previous[0].outcome is not case.outcome:
                    changes.append(_change(cell, case, previous, run))
                last[key] = (case, run)
        if changes:
            out[cell] = changes
    return out


def _change(cell: Cell, case: Case, previous: tuple[Case, Run], run: Run) -> Change:
    before, earlier = previous
    return Change(
        cell=cell, incident=case.incident, case=case.name, role=case.role, before=before.outcome,
        after=case.outcome, since=run.finished, since_file=run.source or None, previous_file=earlier.source or None,
        error=case.error_line or case.detail, versions=earlier.versions.changes(run.versions),
        installed=", ".join(f"{n} {run.versions[n]}" for n in ("torch", "transformers", "trl") if run.versions.get(n)),
    )


def role_outcomes(run: Run) -> dict[tuple[str, str], Case]:
    """Each (incident, role) of a judged run that ran there, as the case (or variant) with its most telling
    outcome: the one rule by which the site's history and `nox -s changes` follow a case from run to run.

    A case that did not run (`not run`) or could not show its claim there (`not applicable`) says nothing about
    the libraries, so it is no point of the history.
    """
    kept: dict[tuple[str, str], Case] = {}
    for case in run.incident_cases:
        if not case.outcome.info.ran:
            continue
        key = (case.incident, case.role)
        if key not in kept or LEVEL_RANK[case.outcome.level] > LEVEL_RANK[kept[key].outcome.level]:
            kept[key] = case
    return kept


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
            alarm = f"  <- {change.alarm}" if change.alarm else ""
            lines.append(f"  {change.incident}::{change.case} ({change.role}): {change.before.value} -> "
                         f"{change.after.value} since {change.since}{alarm}")
            if change.error:
                lines.append(f"      {change.error}")
    return "\n".join(lines) + "\n"
