"""Finding the incidents behind an error: ranked, each with the reason it matched.

`Matcher` compiles every record's `symptom.signatures` once and indexes them by exception type, so one pasted
traceback is compared only with the signatures its type allows (and the untyped ones); matching one traceback
against a thousand records stays in the low milliseconds (`bench/match_scale.py` measures it). What counts as
a match is `signatures.CompiledSignature.match`, the same test a regression's symptom case applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from incidentkb.match.signatures import (
    CompiledSignature,
    ErrorInfo,
    PreparedError,
    SignatureMatch,
    collapse_whitespace,
)
from incidentkb.match.tracebacks import parse_traceback
from incidentkb.records.bulk import collector_paused
from incidentkb.records.reader import read_record, record_files
from incidentkb.records.schema import Incident

__all__ = [
    "KnownIncident", "IncidentMatch", "Matcher", "page_path",
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
