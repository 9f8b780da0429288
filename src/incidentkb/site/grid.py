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
from markupsafe import Markup

from incidentkb.site.case_runs import Cell, Entry, axis_words
from incidentkb.site.own_axes import own_axes
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


def _heads(item: IncidentStanding, kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """The row and column headings of the incident's own axes (`incidentkb.site.own_axes`)."""
    axes = own_axes(item.incident)
    first_col = {axes.column(c): c for c in reversed(item.cells)}
    cols = []
    for column in axes.columns(item.cells):
        torch = f"torch {kb.torch_of(first_col[column])}" if column[0] else "any torch"
        cols.append(f'<th scope="col">{html.escape(torch)}<small>{axis_words(first_col[column], "gpus")}</small></th>')
    rows = []
    for stack, requires in axes.rows(item.cells):
        own = ", ".join(f"{name} {version}" for name, version in requires)
        if stack:
            words = " · ".join(w for w in (own, kb.stack_versions.get(stack, "")) if w)
            rows.append(f'stack {html.escape(stack)}<small>{html.escape(words)}</small>')
        else:
            rows.append(f'{html.escape(own or "any stack")}<small>its outcome depends on no stack</small>')
    return rows, cols


def _entry(item: IncidentStanding, cells: list[Cell], role: str) -> tuple[Cell, Entry] | None:
    """The entry a grid cell shows: a cell's own run before a copy of another's."""
    found = [(cell, entry) for cell in cells if (entry := item.entries.get((cell, role))) is not None]
    return min(found, key=lambda pair: pair[1].covered_by is not None, default=None)


def answer_grid(item: IncidentStanding, kb: KnowledgeBase) -> Markup:
    """The grid of the incident's own axes: a row per stack where stacks matter (and per version of what it
    requires), a column per GPU count (and torch where it matters), the marks of `GRID_ROLES` in each cell."""
    if not item.cells:
        return Markup('<p class="ikb-grid-empty">No run of this incident in the results yet.</p>')
    axes = own_axes(item.incident)
    roles = [r for r in GRID_ROLES if any(c.role == r for c in item.columns)]
    row_heads, col_heads = _heads(item, kb)
    by_place: dict[tuple[object, object], list[Cell]] = {}
    for cell in item.cells:
        by_place.setdefault((axes.row(cell), axes.column(cell)), []).append(cell)
    rows = []
    for row, head in zip(axes.rows(item.cells), row_heads):
        out = [f'<tr><th scope="row">{head}</th>']
        for column in axes.columns(item.cells):
            cells = by_place.get((row, column), [])
            marks = [_mark(item, kb, *found, role) for role in roles if (found := _entry(item, cells, role))]
            out.append(f"<td>{''.join(marks)}</td>" if marks else
                       f'<td class="ikb-empty" title="{html.escape(NOT_IN_RESULTS.words)}"></td>')
        rows.append("".join(out) + "</tr>")
    return Markup(f'<div class="ikb-grid-wrap"><table class="ikb-grid"><thead><tr><th scope="col">'
                  f'{" · ".join(roles)} in each cell</th>{"".join(col_heads)}</tr></thead><tbody>{"".join(rows)}'
                  '</tbody></table></div>')


def grid_legend(item: IncidentStanding, kb: KnowledgeBase) -> Markup:
    """The legend of the marks this incident's grid shows, and only those."""
    roles = [r for r in GRID_ROLES if any(c.role == r for c in item.columns)]
    shown: list[Outcome] = []
    copies = empty = False
    for cell in item.cells:
        found = False
        for role in roles:
            entry = item.entries.get((cell, role))
            if entry is not None:
                found = True
                shown.append(entry.outcome)
                copies = copies or entry.covered_by is not None
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
        f'{html.escape(m.glyph) if m is not COPY else "✓"}</span></span> {html.escape(m.words)}</li>'
        for m in marks
    )
    return Markup(f'<ul class="ikb-legend">{items}</ul>')
