"""Reading what the site is built from: the incident records and the regression results files.

Records are read with `incidentkb.records.reader` and results files with `incidentkb.results`, the readers `check`,
the table and the pytest plugin share. Every problem is raised as a `SourceError` that names the file, so the
plugin can stop the build with a message the author can act on instead of a traceback from inside MkDocs.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentkb.host.gpu_conditions import GpuFacts
from incidentkb.results.cells import Cell
from incidentkb.results.files import ResultsError, result_paths
from incidentkb.results.history import role_outcomes
from incidentkb.results.runs import Observation, Run, error_line, read
from incidentkb.records.reader import RecordError, load_records
from incidentkb.records.schema import Incident
from incidentkb.site.case_runs import CaseRun, Coverage
from incidentkb.site.evidence import clean
from incidentkb.verdict.outcomes import Outcome

__all__ = ["SourceError", "LoadedRuns", "HistoryKey", "load_incidents", "load_results"]

#: The libraries whose versions the site shows beside a run; the matrix's axes are made of them.
SHOWN_VERSIONS = ("torch", "transformers", "trl")
#: What a results file's `versions` holds that is not part of a stack (the torch axis, the interpreter).
_NOT_STACK = ("python", "torch")

#: (incident, cell as its string, role): whose outcomes over time `LoadedRuns.history` holds. The cell's string,
#: made once per file, not the `Cell`: hashing a frozen dataclass 140,000 times was 2 s of a 1,000-incident build.
HistoryKey = tuple[str, str, str]


class SourceError(Exception):
    """A record or results file the site cannot be built from; the message starts with the file's path."""


def _shown(path: Path) -> Path:
    """The path as the author would type it: relative to the working directory when it is inside it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def load_incidents(directory: Path) -> list[Incident]:
    """Every `<id>.yaml` record in `directory`, newest first (the order of the knowledge base's table)."""
    if not directory.is_dir():
        raise SourceError(f"{directory}: the incidents directory does not exist; set `incidents:` of the plugin")
    try:
        incidents = load_records(_shown(directory), check_patterns=False)  # the site never matches
    except RecordError as exc:
        shown = "\n".join(str(p) for p in exc.problems[:5])
        more = f"\n(and {len(exc.problems) - 5} more)" if len(exc.problems) > 5 else ""
        raise SourceError(f"{shown}{more}\nrun `incidentkb check` to see every problem") from None
    return sorted(incidents, key=lambda i: (i.date, i.id), reverse=True)


@dataclass
class LoadedRuns:
    """Every case run and every coverage note of the results files."""

    runs: list[CaseRun] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)
    torch_versions: dict[Cell, str] = field(default_factory=dict)
    """The torch each cell really had (a cell's torch may be `installed`, the host's own)."""
    stack_versions: dict[str, str] = field(default_factory=dict)
    """What each stack installed, in words (`transformers 4.51.3, trl 0.15.2, accelerate 1.0.1, ...`), from the
    newest results files of its cells: a stack's id alone (`4.51.3`) says nothing of trl or peft."""
    files: int = 0
    """How many results files there are (each one run of one cell)."""
    history: dict[HistoryKey, list[tuple[dt.datetime, Outcome]]] = field(default_factory=dict)
    """Every run's outcome of each case in each cell, oldest first (older results files included)."""
    stack_notes: dict[Cell, str] = field(default_factory=dict)
    """What the newest run of a cell resolved its open versions to (`latest`, a candidate), in one line."""
    gpus_seen: tuple[GpuFacts, ...] = ()
    """Every GPU a results file recorded (older files included): the GPUs the matrix has, as `check` reads them."""


