"""Version windows from bisection results: "reproduces with transformers 4.46.1 to 4.46.3; not with 4.45.0 to 4.45.2".

A bisection (`nox -s bisect`) writes its results under `regressions/results/bisect/`; each says, for one package,
the last version with the old outcome and the first with the new one. The incident page words them as windows
of versions, in the order of the versions, with the cell whose other pins were held and the file as evidence.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from packaging.version import Version

from incidentkb.results.bisections import Bisection, Finding, read_bisections
from incidentkb.results.files import BISECT_DIR

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


def window_of(bisection: Bisection, source: str) -> Window | None:
    """The window a bisection shows, naming only versions that ran (and how many between them did not); None for
    one that found nothing to show."""
    finding, package = bisection.finding, bisection.package
    if finding is None or bisection.good == bisection.bad:
        return None
    if not finding.one_change:
        seen = ", ".join(f"{v} {o}" for v, o in finding.seen)
        text = f"changed more than once with {package} (no one release changed it): {seen}"
    else:
        text = _sides(bisection, finding)
    if len(bisection.cases) == 1:  # "The symptom reproduces with ...": several cases' outcomes name their cases already
        role = bisection.cases[0][1].split(":", 1)[0]
        text = f"The {_ROLES.get(role, role)} {text}"
    unknown = [f"{v} (flaky)" for v in finding.flaky_between] + [f"{v} ({w})" for v, w in finding.skipped_between.items()]
    if unknown:
        text += f" (said nothing in between: {', '.join(unknown)})"
    low, high = sorted((Version(finding.last_old), Version(finding.first_new)))
    not_tried = [f"{v} ({why})" for v, why in bisection.not_tried.items() if low < Version(v) < high]
    if not_tried:
        text += f"; not tried in between: {', '.join(not_tried)}"
    key = (package, bisection.good, bisection.bad, bisection.cell, *(name for name, _ in bisection.cases))
    return Window(text, bisection.cell, source, bisection.finished, key)


_ROLES = {"attempt": "failed attempt", "symptom": "symptom", "fix": "fix"}


def _sides(bisection: Bisection, finding: Finding) -> str:
    """`reproduces with trl 0.11.4; no longer reproduces with 0.12.0, 0.12.1, 0.14.0 and 0.17.0 (7 releases
    between them not run)`: older versions first, whichever end was good."""
    ran = sorted(bisection.ran, key=Version)
    boundary = max(Version(finding.last_old), Version(finding.first_new))
    older, newer = [v for v in ran if Version(v) < boundary], [v for v in ran if Version(v) >= boundary]
    old_first = Version(bisection.good) <= Version(bisection.bad)
    first, second = (finding.old_outcome, finding.new_outcome) if old_first else (finding.new_outcome, finding.old_outcome)
    text = f"{first} with {bisection.package} {_listing(older)}; {second} with {_listing(newer)}"
    between = [v for v in bisection.candidates if Version(ran[0]) < Version(v) < Version(ran[-1]) and v not in ran]
    if between:
        text += f" ({len(between)} release{'s' if len(between) != 1 else ''} between them not run)"
    return text


def _listing(versions: list[str]) -> str:
    return versions[0] if len(versions) == 1 else ", ".join(versions[:-1]) + " and " + versions[-1]


def load_windows(results: Path) -> dict[str, list[Window]]:
    """Every bisection's window, by incident id, newest first; of the same bisection run again, the newest only."""
    windows: dict[str, list[Window]] = defaultdict(list)
    for bisection in read_bisections(results):
        window = window_of(bisection, f"regressions/results/{BISECT_DIR}/{bisection.path.name}")
        if window is not None:
            windows[bisection.incident].append(window)
    shown: dict[str, list[Window]] = {}
    for incident, found in windows.items():
        newest: dict[tuple[str, ...], Window] = {}
        for window in sorted(found, key=lambda w: w.finished, reverse=True):
            newest.setdefault(window.key, window)
        shown[incident] = list(newest.values())
    return shown
