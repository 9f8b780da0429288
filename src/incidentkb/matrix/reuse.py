"""Whether an incident needs to run in a cell, or a stored run of it can stand: the policy, apart from the key.

The key is the incident's fingerprint in the cell (`matrix.fingerprint`). The policy, as Bazel keeps it apart
from its cache key:

- only committed results feed reuse: the files of `regressions/results/` that git tracks, unmodified (where the
  tree is no git checkout, every file there); never a scratch folder (`INCIDENTKB_RESULTS`), whose runs nobody
  chose to keep;
- a stored run stands for an incident when its fingerprint is equal, it holds every case the record lists, and
  the newest run with that fingerprint did not fail: a broken fix, a crash, a timeout, a harness error or an
  environment fault is never reused, it runs again;
- `--rerun` runs everything, `--rerun <id>` that incident; pytest arguments of the user's (`-k`, ...) ask for
  a particular run, so nothing is reused then; bisection and flake re-runs never come here, they always run.

A reused incident's verdicts keep the date of the run that produced them (`Source.finished`), which the log,
the table and the site show.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentkb.matrix import fingerprint as fingerprints
from incidentkb.matrix import results_files
from incidentkb.matrix.axes import Cell
from incidentkb.matrix.fingerprint import Fingerprint
from incidentkb.matrix.planning import Target
from incidentkb.results.runs import Case, Run
from incidentkb.verdict.outcomes import Outcome

if TYPE_CHECKING:
    from incidentkb.records.schema import Incident

__all__ = ["ALL", "Source", "Decision", "RerunError", "parse_rerun", "committed_paths", "sources_of", "decide",
           "Fingerprinter", "composed"]

#: `--rerun` without an incident: every incident runs.
ALL = "*"
#: Outcomes that never stand for a later run, besides those that fail a run (`Outcome.fails_run`): an
#: environment fault (i25) says the cell could not test the case. "not run" (a `needs` the cell does not meet) is
#: as deterministic as any outcome and stands.
NEVER_REUSED = frozenset({"environment fault"})


class RerunError(ValueError):
    """`--rerun` names no incident of the knowledge base; the message is one line."""


@dataclass(frozen=True)
class Source:
    """One stored run of one incident in one cell: where it is, when it ran, what it found."""

    file: str
    finished: str
    fingerprint: Fingerprint
    functions: frozenset[str]
    """The test functions the run holds for the incident."""
    failed: bool
    cases: tuple[Mapping[str, Any], ...] = field(default=(), compare=False)

    @property
    def date(self) -> str:
        return self.finished[:10]

    def line(self) -> str:
        """What the run says for a reused incident."""
        return f"reused: {self.file}, run {self.date}"


@dataclass(frozen=True)
class Decision:
    """What a cell runs, which incidents stored runs stand for, and why each of the others runs."""

    run: tuple[Target, ...]
    reused: Mapping[str, Source]
    reasons: Mapping[str, str]


def parse_rerun(args: Sequence[str], known: Iterable[str]) -> tuple[frozenset[str], list[str]]:
    """`--rerun` (everything) and `--rerun <id>` / `--rerun=<id>` out of the session's arguments; the rest returned."""
    known, chosen, rest = set(known), set(), []
    items = list(args)
    while items:
        arg = items.pop(0)
        if arg.startswith("--rerun="):
            chosen.add(arg.split("=", 1)[1])
        elif arg == "--rerun":
            chosen.add(items.pop(0) if items and not items[0].startswith("-") else ALL)
        else:
            rest.append(arg)
    if unknown := sorted(chosen - known - {ALL}):
        raise RerunError(f"--rerun {unknown[0]}: no incident has that id (incidents/<id>.yaml); `--rerun` alone runs every one")
    return frozenset(chosen), rest


