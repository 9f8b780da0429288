"""Finding the incidents behind an error: ranked, each with the reason it matched.

`Matcher` compiles every record's `symptom.signatures` once and indexes them by exception type, so one pasted
traceback is compared only with the signatures its type allows (and the untyped ones); matching one traceback
against a thousand records stays in the low milliseconds (`bench/match_scale.py` measures it). What counts as
a match is `signatures.CompiledSignature.match`, the same test a regression's symptom case applies.

`check_results_wordings` turns that around for `incidentkb check`: every error a symptom case observed, in
every committed results file, must match its own incident and no other, so a new wording seen on another
version or device is caught the day its results are committed, with the signature to extend named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from incidentkb.records import Problem, RecordFile, collector_paused, read_record, record_files
from incidentkb.results import result_paths
from incidentkb.schema import Incident
from incidentkb.signatures import CompiledSignature, ErrorInfo, PreparedError, SignatureMatch, collapse_whitespace
from incidentkb.traceback_parse import parse_traceback
from incidentkb.yamlload import clip

__all__ = [
    "KnownIncident", "IncidentMatch", "Matcher", "page_path", "read_results_files", "check_results_wordings",
]


def page_path(incident_id: str) -> str:
    """The incident's page under the built site (flat `.html` pages: mkdocs.yml's `use_directory_urls: false`)."""
    return f"incidents/{incident_id}.html"


@dataclass(frozen=True)
class KnownIncident:
    """A record that errors are matched against, and the file it came from."""

    incident: Incident
    path: str
    """The record file, as the user should open it, e.g. `incidents/<id>.yaml`."""


@dataclass(frozen=True)
class IncidentMatch:
    """One incident an error matched, with what a reader needs to judge the match and act on it."""

    known: KnownIncident
    match: SignatureMatch
    signature_index: int
    error: ErrorInfo
    final: bool
    """The match is on the error that ended the traceback, not on a cause or an earlier error in the paste."""

    @property
    def incident_id(self) -> str:
        return self.known.incident.id

    @property
    def title(self) -> str:
        return self.known.incident.title

    @property
    def fix(self) -> str:
        """The fix, on one line."""
        return collapse_whitespace(self.known.incident.fix.summary)

    @property
    def page(self) -> str:
        return page_path(self.incident_id)

    @property
    def score(self) -> float:
        return self.match.score + (0.25 if self.final else 0.0)

    @property
    def reasons(self) -> tuple[str, ...]:
        signature = self.match.signature
        reasons = []
        if self.match.type_checked:
            reasons.append(f"exception {signature.exception}")
        # The note's first sentence says which versions or devices word the error this way; the rest is for the record.
        note = f" ({signature.note.split('. ')[0].rstrip('.')})" if signature.note else ""
        reasons.append(f"message matches signature {self.signature_index + 1} /{signature.message}/{note}")
        if self.match.frames_found:
            reasons.append("frames " + ", ".join(self.match.frames_found))
        elif not self.match.frames_checked:
            reasons.append(f"frames not checked: the traceback shows none (the signature expects {', '.join(signature.frames)})")
        if not self.final:
            reasons.append(f"found in an earlier error of the traceback ({self.error.type or 'untyped'})")
        return tuple(reasons)

    @property
    def why(self) -> str:
        return "; ".join(self.reasons)


class Matcher:
    """Every record's signatures, compiled once, ready to match many errors."""

    def __init__(self, records: Iterable[KnownIncident]) -> None:
        self.records = tuple(records)
        self._by_type: dict[str, list[tuple[int, int, CompiledSignature]]] = {}
        self._every: list[tuple[int, int, CompiledSignature]] = []
        for number, known in enumerate(self.records):
            for index, signature in enumerate(known.incident.symptom.signatures):
                entry = (number, index, CompiledSignature(signature))
                self._by_type.setdefault(entry[2].type_tail, []).append(entry)
                self._every.append(entry)

    @classmethod
    def from_directory(cls, directory: Path, *, relative_to: Path | None = None) -> "Matcher":
        """The valid records of a directory; an invalid one is left out (`incidentkb check` reports it)."""
        known = []
        with collector_paused():
            for path in record_files(directory):
                incident = read_record(path).incident
                if incident is not None:
                    shown = path.relative_to(relative_to) if relative_to is not None else path
                    known.append(KnownIncident(incident, shown.as_posix()))
            return cls(known)

    def _candidates(self, error: PreparedError) -> Iterable[tuple[int, int, CompiledSignature]]:
        if not error.type_tail:
            return self._every
        return [*self._by_type.get(error.type_tail, ()), *self._by_type.get("", ())]

    def match_errors(self, errors: Sequence[ErrorInfo]) -> list[IncidentMatch]:
        """The incidents any of the errors matches, best first; `errors` in printed order, the final one last."""
        best: dict[int, IncidentMatch] = {}
        for position, error in enumerate(errors):
            prepared = PreparedError.of(error)
            for number, index, compiled in self._candidates(prepared):
                found = compiled.match(prepared)
                if found is None:
                    continue
                candidate = IncidentMatch(self.records[number], found, index, error, position == len(errors) - 1)
                if number not in best or candidate.score > best[number].score:
                    best[number] = candidate
        return sorted(best.values(), key=lambda m: (-m.score, m.incident_id))

    def match(self, error: ErrorInfo) -> list[IncidentMatch]:
        return self.match_errors([error])

    def match_text(self, text: str, project_roots: Iterable[str] = ()) -> list[IncidentMatch]:
        """The incidents a pasted traceback (or message) matches, best first."""
        return self.match_errors([e.info() for e in parse_traceback(text, project_roots).errors])


