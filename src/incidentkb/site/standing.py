"""Where each incident stands today, derived from the newest result of every case in every matrix cell.

A reader of the knowledge base asks two things the record alone cannot answer: does the fix still hold, and
where does the symptom still reproduce (a newer torch may have fixed it, or worded the error differently)?
This module answers them from the results and words the answer; the templates only lay it out.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from incidentkb.matrix.axes import AXES
from incidentkb.records.schema import Incident
from incidentkb.results.runs import newest_by
from incidentkb.site.case_runs import CaseRun, Cell, Entry, axis_words, cell_key
from incidentkb.site.sources import LoadedRuns
from incidentkb.verdict.outcomes import LEVEL_RANK, Outcome, Role, parse_role

__all__ = [
    "Column",
    "Row",
    "Standing",
    "IncidentStanding",
    "KnowledgeBase",
    "describe_cells",
    "history_phrase",
    "build",
]

def _join(words: Sequence[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _axis_phrase(axis: str, cells: Iterable[Cell]) -> str:
    ordered = sorted(set(cells), key=cell_key)
    if axis == "gpus":
        counts = sorted({c.gpus for c in ordered})
        return f"{_join([str(n) for n in counts])} {'GPU' if counts == [1] else 'GPUs'}"
    seen: list[str] = []
    for cell in ordered:
        if getattr(cell, axis) not in seen:
            seen.append(getattr(cell, axis))
    return f"{axis} {_join(seen)}"


def _cell_words(cell: Cell) -> str:
    return ", ".join(axis_words(cell, a) for a in AXES)


def describe_cells(subset: Iterable[Cell], universe: Iterable[Cell]) -> str:
    """Where, in words: the smallest phrase that picks `subset` out of the cells in `universe`.

    `with torch 2.6.0 and 2.7.1` when the subset is every cell of those torch versions; `in all 6 cells` when it
    is everything; the cells one by one when no axis describes it. Cells are compared by their axes only, so
    the phrase stays true of the cells the reader sees in the incident's matrix.
    """
    chosen = frozenset(subset)
    return _describe(chosen, frozenset(universe) | chosen)


# Incidents run in the same cells and their outcomes split them the same few ways: each phrase is worked out once.
@functools.lru_cache(maxsize=4096)
def _describe(chosen: frozenset[Cell], every: frozenset[Cell]) -> str:
    if chosen == every:
        return f"in all {len(every)} cells" if len(every) > 1 else f"with {_cell_words(next(iter(every)))}"
    chosen_values = {a: {getattr(c, a) for c in chosen} for a in AXES}
    for size in range(1, len(AXES) + 1):
        for axes in itertools.combinations(AXES, size):
            picked = {c for c in every if all(getattr(c, a) in chosen_values[a] for a in axes)}
            if picked == chosen:
                return "with " + ", ".join(_axis_phrase(a, chosen) for a in axes)
    return "in " + "; ".join(_cell_words(c) for c in sorted(chosen, key=cell_key))


def history_phrase(points: Sequence[tuple[dt.datetime, Outcome]]) -> str:
    """When a case's outcome in a cell last changed, from its runs oldest first.

    `3 runs since 2026-11-27, always this`, or `since 2026-11-28; before: no longer reproduces (2 runs)`.
    """
    if not points:
        return "no history"
    newest = points[-1][1]
    start = len(points) - 1
    while start > 0 and points[start - 1][1] is newest:
        start -= 1
    since = points[start][0].strftime("%Y-%m-%d")
    runs = len(points) - start
    counted = f"{runs} run{'' if runs == 1 else 's'}"
    if start == 0:
        return f"{counted} since {since}, always this" if runs > 1 else f"1 run, on {since}"
    before = points[start - 1][1]
    return f"this since {since} ({counted}); before: {before.value} ({start} run{'' if start == 1 else 's'})"


@dataclass(frozen=True)
class Column:
    """One case of the incident's regression, a column of its matrix."""

    role: str
    label: str
    """Short heading: `symptom`, `fix`, `fix: torchrun`, `attempt: cast-to-double`."""
    case: str
    """The test function's name."""
    about: str
    """What the case checks, in the record's words (the attempt tried, the fix summary)."""


