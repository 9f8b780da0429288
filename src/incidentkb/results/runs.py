"""A results file read once into typed objects: the run, its cell and versions, its host, its cases.

Every reader of results (the table, the site, `changes`, `check`, the candidate summary, bisection) goes through
these objects and never indexes a file's JSON. Each object reads its own part of the file in one `from_dict`,
and fields that a file lacks take their defaults, so a field a newer writer adds (a GPU's compute capability, a
fingerprint) is one line here, and an older file still reads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from incidentkb.host.gpu_conditions import GpuFacts
from incidentkb.host.versions import canonical_name
from incidentkb.match.signatures import ErrorInfo
from incidentkb.results.cells import Cell, MatrixError, cell_key
from incidentkb.results.files import RESULTS_DIR, SCHEMA, ResultsError, read_json, read_text, result_paths
from incidentkb.verdict.judge import CellFacts, judge
from incidentkb.verdict.needed import Judged, in_context, symptom_in_cell
from incidentkb.verdict.outcomes import Outcome

if TYPE_CHECKING:
    from incidentkb.records.schema import Incident

__all__ = ["Versions", "Host", "Observation", "Case", "Run", "ResultsFile", "read", "read_all", "read_files",
           "latest_per_cell", "newest_by", "newest_cases", "error_line"]


def _known(cls: type, data: Any) -> dict[str, Any]:
    """The entries of `data` that name a field of the dataclass `cls`: a new field needs no reading code."""
    if not isinstance(data, Mapping):
        return {}
    return {f.name: data[f.name] for f in dataclasses.fields(cls) if f.name in data and data[f.name] is not None}


class Versions(Mapping[str, str]):
    """Installed versions by package, looked up by any spelling of a name (`liger_kernel` finds `liger-kernel`)."""

    def __init__(self, versions: Mapping[str, Any] | None = None) -> None:
        self._by_name = {canonical_name(str(k)): str(v) for k, v in (versions or {}).items() if v}
        self._spelled = {canonical_name(str(k)): str(k) for k in (versions or {})}

    def __getitem__(self, name: str) -> str:
        return self._by_name[canonical_name(name)]

    def __iter__(self) -> Iterator[str]:
        return (self._spelled[name] for name in self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        return f"Versions({dict(self.items())!r})"

    def changes(self, newer: "Versions") -> tuple[str, ...]:
        """What differs from `newer`, a line a package: `transformers 5.24.0 -> 5.25.0`."""
        names = sorted(set(self._by_name) | set(newer._by_name))
        spelled = {**newer._spelled, **self._spelled}
        return tuple(f"{spelled[n]} {self._by_name.get(n)} -> {newer._by_name.get(n)}"
                     for n in names if self._by_name.get(n) != newer._by_name.get(n))


@dataclass(frozen=True)
class Host:
    """The machine a run ran on, as its results file's `host` says."""

    platform: str | None = None
    cpu: str | None = None
    cpu_count: int | None = None
    memory_gb: float | None = None
    gpus: tuple[GpuFacts, ...] = ()
    """The GPUs the cell's pytest saw: name, compute capability, memory."""
    driver: str | None = None
    cuda: str | None = None

    @classmethod
    def from_dict(cls, data: Any) -> "Host":
        known = _known(cls, data)
        known["gpus"] = tuple(GpuFacts.from_dict(g) for g in known.get("gpus") or () if isinstance(g, Mapping))
        return cls(**known)

    def words(self) -> str:
        """The host in a few words; parts it lacks are left out."""
        parts = [self.platform or "", f"{self.cpu_count} CPUs" if self.cpu_count else ""]
        names = " / ".join(sorted({g.name for g in self.gpus}))
        parts.append(f"{len(self.gpus)} x {names}" if self.gpus else "no GPU")
        parts.append(f"driver {self.driver}" if self.driver else "")
        return ", ".join(p for p in parts if p)


def error_line(error: ErrorInfo | None, *, one_line: bool = True) -> str | None:
    """An observed error as `Type: message` (the type's last dotted part): the one wording of it everywhere.

    One line for the terminal and the change report; the site's popup keeps the message's own lines
    (`one_line=False`), since a replica's error carries a whole traceback in its message.
    """
    if error is None or not (error.type or error.message):
        return None
    kind = error.type.rsplit(".", 1)[-1]
    message = " ".join(error.message.split()) if one_line else error.message
    return f"{kind}: {message}" if kind else message


