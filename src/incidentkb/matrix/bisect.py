"""Bisection of one package's releases: which release changed a case's outcome, planned without running anything.

Everything here is pure, so every branch is tested without a network or an environment (`bisect_run` does the
running, `package_index` the asking): the candidates between two versions from a package's list of releases,
the binary search and its state, what a step whose runs disagree does to it, the endpoints the committed matrix
results suggest, and the final line.

The search is `git bisect`'s: the `good` end has the *old* outcome, the `bad` end the *new* one (whichever is
the older version: a bug that appears and a bug that goes away are both searched), and every step's outcome is
compared with the old one. Like `git bisect` it assumes the outcome changes *once* between the ends; it checks
that where it can (both ends and every step run must agree with one boundary: old up to it, the bad end's
outcome from it) and, when they do not, reports the outcomes seen instead of a release. A step that says nothing
about the libraries (it crashed, timed out, was not run or not applicable, its environment could not be built or
installed) is *skipped*, as `git bisect skip` does: never taken as either side. A step whose runs disagree is
*flaky* and skipped the same way. The search goes around skipped steps (the nearest untested candidate to the
middle is tried instead), and when only skipped steps are left between the last old and the first new version,
the finding says the change lies in that window and names them rather than guessing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from packaging.version import InvalidVersion, Version

from incidentkb.verdict.outcomes import Outcome

__all__ = [
    "BisectError",
    "Release",
    "StepOutcome",
    "Search",
    "Finding",
    "candidates",
    "skipped",
    "step_outcome",
    "says_nothing",
    "endpoints_from_results",
    "reproduce_command",
    "final_line",
]


class BisectError(ValueError):
    """A bisection that cannot be planned or run (a version that does not exist, a range with no change)."""


@dataclass(frozen=True)
class Release:
    """One release in a package index: its version, whether it is yanked, and its upload date (if known)."""

    version: str
    yanked: bool = False
    date: str | None = None


def _parse(version: str, package: str) -> Version:
    try:
        return Version(version)
    except InvalidVersion:
        raise BisectError(f"{package} {version!r} is not a version; write e.g. --good 4.45.0") from None


def candidates(releases: Iterable[Release], package: str, *, good: str, bad: str, pre: bool = False) -> list[str]:
    """The versions to search, from `good` to `bad` both included, in that direction.

    Final releases only unless `pre`, yanked ones skipped; `good` and `bad` themselves are kept whatever they are
    (the user named them), but each must be a release of the package.
    """
    good_v, bad_v = _parse(good, package), _parse(bad, package)
    usable: dict[Version, str] = {}
    every: dict[Version, str] = {}
    for release in releases:
        try:
            version = Version(release.version)
        except InvalidVersion:
            continue  # legacy versions of old packages: never candidates
        every[version] = release.version
        if not release.yanked and (pre or not (version.is_prerelease or version.is_devrelease)):
            usable[version] = release.version
    for end in (good_v, bad_v):
        if end not in every:
            below = [every[v] for v in sorted(every) if v < end][-1:]
            above = [every[v] for v in sorted(every) if v > end][:1]
            near = " and ".join(below + above) or "none"
            raise BisectError(f"{package} {end} is not a release on the index; the nearest are {near}")
        usable[end] = every[end]
    low, high = sorted((good_v, bad_v))
    between = [usable[v] for v in sorted(usable) if low <= v <= high]
    return between if good_v <= bad_v else between[::-1]


def skipped(releases: Iterable[Release], *, good: str, bad: str, pre: bool = False) -> dict[str, str]:
    """The releases between `good` and `bad` that are not candidates, each with why (`yanked`, `pre-release`)."""
    low, high = sorted((Version(good), Version(bad)))
    left: dict[str, str] = {}
    for release in releases:
        try:
            version = Version(release.version)
        except InvalidVersion:
            continue
        if low < version < high:
            if release.yanked:
                left[release.version] = "yanked"
            elif not pre and (version.is_prerelease or version.is_devrelease):
                left[release.version] = "pre-release"
    return dict(sorted(left.items(), key=lambda item: Version(item[0])))


StepOutcome = tuple[tuple[str, str], ...]
"""A step's outcome: (case name, outcome word) for each chosen case, sorted by case; equal tuples are the same."""


def step_outcome(outcomes: Mapping[str, str]) -> StepOutcome:
    return tuple(sorted(outcomes.items()))


def says_nothing(outcome: StepOutcome) -> str | None:
    """Why a run's outcome says nothing about the package's version (a case crashed, timed out, was not run ...),
    so the step is skipped like `git bisect skip`; None for an outcome of the case (old or new)."""
    for case, word in outcome:
        try:
            found = Outcome(word)
        except ValueError:
            return f"{case}: {word}"
        if not found.info.ran or (found.fails_run and found is not Outcome.broken):
            return f"{case} {found.value}" if len(outcome) > 1 else found.value
    return None


