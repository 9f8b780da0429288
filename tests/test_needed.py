"""A fix judged against its own symptom in the same cell (incidentkb.verdict.needed, through Run.judged)."""

from __future__ import annotations

from pathlib import Path

import pytest

from incidentkb.records.reader import load_records
from incidentkb.results.runs import read_all
from incidentkb.verdict.judge import Verdict
from incidentkb.verdict.needed import Judged, in_context, symptom_in_cell
from incidentkb.verdict.outcomes import OUTCOMES, Outcome

REPO = Path(__file__).resolve().parents[1]
BATCH = "2025-04-21-llm-sft-batch-size-multi-gpu"
GONE, CHANGED, HERE = Outcome.no_longer_reproduces, Outcome.changed, Outcome.reproduces


def judged(role: str, outcome: Outcome, variant: str = "", incident: str = "x") -> Judged:
    return Judged(incident, role, variant, Verdict(outcome))


@pytest.mark.parametrize(("symptoms", "variant", "expected"), [
    ([GONE], "", GONE),
    ([GONE, HERE], "", None),  # one symptom case still sees the bug: the fix is needed
    ([CHANGED], "", CHANGED),
    ([GONE, CHANGED], "", CHANGED),
    ([Outcome.not_run], "", None),  # nothing known about the bug here
    ([Outcome.crashed], "", None),
    ([Outcome.not_applicable], "", None),
    ([], "", None),
])
def test_what_the_symptom_showed_in_the_cell(symptoms: list[Outcome], variant: str, expected: Outcome | None) -> None:
    cases = [judged("symptom", o) for o in symptoms] + [judged("fix", Outcome.holds)]
    assert symptom_in_cell(cases, "x", variant) is expected


def test_a_variant_is_judged_against_the_symptom_of_the_same_variant() -> None:
    cases = [judged("symptom", GONE, "cpu"), judged("symptom", HERE, "cuda"), judged("symptom", GONE, incident="y")]
    assert symptom_in_cell(cases, "x", "cpu") is GONE
    assert symptom_in_cell(cases, "x", "cuda") is None
    assert symptom_in_cell(cases, "x", "meta") is None  # no symptom of that variant: all of the incident's


@pytest.mark.parametrize(("role", "alone", "symptom", "outcome", "note"), [
    ("fix", Outcome.holds, GONE, Outcome.not_needed, "the fix holds, but the symptom no longer reproduces"),
    ("fix:torchrun", Outcome.holds, GONE, Outcome.not_needed, "the fix holds, but"),
    ("attempt:a", Outcome.still_fails, GONE, Outcome.not_needed, "the failed attempt still fails, but"),
    ("attempt:a", Outcome.behaves_differently, GONE, Outcome.not_needed, "the failed attempt now behaves differently"),
    ("fix", Outcome.broken, GONE, Outcome.broken, None),  # a fix that fails is news wherever it runs
    ("fix", Outcome.crashed, GONE, Outcome.crashed, None),
    ("fix", Outcome.holds, CHANGED, Outcome.holds, "still needed: the original code still fails here"),
    ("attempt:a", Outcome.still_fails, CHANGED, Outcome.still_fails, None),
    ("fix", Outcome.holds, None, Outcome.holds, None),
    ("smoke", Outcome.works, GONE, Outcome.works, None),
    ("symptom", GONE, GONE, GONE, None),
])
def test_a_fix_or_attempt_in_context(role: str, alone: Outcome, symptom: Outcome | None, outcome: Outcome,
                                     note: str | None) -> None:
    verdict = in_context(judged(role, alone), symptom)
    assert verdict.outcome is outcome
    assert (verdict.note or "").startswith(note or "") and (note is not None) == (verdict.note is not None)


def test_not_needed_is_one_entry_of_the_outcome_table_and_never_holds() -> None:
    info = OUTCOMES[Outcome.not_needed]
    assert Outcome.not_needed is not Outcome.holds and not info.fails_run and not info.drift and info.level == "ok"
    assert "Never counted as holding" in info.meaning


def test_the_committed_runs_say_where_the_batch_size_fixes_are_not_needed() -> None:
    """4.57.6 on 2 GPUs: the original code trains (the symptom is gone), so both fixes are not needed there.
    5.24.0 on 2 GPUs: trl refuses the setup up front (changed), so the fixes hold and are still needed."""
    records = {r.id: r for r in load_records(REPO / "incidents")}
    runs = {str(r.cell): r.judged(records) for r in read_all(REPO / "regressions" / "results")}
    fixes = lambda cell: {c.function: (c.outcome, c.detail or "") for c in runs[cell].cases  # noqa: E731
                          if c.incident == BATCH and c.role.startswith("fix")}
    gone = fixes("torch=installed stack=4.57.6 gpus=2")
    assert {o for o, _ in gone.values()} == {Outcome.not_needed}
    changed = fixes("torch=installed stack=5.24.0 gpus=2")
    assert {o for o, _ in changed.values()} == {Outcome.holds}
    assert all(d.startswith("still needed") for _, d in changed.values())


def test_where_the_batch_size_workarounds_are_no_longer_needed() -> None:
    from incidentkb.results.needed import not_needed

    records = {r.id: r for r in load_records(REPO / "incidents")}
    found = not_needed(read_all(REPO / "regressions" / "results"), records)
    assert list(found) == [BATCH]
    assert {n.role for n in found[BATCH]} == {"fix", "fix:torchrun", "attempt:use-liger",
                                              "attempt:visible-devices-after-import"}
    assert {(str(n.cell), n.versions) for n in found[BATCH]} == {
        ("torch=installed stack=4.57.6 gpus=2", "torch 2.11.0, transformers 4.57.6, trl 0.27.0")}
