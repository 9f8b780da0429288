"""The answer grid at the top of an incident page: torch x stack x GPUs, a mark per case, open to what was seen.

A visitor comes with one question: on my versions, is the bug there and does the fix hold? The grid answers it
before anything else, on the incident's own axes (`own_axes`): a row per stack where its `depends_on` says stacks
matter (with what the stack installs, spelled out) and per version of each package it `requires`, a column per GPU
count and torch where torch matters, and in each cell the symptom's mark then the fix's (and the smoke case's,
where there is one). Every mark is a `<details>`: a click or a tap opens what that run saw, in plain text (`incidentkb.site.evidence`),
and since when the outcome has been what it is. Written in Python, like the big tables (`table_bodies`).
"""

from __future__ import annotations

import html
from dataclasses import dataclass

from markupsafe import Markup

from incidentkb.site.case_runs import Cell, Entry, axis_words, version_key
from incidentkb.site.layout import decisive, per_incident, torch_ran
from incidentkb.site.own_axes import OwnAxes, own_axes
from incidentkb.site.marks import COPY, NOT_IN_RESULTS, Mark, legend, mark_of
from incidentkb.site.standing import IncidentStanding, KnowledgeBase, history_phrase
from incidentkb.verdict.outcomes import Outcome

__all__ = ["GRID_ROLES", "answer_grid", "grid_legend", "overview_legend", "pop_text"]

#: The cases the grid shows, in each cell's order; attempts and alternative fixes are in the full matrix below.
GRID_ROLES = ("symptom", "fix", "smoke")
#: Lines of measured values shown in a mark's box when the run saw no error.
_VALUE_LINES = 8


#: What `evidence.clean` makes of a bare failed `assert`: it says nothing of what the run saw.
_BARE = "the regression's check failed"


def pop_text(entry: Entry) -> str:
    """What a mark opens to: each variant's error, or its reason, or what it observed (its notes first, then its
    measured values); a run that saw no error says so, rather than that a check failed."""
    parts = []
    for run in entry.runs:
        head = f"[{run.variant}] " if len(entry.runs) > 1 and run.variant else ""
        lines = [line for line in (run.error, run.detail) if line and _BARE not in line]
        if run.error is None and run.outcome.info.ran and run.detail and _BARE in run.detail:
            lines.insert(0, "no error")
        if (not lines or lines == ["no error"]) and run.observed:
            values = run.observed.splitlines()
            more = [f"... {len(values) - _VALUE_LINES} more below"] if len(values) > _VALUE_LINES else []
            lines = lines + values[:_VALUE_LINES] + more
        parts.append(head + ("\n".join(lines) if lines else "(nothing observed)"))
    return "\n".join(parts)


def _mark(item: IncidentStanding, kb: KnowledgeBase, cell: Cell, entry: Entry, role: str) -> str:
    mark: Mark = mark_of(entry.outcome)
    copy = entry.covered_by is not None
    history_cell = entry.covered_by or cell
    since = history_phrase(kb.history.get((item.id, str(history_cell), role), ()))
    where = f"torch {kb.torch_of(cell)} · stack {cell.stack} · {axis_words(cell, 'gpus')}" + "".join(
        f" · {name} {version}" for name, version in cell.requires)
    label = f"{role}: {entry.label}"
    copied = (f'<span class="ikb-pop-copy">same as {html.escape(str(entry.covered_by))}: that cell\'s run '
              "(same versions of what the incident depends on)</span>" if copy else "")
    return (f'<details class="ikb-mark ikb-{mark.level}{" ikb-copy" if copy else ""}">'
            f'<summary title="{html.escape(label)}" aria-label="{html.escape(label)}">{mark.glyph}</summary>'
            f'<div class="ikb-pop"><strong>{html.escape(label)}</strong><span>{html.escape(where)}</span>{copied}'
            f'<span>{html.escape(since)}</span><pre>{html.escape(pop_text(entry), quote=False)}</pre></div></details>')


def _column(axes: OwnAxes, kb: KnowledgeBase, cell: Cell) -> tuple[str, int]:
    """A cell's column: the torch that ran (where torch matters; `installed` under its version), its GPU count."""
    return (torch_ran(kb, cell) if axes.torch else "", cell.gpus)


def _gpu_words(gpus: int) -> str:
    return "CPU" if gpus == 0 else "1 GPU" if gpus == 1 else f"{gpus} GPUs"


def _row_head(kb: KnowledgeBase, stack: str, requires: tuple[tuple[str, str], ...]) -> str:
    """`stack 5.24.0` over `trl 1.16.0` (and the versions of what the incident requires); the rest on hover."""
    own = ", ".join(f"{name} {version}" for name, version in requires)
    if not stack:
        return f'<th scope="row">{html.escape(own or "any stack")}<small>its outcome depends on no stack</small></th>'
    words = kb.stack_versions.get(stack, "")
    second = next((p.strip() for p in words.split(",") if p.strip() and not p.strip().startswith("transformers ")), "")
    small = " · ".join(w for w in (second, own) if w)
    return (f'<th scope="row" title="{html.escape(words)}">stack {html.escape(stack)}'
            f"<small>{html.escape(small)}</small></th>")