@dataclass(frozen=True)
class Observation:
    """What a case observed: the error it caught, the values it measured, its notes."""

    error: ErrorInfo | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @classmethod
    def from_dict(cls, data: Any) -> "Observation":
        if not isinstance(data, Mapping):
            return cls()
        error = data.get("error")
        readable = isinstance(error, Mapping) and bool(error) and isinstance(error.get("frames", []), list)
        values = data.get("values")
        return cls(ErrorInfo.from_dict(error) if readable else None,  # type: ignore[arg-type]
                   dict(values) if isinstance(values, Mapping) else {},
                   tuple(str(n) for n in data.get("notes") or ()))


@dataclass(frozen=True)
class Case:
    """One case (one variant of it) in one run: what the file stores, and the verdict once judged."""

    nodeid: str
    incident: str
    role: str
    outcome: Outcome
    """The verdict: as the file stores it until the run is judged (`incidentkb.results.judging`), then today's."""
    detail: str | None = None
    observation: Observation = field(default_factory=Observation)
    duration_s: float | None = None
    stored: Outcome | None = None
    """The outcome the results file holds, which judging starts from (None: the same as `outcome`)."""
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The entry as written: for copying it into another results file (a reused run), never for reading a field."""

    @property
    def name(self) -> str:
        """The test function, with its parameters if any: `test_fix_cast_to_float32[cpu]`."""
        return self.nodeid.rsplit("::", 1)[-1]

    @property
    def function(self) -> str:
        """The test function alone, as records name it: `test_fix_cast_to_float32`."""
        return self.name.split("[", 1)[0]

    @property
    def variant(self) -> str:
        """The parameters, `cpu` for `test_fix[cpu]`; empty for a case without."""
        name = self.name
        return name[name.index("[") + 1 : -1] if name.endswith("]") and "[" in name else ""

    @property
    def as_stored(self) -> Outcome:
        return self.stored or self.outcome

    @property
    def error(self) -> ErrorInfo | None:
        return self.observation.error

    @property
    def values(self) -> Mapping[str, Any]:
        return self.observation.values

    @property
    def error_line(self) -> str | None:
        return error_line(self.observation.error)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Case":
        """A case entry of a results file (or of the pytest plugin's report, which has the same shape)."""
        outcome = Outcome.from_str(data["outcome"])
        duration = data.get("duration_s")
        return cls(nodeid=str(data.get("nodeid") or ""), incident=str(data.get("incident") or ""),
                   role=str(data.get("role") or ""), outcome=outcome, detail=data.get("detail"),
                   observation=Observation.from_dict(data.get("observation")),
                   duration_s=float(duration) if isinstance(duration, (int, float)) else None, stored=outcome,
                   raw=data)


@dataclass(frozen=True)
class Run:
    """One run of one cell, as its results file holds it."""

    cell: Cell
    started: str
    finished: str
    cases: tuple[Case, ...]
    gpus: int = 0
    """The GPUs the cell's pytest saw (its `axes`)."""
    versions: Versions = field(default_factory=Versions)
    """What the environment had installed: the torch axis, every package of the stack, Python."""
    packages: Versions = field(default_factory=Versions)
    """Every package the environment had installed, by name."""
    requires: Mapping[str, str] = field(default_factory=dict)
    """The versions of what an incident requires beyond the stacks that this cell pinned (its cell's extra axes)."""
    host: Host = field(default_factory=Host)
    ran: tuple[str, ...] = ()
    """Incidents this cell ran."""
    covered: Mapping[str, str] = field(default_factory=dict)
    """Incident -> the cell (string) whose run stands for this cell's (the same dependency versions): a copy,
    never a run of this cell."""
    resolved: Mapping[str, Any] | None = None
    """What open versions were resolved to when it ran (`latest`): `date` and `chosen`."""
    candidate: Mapping[str, Any] | None = None
    """A candidate run's own pins and their source."""
    fingerprint: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Incident -> the fingerprint of its run here (`incidentkb.matrix.fingerprint`), for reusing it."""
    reused: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    """Incident -> the stored run (`file`, `finished`) whose cases stand for it here: a copy, never a new run."""
    timings: Mapping[str, float] = field(default_factory=dict)
    """Seconds spent: `environment` (building or reusing it) and `pytest`."""
    path: Path | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """The whole file as written: for copying it (merging results folders), never for reading a field of it."""

    @property
    def source(self) -> str:
        """The results file's name, or '' for a run not read from a file."""
        return self.path.name if self.path is not None else ""

    @property
    def incident_cases(self) -> tuple[Case, ...]:
        """The cases of incidents (a test of the harness itself has no incident or role)."""
        return tuple(c for c in self.cases if c.incident and c.role)

    def stack_note(self) -> str | None:
        """What the run says its versions were where the matrix did not pin them all, in one line, or None.

        `resolved 2026-12-03: transformers 5.25.0, trl 1.17.0` for `latest`; a candidate's own pins (and their
        source) first. The table's legend and the site's cell labels show it.
        """
        parts = []
        if self.candidate is not None:
            pins = " ".join(f"{name}=={version}" for name, version in (self.candidate.get("pins") or {}).items())
            source = f" from {self.candidate['source']}" if self.candidate.get("source") else ""
            parts.append(f"candidate {pins or '(no pins)'}{source}")
        if self.resolved is not None and self.resolved.get("chosen"):
            chosen = ", ".join(f"{name} {version}" for name, version in self.resolved["chosen"].items())
            frozen = " (frozen in a wheelhouse)" if self.resolved.get("wheelhouse") else ""
            parts.append(f"resolved {self.resolved.get('date', '?')}{frozen}: {chosen}")
        return "; ".join(parts) or None

    @property
    def facts(self) -> CellFacts:
        """What the cell offered its cases, for judging them: the GPUs its pytest saw, the versions it had."""
        return CellFacts(self.gpus, self.versions, self.host.gpus if self.gpus else ())

    def judged(self, records: Mapping[str, Incident]) -> "Run":
        """This run with each case's verdict derived anew from what the file stores and the records as they are.

        Each case is judged on its own, then a fix or failed attempt against its incident's symptom in this same
        run (`incidentkb.verdict.needed`). The file is not changed: a corrected record or a new rule re-judges
        every committed run when it is read.
        """
        facts = self.facts
        alone = [Judged(c.incident, c.role, c.variant, judge(c, records.get(c.incident), facts)) for c in self.cases]
        cases = []
        for case, judged in zip(self.cases, alone):
            verdict = in_context(judged, symptom_in_cell(alone, case.incident, case.variant))
            detail = "; ".join(filter(None, (verdict.note, case.detail))) or None
            cases.append(dataclasses.replace(case, outcome=verdict.outcome, detail=detail, stored=case.as_stored))
        return dataclasses.replace(self, cases=tuple(cases))

    def run_of(self, incident: str) -> tuple[str | None, str]:
        """The run behind this incident's verdicts here: its results file's name and when it finished.

        A reused incident (`matrix.reuse`) names the run that produced its verdicts, not this one.
        """
        file, finished = self.reused_from(incident)
        if finished:
            return file, finished
        return (self.path.name if self.path else None), self.finished

    def reused_from(self, incident: str) -> tuple[str | None, str | None]:
        """The run this one reused for an incident: its file name and when it finished, or (None, None) when this
        run's own cases produced the incident's verdicts. What dates a verdict on the site."""
        source = self.reused.get(incident) or {}
        finished = source.get("finished")
        return (str(source["file"]) if source.get("file") else None), (str(finished) if finished else None)

    def failures(self, *, strict: bool = False) -> list[Case]:
        """Cases that make the run fail: a broken fix, a crash, a timeout, and with `strict` any drift."""
        return [c for c in self.cases if c.outcome.fails_run or (strict and c.outcome.is_drift)]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], path: Path | None = None) -> "Run":
        """A results file's content as a run; anything of another shape is a `ResultsError` naming the file."""
        if data.get("schema") != SCHEMA:
            raise ResultsError(f"{path}: results schema {data.get('schema')!r}, this incidentkb reads {SCHEMA}")
        try:
            return cls._from_dict(data, path)
        except (KeyError, ValueError, TypeError, AttributeError, MatrixError) as exc:
            raise ResultsError(f"{path}: not a results file ({type(exc).__name__}: {exc})") from None

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], path: Path | None) -> "Run":
        incidents = data.get("incidents") or {}
        axes = data.get("axes") if isinstance(data.get("axes"), Mapping) else {}
        mapping = lambda key: data[key] if isinstance(data.get(key), Mapping) else None  # noqa: E731
        timings = {part: float((data.get(part) or {}).get("seconds") or 0) for part in ("environment", "pytest")}
        return cls(
            cell=Cell.parse(str(data["cell"])), started=str(data["started"]), finished=str(data["finished"]),
            cases=tuple(Case.from_dict(c) for c in data.get("cases", [])),
            gpus=int(axes.get("gpus", 0) or 0), versions=Versions(mapping("versions")),
            packages=Versions(mapping("packages")), requires=dict(mapping("requires") or {}),
            host=Host.from_dict(data.get("host") or (data.get("report") or {}).get("hardware")),
            ran=tuple(incidents.get("ran", [])), covered=dict(incidents.get("covered_by", {})),
            resolved=mapping("resolved"), candidate=mapping("candidate"), timings=timings, path=path, raw=data,
            fingerprint={k: v for k, v in (mapping("fingerprint") or {}).items() if isinstance(v, Mapping)},
            reused={k: v for k, v in (incidents.get("reused") or {}).items() if isinstance(v, Mapping)},
        )


