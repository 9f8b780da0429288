"""Results files: one JSON file per run of one matrix cell, under `regressions/results/`, never overwritten.

A results file is the only thing the table and the site read (never logs). It holds the cell, the exact
installed versions, Python, the host, the times, which incidents the cell ran (and which an earlier cell of the
same dependency versions ran for it) and the per-case report of the pytest plugin. Files are written atomically
under a name no other file has: the content goes to a temporary file in the same folder, is flushed to disk,
then linked to its final name, which fails rather than replace an existing file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from incidentkb.matrix.axes import Cell, cell_key
from incidentkb.verdict.judge import CellFacts, judge
from incidentkb.verdict.outcomes import Outcome

if TYPE_CHECKING:
    from incidentkb.records.schema import Incident

__all__ = ["SCHEMA", "RESULTS_DIR", "results_dir", "ResultsError", "CaseResult", "CellResult", "write", "read", "read_data",
           "read_all", "result_paths", "latest_per_cell", "stack_note", "add_copy", "write_new"]

SCHEMA = 1
#: Where runs write their results, relative to the repository root (INCIDENTKB_RESULTS overrides it, e.g. for
#: trial runs whose results should not join the committed ones).
RESULTS_DIR = "regressions/results"


def results_dir(root: Path) -> Path:
    """The folder results are written to and read from."""
    return Path(os.environ.get("INCIDENTKB_RESULTS") or root / RESULTS_DIR)


class ResultsError(ValueError):
    """A results file that cannot be read as one; the message names the file."""


@dataclass(frozen=True)
class CaseResult:
    """One case's outcome in one cell."""

    nodeid: str
    incident: str
    role: str
    outcome: Outcome
    detail: str | None = None
    error: str | None = None
    """The error the case observed, as `Type: message`, for the reports that show it beside the outcome."""

    @property
    def name(self) -> str:
        """The test function, with its parameters if any: `test_fix_cast_to_float32[cpu]`."""
        return self.nodeid.rsplit("::", 1)[-1]

    @property
    def function(self) -> str:
        """The test function alone, as records name it: `test_fix_cast_to_float32`."""
        return self.name.split("[", 1)[0]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "CaseResult":
        return cls(
            nodeid=data["nodeid"], incident=data["incident"], role=data["role"],
            outcome=Outcome.from_str(data["outcome"]), detail=data.get("detail"), error=_error_line(data),
        )


def _error_line(case: Mapping[str, Any]) -> str | None:
    observation = case.get("observation")
    error = observation.get("error") if isinstance(observation, Mapping) else None
    if not isinstance(error, Mapping) or not error.get("message"):
        return None
    kind = str(error.get("type", "")).rsplit(".", 1)[-1]
    message = " ".join(str(error["message"]).split())
    return f"{kind}: {message}" if kind else message