class Row(NamedTuple):
    """One cell of an incident's matrix: the entry of each column's case, and the run they come from."""

    cell: Cell
    entries: list[Entry | None]
    """The entry of each column's case (None: not in the results)."""
    stamps: list[str]
    """When, where and with what the row's runs ran (one line; more only if its cases came from several runs)."""
    covered_by: Cell | None = None
    """Set when the row shows the runs of another cell with the same versions of what the incident depends on."""
    date: str = ""
    """When the newest of the row's runs finished."""


@dataclass(frozen=True)
class Standing:
    """A short verdict for a table cell: the words and a level the stylesheet colours."""

    text: str
    level: str


def _columns(incident: Incident) -> list[Column]:
    attempts = {a.id: a.tried for a in incident.failed_attempts}
    alternatives = {a.id: a.summary for a in incident.fix.alternatives} if incident.fix is not None else {}
    order = {Role.symptom: 0, Role.fix: 1, Role.smoke: 3, Role.attempt: 4}
    columns: list[tuple[int, int, Column]] = []
    for index, case in enumerate(incident.regression.cases):
        role, name = parse_role(case.role)
        if role is Role.symptom:
            about = incident.symptom.summary
        elif role is Role.fix:
            about = alternatives.get(name, "") if name else incident.fix_summary
        elif role is Role.smoke:
            about = "The setup runs on these versions (where the fix's claim cannot be shown): not the fix."
        else:
            about = attempts.get(name or "", "")
        label = f"{role.value}: {name}" if name else role.value
        rank = order[role] + (1 if role is Role.fix and name else 0)
        columns.append((rank, index, Column(role=case.role, label=label, case=case.name, about=about)))
    return [c for _, _, c in sorted(columns, key=lambda t: (t[0], t[1]))]


