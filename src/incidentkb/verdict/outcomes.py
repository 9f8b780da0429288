"""Roles of regression cases, the outcomes a case can have, and the one table that decides between them.

A case asserts what its record says; what a run *observed* (it behaved as recorded, it departed from the record
with or without an error, it crashed, ...) and the case's *role* decide the outcome word, in `decide`, from the
table `DECISIONS`. Every outcome's meaning, sentence form, level and effect on a run are in `OUTCOMES`: the pytest
plugin, the results files, the terminal table, the site and the docs' page of outcome words all read these two
tables, so a word means the same everywhere and is explained once.
"""

from __future__ import annotations

from enum import Enum
from typing import NamedTuple

__all__ = ["Role", "Outcome", "Observed", "OutcomeInfo", "OUTCOMES", "DECISIONS", "LEVEL_RANK", "decide",
           "parse_role", "role_of"]


class Role(str, Enum):
    """What a case checks: that the symptom still happens, that the fix holds, or that an attempt still fails."""

    symptom = "symptom"
    fix = "fix"
    attempt = "attempt"
    smoke = "smoke"
    """The incident's pipeline runs on these versions (where the fix's claim cannot be shown): not the fix."""


def parse_role(text: str) -> tuple[Role, str | None]:
    """Split a role string such as `attempt:cast-to-double` into the role and the id it names.

    An attempt always names its failed attempt; a fix may name an alternative fix (`fix:torchrun`).
    """
    kind, _, name = text.partition(":")
    role = Role(kind)
    if role in (Role.symptom, Role.smoke) and name or role is Role.attempt and not name:
        raise ValueError(f"role {text!r}: write 'symptom', 'fix', 'fix:<id>', 'attempt:<id>' or 'smoke'")
    return role, name or None


def role_of(role: Role, name: str | None = None) -> str:
    """The inverse of `parse_role`."""
    return f"{role.value}:{name}" if name else role.value


class Observed(str, Enum):
    """What a run of a case showed, before it is worded for the case's role."""

    as_recorded = "as recorded"
    """Every assertion of the case held: it behaved as its record says."""
    differs_with_error = "differs, with an error"
    """An assertion about the record failed and the case observed an error."""
    differs_without_error = "differs, without an error"
    """An assertion about the record failed and no error was observed."""
    crashed = "crashed"
    """Something other than an assertion failed: an exception in the case or its setup, or a dead worker."""
    timed_out = "timed out"
    """The case or its whole cell passed its time limit."""
    skipped = "skipped"
    """The case did not run: the host lacks something it needs (its skip reason says what)."""
    not_applicable = "not applicable"
    """The case's claim cannot be shown in this cell (its record's `applies_when`), so it was not judged."""
    harness_fault = "harness fault"
    """A self-check of the regression failed (`observe.require`): the harness is broken, not the incident."""
    env_fault = "environment fault"
    """The case could not import what it tests (`verdict.env_fault`): the environment is broken, not the incident."""


class Outcome(str, Enum):
    """A case's outcome, worded for its role."""

    reproduces = "reproduces"
    no_longer_reproduces = "no longer reproduces"
    changed = "changed"
    holds = "holds"
    broken = "BROKEN"
    still_fails = "still fails"
    behaves_differently = "now behaves differently"
    not_needed = "not needed here"
    works = "works"
    does_not_work = "does not work"
    harness_error = "harness error"
    env_fault = "environment fault"
    crashed = "crashed"
    timed_out = "timed out"
    not_applicable = "not applicable"
    not_run = "not run"

    def serialize(self) -> str:
        return self.value

    @classmethod
    def from_str(cls, text: str) -> "Outcome":
        return cls(text)

    @property
    def info(self) -> "OutcomeInfo":
        return OUTCOMES[self]

    @property
    def fails_run(self) -> bool:
        """Only a broken fix or a case that did not finish makes a run fail."""
        return OUTCOMES[self].fails_run

    @property
    def is_drift(self) -> bool:
        """A symptom or attempt that no longer behaves as recorded: reported, and failing only with --strict."""
        return OUTCOMES[self].drift

    @property
    def level(self) -> str:
        """`ok` (as recorded), `drift`, `bad` (fails the run) or `none` (not run): what the site colours."""
        return OUTCOMES[self].level

    @property
    def verb(self) -> str:
        """The outcome in a sentence whose subject is the case: "the fix *is BROKEN*"."""
        return OUTCOMES[self].verb


class OutcomeInfo(NamedTuple):
    """What one outcome word means, and what it does to a run."""

    meaning: str
    verb: str
    fails_run: bool = False
    drift: bool = False
    ran: bool = True

    @property
    def level(self) -> str:
        return "bad" if self.fails_run else "drift" if self.drift else "ok" if self.ran else "none"


