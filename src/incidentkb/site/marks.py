"""The marks of the site's grids: one glyph per outcome, the same on every page, and a legend made from them.

A grid of torch x stack x GPUs has room for a character per case, not for "no longer reproduces"; so each
outcome has a glyph that differs in shape, not only in colour (a reader may not see colours, a printout has
none), and a legend lists the marks a page actually shows, so legend and grid cannot disagree. A cell that shows
another cell's run (same versions of what the incident depends on) keeps its outcome's glyph, outlined dashed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from incidentkb.verdict.outcomes import Outcome

__all__ = ["Mark", "MARKS", "COPY", "NOT_IN_RESULTS", "mark_of", "legend"]


class Mark(NamedTuple):
    """A glyph, the CSS level that colours it, and the words of the legend."""

    glyph: str
    level: str
    words: str


MARKS: dict[Outcome, Mark] = {
    Outcome.reproduces: Mark("●", "ok", "symptom reproduces: the bug is still there"),
    Outcome.no_longer_reproduces: Mark("○", "drift", "symptom no longer reproduces: the bug is gone here"),
    Outcome.changed: Mark("≠", "drift", "changed: a different error than the recorded one"),
    Outcome.holds: Mark("✓", "ok", "fix holds"),
    Outcome.broken: Mark("✗", "bad", "fix BROKEN"),
    Outcome.still_fails: Mark("●", "ok", "failed attempt still fails as recorded"),
    Outcome.behaves_differently: Mark("≠", "drift", "failed attempt now behaves differently"),
    Outcome.not_needed: Mark("◌", "ok", "not needed here: the fix holds, but the original code works here too"),
    Outcome.works: Mark("◇", "ok", "works: the setup runs here (where the fix's claim cannot be shown)"),
    Outcome.does_not_work: Mark("✗", "bad", "does not work: the setup fails here"),
    Outcome.harness_error: Mark("!", "bad", "harness error: the regression's own check failed"),
    Outcome.env_fault: Mark("⊘", "bad", "environment fault: the cell could not import what the case tests"),
    Outcome.crashed: Mark("!", "bad", "crashed: the case could not finish"),
    Outcome.timed_out: Mark("⧗", "bad", "timed out"),
    Outcome.not_applicable: Mark("–", "none", "not applicable: the claim cannot be shown in this cell"),
    Outcome.not_run: Mark("·", "none", "not run: the host lacked what the case needs"),
}
#: A cell whose entry is a copy of another cell's run: drawn as its outcome's mark inside a dashed outline.
COPY = Mark("□", "copy", "dashed outline: same as another cell (that cell's run, same versions of what the incident depends on)")
#: A cell where the incident has no results at all.
NOT_IN_RESULTS = Mark("\u2002", "empty", "empty box: not run in this cell yet")


def mark_of(outcome: Outcome) -> Mark:
    return MARKS[outcome]


def legend(outcomes: Iterable[Outcome], *, copies: bool = False, empty: bool = False) -> list[Mark]:
    """The marks of `outcomes`, in the order of `Outcome`, once each (two outcomes may share a glyph by role)."""
    present = set(outcomes)
    seen: set[tuple[str, str]] = set()
    out: list[Mark] = []
    for outcome in Outcome:
        if outcome in present:
            mark = MARKS[outcome]
            out.append(mark)
            seen.add((mark.glyph, mark.words))
    if copies:
        out.append(COPY)
    if empty:
        out.append(NOT_IN_RESULTS)
    return out
