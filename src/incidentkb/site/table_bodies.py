"""The bodies of the site's two big tables, written in Python rather than looped over in their templates.

At 1,000 incidents in 15 matrix cells, the incident pages' matrices hold 15,000 rows of 60,000 entries and the
matrix page 30,000 badges; Jinja's work for each value it prints (an attribute look-up, an escape, a `Markup`)
was the largest part of rendering the site. The templates keep the tables' frame (heading row, columns,
classes) and call these as filters:

- `matrix_rows`: the rows of an incident's matrix: the cell's torch, stack and GPUs, each case's entry
  opening to its evidence (`<td class="ikb-LEVEL"><details><summary>OUTCOME</summary><pre>EVIDENCE</pre>`),
  and a last column opening to when, where and with what the row's run ran (`<td class="ikb-run">`);
- `overview_cells`: one incident's row of the matrix page, a cell per matrix cell with a badge for the fix and
  one for the symptom: `<td><span class="ikb-badge ikb-LEVEL" title="ERROR (DATE)">fix holds</span>...</td>`;
- `incident_rows` (an `IncidentRows`): the rows of the summary table of the home, category and tag pages
  (5,000 rows at 1,000 incidents with three tags each): the incident, what the newest versions that ran say,
  the fix, the newest run's date. A row is worked out once and only its two links are made per page.

Record and results text is escaped here as autoescape would escape it.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable

from markupsafe import Markup

from incidentkb.site import markup, pages
from incidentkb.site.case_runs import Entry
from incidentkb.site.layout import layout, site_order
from incidentkb.site.evidence import first_line
from incidentkb.site.marks import mark_of, tone_of
from incidentkb.site.newest import newest_answer
from incidentkb.site.standing import IncidentStanding, KnowledgeBase
from incidentkb.verdict.outcomes import Outcome

__all__ = ["IncidentRows", "matrix_cells", "matrix_rows", "overview_cells"]

_EMPTY = '<td class="ikb-empty" title="not run in this cell yet"></td>'


def _evidence(text: str) -> str:
    # Text content: quotes need no escaping, and evidence is full of them (values printed as JSON).
    return f"<pre>{html.escape(text, quote=False)}</pre>" if text else ""


#: The opening of an entry of one variant, by its outcome (most entries).
_OPENING = {o: f'<td class="ikb-{tone_of(o)}"><details><summary>{html.escape(o.value)}</summary>' for o in Outcome}


def matrix_cells(entries: Iterable[Entry | None]) -> Markup:
    """The case columns of one row of an incident's matrix; None (not in the results) is a dot."""
    cells = []
    for entry in entries:
        if entry is None:
            cells.append(_EMPTY)
            continue
        runs = entry.runs
        if len(runs) == 1:
            run = runs[0]
            cells.append(f"{_OPENING[run.outcome]}{_evidence(run.evidence)}</details></td>")
            continue
        body = "".join(
            f"<strong>{html.escape(run.variant or 'default')}: {run.outcome.value}</strong>{_evidence(run.evidence)}"
            for run in runs
        )
        cells.append(f'<td class="ikb-{tone_of(entry.outcome)}"><details><summary>{html.escape(entry.label)}</summary>'
                     f"{body}</details></td>")
    return Markup("".join(cells))


def matrix_rows(item: IncidentStanding, kb: KnowledgeBase) -> Markup:
    """The rows of an incident's matrix, a row per cell where it ran."""
    out = []
    for row in sorted(item.rows(), key=lambda r: site_order(r.cell)):  # stacks newest first, as everywhere
        cell = row.cell
        run = "<br>".join(html.escape(stamp) for stamp in row.stamps)
        if row.covered_by is not None:
            run += (f"<em>as run in {html.escape(str(row.covered_by))}: same versions of what this incident "
                    "depends on</em>")
        out.append(f"<tr><td>{html.escape(kb.torch_of(cell))}</td><td>{html.escape(kb.stack_of(cell))}</td>"
                   f"<td>{cell.gpus}</td>{matrix_cells(row.entries)}<td class=\"ikb-run\"><details>"
                   f"<summary>{row.date}</summary><small>{run}</small></details></td></tr>\n")
    return Markup("".join(out))


def _overview_mark(role: str, entry: Entry, href: str) -> str:
    """A mark of the matrix page: its glyph, the outcome and first line of what was seen on hover, and a link
    to the incident's grid, where a tap opens the whole text (a page of 30,000 opened texts would be too big)."""
    mark = mark_of(entry.outcome)
    first = entry.first
    bare = first.error is None and "the regression's check failed" in (first.detail or "")
    seen = first_line(first.error or ("no error" if bare else first.detail) or "")
    covered = f"; same as {entry.covered_by}" if entry.covered_by is not None else ""
    title = html.escape(f"{role} {entry.label} ({entry.date}{covered}){': ' + seen if seen else ''}")
    copy = " ikb-copy" if entry.covered_by is not None else ""
    return (f'<a class="ikb-mark ikb-{mark.level}{copy}" href="{href}" title="{title}" aria-label="{title}">'
            f'<span class="ikb-glyph">{mark.glyph}</span></a>')


def overview_cells(item: IncidentStanding, kb: KnowledgeBase, href: str = "") -> Markup:
    """One incident's slots in the matrix page: the symptom's mark, then the fix's (a link to its grid each)."""
    plan = layout(kb)
    out = []
    for slot in plan.slots:
        marks = [_overview_mark(role, entry, href) for role in ("symptom", "fix")
                 if (entry := plan.entry(item, slot, role)) is not None]
        out.append(f"<td>{''.join(marks)}</td>" if marks else _EMPTY)
    return Markup("".join(out))


class IncidentRows:
    """The rows of the incidents' summary table; each incident's row is worked out once per build.

    A row answers the upgrade question in one line: the incident (with its category, severity and date), what
    the newest versions that ran say (`incidentkb.site.newest`), the fix, and the date of the newest run.
    Failed attempts are left to the incident page, where they cannot be mistaken for the fix.
    """

    def __init__(self) -> None:
        self._parts: dict[str, tuple[str, str, str]] = {}

    def _row_parts(self, item: IncidentStanding, kb: KnowledgeBase) -> tuple[str, str, str]:
        """The row around its two links: before the incident link, between it and the category link, after."""
        i = item.incident
        severity = html.escape(i.severity.value)
        answer = newest_answer(item, kb)
        fix = markup.html_prose(i.fix_summary)
        middle = (f'">{html.escape(i.title)}</a><small class="ikb-row-meta"><span class="ikb-severity-{severity}">'
                  f'{severity}</span> · {i.date.strftime("%Y-%m-%d")} · <a href="')
        after = (f'">{html.escape(i.category)}</a></small></td>'
                 f'<td class="ikb-col-answer ikb-tone-{answer.tone}">{html.escape(answer.text)}</td>'
                 f'<td class="ikb-col-fix">{fix}</td>'
                 f'<td class="ikb-col-date ikb-nowrap">{answer.date or "never"}</td></tr>\n')
        return '<tr><td class="ikb-col-incident"><a class="ikb-incident-link" href="', middle, after

    def __call__(self, items: Iterable[IncidentStanding], url: Callable[[str], str], kb: KnowledgeBase) -> Markup:
        out = []
        for item in items:
            parts = self._parts.get(item.id)
            if parts is None:
                parts = self._parts[item.id] = self._row_parts(item, kb)
            before, middle, after = parts
            out.append(f"{before}{url(pages.incident_uri(item.id))}{middle}"
                       f"{url(pages.category_uri(item.incident.category))}{after}")
        return Markup("".join(out))
