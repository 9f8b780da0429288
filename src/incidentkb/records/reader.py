"""Reading incident records from `incidents/<id>.yaml`: one record, or all of them, with every problem placed.

`read_record` never raises for what a file contains: it returns the record (when it is valid) together with a
list of `Problem`s, so `incidentkb check` can report every problem of every file in one run. `load_record` and
`load_records` are for code that needs valid records (the pytest plugin, the site): they raise `RecordError`,
which carries the same problems.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path as FsPath
from typing import AbstractSet, Any, Iterator, NamedTuple, Sequence

from pydantic import ValidationError

from incidentkb.records.schema import Incident
from incidentkb.records.wording import explain_all
from incidentkb.records.yamlload import (
    Path,
    YamlDocument,
    YamlSyntaxError,
    clip,
    format_path,
    load_yaml,
)

__all__ = [
    "PLACEHOLDER",
    "Problem",
    "RecordError",
    "RecordFile",
    "SchemaRef",
    "read_record",
    "load_record",
    "load_records",
    "record_files",
    "find_placeholders",
]

#: What `incidentkb new` writes where the author must fill something in; `check` reports every one left.
PLACEHOLDER = re.compile(r"^\s*TODO\b")


def placeholder_shown(text: str) -> str:
    """A placeholder's first line, clipped, for quoting it in a one-line message."""
    return clip(text.strip().splitlines()[0], 60)


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong, where it is: printed as ``path:line:col: message``."""

    path: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}: {self.message}"


class RecordError(Exception):
    """A record could not be loaded as an `Incident`; `problems` says every reason and where."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(sorted(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


class SchemaRef(NamedTuple):
    """Where a record names its JSON Schema for editors, and what it names."""

    target: str
    line: int
    col: int


_SCHEMA_COMMENT = re.compile(r"#\s*yaml-language-server:\s*\$schema=(\S+)")


