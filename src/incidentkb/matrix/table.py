"""The incidents x cells table: each case's outcome in each matrix cell, as text for the terminal or Markdown.

Built from results files only, so `nox -s regressions` prints it at the end of a run and the site can render the
same table from the committed results. Columns are numbered (`c1`, `c2`, ...) with a legend, since a cell's id is
too wide for a column head. An incident that a cell left to an earlier cell of the same dependency versions shows
`= c1`; a cell the host could not run is listed under the table with its reason, never dropped. The last column,
`run`, is the date of the run(s) behind the row's verdicts: a verdict reused from a stored run (`matrix.reuse`)
keeps that run's date, so a table of today can show a verdict of last week, and says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from incidentkb.matrix.axes import Cell
from incidentkb.results.runs import Run
from incidentkb.verdict.outcomes import Outcome

__all__ = ["Row", "Table", "build", "render_text", "render_markdown", "NOT_IN_RUN"]

#: Shown where a cell ran but the case was not part of the run (deselected with `-k`, say).
NOT_IN_RUN = "·"


@dataclass(frozen=True)
class Row:
    incident: str
    case: str
    role: str


@dataclass(frozen=True)
class Table:
    results: tuple[Run, ...]
    """One per column, in column order."""
    rows: tuple[Row, ...]
    entries: Mapping[tuple[Row, int], str]
    """(row, column index) -> text."""
    not_run: Mapping[Cell, str]
    dates: Mapping[Row, str] = field(default_factory=dict)
    """The date (or `first..last`) of the runs behind each row's verdicts."""

    def column_name(self, index: int) -> str:
        return f"c{index + 1}"

    @property
    def failures(self) -> list[tuple[Cell, str, Outcome]]:
        return [(r.cell, c.nodeid, c.outcome) for r in self.results for c in r.failures()]

    @property
    def drift(self) -> list[tuple[Cell, str, Outcome]]:
        return [(r.cell, c.nodeid, c.outcome) for r in self.results for c in r.cases if c.outcome.is_drift]

    def observed(self, cell: Cell, nodeid: str) -> str:
        """What the case observed there, to show beside its outcome: its error, else why it was judged so."""
        for result in self.results:
            for case in result.cases if result.cell == cell else ():
                if case.nodeid == nodeid:
                    text = case.error_line or next(iter((case.detail or "").strip().splitlines()), "")
                    return f" ({text[:157] + '...' if len(text) > 160 else text})" if text else ""
        return ""


def build(results: Iterable[Run], not_run: Mapping[Cell, str] | None = None) -> Table:
    """The table of the given runs (one column each, in the order given) and of the cells that did not run."""
    results = tuple(results)
    column_of = {str(r.cell): i for i, r in enumerate(results)}
    rows: dict[Row, None] = {}
    for result in results:
        for case in result.cases:
            rows.setdefault(Row(case.incident, case.name, case.role), None)
    ordered = tuple(sorted(rows, key=lambda row: row.incident))  # stable: first-seen order within an incident
    entries: dict[tuple[Row, int], str] = {}
    outcomes = [{(c.incident, c.name): c.outcome.value for c in result.cases} for result in results]
    # an incident that requires packages runs in the cells of each of their versions, beside the cell it was planned in
    ran_in: dict[tuple[str, str, str], list[int]] = {}
    for index, result in enumerate(results):
        for incident, case in outcomes[index]:
            ran_in.setdefault((str(result.cell.base), incident, case), []).append(index)
    for index, result in enumerate(results):
        for row in ordered:
            if (row.incident, row.case) in outcomes[index]:
                entries[row, index] = outcomes[index][row.incident, row.case]
            elif row.incident in result.covered:
                by = result.covered[row.incident]
                columns = ran_in.get((by, row.incident, row.case)) or ([column_of[by]] if by in column_of else [])
                entries[row, index] = "= " + ",".join(f"c{i + 1}" for i in columns) if columns else f"= {by}"
            else:
                entries[row, index] = NOT_IN_RUN
    return Table(results, ordered, entries, dict(not_run or {}), _dates(results, ordered))


def _dates(results: tuple[Run, ...], rows: tuple[Row, ...]) -> dict[Row, str]:
    """Each row's run date(s): of the runs that produced its outcomes, a reused one's own date included."""
    dates: dict[Row, str] = {}
    holds = [{(c.incident, c.name) for c in r.cases} for r in results]
    for row in rows:
        days = sorted({r.run_of(row.incident)[1][:10] for r, held in zip(results, holds)
                       if (row.incident, row.case) in held})
        dates[row] = "" if not days else days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
    return dates


def _grid(table: Table) -> tuple[list[str], list[list[str]]]:
    head = ["incident / case (role)"] + [table.column_name(i) for i in range(len(table.results))] + ["run"]
    lines: list[list[str]] = []
    incident = None
    for row in table.rows:
        if row.incident != incident:
            incident = row.incident
            lines.append([incident] + [""] * (len(table.results) + 1))
        lines.append([f"  {row.case} ({row.role})"] + [table.entries[row, i] for i in range(len(table.results))]
                     + [table.dates.get(row, "")])
    return head, lines


def _legend(table: Table) -> list[str]:
    lines = []
    for index, result in enumerate(table.results):
        reused = "  (no results file: every case was deselected)" if result.ran and not result.cases else \
            "  (nothing ran: every verdict reused)" if result.fingerprint else ""
        where = f"  ({result.path.name})" if result.path else reused
        note = result.stack_note()
        lines.append(f"{table.column_name(index)}  {result.cell}{where}" + (f"  [{note}]" if note else ""))
    return lines


def _summary(table: Table) -> list[str]:
    lines = [f"not run: {cell}: {reason}" for cell, reason in table.not_run.items()]
    for cell, nodeid, outcome in table.failures:
        lines.append(f"FAILED: {cell}: {nodeid}: {outcome.value}{table.observed(cell, nodeid)}")
    for cell, nodeid, outcome in table.drift:
        lines.append(f"drift: {cell}: {nodeid}: {outcome.value}{table.observed(cell, nodeid)}")
    return lines


def render_text(table: Table) -> str:
    """The table for a terminal: aligned columns, a legend of the cells, then what did not run or failed."""
    out: list[str] = []
    if table.results:
        head, lines = _grid(table)
        widths = [max(len(line[i]) for line in [head, *lines]) for i in range(len(head))]
        fmt = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
        out += [fmt(head), fmt(["-" * w for w in widths])] + [fmt(line) for line in lines] + [""]
        out += _legend(table)
    else:
        out.append("no cell ran")
    summary = _summary(table)
    return "\n".join(out + ([""] + summary if summary else [])) + "\n"


def render_markdown(table: Table) -> str:
    """The same table as Markdown (for the site and for pasting into an issue)."""
    out: list[str] = []
    if table.results:
        head, lines = _grid(table)
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for line in lines:
            first = f"**{line[0]}**" if not line[0].startswith("  ") else line[0].strip()
            out.append("| " + " | ".join([first, *line[1:]]) + " |")
        out.append("")
        out += [f"- `{line.split('  ', 1)[0]}`: {line.split('  ', 1)[1]}" for line in _legend(table)]
    summary = _summary(table)
    if summary:
        out += [""] + [f"- {line}" for line in summary]
    return "\n".join(out) + "\n"