def describe(outcome: StepOutcome) -> str:
    """`reproduces` for one case; `test_a: reproduces, test_b: BROKEN` for several."""
    if len(outcome) == 1:
        return outcome[0][1]
    return ", ".join(f"{case}: {word}" for case, word in outcome)


@dataclass(frozen=True)
class Finding:
    """Where the search ended: the last version with the old outcome and the first with the new one."""

    package: str
    last_old: str
    first_new: str
    old: StepOutcome
    new: StepOutcome
    flaky: tuple[str, ...] = ()
    """Versions between the two whose runs disagreed: the change lies somewhere among them."""
    skipped: tuple[tuple[str, str], ...] = ()
    """Versions between the two whose step said nothing, with why (`crashed`, `install failed: ...`)."""
    seen: tuple[tuple[str, str], ...] = ()
    """Every version that ran and its outcome, in the order of the range: what the one-change check read."""
    one_change: bool = True
    """Whether every version that ran agrees with one boundary (old before it, the bad end's outcome from it)."""

    @property
    def exact(self) -> bool:
        return not self.flaky and not self.skipped and self.one_change

    def as_dict(self) -> dict[str, Any]:
        return {"last_old": self.last_old, "first_new": self.first_new, "old_outcome": describe(self.old),
                "new_outcome": describe(self.new), "flaky_between": list(self.flaky),
                "skipped_between": {v: why for v, why in self.skipped}, "one_change": self.one_change,
                "seen": [{"version": v, "outcome": o} for v, o in self.seen], "exact": self.exact}


@dataclass
class Search:
    """The binary search over `versions` (ordered from the good end to the bad end), one step at a time.

    Ask `next_index()` which version to run, `record()` its runs; `finding()` once `next_index()` is None.
    """

    package: str
    versions: Sequence[str]
    outcomes: dict[int, StepOutcome] = field(default_factory=dict)
    flaky: set[int] = field(default_factory=set)
    skips: dict[int, str] = field(default_factory=dict)
    """Steps that said nothing about the version, with why: skipped as `git bisect skip` does."""

    def __post_init__(self) -> None:
        if len(self.versions) < 1:
            raise BisectError(f"no {self.package} release lies between the two versions")

    def skip(self, index: int, why: str) -> str:
        """A step that says nothing (its environment could not be installed, every run crashed ...): `skip`.

        An end of the range that says nothing leaves nothing to search from: `BisectError`.
        """
        self.skips[index] = why
        if index in (0, len(self.versions) - 1):
            raise BisectError(f"{self.package} {self.versions[index]}: an end of the range says nothing about the "
                              f"case ({why}); choose another --good/--bad")
        return "skip"

    def record(self, index: int, runs: Sequence[StepOutcome]) -> str:
        """Store a step's runs; returns `old`, `new`, `flaky` (the runs disagree) or `skip` (no run said anything:
        each crashed, timed out or was not run). Runs that said nothing are left out of the others."""
        if not runs:
            raise BisectError(f"{self.package} {self.versions[index]}: a step needs at least one run")
        telling = [r for r in runs if says_nothing(r) is None]
        if not telling:
            return self.skip(index, " / ".join(dict.fromkeys(str(says_nothing(r)) for r in runs)))
        runs = telling
        if len(set(runs)) > 1:
            self.flaky.add(index)
            if index in (0, len(self.versions) - 1):
                raise BisectError(
                    f"{self.package} {self.versions[index]}: the runs of an end of the range disagree "
                    f"({' / '.join(describe(r) for r in runs)}); the case is flaky there, so there is nothing to search "
                    "from; choose another --good/--bad or make the case deterministic")
            return "flaky"
        self.outcomes[index] = runs[0]
        return "old" if index == 0 or runs[0] == self.outcomes.get(0) else "new"

    def _window(self) -> tuple[int, int]:
        """The last index known old and the first index after it known new."""
        old = self.outcomes[0]
        low = max(i for i, o in self.outcomes.items() if o == old)
        newer = [i for i, o in self.outcomes.items() if o != old and i > low]
        return low, min(newer) if newer else len(self.versions) - 1

    def next_index(self) -> int | None:
        """The version to run next: both ends first, then the untested one nearest the middle; None when done."""
        last = len(self.versions) - 1
        for end in (0, last):
            if end not in self.outcomes:
                return end
        if self.outcomes[0] == self.outcomes[last]:
            if last == 0:
                return None
            raise BisectError(
                f"{self.package} {self.versions[0]} and {self.versions[last]} give the same outcome "
                f"({describe(self.outcomes[0])}): the range has no change in it; widen it or check the case")
        low, high = self._window()
        untested = [i for i in range(low + 1, high)
                    if i not in self.outcomes and i not in self.flaky and i not in self.skips]
        if not untested:
            return None
        middle = (low + high) / 2
        return min(untested, key=lambda i: (abs(i - middle), i))

    def finding(self) -> Finding:
        if self.next_index() is not None:
            raise BisectError("the search is not finished")
        low, high = self._window()
        old, bad = self.outcomes[0], self.outcomes[len(self.versions) - 1]
        one_change = all(o == old if i <= low else o == bad for i, o in self.outcomes.items())
        return Finding(
            package=self.package, last_old=self.versions[low], first_new=self.versions[high],
            old=old, new=self.outcomes[high],
            flaky=tuple(self.versions[i] for i in sorted(self.flaky) if low < i < high),
            skipped=tuple((self.versions[i], why) for i, why in sorted(self.skips.items()) if low < i < high),
            seen=tuple((self.versions[i], describe(o)) for i, o in sorted(self.outcomes.items())),
            one_change=one_change,
        )


