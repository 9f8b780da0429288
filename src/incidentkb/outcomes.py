"""Roles of regression cases and the outcomes a case can have, interpreted by role.

The outcome is what the site and the matrix table show; the results files store it with `serialize()`.
"""

from __future__ import annotations

from enum import Enum

__all__ = ["Role", "Outcome", "parse_role", "role_of"]


class Role(str, Enum):
    """What a case checks: that the symptom still happens, that the fix holds, or that an attempt still fails."""

    symptom = "symptom"
    fix = "fix"
    attempt = "attempt"


def parse_role(text: str) -> tuple[Role, str | None]:
    """Split a role string such as `attempt:cast-to-double` into the role and the id it names.

    An attempt always names its failed attempt; a fix may name an alternative fix (`fix:torchrun`).
    """
    kind, _, name = text.partition(":")
    role = Role(kind)
    if role is Role.symptom and name or role is Role.attempt and not name:
        raise ValueError(f"role {text!r}: write 'symptom', 'fix', 'fix:<id>' or 'attempt:<id>'")
    return role, name or None


def role_of(role: Role, name: str | None = None) -> str:
    """The inverse of `parse_role`."""
    return f"{role.value}:{name}" if name else role.value


class Outcome(str, Enum):
    """A case's outcome, worded for its role."""

    reproduces = "reproduces"
    no_longer_reproduces = "no longer reproduces"
    changed = "changed"
    holds = "holds"
    broken = "BROKEN"
    still_fails = "still fails"
    behaves_differently = "now behaves differently"
    crashed = "crashed"
    timed_out = "timed out"
    not_run = "not run"

    def serialize(self) -> str:
        return self.value

    @classmethod
    def from_str(cls, text: str) -> "Outcome":
        return cls(text)

    @property
    def fails_run(self) -> bool:
        """Only a broken fix or a case that did not finish makes a run fail."""
        return self in (Outcome.broken, Outcome.crashed, Outcome.timed_out)

    @property
    def is_drift(self) -> bool:
        """A symptom or attempt that no longer behaves as recorded: reported, and failing only with --strict."""
        return self in (Outcome.no_longer_reproduces, Outcome.changed, Outcome.behaves_differently)

    @classmethod
    def as_recorded(cls, role: Role) -> "Outcome":
        """The outcome of a case that behaved exactly as the record says."""
        return {Role.symptom: cls.reproduces, Role.fix: cls.holds, Role.attempt: cls.still_fails}[role]

    @classmethod
    def differs(cls, role: Role, *, raised: bool) -> "Outcome":
        """The outcome of a case whose behaviour departs from the record; `raised`: it still raised an error."""
        if role is Role.fix:
            return cls.broken
        if role is Role.attempt:
            return cls.behaves_differently
        return cls.changed if raised else cls.no_longer_reproduces