@dataclass
class IncidentStanding:
    """One incident with the newest entry of each of its cases in each cell where it ran."""

    incident: Incident
    columns: list[Column]
    cells: list[Cell] = field(default_factory=list)
    entries: dict[tuple[Cell, str], Entry] = field(default_factory=dict)
    _groups: dict[str, list[tuple[Outcome, list[Cell]]]] = field(default_factory=dict, repr=False)
    _verdicts: dict[tuple[str, bool], Standing] = field(default_factory=dict, repr=False)

    @property
    def id(self) -> str:
        return self.incident.id

    def entry(self, cell: Cell, role: str) -> Entry | None:
        return self.entries.get((cell, role))

    def outcomes_by_role(self) -> dict[str, list[Outcome]]:
        """Each case's outcomes in the cells it has entries in (what `own_axes.unverifiable` judges)."""
        outcomes: dict[str, list[Outcome]] = {}
        for (_, role), entry in self.entries.items():
            outcomes.setdefault(role, []).append(entry.outcome)
        return outcomes

    def rows(self) -> list[Row]:
        """The incident's matrix: a row for each cell, with the entry of each column's case."""
        rows = []
        roles = [c.role for c in self.columns]
        get = self.entries.get
        for cell in self.cells:
            entries = [get((cell, role)) for role in roles]
            # Normally one results file holds the whole row: its stamp and date are worked out once.
            sources: dict[str, CaseRun] = {}
            covered = None
            for entry in entries:
                if entry is not None:
                    run = entry.runs[0]
                    sources[run.source] = run
                    covered = covered or entry.covered_by
            runs = list(sources.values())
            date = runs[0].date if len(runs) == 1 else max((run.date for run in runs), default="")
            rows.append(Row(cell, entries, [run.stamp for run in runs], covered, date))
        return rows

    def groups(self, role: str) -> list[tuple[Outcome, list[Cell]]]:
        """The cells of each outcome of one case, in the order of `Outcome`; cells where it did not run left out."""
        if role not in self._groups:  # asked for by several tables and sentences of the site
            by_outcome: dict[Outcome, list[Cell]] = defaultdict(list)
            for cell in self.cells:
                entry = self.entry(cell, role)
                if entry is not None and entry.outcome is not Outcome.not_run:
                    by_outcome[entry.outcome].append(cell)
            self._groups[role] = [(o, by_outcome[o]) for o in Outcome if o in by_outcome]
        return self._groups[role]

    def not_run(self, role: str) -> list[tuple[str, list[Cell]]]:
        """Cells where every variant of the case was skipped, grouped by the skip reason."""
        reasons: dict[str, list[Cell]] = defaultdict(list)
        for cell in self.cells:
            entry = self.entry(cell, role)
            if entry is not None and entry.outcome is Outcome.not_run:
                reasons[entry.runs[0].detail or "no reason given"].append(cell)
        return list(reasons.items())

    def verdict(self, role: str, *, short: bool = False) -> Standing:
        """Where one case stands, in a few words for a table: `holds (6 cells)`, `BROKEN with torch 2.13.0`."""
        key = (role, short)
        if key not in self._verdicts:  # the home, category and tag tables all show it
            self._verdicts[key] = self._verdict(role, short)
        return self._verdicts[key]

    def _verdict(self, role: str, short: bool) -> Standing:
        groups = self.groups(role)
        if not groups:
            return Standing("not run yet" if not self.not_run(role) else "not run (skipped)", "none")
        if short and len(groups) == 1:
            outcome, cells = groups[0]
            return Standing(f"{outcome.value} ({self.runs_phrase(role, cells)})", outcome.level)
        parts = [f"{o.value} {self.where_ran(role, cells)}{self._copies(role, cells)}" for o, cells in groups]
        worst = max((o.level for o, _ in groups), key=LEVEL_RANK.__getitem__)
        return Standing("; ".join(parts), worst)

    def ran(self, role: str, cells: Iterable[Cell]) -> list[Cell]:
        """The cells of `cells` where the case ran: a cell that shows another cell's run (the same versions of
        what the incident depends on) is a copy, never counted as a run or a cell."""
        return [c for c in cells if (entry := self.entry(c, role)) is not None and entry.covered_by is None]

    def where_ran(self, role: str, cells: Sequence[Cell]) -> str:
        """`in all 8 cells` or `with torch 2.6.0`, of the cells that ran the case (copies left out)."""
        own = self.ran(role, cells)
        return describe_cells(own, self.ran(role, self.cells)) if own else describe_cells(cells, self.cells)

    def runs_phrase(self, role: str, cells: Sequence[Cell]) -> str:
        """`5 runs; 10 more cells have their versions`: a copy of another cell's run is no run and no cell."""
        runs = len(self.ran(role, cells))
        counted = f"{runs} run{'' if runs == 1 else 's'}"
        copies = len(cells) - runs
        return counted if not copies else f"{counted}; {copies} more cell{'' if copies == 1 else 's'} have their versions"

    def _copies(self, role: str, cells: Sequence[Cell]) -> str:
        """` (5 runs; 10 more cells have their versions)` where some of the cells show another cell's run."""
        phrase = self.runs_phrase(role, cells)
        return f" ({phrase})" if ";" in phrase else ""

    def summary(self) -> str:
        """The sentences on the incident page that say where the symptom reproduces and where it no longer does."""
        if not self.entries:
            return "No results yet: this regression has not been run in any cell of the matrix."
        sentences = []
        for subject, role in (("The symptom", "symptom"), ("The fix", "fix")):
            groups = self.groups(role)
            if groups:
                clauses = [f"{o.verb} {self.where_ran(role, cells)}" for o, cells in groups]
                sentences.append(f"{subject} {_join(clauses)}.")
        for reason, cells in self.not_run("symptom"):
            sentences.append(f"It was not run {describe_cells(cells, self.cells)} ({reason}).")
        if self.incident.fix is None:
            sentences.append(f"No fix is known (status: {self.incident.status.value}).")
        return " ".join(sentences) or "Every case was skipped in every cell where the regression ran."

    @functools.cached_property
    def _observed_errors(self) -> list[tuple[str, list[str], list[Cell]]]:
        seen: dict[str, tuple[list[str], list[Cell]]] = {}
        roles = sorted({role for _, role in self.entries})
        for cell in self.cells:  # in cell order already
            for role in roles:
                entry = self.entries.get((cell, role))
                if entry is None:
                    continue
                for run in entry.runs:
                    if run.error:
                        seen_roles, seen_cells = seen.setdefault(run.error, ([], []))
                        if role not in seen_roles:
                            seen_roles.append(role)
                        if cell not in seen_cells:
                            seen_cells.append(cell)
        return [(error, roles_, cells_) for error, (roles_, cells_) in seen.items()]

    def observed_errors(self) -> list[tuple[str, list[str], list[Cell]]]:
        """Each distinct error the cases observed, with the roles and cells that saw it.

        The wording of an error changes between versions; listing what the runs saw lets search find the
        incident from a newer torch's message as well as from the recorded one (the page and its search text
        both list them).
        """
        return self._observed_errors

    def measured_values(self) -> list[tuple[str, str, list[Cell]]]:
        """For a silent symptom: per role, the range of the values its cases recorded under
        `symptom.measured.name` (`9,826,816 to 9,904,594`) and the cells, shown beside the record's threshold."""
        measured = self.incident.symptom.measured
        if measured is None:
            return []
        prefix = f"{measured.name} = "
        seen: dict[str, tuple[list[float], list[Cell]]] = {}
        for (cell, role), entry in self.entries.items():
            for run in entry.runs:
                for line in run.observed.splitlines():
                    if not line.startswith(prefix):
                        continue
                    try:
                        value = float(line[len(prefix):])
                    except ValueError:
                        continue
                    values, cells = seen.setdefault(role, ([], []))
                    values.append(value)
                    if cell not in cells:
                        cells.append(cell)
        shown = []
        for role, (values, cells) in sorted(seen.items()):
            low, high = (f"{v:,.0f}" if float(v).is_integer() else f"{v:g}" for v in (min(values), max(values)))
            shown.append((role, low if low == high else f"{low} to {high}",
                          [c for c in self.cells if c in cells]))
        return shown

    def where(self, cells: Sequence[Cell]) -> str:
        """`describe_cells` against this incident's cells."""
        return describe_cells(cells, self.cells)


