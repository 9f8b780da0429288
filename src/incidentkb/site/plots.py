"""Plots drawn at build time as inline SVG: no script, no CDN, so they show in a site opened from disk.

Two pictures a person would rather look at than read:

- `memory_plot`: a memory figure the cases measured (a value named `*_mb` or `*_mib`, e.g. the leak's growth
  per generation call), without the fix (the symptom case) and with it (the fix case), one dot per run (a cell's
  own, never a copy) and variant, so "about 9.9 MB per call, 0 with the fix" is seen at once, with how much the cells agree;
- `history_plot`: an incident's outcomes over time, a row per cell and case, a mark per day with runs (the last
  run of the day), in the glyphs of the grid (`incidentkb.site.marks`).

Colours come from the site's stylesheet (the tones of `incidentkb.site.marks`: `ikb-warn`, `ikb-reassure`, ...).
"""

from __future__ import annotations

import html
from collections import defaultdict

from markupsafe import Markup

from incidentkb.site.layout import site_order
from incidentkb.site.marks import mark_of
from incidentkb.site.standing import IncidentStanding, KnowledgeBase

__all__ = ["memory_plot", "history_plot"]

_ROW = 22
_LABEL = 190


def _e(text: object) -> str:
    return html.escape(str(text))


def _nice_top(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** len(str(int(value))) / 10
    for factor in (1, 2, 2.5, 5, 10):
        if value <= step * factor:
            return step * factor
    return value


#: Bytes in one unit of a plotted figure (`*_mb` figures are megabytes, `*_mib` mebibytes).
_BYTES = {"MB": 1e6, "MiB": 2**20}


def _threshold(item: IncidentStanding, unit: str, top: float, plot: float, height: float) -> list[str]:
    """The record's threshold as a dashed line, where the record measures bytes: the symptom is past it."""
    measured = item.incident.symptom.measured
    if measured is None or measured.unit.strip().lower() not in ("bytes", "byte", "b"):
        return []
    value = measured.threshold / _BYTES[unit]
    x = _LABEL + plot * min(value, top) / top
    words = f"threshold {measured.threshold_text} bytes ({value:g} {unit})"
    return [f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{height - 30}" class="ikb-plot-threshold">'
            f"<title>{_e(words)}</title></line>",
            f'<text x="{x + 4:.1f}" y="30" class="ikb-plot-note">{_e(words)}</text>']


def memory_plot(item: IncidentStanding) -> Markup:
    """Dots of each memory figure of the symptom case (without the fix) and the fix case; empty if none."""
    series: dict[tuple[str, str, str], list[tuple[float, str]]] = defaultdict(list)
    for (cell, role), entry in item.entries.items():
        if role not in ("symptom", "fix") or entry.covered_by is not None:
            continue
        for run in entry.runs:
            for name, value in run.memory:
                series[(name, run.variant, role)].append((value, str(cell)))
    names = sorted({name for name, _, _ in series})
    if not names or not any(role == "fix" for _, _, role in series) or not any(role == "symptom" for _, _, role in series):
        return Markup("")
    name = next((n for n in names if "per_call" in n), names[0])  # one figure: the per-call one when there is one
    rows = sorted(((variant, role) for n, variant, role in series if n == name), key=lambda t: (t[0], t[1] != "symptom"))
    top = _nice_top(max(v for (n, _, _), points in series.items() if n == name for v, _ in points))
    width, plot = 640, 640 - _LABEL - 150  # room on the right for each row's range
    height = 30 + _ROW * len(rows) + 34
    unit = "MiB" if name.endswith("_mib") else "MB"
    out = [f'<svg class="ikb-plot" viewBox="0 0 {width} {height}" role="img" width="100%" '
           f'aria-label="{_e(name)} without and with the fix">']
    out.append(f'<text x="{_LABEL}" y="14" class="ikb-plot-title">{_e(name)} ({unit}), one dot per run</text>')
    for tick in range(5):
        value = top * tick / 4
        x = _LABEL + plot * tick / 4
        out.append(f'<line x1="{x:.1f}" y1="22" x2="{x:.1f}" y2="{height - 30}" class="ikb-plot-grid"/>')
        out.append(f'<text x="{x:.1f}" y="{height - 16}" text-anchor="middle">{value:g}</text>')
    for index, (variant, role) in enumerate(rows):
        y = 30 + _ROW * index + _ROW / 2
        level = "warn" if role == "symptom" else "reassure"
        words = ("without the fix" if role == "symptom" else "with the fix") + (f" ({variant})" if variant else "")
        out.append(f'<text x="{_LABEL - 8}" y="{y + 4:.1f}" text-anchor="end">{_e(words)}</text>')
        points = series[(name, variant, role)]
        for value, cell in points:
            x = _LABEL + plot * min(value, top) / top
            out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" class="ikb-{level}"><title>{_e(cell)}: '
                       f'{value:g} {unit}</title></circle>')
        low, high = min(v for v, _ in points), max(v for v, _ in points)
        span = f"{low:g}" if low == high else f"{low:g} to {high:g}"
        out.append(f'<text x="{_LABEL + plot + 12:.1f}" y="{y + 4:.1f}" class="ikb-plot-note">'
                   f'{_e(span)} {unit} ({len(points)} cells)</text>')
    out.extend(_threshold(item, unit, top, plot, height))
    out.append(f'<text x="{_LABEL + plot / 2:.1f}" y="{height - 2}" text-anchor="middle">{unit}</text></svg>')
    return Markup("".join(out))


