"""Reading what the site is built from: the incident records and the regression results files.

Records are read with `incidentkb.records` and results files with `incidentkb.results`, the readers `check`,
the table and the pytest plugin share. Every problem is raised as a `SourceError` that names the file, so the
plugin can stop the build with a message the author can act on instead of a traceback from inside MkDocs.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from incidentkb.matrix import Cell, MatrixError
from incidentkb.outcomes import Outcome
from incidentkb.records import RecordError, load_records
from incidentkb.results import CellResult, ResultsError, read_all
from incidentkb.schema import Incident
from incidentkb.site.runs import CaseRun, Coverage

__all__ = ["SourceError", "Results", "load_incidents", "load_results", "describe_machine"]

#: The libraries whose versions the site shows beside a run; the matrix's axes are made of them.
SHOWN_VERSIONS = ("torch", "transformers", "trl")


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
        incidents = load_records(_shown(directory))
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
class Results:
    """Every case run and every coverage note of the results files."""

    runs: list[CaseRun] = field(default_factory=list)
    coverage: list[Coverage] = field(default_factory=list)
    torch_versions: dict[Cell, str] = field(default_factory=dict)
    """The torch each cell really had (a cell's torch may be `installed`, the host's own)."""


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


def _runs_of(result: CellResult, source: str) -> Iterator[CaseRun]:
    data = result.data
    finished = _time(result.finished, source)
    host = data.get("host") or (data.get("report") or {}).get("hardware") or {}
    machine = describe_machine(host)
    installed = data.get("versions") or {}
    versions = ", ".join(f"{name} {installed[name]}" for name in SHOWN_VERSIONS if installed.get(name))
    for case in data.get("cases", []):
        if not case.get("incident") or not case.get("role"):
            continue  # a test of the harness itself, not a case of an incident
        observation = case.get("observation") or {}
        yield CaseRun(
            incident=str(case["incident"]),
            role=str(case["role"]),
            cell=result.cell,
            outcome=Outcome.from_str(str(case["outcome"])),
            finished=finished,
            machine=machine,
            source=source,
            variant=_variant(str(case.get("nodeid", ""))),
            versions=versions,
            error=_error_text(observation.get("error")),
            values={k: v if isinstance(v, (str, int, float, bool)) or v is None else json.dumps(v)
                    for k, v in (observation.get("values") or {}).items()},
            notes=tuple(str(n) for n in observation.get("notes") or ()),
            detail=case.get("detail") or None,
        )


def load_results(directory: Path) -> Results:
    """Every case run in the results files of `directory`; a missing directory means no results yet."""
    results = Results()
    if not directory.is_dir():
        return results
    try:
        files = read_all(_shown(directory))
    except (ResultsError, MatrixError) as exc:
        raise SourceError(str(exc)) from None
    for result in files:
        source = result.path.name if result.path else str(result.cell)
        try:
            results.runs.extend(_runs_of(result, source))
            finished = _time(result.finished, source)
            for incident, by in result.covered.items():
                results.coverage.append(Coverage(str(incident), result.cell, Cell.parse(str(by)), finished))
        except (KeyError, TypeError, ValueError, AttributeError, MatrixError) as exc:
            raise SourceError(f"{result.path}: not a results file of schema 1 ({type(exc).__name__}: {exc})") from None
        torch = (result.data.get("versions") or {}).get("torch")
        if torch:
            results.torch_versions[result.cell] = str(torch)
    return results