@dataclass
class KnowledgeBase:
    """Every incident with its standing, the cells that have results, and the grouping by category and tag."""

    incidents: list[IncidentStanding]
    cells: list[Cell]
    cell_dates: dict[Cell, dt.datetime]
    """The finish time of the newest results file of each cell."""
    torch_versions: dict[Cell, str]
    """The torch each cell really had, for cells whose torch axis is `installed`."""
    unknown: list[str]
    """Incident ids that results mention but no record has (a renamed or deleted record)."""
    stack_versions: dict[str, str] = field(default_factory=dict)
    """What each stack installs, in words: `transformers 4.51.3, trl 0.15.2, accelerate 1.0.1, ...`."""
    history: dict[tuple[str, str, str], list[tuple[dt.datetime, Outcome]]] = field(default_factory=dict)
    """Each (incident, cell as its string, role)'s outcome in every results file, oldest first."""
    runs_read: int = 0
    """How many results files the site was built from (runs, not the cells they cover)."""
    stack_notes: dict[Cell, str] = field(default_factory=dict)
    """For cells whose versions were chosen when they ran (`latest`, candidates): what they were (results files)."""
    windows: dict[str, list[Any]] = field(default_factory=dict)
    """Version windows found by bisections (`site.windows.Window`), by incident id."""
    matrix: Any = None
    """The declared matrix (`regressions/matrix.toml`, an `incidentkb.matrix.axes.Matrix`), for the pins of each
    incident's run-locally commands; None where the site has none."""
    gpus_seen: tuple[Any, ...] = ()
    """Every GPU the results files recorded (`host.gpu_conditions.GpuFacts`): what stated hardware is judged by."""
    derived: dict[str, Any] = field(default_factory=dict, repr=False)
    """What the pages work out from the rest once per build (`site.layout.Layout`), by name."""
    _torch_shown: dict[Cell, str] = field(default_factory=dict, repr=False)

    def torch_of(self, cell: Cell) -> str:
        """`2.6.0`, or `installed (2.13.0+cpu)` for the host's own torch."""
        shown = self._torch_shown.get(cell)
        if shown is None:  # asked for in every row of every incident's matrix
            real = self.torch_versions.get(cell)
            shown = f"{cell.torch} ({real})" if real and real.split("+")[0] != cell.torch else cell.torch
            self._torch_shown[cell] = shown
        return shown

    def stack_of(self, cell: Cell) -> str:
        """`4.51.3`, or `latest (resolved 2026-12-03: transformers 5.25.0, ...)` for a stack chosen when it ran."""
        note = self.stack_notes.get(cell)
        return f"{cell.stack} ({note})" if note else cell.stack

    def by_category(self) -> dict[str, list[IncidentStanding]]:
        groups: dict[str, list[IncidentStanding]] = defaultdict(list)
        for item in self.incidents:
            groups[item.incident.category].append(item)
        return dict(sorted(groups.items(), key=lambda kv: kv[0].casefold()))

    def by_tag(self) -> dict[str, list[IncidentStanding]]:
        groups: dict[str, list[IncidentStanding]] = defaultdict(list)
        for item in self.incidents:
            for tag in item.incident.tags:
                groups[tag].append(item)
        return dict(sorted(groups.items()))


