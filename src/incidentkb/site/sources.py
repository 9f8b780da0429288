"""Reading what the site is built from: the incident records and the regression results files.

Records are read with `incidentkb.records.reader` and results files with `incidentkb.matrix.results_files`, the readers `check`,
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

from incidentkb.matrix.axes import Cell, MatrixError
from incidentkb.matrix.results_files import ResultsError, read_data, result_paths, reused_from, stack_note
from incidentkb.records.reader import RecordError, load_records
from incidentkb.records.schema import Incident
from incidentkb.site.case_runs import CaseRun, Coverage
from incidentkb.site.evidence import clean
from incidentkb.verdict.judge import CellFacts, judge
from incidentkb.verdict.outcomes import LEVEL_RANK, Outcome

__all__ = ["SourceError", "LoadedRuns", "HistoryKey", "load_incidents", "load_results", "describe_machine"]

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


def describe_machine(host: Mapping[str, Any]) -> str:
    """The host in a few words, from a results file's `host`; parts it lacks are left out."""
    parts: list[str] = []
    if host.get("platform"):
        parts.append(str(host["platform"]))
    if host.get("cpu_count"):
        parts.append(f"{host['cpu_count']} CPUs")
    gpus = host.get("gpus") or []
    if gpus:
        names = sorted({str(g.get("name", "GPU")) for g in gpus})
        parts.append(f"{len(gpus)} x {' / '.join(names)}")
    else:
        parts.append("no GPU")
    if host.get("driver"):
        parts.append(f"driver {host['driver']}")
    return ", ".join(parts)


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