def endpoints_from_results(
    cells: Iterable[tuple[str, Mapping[str, str], Mapping[str, str]]], package: str, *, prefer: str | None = None,
) -> tuple[str, str, str]:
    """The good and bad versions, and the cell to hold, from matrix results: (good, bad, cell).

    `cells`: (cell id, the versions the matrix pins in it, the chosen cases' outcomes there) for the newest
    result of each cell. Two cells qualify when every pin but `package`'s is equal (GPUs and torch included)
    and the outcomes differ; the older version is `good`. `prefer` (a cell id part such as `stack=4.46.3`) picks
    among several pairs; otherwise the first pair in the given order wins.
    """
    rows = list(cells)
    pairs = []
    for i, (cell_a, pins_a, out_a) in enumerate(rows):
        for cell_b, pins_b, out_b in rows[i + 1:]:
            if package not in pins_a or package not in pins_b or pins_a[package] == pins_b[package]:
                continue
            rest_a = {k: v for k, v in pins_a.items() if k != package}
            rest_b = {k: v for k, v in pins_b.items() if k != package}
            if rest_a != rest_b or not out_a or dict(out_a) == dict(out_b) or set(out_a) != set(out_b):
                continue
            (va, ca), (vb, cb) = sorted(((pins_a[package], cell_a), (pins_b[package], cell_b)),
                                        key=lambda pair: Version(pair[0]))
            pairs.append((va, vb, cb, ca))
    if not pairs:
        raise BisectError(
            f"no two cells of the committed results differ only in {package}'s version with different outcomes "
            "for the case; give --good and --bad")
    chosen = next((p for p in pairs if prefer and (prefer in p[2] or prefer in p[3])), pairs[0])
    return chosen[0], chosen[1], chosen[2]


def reproduce_command(target: str, package: str, version: str, options: Sequence[str] = ()) -> str:
    """The command that runs one step again: a bisection whose two ends are the same version."""
    extra = " ".join(options)
    return f"nox -s bisect -- {target} --package {package} --good {version} --bad {version}" + (f" {extra}" if extra else "")


def final_line(finding: Finding, target: str, options: Sequence[str] = (), not_tried: Mapping[str, str] | None = None) -> str:
    """The one line a bisection ends with; `not_tried`: releases left out (yanked, ...), named when in the window."""
    pkg = finding.package
    old = f"last {describe(finding.old)!r}: {pkg} {finding.last_old} (`{reproduce_command(target, pkg, finding.last_old, options)}`)"
    new = f"first {describe(finding.new)!r}: {pkg} {finding.first_new} (`{reproduce_command(target, pkg, finding.first_new, options)}`)"
    low, high = sorted((Version(finding.last_old), Version(finding.first_new)))
    inside = [f"{v} ({why})" for v, why in (not_tried or {}).items() if low < Version(v) < high]
    gap = f"; not tried in between: {', '.join(inside)}" if inside else ""
    if not finding.one_change:
        seen = ", ".join(f"{v} {o}" for v, o in finding.seen)
        return (f"{target}: the outcome changed more than once between the ends, so no one {pkg} release changed it "
                f"(the search assumes one change): {seen}{gap}")
    if finding.flaky or finding.skipped:
        unknown = [f"{v} (flaky)" for v in finding.flaky] + [f"{v} ({why})" for v, why in finding.skipped]
        return f"{target}: the change lies between {old} and {new}; said nothing in between: {', '.join(unknown)}{gap}"
    ran = len(finding.seen)
    return f"{target}: {old}; {new} (one change assumed: the {ran} versions run agree with it){gap}"
