"""The answer grid at the top of an incident page: torch x stack x GPUs, a mark per case, open to what was seen.

A visitor comes with one question: on my versions, is the bug there and does the fix hold? The grid answers it
before anything else: a row per stack (with what the stack installs, spelled out), a column per torch and GPU
count, and in each cell the symptom's mark then the fix's (and the smoke case's, where there is one). Every
mark is a `<details>`: a click or a tap opens what that run saw, in plain text (`incidentkb.site.evidence`),
and since when the outcome has been what it is. Written in Python, like the big tables (`table_bodies`).
"""

from __future__ import annotations

import html
from markupsafe import Markup

from incidentkb.site.case_runs import Cell, Entry, axis_words, version_key
from incidentkb.site.marks import COPY, NOT_IN_RESULTS, Mark, legend, mark_of
from incidentkb.site.standing import IncidentStanding, KnowledgeBase, history_phrase
from incidentkb.verdict.outcomes import Outcome

__all__ = ["GRID_ROLES", "answer_grid", "grid_legend", "overview_legend", "pop_text"]

#: The cases the grid shows, in each cell's order; attempts and alternative fixes are in the full matrix below.
GRID_ROLES = ("symptom", "fix", "smoke")
#: Lines of measured values shown in a mark's box when the run saw no error.
_VALUE_LINES = 8


def pop_text(entry: Entry) -> str:
    """What a mark opens to: each variant's error, or its reason, or the first of its measured values."""
    parts = []
    for run in entry.runs:
        head = f"[{run.variant}] " if len(entry.runs) > 1 and run.variant else ""
        lines = [line for line in (run.error, run.detail) if line]
        if not lines and run.observed:
            values = run.observed.splitlines()
            lines = values[:_VALUE_LINES] + ([f"... {len(values) - _VALUE_LINES} more below"] if len(values) > _VALUE_LINES else [])
        parts.append(head + ("\n".join(lines) if lines else "(nothing observed)"))
    return "\n".join(parts)


def _columns(kb: KnowledgeBase) -> list[tuple[str, int]]:
    return sorted({(c.torch, c.gpus) for c in kb.cells}, key=lambda t: (t[1], t[0] == "installed", version_key(t[0])))


def _stacks(kb: KnowledgeBase) -> list[str]:
    return sorted({c.stack for c in kb.cells}, key=version_key, reverse=True)


def _mark(item: IncidentStanding, kb: KnowledgeBase, cell: Cell, role: str, entry: Entry) -> str:
    mark: Mark = mark_of(entry.outcome)
    copy = entry.covered_by is not None
    history_cell = entry.covered_by or cell
    since = history_phrase(kb.history.get((item.id, str(history_cell), role), ()))
    where = f"torch {kb.torch_of(cell)} · stack {cell.stack} · {axis_words(cell, 'gpus')}"
    label = f"{role}: {entry.label}"
    copied = (f'<span class="ikb-pop-copy">same as {html.escape(str(entry.covered_by))}: that cell\'s run '
              "(same versions of what the incident depends on)</span>" if copy else "")
    return (f'<details class="ikb-mark ikb-{mark.level}{" ikb-copy" if copy else ""}">'
            f'<summary title="{html.escape(label)}" aria-label="{html.escape(label)}">{mark.glyph}</summary>'
            f'<div class="ikb-pop"><strong>{html.escape(label)}</strong><span>{html.escape(where)}</span>{copied}'
            f'<span>{html.escape(since)}</span><pre>{html.escape(pop_text(entry), quote=False)}</pre></div></details>')


def answer_grid(item: IncidentStanding, kb: KnowledgeBase) -> Markup:
    """The grid: a row per stack, a column per (torch, GPUs), the marks of `GRID_ROLES` in each cell."""
    columns, stacks = _columns(kb), _stacks(kb)
    cells = {(c.torch, c.gpus, c.stack): c for c in kb.cells}
    first = {(c.torch, c.gpus): c for c in reversed(kb.cells)}
    roles = [r for r in GRID_ROLES if any(c.role == r for c in item.columns)]
    head = "".join(f'<th scope="col">torch {html.escape(kb.torch_of(first[col]))}<small>{axis_words(first[col], "gpus")}</small></th>'
                   for col in columns)
    rows = []
    for stack in stacks:
        words = kb.stack_versions.get(stack, "")
        out = [f'<tr><th scope="row">stack {html.escape(stack)}<small>{html.escape(words)}</small></th>']
        for torch, gpus in columns:
            cell = cells.get((torch, gpus, stack))
            if cell is None:
                out.append('<td class="ikb-nocell" title="not a cell of the matrix"></td>')
                continue
            marks = []
            for role in roles:
                entry = item.entries.get((cell, role))
                if entry is not None:
                    marks.append(_mark(item, kb, cell, role, entry))
            out.append(f"<td>{''.join(marks)}</td>" if marks else
                       f'<td class="ikb-empty" title="{html.escape(NOT_IN_RESULTS.words)}"></td>')
        rows.append("".join(out) + "</tr>")
    return Markup(f'<div class="ikb-grid-wrap"><table class="ikb-grid"><thead><tr><th scope="col">'
                  f'{" · ".join(roles)} in each cell</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table></div>')


def grid_legend(item: IncidentStanding, kb: KnowledgeBase) -> Markup:
    """The legend of the marks this incident's grid shows, and only those."""
    roles = [r for r in GRID_ROLES if any(c.role == r for c in item.columns)]
    shown: list[Outcome] = []
    copies = empty = False
    for cell in kb.cells:
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
