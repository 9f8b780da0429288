"""Finding the incidents behind an error: ranked, each with the reason it matched.

`Matcher` compiles every record's `symptom.signatures` once and indexes them by exception type, so one pasted
traceback is compared only with the signatures its type allows (and the untyped ones); matching one traceback
against a thousand records stays in the low milliseconds (`bench/match_scale.py` measures it). What counts as
a match is `signatures.CompiledSignature.match`, the same test a regression's symptom case applies. A record's
`symptom.related_errors` are matched the same way and said to be related errors, not the symptom's own; text
without a traceback is ranked by its words instead (`words.WordIndex`, built on first use).
"""

from __future__ import annotations

import re
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
from incidentkb.match.words import WordIndex, WordMatch
from incidentkb.records.bulk import collector_paused
from incidentkb.records.reader import read_record, record_files
from incidentkb.records.schema import Incident, RelatedError, Successor

__all__ = [
    "KnownIncident", "IncidentMatch", "WordsMatch", "Matcher", "page_path", "first_sentence", "has_traceback",
]

# A full stop ends a sentence unless it ends an abbreviation (`i.e.`, `e.g.`, `etc.`, `vs.`, `cf.`, `approx.`), a
# single letter (an initial, `v.`) or is a decimal point; the next sentence starts with a space.
_SENTENCE_END = re.compile(
    r"(?<!\bi\.e)(?<!\be\.g)(?<!\betc)(?<!\bcf)(?<!\bvs)(?<!\bapprox)(?<!\b[a-z])\.\s+(?=\S)", re.IGNORECASE
)


def first_sentence(text: str) -> str:
    """The first sentence of `text`, without its full stop; abbreviations such as `i.e.` do not end it.

    >>> first_sentence("Older torch words it this way, i.e. before 2.4. Newer ones do not.")
    'Older torch words it this way, i.e. before 2.4'
    """
    return _SENTENCE_END.split(collapse_whitespace(text), maxsplit=1)[0].rstrip(".")


def page_path(incident_id: str) -> str:
    """The incident's page under the built site (flat `.html` pages: mkdocs.yml's `use_directory_urls: false`)."""
    return f"incidents/{incident_id}.html"


@dataclass(frozen=True)
class KnownIncident:
    """A record that errors are matched against, and the file it came from."""

    incident: Incident
    path: str
    """The record file, as the user should open it, e.g. `incidents/<id>.yaml`."""


class _Found:
    """What every kind of match says of its incident: its id, title, fix on one line and page."""

    known: KnownIncident

    @property
    def incident_id(self) -> str:
        return self.known.incident.id

    @property
    def title(self) -> str:
        return self.known.incident.title

    @property
    def fix(self) -> str:
        """The fix, on one line."""
        return collapse_whitespace(self.known.incident.fix_summary)

    @property
    def page(self) -> str:
        return page_path(self.incident_id)


@dataclass(frozen=True)
class IncidentMatch(_Found):
    """One incident an error matched, with what a reader needs to judge the match and act on it."""

    known: KnownIncident
    match: SignatureMatch
    signature_index: int
    error: ErrorInfo
    final: bool
    """The match is on the error that ended the traceback, not on a cause or an earlier error in the paste."""
    related: RelatedError | None = None
    """The signature is one of the record's related errors, not the symptom's own."""
    successor: Successor | None = None
    """The signature is a successor's: the error newer versions raise for the same setup (`symptom.successors`)."""

    @property
    def score(self) -> float:
        return self.match.score + (0.25 if self.final else 0.0)

    @property
    def kind(self) -> str:
        """What matched, for the reader: the symptom's error signature or a related error's."""
        if self.successor is not None:
            return f"a newer library's error for the same setup ({first_sentence(self.successor.note)})"
        if self.related is not None:
            return f"a related error's signature, not the symptom's own ({first_sentence(self.related.note)})"
        return "the symptom's error signature"

    @property
    def reasons(self) -> tuple[str, ...]:
        signature = self.match.signature
        reasons = []
        if self.match.type_checked:
            reasons.append(f"exception {signature.exception}")
        # The note's first sentence says which versions or devices word the error this way; the rest is for the record.
        note = f" ({first_sentence(signature.note)})" if signature.note else ""
        which = ("successor signature" if self.successor is not None
                 else "related error signature" if self.related is not None else "signature")
        reasons.append(f"message matches {which} {self.signature_index + 1} /{signature.message}/{note}")
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