# --- incidentkb check: every observed wording matches its own incident, and only it -------------------------


def _line_of(text: str, needle: str, after: str = "") -> int:
    """The line of `needle` in `text`, looked for from where `after` is (the case it belongs to); else line 1."""
    start = max(text.find(after), 0) if after else 0
    at = text.find(needle, start)
    return text.count("\n", 0, at) + 1 if at >= 0 else 1


def _signatures_place(record: RecordFile, root: Path | None) -> str:
    """`incidents/x.yaml:LINE`, the line of `symptom.signatures` (or of `symptom` when it has none)."""
    line = 1
    if record.doc is not None:
        for place in (("symptom", "signatures"), ("symptom",)):
            if record.get(*place) is not None:
                line = record.doc.mark(place, key=True)[0]
                break
    path = record.path
    if root is not None and path.is_absolute():
        try:
            path = path.relative_to(root)
        except ValueError:
            pass
    return f"{path.as_posix()}:{line}"


def read_results_files(directory: Path) -> list[tuple[Path, Mapping[str, Any], str]]:
    """(path, parsed JSON, text) of every results file in `directory`; one that is not JSON is left to the
    results reader to report."""
    found = []
    for path in result_paths(directory) if directory.is_dir() else ():
        try:
            text = path.read_text(encoding="utf-8")
            data = json.loads(text)
        except (OSError, ValueError, RecursionError):  # unreadable, not UTF-8, not JSON, or nested past the parser
            continue
        if isinstance(data, dict):
            found.append((path, data, text))
    return found


def check_results_wordings(
    records: Sequence[RecordFile],
    results: Iterable[tuple[Path, Mapping[str, Any], str]],
    root: Path | None = None,
) -> list[Problem]:
    """Every error observed by a symptom case must match its own incident's signatures and no other's.

    `results` holds (path, parsed JSON, raw text) per results file (`read_results_files`); the text only places
    each problem on the line of the message it is about. Record places in messages are shown relative to `root`.
    """
    valid = [r for r in records if r.incident is not None]
    by_id = {r.incident.id: r for r in valid if r.incident is not None}
    matcher = Matcher(KnownIncident(r.incident, r.path.as_posix()) for r in valid if r.incident is not None)
    problems: list[Problem] = []
    for path, data, text in results:
        cell = data.get("cell", "?")
        cases = data.get("cases")  # as `results.write` puts them, beside `cell`
        # A file or entry of another shape is left to the results reader to report, as one that is not JSON.
        for case in cases if isinstance(cases, list) else ():
            if not isinstance(case, dict) or case.get("role") != "symptom":
                continue
            observation = case.get("observation")
            found = observation.get("error") if isinstance(observation, dict) else None
            if not found or not isinstance(found, dict) or not isinstance(found.get("frames", []), list):
                continue
            own = case.get("incident")
            error = ErrorInfo.from_dict(observation["error"])
            name = str(case.get("nodeid", "?")).rsplit("::", 1)[-1].split("[", 1)[0]
            seen = f"the error observed by {name} in cell {cell} ({clip(collapse_whitespace(error.message), 100)!r})"
            # Searched as `results.write` wrote it (JSON, non-ASCII kept), from the case's own entry on.
            nodeid = json.dumps(str(case.get("nodeid", "")), ensure_ascii=False)
            line = _line_of(text, json.dumps(error.message, ensure_ascii=False)[1:-1][:80], after=nodeid)
            matched = {m.incident_id: m for m in matcher.match(error)}
            record = by_id.get(own) if isinstance(own, str) else None
            if record is not None and own not in matched:
                problems.append(Problem(str(path), line, 1, (
                    f"{seen} matches no signature of {own}; extend one of its symptom.signatures "
                    f"({_signatures_place(record, root)}) or add one for this wording")))
            for other, found in matched.items():
                if other == own:
                    continue
                pattern = found.match.signature.message
                problems.append(Problem(str(path), line, 1, (
                    f"{seen} also matches {other} (signature {found.signature_index + 1} /{pattern}/, "
                    f"{_signatures_place(by_id[other], root)}); narrow that signature so it names only its own error")))
    return problems