def committed_paths(root: Path) -> list[Path]:
    """The results files that feed reuse: tracked by git and unmodified; every file where git knows no tree."""
    folder = root / results_files.RESULTS_DIR
    try:
        listed = subprocess.run(["git", "ls-files", "-z", "--", results_files.RESULTS_DIR], cwd=root,
                                capture_output=True, text=True, timeout=60, check=True).stdout
        modified = subprocess.run(["git", "ls-files", "-z", "-m", "-d", "--", results_files.RESULTS_DIR], cwd=root,
                                  capture_output=True, text=True, timeout=60, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return results_files.result_paths(folder)
    keep = set(listed.split("\0")) - set(modified.split("\0"))
    return [p for p in results_files.result_paths(folder) if str(p.relative_to(root)) in keep]


def _failed(cases: Iterable[Case], judged: Iterable[Case]) -> bool:
    stored = [c.as_stored.value for c in cases]
    bad = {o.value for o in Outcome if o.fails_run} | NEVER_REUSED
    return any(o in bad for o in stored) or any(c.outcome.value in bad for c in judged)


def sources_of(runs: Iterable[Run], records: Mapping[str, Incident]) -> dict[tuple[str, str], list[Source]]:
    """Every stored run of every incident in every cell that has a fingerprint, newest first, by (cell, incident)."""
    found: dict[tuple[str, str], list[Source]] = {}
    for run in runs:
        judged = run.judged(records).cases if run.fingerprint else ()
        for incident, data in run.fingerprint.items():
            fp = Fingerprint.from_dict(data)
            cases = tuple(c for c in run.cases if c.incident == incident)
            if fp is None or not cases:
                continue
            file, finished = run.run_of(incident)
            functions = frozenset(c.function for c in cases)
            failed = _failed(cases, (c for c in judged if c.incident == incident))
            found.setdefault((str(run.cell), incident), []).append(
                Source(file or "?", finished, fp, functions, failed, tuple(c.raw for c in cases)))
    for sources in found.values():
        sources.sort(key=lambda s: s.finished, reverse=True)
    return found


def _why(target: Target, fp: Fingerprint | None, stored: list[Source], rerun: frozenset[str]) -> tuple[Source | None, str]:
    """The stored run that stands for the incident, or None and why it runs."""
    if ALL in rerun or target.incident in rerun:
        return None, "--rerun"
    if fp is None:
        return None, "no fingerprint (its lock could not be computed)"
    same = [s for s in stored if s.fingerprint == fp]
    if not same:
        if not stored:
            return None, "no committed run"
        return None, f"{', '.join(fp.differences(stored[0].fingerprint))} changed since {stored[0].file}"
    if same[0].failed:
        return None, f"its last run with this fingerprint failed ({same[0].file}); failures are never reused"
    if missing := sorted({name for name, _ in target.cases} - same[0].functions):
        return None, f"{same[0].file} lacks {', '.join(missing)}"
    return same[0], ""


def decide(cell: Cell, targets: Iterable[Target], prints: Mapping[str, Fingerprint | None],
           sources: Mapping[tuple[str, str], list[Source]], rerun: frozenset[str] = frozenset()) -> Decision:
    """Which of the cell's targets run, and which stored runs stand for the others (pure: everything is given)."""
    run, reused, reasons = [], {}, {}
    for target in targets:
        source, why = _why(target, prints.get(target.incident), sources.get((str(cell), target.incident), []), rerun)
        if source is None:
            run.append(target)
            reasons[target.incident] = why
        else:
            reused[target.incident] = source
    return Decision(tuple(run), reused, reasons)


class Fingerprinter:
    """Computes the fingerprints of a cell's incidents; what does not depend on the cell is computed once."""

    def __init__(self, root: Path, records: Mapping[str, Incident]) -> None:
        self.root, self.records = root, records
        self.code = fingerprints.code_hash(root / "src" / "incidentkb", root / "pyproject.toml")
        self._regression: dict[str, str | None] = {}

    def regression(self, target: Target) -> str | None:
        if target.incident not in self._regression:
            record = self.records.get(target.incident)
            sections = None if record is None else {
                "regression": record.regression.model_dump(mode="json"), "symptom": record.symptom.model_dump(mode="json")}
            self._regression[target.incident] = None if sections is None else fingerprints.regression_hash(
                self.root, target.path, sections)
        return self._regression[target.incident]

    def for_cell(self, targets: Iterable[Target], *, lock: str | None, torch: str, host: str) -> dict[str, Fingerprint | None]:
        """Each target's fingerprint in a cell of this lock, torch build and host class (None without a lock)."""
        prints: dict[str, Fingerprint | None] = {}
        for target in targets:
            regression = self.regression(target)
            prints[target.incident] = None if lock is None or regression is None else Fingerprint(
                regression=regression, code=self.code, lock=lock, torch=torch, host=host)
        return prints


def composed(cell: Cell, covered: Mapping[str, Cell], reused: Mapping[str, Source]) -> Run:
    """The cell's result when nothing had to run: the reused runs' cases, each incident dated by its own run."""
    finished = max((s.finished for s in reused.values()), default=results_files.now())
    data = {
        "schema": results_files.SCHEMA, "cell": str(cell), "axes": cell.as_dict(), "started": finished,
        "finished": finished, "cases": [dict(c) for s in reused.values() for c in s.cases],
        "incidents": {"ran": [], "covered_by": {i: str(c) for i, c in covered.items()},
                      "reused": {i: {"file": s.file, "finished": s.finished} for i, s in reused.items()}},
        "fingerprint": {i: s.fingerprint.as_dict() for i, s in reused.items()},
    }
    return Run.from_dict(data)
