"""The cells of the site's two big tables, written in Python rather than looped over in their templates.

At 1,000 incidents in 15 matrix cells, the incident pages' matrices hold 60,000 entries and the matrix page
30,000 badges; Jinja's work for each value it prints (an attribute look-up, an escape, a `Markup`) was the
largest part of rendering the site. The templates keep the tables' layout (headings, rows, the columns around
these cells) and call these as filters:

- `matrix_cells`: the case columns of one row of an incident's matrix, each entry's outcome opening to its
  evidence: `<td class="ikb-LEVEL"><details><summary>OUTCOME</summary><pre>EVIDENCE</pre></details></td>`;
- `overview_cells`: one incident's row of the matrix page, a cell per matrix cell with a badge for the fix and
  one for the symptom: `<td><span class="ikb-badge ikb-LEVEL" title="ERROR (DATE)">fix holds</span>...</td>`.

Record and results text is escaped here as autoescape would escape it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

from markupsafe import Markup

from incidentkb.site.runs import Cell, Entry
from incidentkb.site.standing import IncidentStanding

__all__ = ["matrix_cells", "overview_cells"]

_EMPTY = '<td class="ikb-empty">&middot;</td>'


def _evidence(text: str) -> str:
    # Text content: quotes need no escaping, and evidence is full of them (values printed as JSON).
    return f"<pre>{html.escape(text, quote=False)}</pre>" if text else ""


def matrix_cells(entries: Iterable[Entry | None]) -> Markup:
    """The case columns of one row of an incident's matrix; None (not in the results) is a dot."""
    cells = []
    for entry in entries:
        if entry is None:
            cells.append(_EMPTY)
            continue
        runs = entry.runs
        if len(runs) == 1:
            body = _evidence(runs[0].evidence)
        else:
            body = "".join(
                f"<strong>{html.escape(run.variant or 'default')}: {run.outcome.value}</strong>{_evidence(run.evidence)}"
                for run in runs
            )
        cells.append(f'<td class="ikb-{entry.level}"><details><summary>{html.escape(entry.label)}</summary>'
                     f"{body}</details></td>")
    return Markup("".join(cells))


def _badge(subject: str, entry: Entry) -> str:
    first = entry.first
    note = html.escape(first.error or first.detail or "")
    covered = f", as run in {entry.covered_by}" if entry.covered_by is not None else ""
    return (f'<span class="ikb-badge ikb-{entry.level}" title="{note} ({entry.date}{covered})">'
            f"{subject} {entry.outcome.value}</span>")


def overview_cells(item: IncidentStanding, cells: Sequence[Cell]) -> Markup:
    """One incident's cells in the matrix page: the fix's outcome and, beneath it, the symptom's."""
    out = []
    entries = item.entries
    for cell in cells:
        fix, symptom = entries.get((cell, "fix")), entries.get((cell, "symptom"))
        if fix is None and symptom is None:
            out.append(_EMPTY)
        elif symptom is None:
            out.append(f"<td>{_badge('fix', fix)}</td>")  # type: ignore[arg-type]
        elif fix is None:
            out.append(f"<td>{_badge('symptom', symptom)}</td>")
        else:
            out.append(f"<td>{_badge('fix', fix)}<br>{_badge('symptom', symptom)}</td>")
    return Markup("".join(out))