def _time(text: str, source: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SourceError(f"{source}: finished {text!r} is not an ISO date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


#: Values printed as they are; anything else (a list, a mapping) is printed as JSON.
_PLAIN = {str, int, float, bool, type(None)}


def _observed(observation: Observation) -> str:
    """The notes (what the case says it saw, in words), then the measured values (`name = value`, JSON for what is
    not a plain value), one a line: a box that shows the first lines shows the words first."""
    values, notes = observation.values, observation.notes
    if not values and not notes:
        return ""
    lines = [f"{name} = {value}" if type(value) in _PLAIN else f"{name} = {json.dumps(value)}"
             for name, value in (values or {}).items()]
    if notes:
        lines = [str(note) for note in notes] + lines
    return clean("\n".join(lines)) if notes else "\n".join(lines)


#: Measured values the site plots: memory, by the unit in their name.
_MEMORY_SUFFIXES = ("_mb", "_mib")


def _memory(values: Mapping[str, Any] | None) -> tuple[tuple[str, float], ...]:
    if not values:
        return ()
    return tuple((name, float(value)) for name, value in values.items()
                 if name.endswith(_MEMORY_SUFFIXES) and type(value) in (int, float))


def _runs_of(run: Run, finished: dt.datetime) -> Iterator[CaseRun]:
    """A `CaseRun` of each case of an incident in one judged run (60,000 at 1,000 incidents: kept lean)."""
    machine = run.host.words()
    versions = ", ".join(f"{name} {run.versions[name]}" for name in SHOWN_VERSIONS if run.versions.get(name))
    for case in run.incident_cases:
        error = error_line(case.error, one_line=False)
        reused_file, reused_at = run.reused_from(case.incident)  # a verdict reused from an earlier run keeps its date
        when = _time(reused_at, run.source) if reused_at else finished
        yield CaseRun(case.incident, case.role, run.cell, case.outcome, when, machine, reused_file or run.source,
                      case.variant,
                      versions, clean(error) if error else None, _observed(case.observation),
                      clean(case.detail or "") or None, _memory(case.values))


def _add_history(run: Run, finished: dt.datetime, results: LoadedRuns) -> None:
    """One history point per (incident, role) that ran in a judged run (`results.history.role_outcomes`, the rule
    `nox -s changes` follows too)."""
    cell_id = str(run.cell)
    for (incident, role), case in role_outcomes(run).items():
        results.history.setdefault((incident, cell_id, role), []).append((finished, case.outcome))


def _stack_words(versions: Mapping[str, Any]) -> str:
    return ", ".join(f"{name} {version}" for name, version in versions.items() if version and name not in _NOT_STACK)


#: `results.write` names a file `<finished, UTC>_<cell slug>[-<n>].json`.
_RESULTS_NAME = re.compile(r"^(\d{8}T\d{6}Z)_(torch-.+_stack-.+_gpus-\d+)(?:-\d+)?\.json$")


def _reading_order(paths: list[Path]) -> list[tuple[str, str, Path]]:
    """(cell slug, time, path) of each file, newest first within a cell; files named otherwise come last."""
    named = []
    for path in paths:
        match = _RESULTS_NAME.match(path.name)
        named.append((match.group(2), match.group(1), path) if match else ("", "", path))
    return sorted(named, key=lambda t: (t[0], t[1], t[2].name), reverse=True)


def _read(path: Path, incidents: Mapping[str, Incident]) -> tuple[Run, dt.datetime]:
    """One results file as a judged run and when it finished; a file that is not one stops the build."""
    try:
        run = read(path)
    except ResultsError as exc:
        raise SourceError(str(exc)) from None
    return run.judged(incidents), _time(run.finished, path.name)


def _add_newest(run: Run, finished: dt.datetime, results: LoadedRuns, notes: list[tuple[Any, ...]]) -> None:
    """What a newest run of a cell gives the site: its case runs, its copies' notes, its versions."""
    results.runs.extend(_runs_of(run, finished))
    results.coverage.extend(Coverage(incident, run.cell, Cell.parse(by), finished)
                            for incident, by in run.covered.items())
    torch, note = run.versions.get("torch"), run.stack_note()
    required = dict(run.cell.requires)  # an incident's own packages (`... albumentations=1.3.1`) are no stack's
    stack = {name: version for name, version in run.versions.items() if name not in required}
    notes.append((finished, run.source, run.cell, torch, note, _stack_words(stack)))


def _settle(results: LoadedRuns, notes: list[tuple[Any, ...]]) -> None:
    """The newest run of a cell says what its torch and its open versions were; the longest words of a stack
    (GPU cells also list peft) say what it installs."""
    for _, _, cell, torch, note, _ in sorted(notes, key=lambda n: n[:2]):
        if torch:
            results.torch_versions[cell] = torch
        if note:
            results.stack_notes[cell] = note
    for _, _, cell, _, _, words in sorted(notes, key=lambda n: (len(n[5]), n[0])):
        if words:
            results.stack_versions[cell.stack] = words
    for points in results.history.values():
        points.sort()


def load_results(directory: Path, incidents: Mapping[str, Incident] | None = None) -> LoadedRuns:
    """Every case run in the results files of `directory` that the site can show; no directory: no results yet.

    Results files are never deleted, so a cell's history only grows; the site shows, for each incident and
    cell, the newest run, judged against its record (`incidentkb.verdict.judge`). Given the records, a cell's
    older files, once its newer ones have run (or covered) every incident, give only their outcomes, for the
    history (`LoadedRuns.history`). Each file is read once, through `incidentkb.results`.
    """
    results = LoadedRuns()
    if not directory.is_dir():
        return results
    notes: list[tuple[Any, ...]] = []
    gpus: dict[GpuFacts, None] = {}
    slug, remaining, newest_complete = None, set(), ""
    for name_slug, stamp, path in _reading_order(result_paths(_shown(directory))):
        if name_slug != slug:
            slug, remaining, newest_complete = name_slug, set(incidents or ()), ""
        older = bool(name_slug and incidents is not None and newest_complete and stamp < newest_complete)
        run, finished = _read(path, incidents or {})
        results.files += 1
        gpus.update(dict.fromkeys(run.host.gpus))
        _add_history(run, finished, results)
        if older:  # every incident has a newer run in this cell: only its outcomes, for the history
            continue
        _add_newest(run, finished, results, notes)
        remaining.difference_update({case.incident for case in run.incident_cases}, run.covered)
        if not remaining and not newest_complete:
            newest_complete = stamp
    _settle(results, notes)
    results.gpus_seen = tuple(gpus)
    return results