def history_plot(item: IncidentStanding, kb: KnowledgeBase, roles: tuple[str, ...] = ("symptom", "fix")) -> Markup:
    """A row per cell and case, a column per day with runs: the outcome of the day's last run, as its mark."""
    lanes = []
    for cell in sorted({c for c, _ in item.entries}, key=site_order):  # stacks newest first, as everywhere
        for role in roles:
            points = kb.history.get((item.id, str(cell), role))
            if points:
                lanes.append((cell, role, points))
    days = sorted({moment.strftime("%Y-%m-%d") for _, _, points in lanes for moment, _ in points})
    if not lanes or len(days) < 2:
        return Markup("")
    step = 84
    width = _LABEL + 60 + step * len(days)
    height = 24 + _ROW * len(lanes) + 10
    out = [f'<svg class="ikb-plot ikb-history" viewBox="0 0 {width} {height}" width="{width}" role="img" '
           f'aria-label="outcomes over time, per cell">']
    for index, day in enumerate(days):
        x = _LABEL + 40 + step * index
        out.append(f'<text x="{x}" y="14" text-anchor="middle">{day}</text>')
    for row, (cell, role, points) in enumerate(lanes):
        y = 24 + _ROW * row + _ROW / 2
        words = f"{cell.torch}/{cell.stack}/{cell.gpus} GPU · {role}"
        out.append(f'<text x="{_LABEL + 20}" y="{y + 4:.1f}" text-anchor="end">{_e(words)}</text>')
        last: dict[str, tuple[str, str]] = {}
        for moment, outcome in points:
            mark = mark_of(outcome)
            last[moment.strftime("%Y-%m-%d")] = (mark.glyph, f"{mark.level}|{outcome.value}")
        previous = None
        for index, day in enumerate(days):
            if day not in last:
                continue
            glyph, level_value = last[day]
            level, value = level_value.split("|", 1)
            x = _LABEL + 40 + step * index
            if previous is not None:
                out.append(f'<line x1="{previous + 9}" y1="{y:.1f}" x2="{x - 9}" y2="{y:.1f}" class="ikb-plot-grid"/>')
            out.append(f'<text x="{x}" y="{y + 5:.1f}" text-anchor="middle" class="ikb-glyph-{level}">{_e(glyph)}'
                       f'<title>{_e(day)}: {_e(role)} {_e(value)}</title></text>')
            previous = x
    out.append("</svg>")
    return Markup("".join(out))
