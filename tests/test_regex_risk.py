"""Signature patterns that backtrack exponentially are refused; the patterns records really use are not."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkb.records.reader import load_records
from incidentkb.records.regex_risk import backtracks_exponentially

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    "pattern",
    [
        r"(a+)+$",
        r"(a*)*b",
        r"((a+))+",
        r"(a+b?)+!",  # b? may match nothing: still a+ repeated
        r"(\s*\w+)*x",
        r"(?:\w+|\d+)+!",
        r"size of tensor (\d+)+ must",
        r"(?=(a+)+)",
        r"(?>(a+)+b)",  # atomic outside, but the repeated repeat inside still backtracks
        r"(?:(a+)+b)*+",
        r"(x)?(?(1)(a+)+b|c)",
    ],
)
def test_a_repeated_unbounded_repeat_is_refused(pattern: str) -> None:
    assert backtracks_exponentially(pattern)


@pytest.mark.parametrize(
    "pattern",
    [
        r"The size of tensor a \(<n>\) must match the size of tensor b \(<n>\)",
        r"expected m(at)?1 and m(at)?2 to have the same dtype, but got: double != float",
        r"(x\s*)*y",  # each repetition must match an x, which \s* cannot
        r"(x(a+))+",
        r"(a{1,3}){2}",  # bounded
        r"(?:foo.*)+",
        r"a++",
        r"(a++)+",  # possessive: gives nothing back
        r"(?>a+)+",  # atomic
        r".*CUDA out of memory.*",
        r"(unclosed",  # does not compile: reported as that, not as this
    ],
)
def test_patterns_with_something_fixed_in_each_repetition_are_accepted(pattern: str) -> None:
    assert not backtracks_exponentially(pattern)


def test_every_signature_of_the_knowledge_base_is_accepted() -> None:
    incidents = load_records(REPO / "incidents")
    patterns = [s.message for i in incidents for s in i.symptom.signatures]
    assert patterns and not [p for p in patterns if backtracks_exponentially(p)]
