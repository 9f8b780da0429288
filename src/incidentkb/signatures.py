"""Matching one error against a record's signatures.

A regression's symptom case uses this to decide whether the error it observed is the recorded one, and
`incidentkb match` uses it to find the incident behind a pasted traceback: one definition of "this is the same
error", so a wording the regressions accept is a wording `match` finds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from incidentkb.schema import Signature

__all__ = ["ErrorInfo", "normalise", "signature_matches", "any_matches"]

_NORMALISERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"0x[0-9a-fA-F]+"), "0xADDR"),
)


def normalise(text: str) -> str:
    """Remove what varies between occurrences of one error that patterns should not have to spell out."""
    for pattern, replacement in _NORMALISERS:
        text = pattern.sub(replacement, text)
    return text


@dataclass(frozen=True)
class ErrorInfo:
    """An error as observed: the exception's qualified type name, its message, and its frames."""

    type: str
    message: str
    frames: Sequence[str] = field(default_factory=tuple)
    """`module:function` for each frame, outermost first."""

    @classmethod
    def from_exception(cls, exc: BaseException) -> "ErrorInfo":
        kind = type(exc)
        frames: list[str] = []
        tb = exc.__traceback__
        while tb is not None:
            code = tb.tb_frame.f_code
            frames.append(f"{tb.tb_frame.f_globals.get('__name__', '?')}:{code.co_name}")
            tb = tb.tb_next
        return cls(type=f"{kind.__module__}.{kind.__qualname__}", message=str(exc), frames=tuple(frames))

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type, "message": self.message, "frames": list(self.frames)}


def _type_matches(expected: str | None, actual: str) -> bool:
    if not expected:
        return True
    return expected.rsplit(".", 1)[-1] == actual.rsplit(".", 1)[-1]


def signature_matches(signature: Signature, error: ErrorInfo) -> bool:
    """True when the error has the signature's type, message pattern and every one of its frames."""
    if not _type_matches(signature.exception, error.type):
        return False
    if not re.search(signature.message, normalise(error.message)):
        return False
    return all(frame in error.frames for frame in signature.frames)


def any_matches(signatures: Iterable[Signature], error: ErrorInfo | None) -> bool:
    """True when some signature matches the error (never for no error)."""
    return error is not None and any(signature_matches(s, error) for s in signatures)