T = TypeVar("T")
K = TypeVar("K", bound=Hashable)


def newest_by(items: Iterable[T], key: Callable[[T], K], order: Callable[[T], Any]) -> dict[K, list[T]]:
    """Of each key's items, those of the newest run (by `order`, e.g. when it finished and its file): the one rule
    by which a rerun replaces what an older run said of an incident in a cell (the site's grids, `check`)."""
    grouped: dict[K, list[T]] = {}
    for item in items:
        grouped.setdefault(key(item), []).append(item)
    for found, kept in grouped.items():
        newest = max(order(item) for item in kept)
        grouped[found] = [item for item in kept if order(item) == newest]
    return grouped


def newest_cases(runs: Iterable[Run]) -> dict[tuple[str, Cell], list[tuple[Run, Case]]]:
    """Every case (every variant) of the newest run of each incident in each cell (`newest_by`)."""
    pairs = ((run, case) for run in runs for case in run.incident_cases)
    return newest_by(pairs, key=lambda p: (p[1].incident, p[0].cell), order=lambda p: (p[0].finished, p[0].source))


def read(path: str | Path) -> Run:
    """One results file as a run."""
    path = Path(path)
    return Run.from_dict(read_json(path), path)


def read_all(directory: str | Path = RESULTS_DIR) -> list[Run]:
    """Every results file in the folder, oldest run first (temporary files of a write in progress skipped)."""
    return sorted((read(p) for p in result_paths(directory)), key=lambda r: (r.finished, str(r.cell)))


