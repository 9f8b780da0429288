"""Whether a fix is needed where it ran: a fix judged against its own incident's symptom in the same cell.

Each case is judged on its own first (`incidentkb.verdict.judge`). A fix that holds in a cell where the symptom
case ran the original code and saw no error proves nothing there: the original code works too, so the fix reads
*not needed here* and never counts as holding. A failed attempt in such a cell is judged the same way. Where the
symptom *changed* (the original code still fails, with another error, e.g. the library now refuses the setup up
front), a fix that works still holds, and is still needed: its verdict says so.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from incidentkb.verdict.judge import Verdict
from incidentkb.verdict.outcomes import Outcome, Role, parse_role

__all__ = ["Judged", "in_context", "symptom_in_cell"]

#: What a fix or failed attempt said before its symptom is considered, that "not needed here" replaces.
_REPLACED = {Role.fix: {Outcome.holds}, Role.attempt: {Outcome.still_fails, Outcome.behaves_differently}}


class Judged(NamedTuple):
    """One case of one run, judged on its own: its incident, role, variant (`cpu` of `test_x[cpu]`) and verdict."""

    incident: str
    role: str
    variant: str
    verdict: Verdict


def symptom_in_cell(cases: Sequence[Judged], incident: str, variant: str) -> Outcome | None:
    """What the incident's symptom showed in this run for a case of `variant`: `no longer reproduces` only when
    every symptom case that ran (of the same variant, else all) saw the original code work; `changed` when one saw
    another error and none the recorded one; else None (it reproduces, or did not run: nothing to add)."""
    symptoms = [c for c in cases if c.incident == incident and c.role == "symptom"]
    same = [c for c in symptoms if c.variant == variant] or symptoms
    ran = [c.verdict.outcome for c in same if c.verdict.outcome.info.ran and not c.verdict.outcome.fails_run]
    if not ran or Outcome.reproduces in ran:
        return None
    if all(o is Outcome.no_longer_reproduces for o in ran):
        return Outcome.no_longer_reproduces
    return Outcome.changed if Outcome.changed in ran else None


def in_context(case: Judged, symptom: Outcome | None) -> Verdict:
    """The case's verdict once its cell's symptom is known (`symptom_in_cell`)."""
    try:
        role, _ = parse_role(case.role)
    except ValueError:
        return case.verdict
    outcome, note = case.verdict.outcome, case.verdict.note
    if symptom is Outcome.no_longer_reproduces and outcome in _REPLACED.get(role, ()):
        did = "the fix holds" if role is Role.fix else f"the failed attempt {outcome.verb}"
        why = f"{did}, but the symptom no longer reproduces in this cell: the original code works without it"
        return Verdict(Outcome.not_needed, "; ".join(filter(None, (why, note))))
    if symptom is Outcome.changed and role is Role.fix and outcome is Outcome.holds:
        why = "still needed: the original code still fails here, with another error (the symptom changed)"
        return Verdict(outcome, "; ".join(filter(None, (why, note))))
    return case.verdict
