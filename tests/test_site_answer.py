"""The answer at the top of an incident page: cleaned evidence, one mark per outcome, history, plots."""

from __future__ import annotations

import datetime as dt

import pytest

from incidentkb.site.evidence import clean
from incidentkb.site.marks import MARKS, legend
from incidentkb.site.markup import error_line, first_sentence, plain_text, unified_diff
from incidentkb.site.standing import history_phrase
from incidentkb.verdict.outcomes import Outcome


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("AssertionError: the variable, set after the training arguments, still counted\nassert 1 == 2",
         "AssertionError: the variable, set after the training arguments, still counted"),
        ("AssertionError: None\nassert False\n +  where False = any_matches([Signature(exception='RuntimeError'",
         "AssertionError: the regression's check failed"),
        ('  File "/opt/torch/.venv/lib/python3.12/site-packages/torch/nn/modules/module.py", line 1779',
         '  File "torch/nn/modules/module.py", line 1779'),
        ('  File "/work/wt-x/.nox/regressions-torch-2-6-0/bin/python"', '  File "bin/python"'),
        ('  File "/work/wt-x/regressions/test_a.py", line 3', '  File "regressions/test_a.py", line 3'),
        ("RuntimeError: expected mat1 and mat2 to have the same dtype", "RuntimeError: expected mat1 and mat2 to have the same dtype"),
    ],
)
def test_evidence_loses_pytest_dumps_and_runner_paths(raw: str, shown: str) -> None:
    assert clean(raw) == shown


def test_every_outcome_has_a_mark_and_the_legend_lists_only_those_shown() -> None:
    assert set(MARKS) == set(Outcome)
    shown = legend([Outcome.holds, Outcome.reproduces, Outcome.holds], copies=True)
    assert [m.glyph for m in shown] == ["●", "✓", "□"]


def _day(n: int) -> dt.datetime:
    return dt.datetime(2026, 11, n, tzinfo=dt.timezone.utc)


@pytest.mark.parametrize(
    ("points", "phrase"),
    [
        ([(_day(27), Outcome.holds)], "1 run, on 2026-11-27"),
        ([(_day(27), Outcome.holds), (_day(28), Outcome.holds)], "2 runs since 2026-11-27, always this"),
        ([(_day(27), Outcome.no_longer_reproduces), (_day(28), Outcome.reproduces), (_day(29), Outcome.reproduces)],
         "this since 2026-11-28 (2 runs); before: no longer reproduces (1 run)"),
    ],
)
def test_history_says_when_the_outcome_last_changed(points, phrase: str) -> None:
    assert history_phrase(points) == phrase


def test_the_answer_is_worded_from_the_record() -> None:
    assert first_sentence("Autograd recorded every test forward (e.g. the `w.copy_()`). The rest.") == \
        "Autograd recorded every test forward (e.g. the `w.copy_()`)."
    assert error_line('Traceback (most recent call last):\n  File "x.py", line 1\nRuntimeError: boom') == "RuntimeError: boom"
    assert plain_text("Wrap it in `with torch.no_grad()` **always**.") == "Wrap it in with torch.no_grad() always."
    assert unified_diff("a\nb\n", "a\nc\n").splitlines() == ["@@ -1,2 +1,2 @@", " a", "-b", "+c"]


def test_marks_are_distinct_without_colour_and_coloured_by_the_question() -> None:
    by_glyph: dict[str, set[str]] = {}
    for mark in MARKS.values():
        by_glyph.setdefault(mark.glyph, set()).add(mark.level)
    assert all(len(tones) == 1 for tones in by_glyph.values()), by_glyph  # a glyph never means two tones
    assert MARKS[Outcome.reproduces].level == "warn" and MARKS[Outcome.broken].level == "warn"
    assert MARKS[Outcome.no_longer_reproduces].level == "reassure" and MARKS[Outcome.holds].level == "reassure"
    assert MARKS[Outcome.not_run].level == MARKS[Outcome.not_applicable].level == "neutral"
    assert "version" in MARKS[Outcome.not_run].words  # a skip may be a version pin, not only a missing GPU
