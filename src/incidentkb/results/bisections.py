"""A bisection's results file (`regressions/results/bisect/*.json`, `kind: bisection`) read into a typed object.

`nox -s bisect` writes one per search (`incidentkb.matrix.bisect_run`): the package, the range, every step with
its side (`old`, `new`, `flaky`, `skip`) and the finding. The site's version windows read these objects.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentkb.results.files import ResultsError, bisection_paths, read_text

__all__ = ["Step", "Finding", "Bisection", "read_bisections"]


@dataclass(frozen=True)
class Step:
    """One version the search tried: which side it fell on, and why it said nothing when it did not."""

    version: str
    side: str
    why: str | None = None

    @property
    def ran(self) -> bool:
        """Whether the version ran and told old from new (a flaky or skipped step did not)."""
        return self.side in ("old", "new")


@dataclass(frozen=True)
class Finding:
    """Where the search ended (`matrix.bisect.Finding.as_dict`, as written)."""

    last_old: str
    first_new: str
    old_outcome: str
    new_outcome: str
    flaky_between: tuple[str, ...] = ()
    skipped_between: Mapping[str, str] = field(default_factory=dict)
    one_change: bool = True
    seen: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Bisection:
    """One bisection: its incident, cases, package, range, steps and finding (None: the search stopped)."""

    incident: str
    package: str
    cell: str
    good: str
    bad: str
    finished: str
    cases: tuple[tuple[str, str], ...]
    """(case name, role) of each case searched."""
    candidates: tuple[str, ...]
    not_tried: Mapping[str, str]
    steps: tuple[Step, ...]
    finding: Finding | None
    path: Path

    @property
    def ran(self) -> set[str]:
        """The versions that ran and told old from new: the ends and the finding's pair always did."""
        found = {s.version for s in self.steps if s.ran}
        if self.finding is not None:
            found |= {self.finding.last_old, self.finding.first_new}
        return found | ({self.good, self.bad} if self.finding is not None else set())

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path) -> "Bisection":
        finding = data.get("finding") or {}
        return cls(
            incident=str(data["incident"]), package=str(data["package"]), cell=str(data.get("cell", "")),
            good=str(data["good"]), bad=str(data["bad"]), finished=str(data.get("finished", "")),
            cases=tuple((str(c.get("name")), str(c.get("role", ""))) for c in data.get("cases") or ()),
            candidates=tuple(str(v) for v in data.get("candidates") or ()),
            not_tried=dict(data.get("not_tried") or {}),
            steps=tuple(Step(str(s["version"]), str(s.get("side", "")), s.get("why")) for s in data.get("steps") or ()),
            finding=_finding(finding), path=path,
        )


def _finding(data: Mapping[str, Any]) -> Finding | None:
    if not data.get("last_old") or not data.get("first_new"):
        return None  # the search stopped before it found anything
    return Finding(
        str(data["last_old"]), str(data["first_new"]), str(data.get("old_outcome", "")),
        str(data.get("new_outcome", "")), tuple(data.get("flaky_between") or ()),
        dict(data.get("skipped_between") or {}), bool(data.get("one_change", True)),
        tuple((str(s["version"]), str(s["outcome"])) for s in data.get("seen") or ()),
    )


def read_bisections(results: Path) -> list[Bisection]:
    """Every bisection in a results folder's `bisect/`, by file name; a file that is not one is left out (`incidentkb
    check` is where a broken file is reported, a page is no place for it)."""
    found = []
    for path in bisection_paths(results) if results.is_dir() else ():
        try:
            data = read_text(path)[1]
            if isinstance(data, dict) and data.get("kind") == "bisection":
                found.append(Bisection.from_dict(data, path))
        except (ResultsError, KeyError, TypeError, ValueError, AttributeError):
            continue
    return found
