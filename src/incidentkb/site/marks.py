"""The marks of the site's grids: one glyph per outcome, the same on every page, and a legend made from them.

A grid of torch x stack x GPUs has room for a character per case, not for "no longer reproduces"; so each
outcome has a glyph that differs in shape, not only in colour (a reader may not see colours, a printout has
none), and a legend lists the marks a page actually shows, so legend and grid cannot disagree. A cell that shows
another cell's run (same versions of what the incident depends on) keeps its outcome's glyph, outlined dashed.

Colours answer the visitor's question ("after I upgrade, is the bug back, does the fix hold?"), not whether a
run went as recorded: a *tone* per mark. `warn` (red): the bug is there, or the fix is broken; `reassure`
(green): the fix holds, the bug is gone, the workaround is not needed; `changed` (amber): something else than
the record says happens now; `neutral` (grey): not run, not applicable, a failed attempt that still fails;
`fault` (dark): the run itself failed (a crash, a time-out) and says nothing about the bug.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from incidentkb.verdict.outcomes import Outcome

__all__ = ["Mark", "MARKS", "COPY", "NOT_IN_RESULTS", "NOT_A_CELL", "TONES", "mark_of", "tone_of", "legend"]


class Mark(NamedTuple):
    """A glyph, the tone that colours it (`ikb-<tone>` in the stylesheet), and the words of the legend."""

    glyph: str
    level: str
    words: str
    short: str = ""
    """The legend's words beside the glyph, a few at most; `words` is what the legend says on hover."""


#: The tones, with what each says; the stylesheet colours `ikb-<tone>`.
TONES = {
    "warn": "the bug is there or the fix is broken",
    "reassure": "the fix holds, the bug is gone or the workaround is not needed",
    "changed": "something other than the record says happens now",
    "neutral": "not run, not applicable, or as recorded without bearing on the question",
    "fault": "the run failed and says nothing about the bug",
}

# Keyed by the outcome's name, so that an outcome added to `Outcome` later (by the verdict rules) has its mark
# here before the enum has it on every branch; `mark_of` gives a neutral `?` to one that has none yet.
_MARKS_BY_NAME: dict[str, Mark] = {
    "reproduces": Mark("●", "warn", "symptom reproduces: the bug is still there", "bug still there"),
    "no_longer_reproduces": Mark("○", "reassure", "symptom no longer reproduces: the bug is gone here", "bug gone"),
    "changed": Mark("≠", "changed", "changed: a different error than the recorded one", "different error"),
    "holds": Mark("✓", "reassure", "fix holds", "fix holds"),
    "not_needed": Mark("◌", "reassure", "not needed here: the fix holds, but the original code works here too", "fix not needed"),
    "broken": Mark("✗", "warn", "fix BROKEN", "fix BROKEN"),
    "still_fails": Mark("◐", "neutral", "failed attempt still fails as recorded (it is not a fix)", "attempt still fails"),
    "behaves_differently": Mark("≈", "changed", "failed attempt now behaves differently", "attempt differs"),
    "works": Mark("◇", "reassure", "works: the setup runs here (where the fix's claim cannot be shown)", "setup runs"),
    "does_not_work": Mark("✗", "warn", "does not work: the setup fails here", "setup fails"),
    "harness_error": Mark("!", "fault", "harness error: the regression's own check failed", "harness error"),
    "env_fault": Mark("⊘", "fault", "environment fault: the cell's environment could not import what the case tests", "environment fault"),
    "crashed": Mark("!", "fault", "crashed: the case could not finish", "crashed"),
    "timed_out": Mark("⧗", "fault", "timed out", "timed out"),
    "not_applicable": Mark("–", "neutral", "not applicable: the claim cannot be shown in this cell", "not applicable"),
    "not_run": Mark("·", "neutral", "not run: skipped in this cell (open it for the reason: a missing GPU, package or version)", "not run (skipped)"),
}
MARKS: dict[Outcome, Mark] = {o: _MARKS_BY_NAME[o.name] for o in Outcome if o.name in _MARKS_BY_NAME}
#: A cell whose entry is a copy of another cell's run: drawn as its outcome's mark inside a dashed outline.
COPY = Mark("□", "copy", "dashed outline: same as another cell (that cell's run, same versions of what the incident depends on)", "same as another cell")
#: A cell where the incident has no results at all.
NOT_IN_RESULTS = Mark("\u2002", "empty", "empty box: not run in this cell yet", "not run yet")
#: A grid slot that is no cell of the matrix (a stack that is not paired with that torch or GPU count).
NOT_A_CELL = Mark("\u2002", "nocell", "hatched: not a cell of the matrix", "not a cell of the matrix")


def mark_of(outcome: Outcome) -> Mark:
    """The outcome's mark; an outcome without one yet is a neutral `?` that names itself."""
    return MARKS.get(outcome) or Mark("?", "neutral", f"{outcome.value}")


def tone_of(outcome: Outcome) -> str:
    """`warn`, `reassure`, `changed`, `neutral` or `fault`: the colour that answers the visitor's question."""
    return mark_of(outcome).level


def legend(outcomes: Iterable[Outcome], *, copies: bool = False, empty: bool = False,
           nocells: bool = False) -> list[Mark]:
    """The marks of `outcomes`, in the order of `Outcome`, once each, then the boxes that are not outcomes."""
    present = set(outcomes)
    out: list[Mark] = [mark_of(outcome) for outcome in Outcome if outcome in present]
    if copies:
        out.append(COPY)
    if empty:
        out.append(NOT_IN_RESULTS)
    if nocells:
        out.append(NOT_A_CELL)
    return out