def latest_per_cell(runs: Iterable[Run]) -> list[Run]:
    """The newest run of each cell, in cell order."""
    latest: dict[Cell, Run] = {}
    for run in runs:
        if run.cell not in latest or run.finished >= latest[run.cell].finished:
            latest[run.cell] = run
    return [latest[cell] for cell in sorted(latest, key=cell_key)]


@dataclass(frozen=True)
class ResultsFile:
    """A results file read as far as it reads: its cases even where the whole is not a run (`check` reads these)."""

    path: Path
    text: str
    """The file as written, to place a problem on the line of what it is about."""
    cell: str
    cases: tuple[Case, ...]
    run: Run | None
    """The whole file as a run, or None where it is not one (what `read` would refuse)."""


def _readable_cases(entries: Any) -> tuple[Case, ...]:
    cases = []
    for entry in entries if isinstance(entries, list) else ():
        try:
            cases.append(Case.from_dict(entry))
        except (KeyError, ValueError, TypeError, AttributeError):
            continue
    return tuple(cases)


def read_files(directory: Path) -> list[ResultsFile]:
    """Every results file in `directory` that is JSON of an object, with the cases that read; the rest left out."""
    found = []
    for path in result_paths(directory) if directory.is_dir() else ():
        try:
            text, data = read_text(path)
        except ResultsError:  # left to the strict readers to report
            continue
        if not isinstance(data, dict):
            continue
        try:
            run: Run | None = Run.from_dict(data, path)
        except ResultsError:
            run = None
        found.append(ResultsFile(path, text, str(data.get("cell", "?")), _readable_cases(data.get("cases")), run))
    return found
