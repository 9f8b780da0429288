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

from incidentkb.site.case_runs import Cell, Entry, axis_words
from incidentkb.site.layout import Layout, Slot, decisive, layout
from incidentkb.site.marks import COPY, NOT_A_CELL, NOT_IN_RESULTS, Mark, legend, mark_of
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


def _stack_label(kb: KnowledgeBase, stack: str) -> str:
    """`stack 5.24.0` over `trl 1.16.0`: the two libraries a stack is named for; the rest on hover."""
    words = kb.stack_versions.get(stack, "")
    parts = [p.strip() for p in words.split(",") if p.strip()]
    second = next((p for p in parts if not p.startswith("transformers ")), "")
    return (f'<th scope="row" title="{html.escape(words)}">stack {html.escape(stack)}'
            f'<small>{html.escape(second)}</small></th>')


def _plan(item: IncidentStanding, kb: KnowledgeBase, roles: list[str]) -> tuple[list[str], list[tuple[str, int]]]:
    """The rows and columns of an incident's grid: stacks newest first, and the columns where its claim was
    judged first (on a phone they are the ones in view); stacks and columns without any of its runs fold away."""
    plan = layout(kb)
    ran = {slot for slot in plan.cells_at if any(plan.entry(item, slot, r) is not None for r in roles)}
    judged = {slot.column for slot in ran if any(decisive(plan.entry(item, slot, r)) for r in ("symptom", "fix"))}
    stacks = [s for s in plan.stacks if any(slot.stack == s for slot in ran)]
    columns = [c for c in plan.columns if any(slot.column == c for slot in ran)]
    return stacks, sorted(columns, key=lambda c: c not in judged)  # stable: the usual order within each part


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


def _grid_roles(item: IncidentStanding) -> list[str]:
    return [r for r in GRID_ROLES if any(c.role == r for c in item.columns)]


def answer_grid(item: IncidentStanding, kb: KnowledgeBase) -> Markup:
    """The grid: a row per stack, a column per (torch that ran, GPUs), the marks of `GRID_ROLES` in each cell."""
    plan, roles = layout(kb), _grid_roles(item)
    stacks, columns = _plan(item, kb, roles)
    head = "".join(f'<th scope="col">torch {html.escape(torch)}<small>{_gpu_words(gpus)}</small></th>'
                   for torch, gpus in columns)
    rows = []
    for stack in stacks:
        out = [f"<tr>{_stack_label(kb, stack)}"]
        for torch, gpus in columns:
            slot = Slot(torch, stack, gpus)
            if slot not in plan.cells_at:
                out.append(f'<td class="ikb-nocell" title="{html.escape(NOT_A_CELL.words)}"></td>')
                continue
            marks = [_mark(item, kb, entry.cell, role, entry) for role in roles
                     if (entry := plan.entry(item, slot, role)) is not None]
            out.append(f"<td>{''.join(marks)}</td>" if marks else
                       f'<td class="ikb-empty" title="{html.escape(NOT_IN_RESULTS.words)}"></td>')
        rows.append("".join(out) + "</tr>")
    folded = _folded(plan, stacks, columns)
    return Markup(f'<div class="ikb-grid-wrap"><table class="ikb-grid"><thead><tr><th scope="col">'
                  f'{" · ".join(roles)} in each cell</th>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
                  f"</div>{folded}")


def _gpu_words(gpus: int) -> str:
    return "CPU" if gpus == 0 else "1 GPU" if gpus == 1 else f"{gpus} GPUs"


def _folded(plan: Layout, stacks: list[str], columns: list[tuple[str, int]]) -> str:
    """A line naming the stacks and columns of the matrix the grid leaves out (the incident never ran there)."""
    left = [f"stack {s}" for s in plan.stacks if s not in stacks]
    left += [f"torch {t} on {_gpu_words(g)}" for t, g in plan.columns if (t, g) not in columns]
    return f'<p class="ikb-folded">Not run with: {html.escape(", ".join(left))}.</p>' if left else ""


def grid_legend(item: IncidentStanding, kb: KnowledgeBase) -> Markup:
    """The legend of the marks this incident's grid shows, and only those."""
    plan, roles = layout(kb), _grid_roles(item)
    stacks, columns = _plan(item, kb, roles)
    shown: list[Outcome] = []
    copies = empty = nocells = False
    for stack in stacks:
        for torch, gpus in columns:
            slot = Slot(torch, stack, gpus)
            if slot not in plan.cells_at:
                nocells = True
                continue
            entries = [e for r in roles if (e := plan.entry(item, slot, r)) is not None]
            shown.extend(e.outcome for e in entries)
            copies = copies or any(e.covered_by is not None for e in entries)
            empty = empty or not entries
    return _legend_list(legend(shown, copies=copies, empty=empty, nocells=nocells))


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