def _newest_runs(runs: Iterable[CaseRun]) -> dict[tuple[str, Cell], list[CaseRun]]:
    """The runs of the newest results file of each (incident, cell): a rerun replaces what an older file said
    (`incidentkb.results.runs.newest_by`, the rule `check` follows too)."""
    return newest_by(runs, key=lambda r: (r.incident, r.cell), order=lambda r: (r.finished, r.source))


def build(incidents: Sequence[Incident], results: LoadedRuns) -> KnowledgeBase:
    """Put the records and the newest results together."""
    standings = {i.id: IncidentStanding(i, _columns(i)) for i in incidents}
    cell_dates: dict[Cell, dt.datetime] = {}
    unknown: set[str] = set()
    ran: dict[tuple[str, Cell], dt.datetime] = {}
    for (incident_id, cell), runs in _newest_runs(results.runs).items():
        finished = runs[0].finished
        cell_dates[cell] = max(cell_dates.get(cell, finished), finished)
        standing = standings.get(incident_id)
        if standing is None:
            unknown.add(incident_id)
            continue
        ran[(incident_id, cell)] = finished
        entries = standing.entries
        if len({run.role for run in runs}) == len(runs):  # one variant of each case: most runs
            for run in runs:
                entries[(cell, run.role)] = Entry(run.role, cell, (run,))
            continue
        by_role: dict[str, list[CaseRun]] = defaultdict(list)
        for run in runs:
            by_role[run.role].append(run)
        for role, variants in by_role.items():
            entries[(cell, role)] = Entry(role, cell, tuple(variants))
    # A cell that left an incident to another cell of the same dependency versions shows that cell's runs.
    for note in sorted(results.coverage, key=lambda c: c.finished):
        cell_dates[note.cell] = max(cell_dates.get(note.cell, note.finished), note.finished)
        standing = standings.get(note.incident)
        if standing is None or ran.get((note.incident, note.cell), note.finished) > note.finished:
            continue
        for (cell, role), entry in list(standing.entries.items()):
            if cell == note.by and entry.covered_by is None:
                standing.entries[(note.cell, role)] = Entry(role, note.cell, entry.runs, covered_by=note.by)
    for standing in standings.values():
        standing.cells = sorted({cell for cell, _ in standing.entries}, key=cell_key)
    cells = sorted(cell_dates, key=cell_key)
    return KnowledgeBase(list(standings.values()), cells, cell_dates, results.torch_versions, sorted(unknown),
                         results.stack_versions, results.history, results.files, stack_notes=results.stack_notes,
                         gpus_seen=results.gpus_seen)