@dataclass
class _Places:
    """The incident's grid: its rows (newest stack first), its columns (where its claim was judged first, the
    ones a phone shows without scrolling), and the cells at each place."""

    rows: list[tuple[str, tuple[tuple[str, str], ...]]]
    columns: list[tuple[str, int]]
    cells: dict[tuple[object, object], list[Cell]]


def _places(item: IncidentStanding, kb: KnowledgeBase) -> _Places:
    """Worked out once per incident: the grid and its legend both need it."""
    return per_incident(kb, "grid_places", item, lambda: _work_out_places(item, kb))


def _work_out_places(item: IncidentStanding, kb: KnowledgeBase) -> _Places:
    axes = own_axes(item.incident)
    cells: dict[tuple[object, object], list[Cell]] = {}
    for cell in item.cells:
        cells.setdefault((axes.row(cell), _column(axes, kb, cell)), []).append(cell)
    judged = set()
    for (_, column), found in cells.items():
        for role in ("symptom", "fix"):
            pair = _entry(item, found, role)
            if pair is not None and decisive(pair[1]):
                judged.add(column)
    columns = sorted({column for _, column in cells}, key=lambda c: (c[1], version_key(c[0])))
    columns.sort(key=lambda c: c not in judged)  # stable: the usual order within each part
    return _Places(axes.rows(item.cells), columns, cells)


def _entry(item: IncidentStanding, cells: list[Cell], role: str) -> tuple[Cell, Entry] | None:
    """The entry a grid cell shows: a cell's own run before a copy of another's, the newest of those."""
    found = [(cell, entry) for cell in cells if (entry := item.entries.get((cell, role))) is not None]
    return max(found, key=lambda pair: (pair[1].covered_by is None, max(r.finished for r in pair[1].runs)),
               default=None)


def _roles(item: IncidentStanding) -> list[str]:
    return [r for r in GRID_ROLES if any(c.role == r for c in item.columns)]


def answer_grid(item: IncidentStanding, kb: KnowledgeBase) -> Markup:
    """The grid of the incident's own axes: a row per stack where stacks matter (and per version of what it
    requires), a column per GPU count (and torch that ran, where torch matters), the marks of `GRID_ROLES`."""
    if not item.cells:
        return Markup('<p class="ikb-grid-empty">No run of this incident in the results yet.</p>')
    roles = _roles(item)
    places = _places(item, kb)
    head = "".join(f'<th scope="col">{html.escape(f"torch {torch}" if torch else "any torch")}'
                   f"<small>{_gpu_words(gpus)}</small></th>" for torch, gpus in places.columns)
    rows = []
    for row in places.rows:
        out = [f"<tr>{_row_head(kb, *row)}"]
        for column in places.columns:
            cells = places.cells.get((row, column), [])
            marks = [_mark(item, kb, *found, role) for role in roles if (found := _entry(item, cells, role))]
            out.append(f"<td>{''.join(marks)}</td>" if marks else
                       f'<td class="ikb-empty" title="{html.escape(NOT_IN_RESULTS.words)}"></td>')
        rows.append("".join(out) + "</tr>")
    return Markup(f'<div class="ikb-grid-wrap"><table class="ikb-grid"><thead><tr><th scope="col">'
                  f'{" · ".join(roles)} in each cell</th>{head}</tr></thead><tbody>{"".join(rows)}'
                  '</tbody></table></div>')


def grid_legend(item: IncidentStanding, kb: KnowledgeBase) -> Markup:
    """The legend of the marks this incident's grid shows, and only those."""
    roles = _roles(item)
    places = _places(item, kb)
    shown: list[Outcome] = []
    copies = empty = False
    for row in places.rows:
        for column in places.columns:
            found = [pair for role in roles if (pair := _entry(item, places.cells.get((row, column), []), role))]
            shown.extend(entry.outcome for _, entry in found)
            copies = copies or any(entry.covered_by is not None for _, entry in found)
            empty = empty or not found
    return _legend_list(legend(shown, copies=copies, empty=empty))


def overview_legend(kb: KnowledgeBase) -> Markup:
    """The legend of the matrix page: the marks of the symptom and fix outcomes it shows."""
    shown = {e.outcome for item in kb.incidents for (_, role), e in item.entries.items() if role in ("symptom", "fix")}
    copies = any(e.covered_by is not None for item in kb.incidents for e in item.entries.values())
    return _legend_list(legend(shown, copies=copies, empty=True))


def _legend_list(marks: list[Mark]) -> Markup:
    items = "".join(
        f'<li><span class="ikb-mark ikb-{m.level}{" ikb-copy" if m is COPY else ""}"><span class="ikb-glyph">'
        f'{html.escape(m.glyph) if m is not COPY else "✓"}</span></span> <span title="{html.escape(m.words)}">'
        f'{html.escape(m.short or m.words)}</span></li>'
        for m in marks
    )
    return Markup(f'<ul class="ikb-legend">{items}</ul>')