@dataclass(frozen=True)
class WordsMatch(_Found):
    """One incident found by the words of a text, not by an error: weaker evidence, and said to be so."""

    known: KnownIncident
    words: WordMatch

    @property
    def kind(self) -> str:
        return "words only, no error signature"

    @property
    def why(self) -> str:
        return f"shares the words {self.words.why}"


#: (record number, signature index, compiled signature, the related error or successor it belongs to, or None)
_Entry = tuple[int, int, CompiledSignature, "RelatedError | Successor | None"]


def _rank(found: IncidentMatch) -> tuple[bool, float]:
    return (found.related is None and found.successor is None, found.score)


class Matcher:
    """Every record's signatures, compiled once, ready to match many errors."""

    def __init__(self, records: Iterable[KnownIncident]) -> None:
        self.records = tuple(records)
        self._by_type: dict[str, list[_Entry]] = {}
        self._every: list[_Entry] = []
        self._words: WordIndex | None = None
        for number, known in enumerate(self.records):
            symptom = known.incident.symptom
            owned: list[tuple[object, RelatedError | Successor | None]] = [(s, None) for s in symptom.signatures]
            owned += [(s, related) for related in symptom.related_errors for s in related.signatures]
            owned += [(successor.signature, successor) for successor in symptom.successors]
            counters: dict[int, int] = {}
            for signature, related in owned:
                key = id(related)
                index = counters.get(key, 0)
                counters[key] = index + 1
                entry = (number, index, CompiledSignature(signature), related)  # type: ignore[arg-type]
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

    def _candidates(self, error: PreparedError) -> Iterable[_Entry]:
        if not error.type_tail:
            return self._every
        return [*self._by_type.get(error.type_tail, ()), *self._by_type.get("", ())]

    def match_errors(self, errors: Sequence[ErrorInfo]) -> list[IncidentMatch]:
        """The incidents any of the errors matches, best first; `errors` in printed order, the final one last."""
        best: dict[int, IncidentMatch] = {}
        for position, error in enumerate(errors):
            prepared = PreparedError.of(error)
            for number, index, compiled, related in self._candidates(prepared):
                found = compiled.match(prepared)
                if found is None:
                    continue
                last = position == len(errors) - 1
                candidate = (IncidentMatch(self.records[number], found, index, error, last, successor=related)
                             if isinstance(related, Successor)
                             else IncidentMatch(self.records[number], found, index, error, last, related))
                # The symptom's own error outranks a successor's or a related one; among equals, the stronger wins.
                if number not in best or _rank(candidate) > _rank(best[number]):
                    best[number] = candidate
        return sorted(best.values(), key=lambda m: (-m.score, m.incident_id))

    def match(self, error: ErrorInfo) -> list[IncidentMatch]:
        return self.match_errors([error])

    def match_text(self, text: str, project_roots: Iterable[str] = ()) -> list[IncidentMatch]:
        """The incidents a pasted traceback (or message) matches, best first."""
        return self.match_errors([e.info() for e in parse_traceback(text, project_roots).errors])

    def match_words(self, text: str) -> list[WordsMatch]:
        """The incidents sharing words with `text` (a symptom in words, a log excerpt), best first."""
        if self._words is None:
            self._words = WordIndex(known.incident for known in self.records)
        return [WordsMatch(self.records[found.number], found) for found in self._words.search(text)]


def has_traceback(text: str) -> bool:
    """True when the text holds an error of a named type or a frame, i.e. more than words."""
    return any(error.type or error.frames for error in parse_traceback(text).errors)