@dataclass(frozen=True)
class CellResult:
    """A run of one cell, as written to (and read back from) its results file."""

    cell: Cell
    started: str
    finished: str
    cases: tuple[CaseResult, ...]
    ran: tuple[str, ...] = ()
    """Incidents this cell ran."""
    covered: Mapping[str, str] = field(default_factory=dict)
    """Incident -> the cell (string) that ran it for the same dependency versions in the same invocation."""
    data: Mapping[str, Any] = field(default_factory=dict)
    """The whole file, as written."""
    path: Path | None = None

    def judged(self, records: Mapping[str, Incident]) -> "CellResult":
        """This run with each case's verdict derived anew from what the file stores and the records as they are.

        The file is not changed: a corrected record or a new rule re-judges every committed run when it is read.
        """
        cell = CellFacts.from_results(self.data) if self.data else CellFacts(self.cell.gpus, {})
        cases = []
        for case, stored in zip(self.cases, self.data.get("cases", []) if self.data else [None] * len(self.cases)):
            entry = stored if isinstance(stored, Mapping) else {"nodeid": case.nodeid, "role": case.role,
                                                                "outcome": case.outcome.value}
            verdict = judge(entry, records.get(case.incident), cell)
            detail = f"{verdict.note}; {case.detail}" if verdict.note and case.detail else verdict.note or case.detail
            cases.append(replace(case, outcome=verdict.outcome, detail=detail))
        return replace(self, cases=tuple(cases))

    def failures(self, *, strict: bool = False) -> list[CaseResult]:
        """Cases that make the run fail: a broken fix, a crash, a timeout, and with `strict` any drift."""
        return [c for c in self.cases if c.outcome.fails_run or (strict and c.outcome.is_drift)]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path | None = None) -> "CellResult":
        if data.get("schema") != SCHEMA:
            raise ResultsError(f"{path}: results schema {data.get('schema')!r}, this incidentkb reads {SCHEMA}")
        try:
            return cls(
                cell=Cell.parse(data["cell"]), started=data["started"], finished=data["finished"],
                cases=tuple(CaseResult.from_dict(c) for c in data.get("cases", [])),
                ran=tuple(data.get("incidents", {}).get("ran", [])),
                covered=dict(data.get("incidents", {}).get("covered_by", {})),
                data=data, path=path,
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise ResultsError(f"{path}: not a results file ({type(exc).__name__}: {exc})") from None


def stack_note(data: Mapping[str, Any]) -> str | None:
    """What a results file says its versions were when the matrix did not pin them all, in one line, or None.

    `resolved 2026-12-03: transformers 5.25.0, trl 1.17.0` for `latest`; a candidate's own pins (and their
    source) first. The table's legend and the site's cell labels show it.
    """
    parts = []
    candidate = data.get("candidate")
    if isinstance(candidate, Mapping):
        pins = " ".join(f"{name}=={version}" for name, version in (candidate.get("pins") or {}).items())
        parts.append(f"candidate {pins or '(no pins)'}" + (f" from {candidate['source']}" if candidate.get("source") else ""))
    resolved = data.get("resolved")
    if isinstance(resolved, Mapping) and resolved.get("chosen"):
        chosen = ", ".join(f"{name} {version}" for name, version in resolved["chosen"].items())
        frozen = " (frozen in a wheelhouse)" if resolved.get("wheelhouse") else ""
        parts.append(f"resolved {resolved.get('date', '?')}{frozen}: {chosen}")
    return "; ".join(parts) or None


def now() -> str:
    """The current UTC time, as results files write it."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def file_name(cell: Cell, finished: str) -> str:
    """`20261127T231502Z_torch-2.6.0_stack-4.51.3_gpus-0.json`: sorted by time, then by cell."""
    stamp = dt.datetime.fromisoformat(finished).astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}_{cell.slug}.json"


def write(data: Mapping[str, Any], directory: str | Path = RESULTS_DIR) -> Path:
    """Write a results file atomically under a new name and return its path; an existing file is never touched."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cell = Cell.parse(data["cell"])
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    return write_new(directory, file_name(cell, data["finished"])[: -len(".json")], text)


def write_new(directory: Path, stem: str, text: str) -> Path:
    """Write `text` atomically to `<stem>.json` in `directory` (or `<stem>-2.json`, ...), never replacing a file."""
    return _write_bytes(directory, stem, text.encode("utf-8"))


def add_copy(source: str | Path, directory: str | Path, stem: str) -> Path:
    """Copy a results file byte for byte into `directory` as `<stem>.json`, or `<stem>-2.json`... when taken.

    What `incidentkb results merge` and the Slurm executor use: a file another host or job wrote keeps exactly
    the bytes that run wrote, and no file already in `directory` is ever replaced.
    """
    return _write_bytes(Path(directory), stem, Path(source).read_bytes())


def _write_bytes(directory: Path, stem: str, content: bytes) -> Path:
    """Write `content` to a temporary file, flushed to disk, then link it under a new name: never half a file."""
    directory.mkdir(parents=True, exist_ok=True)
    # Not `*.json`: a run killed mid-write leaves this behind, and anything that globs `*.json` (pathlib's glob
    # lists hidden files) would read half a results file.
    fd, tmp = tempfile.mkstemp(prefix=".incomplete-", suffix=".partial", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        final = _link_new(tmp, directory, stem)
    finally:
        os.unlink(tmp)
    _fsync_dir(directory)
    return final


def _link_new(tmp: str, directory: Path, stem: str) -> Path:
    """Link `tmp` under the first free name of `<stem>.json`, `<stem>-2.json`, ...: never replaces a file."""
    for attempt in range(1, 1000):
        final = directory / (f"{stem}.json" if attempt == 1 else f"{stem}-{attempt}.json")
        try:
            os.link(tmp, final)  # fails if `final` exists
        except FileExistsError:
            continue
        return final
    raise ResultsError(f"{directory}: no free name for {stem}.json")  # pragma: no cover - a thousand in one second


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: str | Path) -> CellResult:
    path = Path(path)
    return CellResult.from_dict(read_data(path), path)


def read_data(path: str | Path) -> dict[str, Any]:
    """A results file's JSON as written, its schema checked: for a reader that goes through the cases itself.

    The site reads every case of every file once, into its own objects; `read` would first make a `CaseResult`
    of each (60,000 at 1,000 incidents) for nothing.
    """
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path}: {exc}") from None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        schema = data.get("schema") if isinstance(data, dict) else None
        raise ResultsError(f"{path}: results schema {schema!r}, this incidentkb reads {SCHEMA}")
    return data


def result_paths(directory: str | Path = RESULTS_DIR) -> list[Path]:
    """The results files in the folder, by name (hidden files skipped: a write in progress elsewhere)."""
    return sorted(p for p in Path(directory).glob("*.json") if not p.name.startswith("."))


def read_all(directory: str | Path = RESULTS_DIR) -> list[CellResult]:
    """Every results file in the folder, oldest run first (temporary files of a write in progress skipped)."""
    return sorted((read(p) for p in result_paths(directory)), key=lambda r: (r.finished, str(r.cell)))


def latest_per_cell(results: Iterable[CellResult]) -> list[CellResult]:
    """The newest run of each cell, in cell order."""
    latest: dict[Cell, CellResult] = {}
    for result in results:
        if result.cell not in latest or result.finished >= latest[result.cell].finished:
            latest[result.cell] = result
    return [latest[cell] for cell in sorted(latest, key=cell_key)]
