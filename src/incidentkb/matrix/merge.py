"""Merging results folders from several hosts or jobs into one, without overwriting or duplicating a run.

Results come back from many places: a Slurm job's folder, a CI job's artifact, a GPU host's `INCIDENTKB_RESULTS`.
Each file is one run of one cell and is kept byte for byte. A file whose content is already in the target folder
(under any name) is the same run coming back twice and is added once; a different run that happens to have the
same name (the same cell finishing in the same second on two hosts) is kept under a new name (`...-2.json`); a
file that is not a whole results file (cut off by a full disk, an interrupted copy, another schema) is refused
with one line naming it, and the others are still merged. Nothing in the target folder is ever changed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from incidentkb.matrix import results_files
from incidentkb.results.runs import read

__all__ = ["Added", "MergeReport", "merge", "content_key"]


@dataclass(frozen=True)
class Added:
    source: Path
    path: Path
    renamed: bool
    """True when the file got another name than it had (its name was taken by another run, or did not say
    which cell and time it holds)."""


@dataclass
class MergeReport:
    added: list[Added] = field(default_factory=list)
    already: list[tuple[Path, Path]] = field(default_factory=list)
    """(source, the file in the target that holds the same run)."""
    refused: list[str] = field(default_factory=list)
    """One line per file that was not merged: `path: why`."""

    def lines(self, shown: Callable[[Path], str] = str) -> list[str]:
        """What the command prints: each file added or refused, then one line of counts."""
        out = [f"added {shown(a.path)}" + (f" (from {shown(a.source)}, under a new name)"
                                           if a.renamed else f" (from {shown(a.source)})") for a in self.added]
        out += [f"refused {line}" for line in self.refused]
        out.append(f"{len(self.added)} added, {len(self.already)} already there, {len(self.refused)} refused")
        return out


def content_key(data: object) -> str:
    """The identity of a run: its JSON content, whatever the file's name or whitespace."""
    return hashlib.sha256(json.dumps(data, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _candidates(folder: Path, report: MergeReport) -> list[Path]:
    if not folder.is_dir():
        report.refused.append(f"{folder}: not a folder")
        return []
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    out = []
    for path in files:
        if path.name.startswith(".incomplete-"):
            report.refused.append(f"{path}: an unfinished write (the run was killed while writing it)")
        elif path.suffix == ".json":
            out.append(path)
    return out


def merge(sources: Iterable[str | Path], into: str | Path) -> MergeReport:
    """Add every results file under the `sources` folders (searched recursively) to `into`; see the module."""
    into = Path(into)
    report = MergeReport()
    known: dict[str, Path] = {}
    for path in results_files.result_paths(into) if into.is_dir() else ():
        try:
            known[content_key(read(path).raw)] = path
        except results_files.ResultsError:
            continue  # the target's own damage is `incidentkb check`'s business, not a reason to refuse others
    for folder in map(Path, sources):
        if folder.resolve() == into.resolve():
            continue
        for path in _candidates(folder, report):
            try:
                result = read(path)
                data = result.raw
                canonical = results_files.file_name(result.cell, result.finished)[: -len(".json")]
            except (results_files.ResultsError, ValueError) as exc:
                why = " ".join(str(exc).removeprefix(f"{path}: ").split())
                report.refused.append(f"{path}: not a whole results file ({why})")
                continue
            key = content_key(data)
            if key in known:
                report.already.append((path, known[key]))
                continue
            # a source's own `-2` (two runs in one second on that host) is kept when free; any other name is
            # replaced by the one the run's cell and time give
            stem = path.stem if path.stem.startswith(canonical) else canonical
            final = results_files.add_copy(path, into, stem)
            known[key] = final
            report.added.append(Added(path, final, renamed=final.name != path.name))
    return report