def _time(text: str, source: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SourceError(f"{source}: finished {text!r} is not an ISO date-time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _error_text(error: Mapping[str, Any] | None) -> str | None:
    if not error:
        return None
    kind = str(error.get("type", "")).rsplit(".", 1)[-1]
    message = str(error.get("message", ""))
    return f"{kind}: {message}" if kind else message


def _variant(nodeid: str) -> str:
    name = nodeid.rsplit("::", 1)[-1]
    return name[name.index("[") + 1 : -1] if name.endswith("]") and "[" in name else ""


#: Values printed as they are; anything else (a list, a mapping) is printed as JSON.
_PLAIN = {str, int, float, bool, type(None)}


def _observed(observation: Mapping[str, Any]) -> str:
    """The measured values (`name = value`, JSON for what is not a plain value) and the notes, one a line."""
    values, notes = observation.get("values"), observation.get("notes")
    if not values and not notes:
        return ""
    lines = [f"{name} = {value}" if type(value) in _PLAIN else f"{name} = {json.dumps(value)}"
             for name, value in (values or {}).items()]
    if notes:
        lines += [str(note) for note in notes]
    return clean("\n".join(lines)) if notes else "\n".join(lines)


#: Measured values the site plots: memory, by the unit in their name.
_MEMORY_SUFFIXES = ("_mb", "_mib")


def _memory(values: Mapping[str, Any] | None) -> tuple[tuple[str, float], ...]:
    if not values:
        return ()
    return tuple((name, float(value)) for name, value in values.items()
                 if name.endswith(_MEMORY_SUFFIXES) and type(value) in (int, float))


def _runs_of(data: Mapping[str, Any], cell: Cell, finished: dt.datetime, source: str,
             records: Mapping[str, Incident]) -> Iterator[CaseRun]:
    """A `CaseRun` of each case of an incident in one results file (60,000 at 1,000 incidents: kept lean)."""
    host = data.get("host") or (data.get("report") or {}).get("hardware") or {}
    machine = describe_machine(host)
    installed = data.get("versions") or {}
    versions = ", ".join(f"{name} {installed[name]}" for name in SHOWN_VERSIONS if installed.get(name))
    facts = CellFacts.from_results(data)
    for case in data.get("cases", []):
        incident, role = case.get("incident"), case.get("role")
        if not incident or not role:
            continue  # a test of the harness itself, not a case of an incident
        verdict = judge(case, records.get(str(incident)), facts)
        observation = case.get("observation") or {}
        error = observation.get("error")
        nodeid = case.get("nodeid") or ""
        reused_file, reused_at = reused_from(data, str(incident))  # a verdict reused from an earlier run keeps its date
        yield CaseRun(
            str(incident),
            str(role),
            cell,
            verdict.outcome,
            _time(reused_at, source) if reused_at else finished,
            machine,
            reused_file or source,
            _variant(str(nodeid)) if "[" in nodeid else "",
            versions,
            clean(_error_text(error)) if error else None,  # type: ignore[arg-type]
            _observed(observation),
            clean("; ".join(filter(None, (verdict.note, case.get("detail"))))) or None,
            _memory(observation.get("values")),
        )


def _outcomes_of(data: Mapping[str, Any], records: Mapping[str, Incident]) -> dict[tuple[str, str], Outcome]:
    """The outcome of each (incident, role) in an older results file: the most telling of its variants."""
    facts = CellFacts.from_results(data)
    outcomes: dict[tuple[str, str], Outcome] = {}
    for case in data.get("cases", []):
        incident, role = case.get("incident"), case.get("role")
        if not incident or not role:
            continue
        outcome = judge(case, records.get(str(incident)), facts).outcome
        key = (str(incident), str(role))
        kept = outcomes.get(key)
        if kept is None or LEVEL_RANK[outcome.level] > LEVEL_RANK[kept.level]:
            outcomes[key] = outcome
    return outcomes


def _add_history(data: Mapping[str, Any], path: Path, records: Mapping[str, Incident], results: LoadedRuns) -> None:
    """The outcomes of an older results file of a cell, added to `results.history`."""
    try:
        cell, finished = str(Cell.parse(str(data["cell"]))), _time(str(data["finished"]), path.name)
        history = results.history
        for (incident, role), outcome in _outcomes_of(data, records).items():
            history.setdefault((incident, cell, role), []).append((finished, outcome))
    except (KeyError, TypeError, ValueError, AttributeError, MatrixError) as exc:
        raise SourceError(f"{path}: not a results file of schema 1 ({type(exc).__name__}: {exc})") from None


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


def _add_newest_history(runs: list[CaseRun], cell: Cell, finished: dt.datetime, results: LoadedRuns) -> None:
    """One history point per case (the worst of its variants) of a newest results file."""
    by_role: dict[tuple[str, str], Outcome] = {}
    for run in runs:
        kept = by_role.get((run.incident, run.role))
        if kept is None or LEVEL_RANK[run.outcome.level] > LEVEL_RANK[kept.level]:
            by_role[(run.incident, run.role)] = run.outcome
    cell_id = str(cell)
    for (incident, role), outcome in by_role.items():
        results.history.setdefault((incident, cell_id, role), []).append((finished, outcome))


def load_results(directory: Path, incidents: Mapping[str, Incident] | None = None) -> LoadedRuns:
    """Every case run in the results files of `directory` that the site can show; no directory: no results yet.

    Results files are never deleted, so a cell's history only grows; the site shows, for each incident and
    cell, the newest run, judged against its record (`incidentkb.verdict.judge`). Given the records, a cell's
    older files, once its newer ones have run (or covered) every incident, give only their outcomes, for the
    history (`LoadedRuns.history`). Each file is read once and its JSON dropped before the next is read.
    """
    results = LoadedRuns()
    if not directory.is_dir():
        return results
    torch_versions: list[tuple[dt.datetime, str, Cell, str]] = []
    stack_notes: list[tuple[dt.datetime, str, Cell, str]] = []
    stacks: list[tuple[dt.datetime, str, Cell, str]] = []
    slug, remaining, newest_complete = None, set(), ""
    for name_slug, stamp, path in _reading_order(result_paths(_shown(directory))):
        if name_slug != slug:
            slug, remaining, newest_complete = name_slug, set(incidents or ()), ""
        older = bool(name_slug and incidents is not None and newest_complete and stamp < newest_complete)
        try:
            data = read_data(path)
        except ResultsError as exc:
            raise SourceError(str(exc)) from None
        source = path.name
        results.files += 1
        if older:  # every incident has a newer run in this cell: only its outcomes, for the history
            _add_history(data, path, incidents or {}, results)
            continue
        try:
            cell = Cell.parse(str(data["cell"]))
            finished = _time(str(data["finished"]), source)
            runs = list(_runs_of(data, cell, finished, source, incidents or {}))
            covered = ((data.get("incidents") or {}).get("covered_by") or {}).items()
            coverage = [Coverage(str(incident), cell, Cell.parse(str(by)), finished) for incident, by in covered]
        except (KeyError, TypeError, ValueError, AttributeError, MatrixError) as exc:
            raise SourceError(f"{path}: not a results file of schema 1 ({type(exc).__name__}: {exc})") from None
        results.runs.extend(runs)
        results.coverage.extend(coverage)
        _add_newest_history(runs, cell, finished, results)
        remaining.difference_update({run.incident for run in runs}, {note.incident for note in coverage})
        if not remaining and not newest_complete:
            newest_complete = stamp
        torch = (data.get("versions") or {}).get("torch")
        if torch:
            torch_versions.append((finished, source, cell, str(torch)))
        note = stack_note(data)
        if note:
            stack_notes.append((finished, source, cell, note))
        stacks.append((finished, source, cell, _stack_words(data.get("versions") or {})))
    for _, _, cell, torch in sorted(torch_versions):  # the newest run of a cell says what its torch is
        results.torch_versions[cell] = torch
    for _, _, cell, note in sorted(stack_notes):
        results.stack_notes[cell] = note
    for _, _, cell, words in sorted(stacks, key=lambda t: (len(t[3]), t[0])):  # GPU cells also list peft
        if words:
            results.stack_versions[cell.stack] = words
    for points in results.history.values():
        points.sort()
    return results
