"""Version windows from bisection results: "reproduces with transformers 4.46.1 to 4.46.3; not with 4.45.0 to 4.45.2".

A bisection (`nox -s bisect`) writes its results under `regressions/results/bisect/`; each says, for one package,
the last version with the old outcome and the first with the new one. The incident page words them as windows
of versions, in the order of the versions, with the cell whose other pins were held and the file as evidence.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from packaging.version import Version

from incidentkb.results.files import BISECT_DIR, bisection_paths

__all__ = ["Window", "load_windows", "window_of"]



@dataclass(frozen=True)
class Window:
    """One bisection in words, and where it comes from."""

    text: str
    held: str
    """The cell whose other pins were held."""
    source: str
    finished: str
    key: tuple[str, ...] = ()
    """What was searched (package, ends, cell, cases): a re-run of the same bisection replaces the older one."""


def window_of(data: dict[str, Any], source: str) -> Window | None:
    """The window a bisection's results file shows; None for one that found nothing to show."""
    finding, package = data.get("finding") or {}, data.get("package")
    good, bad = data.get("good"), data.get("bad")
    if not finding or not package or good is None or bad is None or good == bad:
        return None
    last_old, first_new = finding["last_old"], finding["first_new"]
    old, new = finding["old_outcome"], finding["new_outcome"]
    if Version(good) <= Version(bad):  # old outcome on the older releases
        text = f"{old} with {package} {_span(good, last_old)}; {new} from {first_new}" + _to(first_new, bad)
    else:
        text = f"{new} with {package} {_span(bad, first_new)}; {old} from {last_old}" + _to(last_old, good)
    cases = data.get("cases") or []
    if len(cases) == 1:  # "The symptom reproduces with ...": several cases' outcomes name their cases already
        role = str(cases[0].get("role", "")).split(":", 1)[0]
        text = f"The {_ROLES.get(role, role)} {text}"
    if finding.get("flaky_between"):
        text += f" (flaky in between: {', '.join(finding['flaky_between'])})"
    not_tried = [f"{v} ({why})" for v, why in (data.get("not_tried") or {}).items()
                 if min(Version(last_old), Version(first_new)) < Version(v) < max(Version(last_old), Version(first_new))]
    if not_tried:
        text += f"; not tried in between: {', '.join(not_tried)}"
    key = (str(package), str(good), str(bad), str(data.get("cell", "")), *(str(c.get("name")) for c in cases))
    return Window(text, str(data.get("cell", "")), source, str(data.get("finished", "")), key)


_ROLES = {"attempt": "failed attempt", "symptom": "symptom", "fix": "fix"}


def _span(low: str, high: str) -> str:
    return low if low == high else f"{low} to {high}"


def _to(start: str, end: str) -> str:
    return "" if start == end else f" (tested up to {end})"


def load_windows(results: Path) -> dict[str, list[Window]]:
    """Every bisection's window, by incident id, newest first; of the same bisection run again, the newest only."""
    windows: dict[str, list[Window]] = defaultdict(list)
    for path in bisection_paths(results):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            window = window_of(data, f"regressions/results/{BISECT_DIR}/{path.name}")
        except (OSError, ValueError, KeyError, TypeError):
            continue  # `incidentkb check` is where a broken file is reported; a page is no place for it
        if window is not None and data.get("kind") == "bisection":
            windows[str(data.get("incident"))].append(window)
    shown: dict[str, list[Window]] = {}
    for incident, found in windows.items():
        newest: dict[tuple[str, ...], Window] = {}
        for window in sorted(found, key=lambda w: w.finished, reverse=True):
            newest.setdefault(window.key, window)
        shown[incident] = list(newest.values())
    return shown
