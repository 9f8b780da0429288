"""Finding incidents by words: a symptom described in prose, or a log excerpt without a traceback.

A silent symptom has no error to match ("images ignore the labels after loading a checkpoint"), and a log line is
not a traceback; `incidentkb match --text` ranks incidents by the words they share with such text. The words of
each record (title, the original-language title, symptom summary and measured quantity, cause, tags, category,
the notes of its signatures and related errors) are indexed once, in `WordIndex`, so a query costs a dictionary
lookup per word, not a scan of every record (`bench/match_scale.py --words` measures it at 1,000 records).

Words are compared loosely: lowercased, common English words dropped, a few endings removed (`loading` and
`loaded` are `load`), and text in Hangul cut into pairs of syllables, since Korean attaches particles to words
(`체크포인트를` still shares `체크`, `크포`, ... with `체크포인트`). A record matches only when at least two
different words of the query are found in it (one for a one-word query): a single common word is no evidence.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from incidentkb.records.schema import Incident

__all__ = ["terms", "WordMatch", "WordIndex", "FIELD_WEIGHTS"]

#: How much a word found in each part of a record counts; a title says more about the incident than its cause.
FIELD_WEIGHTS: dict[str, float] = {
    "title": 3.0,
    "tags": 2.5,
    "symptom": 2.0,
    "cause": 1.0,
    "signature notes": 1.0,
    "category": 1.0,
}

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_HANGUL = re.compile(r"[\uac00-\ud7a3]")
_STOPWORDS = frozenset(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can cannot could did do does doing down during each few for from further had has have
    having he her here hers him his how i if in into is it its itself just me more most my no nor not now of off
    on once only or other our out over own same she should so some such than that the their them then there these
    they this those through to too under until up very was we were what when where which while who whom why will
    with would you your yours every get got getting gets one two""".split()
)


def _stem(word: str) -> str:
    """A word with a few English endings removed, the same way for the query and the records."""
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 3 and word.endswith("e"):
        word = word[:-1]
    return word


def terms(text: str) -> list[str]:
    """The words of `text` as they are compared: stemmed English words and pairs of Hangul syllables.

    >>> terms("Images ignore the labels after loading a checkpoint")
    ['imag', 'ignor', 'label', 'load', 'checkpoint']
    >>> terms("메모리 누수")
    ['메모', '모리', '누수']
    """
    found: list[str] = []
    for word in _WORD.findall(text.lower()):
        found.extend(_word_terms(word))
    return found


@lru_cache(maxsize=1 << 16)
def _word_terms(word: str) -> tuple[str, ...]:
    """One lowercased word's terms; cached, since records repeat their words (a third of the index's build)."""
    if _HANGUL.search(word):
        return tuple(word[i:i + 2] for i in range(max(1, len(word) - 1)))
    if word in _STOPWORDS or word.isdigit() or len(word) < 2:
        return ()
    return (_stem(word),)


def _fields(incident: Incident) -> dict[str, str]:
    symptom = incident.symptom
    notes = [s.note for s in symptom.signatures if s.note]
    notes += [related.note for related in symptom.related_errors]
    notes += [s.note for related in symptom.related_errors for s in related.signatures if s.note]
    return {
        "title": f"{incident.title} {incident.title_original or ''}",
        "tags": " ".join(tag.replace("-", " ") for tag in incident.tags),
        "symptom": f"{symptom.summary} {symptom.measured.quantity if symptom.measured else ''}",
        "cause": incident.cause,
        "signature notes": " ".join(notes),
        "category": incident.category,
    }


@dataclass(frozen=True)
class WordMatch:
    """One incident that shares words with the text, and which words, found where."""

    number: int
    """The record's position in the index."""
    score: float
    found: dict[str, tuple[str, ...]]
    """Each query word found (as the query wrote it) -> the parts of the record it was found in."""

    @property
    def why(self) -> str:
        """The words found and where, e.g. `label, checkpoint (title, symptom); load (cause)`."""
        by_place: dict[tuple[str, ...], list[str]] = {}
        for word, places in self.found.items():
            by_place.setdefault(places, []).append(word)
        return "; ".join(f"{', '.join(words)} ({', '.join(places)})" for places, words in by_place.items())


class WordIndex:
    """For each word, the records holding it and the best weight of the parts it is found in."""

    def __init__(self, incidents: Iterable[Incident]) -> None:
        self.size = 0
        self._postings: dict[str, dict[int, tuple[float, tuple[str, ...]]]] = {}
        for number, incident in enumerate(incidents):
            self.size += 1
            places: dict[str, list[str]] = {}
            for field, text in _fields(incident).items():
                for term in set(terms(text)):
                    places.setdefault(term, []).append(field)
            for term, fields in places.items():
                weight = max(FIELD_WEIGHTS[f] for f in fields)
                self._postings.setdefault(term, {})[number] = (weight, tuple(fields))

    def search(self, text: str) -> list[WordMatch]:
        """The records sharing enough words with `text`, best first (ties by position)."""
        written: dict[str, str] = {}
        for word in _WORD.findall(text.lower()):
            for term in _word_terms(word):
                written.setdefault(term, word)
        needed = 1 if len(written) == 1 else 2
        scores: dict[int, float] = {}
        found: dict[int, dict[str, tuple[str, ...]]] = {}
        for term, word in written.items():
            postings = self._postings.get(term)
            if not postings:
                continue
            idf = math.log(1 + self.size / len(postings))
            for number, (weight, fields) in postings.items():
                scores[number] = scores.get(number, 0.0) + weight * idf
                found.setdefault(number, {})[word] = fields
        matches = [WordMatch(number, score, found[number]) for number, score in scores.items()
                   if len({w for w in found[number]}) >= needed]
        return sorted(matches, key=lambda m: (-m.score, m.number))