def _schema_ref(text: str) -> SchemaRef | None:
    """The schema comment among the comments that open the file (editors read it only there)."""
    for number, line in enumerate(text.splitlines()[:20], start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return None
        match = _SCHEMA_COMMENT.search(line)
        if match:
            return SchemaRef(match.group(1), number, match.start(1) + 1)
    return None


@dataclass(frozen=True)
class RecordFile:
    """One record file as read: its YAML (when it parsed), the `Incident` (when valid) and its problems."""

    path: FsPath
    doc: YamlDocument | None
    incident: Incident | None
    problems: tuple[Problem, ...]
    bad: frozenset[Path] = field(default_factory=frozenset)
    """Places whose value has a problem; checks that read the raw data skip them rather than repeat it."""
    schema_ref: SchemaRef | None = None
    """The `# yaml-language-server: $schema=...` line that points editors at the JSON Schema, if written."""

    def get(self, *path: str | int) -> Any:
        """The raw value at `path` when it was written and has no problem of its own, else None."""
        if self.bad and not self.usable(path):
            return None
        return self.raw(*path)

    def raw(self, *path: str | int) -> Any:
        """The raw value at `path` as written, problems or not (None when it was not written)."""
        value: Any = self.doc.value if self.doc is not None else None
        for part in path:
            if isinstance(part, int) and isinstance(value, list) and 0 <= part < len(value):
                value = value[part]
            elif isinstance(part, str) and isinstance(value, dict) and part in value:
                value = value[part]
            else:
                return None
        return value

    def usable(self, path: Path) -> bool:
        """True when no problem was reported at `path`, inside it, or at a place that contains it."""
        return not (_covered(path, self.bad) or path in self._around_bad)

    @cached_property
    def _around_bad(self) -> frozenset[Path]:
        """Every place that contains a place with a problem (sets, not scans: a record can have thousands)."""
        return frozenset(bad[:end] for bad in self.bad for end in range(len(bad) + 1))

    def problem(self, path: Path, message: str, *, key: bool = False) -> Problem:
        """A problem about the value (or key) written at `path` of this record."""
        line, col = self.doc.mark(path, key=key) if self.doc is not None else (1, 1)
        return Problem(str(self.path), line, col, message)


def find_placeholders(value: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every text value that still starts with ``TODO``, with its place."""
    if isinstance(value, str):
        if PLACEHOLDER.match(value):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from find_placeholders(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from find_placeholders(item, path + (index,))


def _covered(path: Path, places: AbstractSet[Path]) -> bool:
    """True when `path` is one of `places` or inside one."""
    return any(path[:end] in places for end in range(len(path) + 1))


def read_record(path: FsPath, *, check_patterns: bool = True) -> RecordFile:
    """Read and validate one record file; every problem is returned, none is raised.

    `check_patterns=False` leaves signature patterns uncompiled, for a reader that never matches tracebacks
    (the site): compiling them is a quarter of reading a thousand records, and `incidentkb check` reports them.
    """
    name = str(path)
    try:
        # utf-8-sig: Windows editors may start the file with a byte-order mark, which would hide the schema line.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        return RecordFile(
            path,
            None,
            None,
            (Problem(name, 1, 1, f"the file is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8"),),
        )
    except OSError as exc:
        return RecordFile(path, None, None, (Problem(name, 1, 1, f"cannot read the file: {exc.strerror or exc}"),))
    try:
        doc = load_yaml(text)
    except YamlSyntaxError as exc:
        return RecordFile(path, None, None, (Problem(name, exc.line, exc.col, exc.message),))
    ref = _schema_ref(text)
    problems = [Problem(name, i.line, i.col, i.message) for i in doc.issues]
    bad: set[Path] = {i.path for i in doc.issues if i.dropped}
    if "TODO" in text:
        for place, value in find_placeholders(doc.value):
            shown = placeholder_shown(value)
            line, col = doc.mark(place)
            problems.append(
                Problem(
                    name,
                    line,
                    col,
                    f"placeholder left in '{format_path(place)}': replace '{shown}' with the real value",
                )
            )
            bad.add(place)
    if doc.value is None:
        problems.append(Problem(name, 1, 1, 'the record is empty; start from `incidentkb new "<title>"`'))
        return RecordFile(path, doc, None, tuple(problems), frozenset({()}), ref)
    incident = _validate(doc, name, problems, bad, check_patterns)
    if problems:
        incident = None
    return RecordFile(path, doc, incident, tuple(sorted(problems)), frozenset(bad), ref)


def _validate(doc: YamlDocument, name: str, problems: list[Problem], bad: set[Path],
              check_patterns: bool) -> Incident | None:
    """The record's model, or None with its schema problems added to `problems` (and their places to `bad`)."""
    try:
        # `unreadable`: places the YAML reader already reported and dropped (a `fix:` with a refused tag), which
        # the model's own rules must not report again as missing.
        context = {"check_patterns": check_patterns, "unreadable": frozenset(bad)}
        return Incident.model_validate(doc.value, context=context)
    except ValidationError as exc:
        suppressed = set(bad)
        errors = exc.errors(include_url=False)
        for place, line, col, message in explain_all(errors, doc):
            # A placeholder or an unreadable value already has its problem; its schema error would repeat it.
            if _covered(place, suppressed):
                continue
            problems.append(Problem(name, line, col, message))
            bad.add(place)
        # A value whose key is misspelt is still a problem place, though only the unknown key is reported.
        bad.update(tuple(p for p in e["loc"] if p != "[key]") for e in errors)
        return None


def load_record(path: FsPath) -> Incident:
    """The valid `Incident` in `path`; raises `RecordError` with every problem otherwise."""
    record = read_record(path)
    if record.incident is None:
        raise RecordError(record.problems)
    return record.incident


def record_files(directory: FsPath) -> list[FsPath]:
    """The record files of a directory (its `*.yaml`), in a stable order."""
    return sorted(p for p in directory.glob("*.yaml") if p.is_file())


def load_records(directory: FsPath, *, check_patterns: bool = True) -> list[Incident]:
    """Every record in `directory`; raises `RecordError` with the problems of all invalid ones together."""
    incidents: list[Incident] = []
    problems: list[Problem] = []
    for path in record_files(directory):
        record = read_record(path, check_patterns=check_patterns)
        problems.extend(record.problems)
        if record.incident is not None:
            incidents.append(record.incident)
    if problems:
        raise RecordError(problems)
    return incidents