#: Every outcome, what it means for a reader, and whether it fails a run (always) or is drift (fails only
#: with --strict). The docs' page of outcome words is rendered from this table.
OUTCOMES: dict[Outcome, OutcomeInfo] = {
    Outcome.reproduces: OutcomeInfo(
        "The symptom case saw the recorded error (or measured the recorded effect): the bug is still there.",
        "reproduces"),
    Outcome.no_longer_reproduces: OutcomeInfo(
        "The symptom case ran the original code and saw no error: the bug is gone on these versions.",
        "no longer reproduces", drift=True),
    Outcome.changed: OutcomeInfo(
        "The symptom case saw an error, but not the recorded one: the library now fails differently.",
        "now raises a different error", drift=True),
    Outcome.holds: OutcomeInfo(
        "The fix case ran the fixed code and every check of the fix passed.", "holds"),
    Outcome.broken: OutcomeInfo(
        "The fix case ran the fixed code and a check of the fix failed: the recorded fix no longer works.",
        "is BROKEN", fails_run=True),
    Outcome.still_fails: OutcomeInfo(
        "The failed attempt was re-run and still fails as recorded.", "still fails"),
    Outcome.behaves_differently: OutcomeInfo(
        "The failed attempt was re-run and no longer fails the way the record says.", "now behaves differently",
        drift=True),
    Outcome.not_needed: OutcomeInfo(
        "A fix (or failed attempt) ran in a cell where the incident's symptom no longer reproduces: its symptom case "
        "ran the original code there and saw no error. The fix holds but is not needed here (the original code works "
        "too), and a failed attempt says nothing about a bug that is gone; the detail says what it did. Never "
        "counted as holding. Where the symptom changed instead (the original code still fails, with another error), "
        "a fix that works still holds and is still needed.", "is not needed here"),
    Outcome.works: OutcomeInfo(
        "The smoke case ran the incident's pipeline on these versions, in a cell where the fix's claim cannot be "
        "shown: the setup still works here. It is not counted as the fix holding.", "works"),
    Outcome.does_not_work: OutcomeInfo(
        "The smoke case could not run the incident's pipeline on these versions: nothing else about the incident "
        "can be shown here, and the run fails.", "does not work", fails_run=True),
    Outcome.harness_error: OutcomeInfo(
        "A self-check of the regression itself failed (a setting it makes did not take, a line it runs did not "
        "run): the harness is broken, not news about the incident. The run fails.", "had a harness error",
        fails_run=True),
    Outcome.env_fault: OutcomeInfo(
        "The cell's environment cannot import what the case tests: an ImportError, or an error raised while a "
        "library was being imported (datasets 2.14.4 under a pyarrow without `PyExtensionType`). It says nothing "
        "about the incident; an environment that could not be built is one too. The detail names the import that "
        "failed and the versions involved, and `nox -s "
        "candidate` the pins of a stack that imports it. The run fails.", "met an environment fault", fails_run=True),
    Outcome.crashed: OutcomeInfo(
        "The case could not finish: an exception outside its checks or a dead worker. It says nothing about the "
        "incident, and fails the run.", "crashed", fails_run=True),
    Outcome.timed_out: OutcomeInfo(
        "The case (or its whole cell) passed its time limit and was stopped; it fails the run.", "timed out",
        fails_run=True),
    Outcome.not_applicable: OutcomeInfo(
        "The case's claim cannot be shown in this cell (e.g. a bug of several GPUs, in a cell with one), as its "
        "record's `applies_when` says; whatever ran was not judged. Never counted as holding or reproducing.",
        "is not applicable", ran=False),
    Outcome.not_run: OutcomeInfo(
        "The case did not run here: the host lacks what it needs (GPUs, a package, a version), as its reason says.",
        "was not run", ran=False),
}

#: (role, what was observed) -> outcome. Crashes, time-outs and skips mean the same in every role.
DECISIONS: dict[tuple[Role, Observed], Outcome] = {
    (Role.symptom, Observed.as_recorded): Outcome.reproduces,
    (Role.symptom, Observed.differs_with_error): Outcome.changed,
    (Role.symptom, Observed.differs_without_error): Outcome.no_longer_reproduces,
    (Role.fix, Observed.as_recorded): Outcome.holds,
    (Role.fix, Observed.differs_with_error): Outcome.broken,
    (Role.fix, Observed.differs_without_error): Outcome.broken,
    (Role.attempt, Observed.as_recorded): Outcome.still_fails,
    (Role.attempt, Observed.differs_with_error): Outcome.behaves_differently,
    (Role.attempt, Observed.differs_without_error): Outcome.behaves_differently,
    (Role.smoke, Observed.as_recorded): Outcome.works,
    (Role.smoke, Observed.differs_with_error): Outcome.does_not_work,
    (Role.smoke, Observed.differs_without_error): Outcome.does_not_work,
    **{(role, Observed.harness_fault): Outcome.harness_error for role in Role},
    **{(role, Observed.not_applicable): Outcome.not_applicable for role in Role},
    **{(role, Observed.env_fault): Outcome.env_fault for role in Role},
    **{(role, Observed.crashed): Outcome.crashed for role in Role},
    **{(role, Observed.timed_out): Outcome.timed_out for role in Role},
    **{(role, Observed.skipped): Outcome.not_run for role in Role},
}

#: Levels from the least to the most telling, for the worst of several.
LEVEL_RANK = {"none": 0, "ok": 1, "drift": 2, "bad": 3}


def decide(role: Role, observed: Observed) -> Outcome:
    """The outcome of a case in `role` whose run showed `observed`."""
    return DECISIONS[role, observed]
