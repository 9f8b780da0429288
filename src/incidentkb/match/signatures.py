"""Matching one error against a record's signatures.

A regression's symptom case uses this to decide whether the error it observed is the recorded one, and
`incidentkb match` uses it to find the incident behind a pasted traceback: one definition of "this is the same
error", so a wording the regressions accept is a wording `match` finds.

The definition: a signature matches an error when
- its `exception`, if given, names the error's type (the last dotted part is compared, so `torch.OutOfMemoryError`
  and `torch.cuda.OutOfMemoryError` are one type);
- its `message` pattern is found in the error's message, either after `normalise` (numbers, memory amounts,
  paths, addresses and device ids replaced by placeholders, so `\\(<n>\\) must match` covers every GPU count) or in
  the message as printed with only its whitespace collapsed (so a pattern written with `\\d+` works too);
- every one of its `frames` (`module:function`) is among the error's frames. A frame's module may be given as the
  tail of a longer dotted name (`stylegan_generator:forward` is found in `proj.stylegan_generator:forward`).
  An error that carries no frames at all (a bare `ExcType: message` line) cannot show them, and is not refused
  for their absence; `SignatureMatch.frames_checked` says so, and `incidentkb match` tells the reader. Likewise
  an error of unknown type (a message pasted without its `ExcType:`) is judged on its message and frames.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

from incidentkb.records.schema import Signature

__all__ = [
    "ErrorInfo",
    "normalise",
    "collapse_whitespace",
    "PreparedError",
    "CompiledSignature",
    "SignatureMatch",
    "signature_matches",
    "any_matches",
]

# One alternation, tried left to right at each position, so a URL is kept whole before its parts could be taken
# for a path, and a memory amount is taken before its number.
_VARYING = re.compile(
    r"""
    (?P<url>\b[a-z][a-z0-9+.-]*://[^\s'"()<>]+)
    | (?P<winpath>(?<![\w])[A-Za-z]:[\\/][^\s'"(),;:]*)
    | (?P<posixpath>(?<![\w.~<>:/-])~?/(?:[\w.@+-]+/)+[\w.@+-]*)
    | (?P<hex>\b0x[0-9a-fA-F]+\b)
    | (?P<mem>(?<![\w.])\d+(?:\.\d+)?\s?(?:bytes|[KMGTP]i?B)\b)
    | (?P<dims>(?<![\w.])\d+(?:x\d+)+(?![\w]))
    | (?P<num>(?<![\w.])[-+]?\d+(?:\.\d+)*(?:[eE][-+]?\d+)?(?!\w)(?!\.\d))
    """,
    re.VERBOSE,
)
_PLACEHOLDERS = {"winpath": "<path>", "posixpath": "<path>", "hex": "0xADDR", "mem": "<mem>", "num": "<n>"}
_WHITESPACE = re.compile(r"\s+")


def _placeholder(found: re.Match[str]) -> str:
    kind = found.lastgroup or ""
    if kind == "url":
        return found.group()
    if kind == "dims":
        return "x".join("<n>" for _ in found.group().split("x"))
    return _PLACEHOLDERS[kind]


def collapse_whitespace(text: str) -> str:
    """One space for every run of spaces and line breaks: a message wrapped by a terminal is the same message."""
    return _WHITESPACE.sub(" ", text).strip()


def normalise(text: str) -> str:
    """Remove what varies between occurrences of one error that patterns should not have to spell out.

    Paths become `<path>`, addresses `0xADDR`, memory amounts `<mem>`, shapes `<n>x<n>` and every other number
    `<n>` (tensor sizes, line numbers, the `0` of `cuda:0`); digits inside words (`mat1`, `float64`, `sm_52`) and
    URLs stay, because they are part of the wording.

    >>> normalise("The size of tensor a (2) must match the size of tensor b (16) at non-singleton dimension 0")
    'The size of tensor a (<n>) must match the size of tensor b (<n>) at non-singleton dimension <n>'
    >>> normalise("Tried to allocate 20.00 MiB. GPU 0 has a total capacity of 12.00 GiB")
    'Tried to allocate <mem>. GPU <n> has a total capacity of <mem>'
    """
    return collapse_whitespace(_VARYING.sub(_placeholder, text))


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "ErrorInfo":
        """The inverse of `to_dict`, for errors read back from a results file."""
        return cls(
            type=str(data.get("type") or ""),
            message=str(data.get("message") or ""),
            frames=tuple(str(f) for f in data.get("frames") or ()),
        )

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type, "message": self.message, "frames": list(self.frames)}


def _type_tail(name: str | None) -> str:
    return (name or "").rsplit(".", 1)[-1]


# Deeper than any real package: no signature names a module with more dotted parts than this.
_MAX_TAILS = 32


@dataclass(frozen=True)
class PreparedError:
    """An error with its message normalised once, so that matching it against many signatures stays cheap."""

    type_tail: str
    literal: str
    """The message with its whitespace collapsed."""
    normalised: str
    frames: frozenset[str]

    @classmethod
    def of(cls, error: ErrorInfo) -> "PreparedError":
        frames: set[str] = set()
        for frame in error.frames:
            module, _, function = frame.rpartition(":")
            parts = module.split(".")
            # Every dotted tail of the module, so a signature may name `pkg.mod:f` or just `mod:f`; no more than
            # _MAX_TAILS of them, since a pasted path of a million parts would give tails of quadratic size.
            first = max(0, len(parts) - _MAX_TAILS)
            frames.update(f"{'.'.join(parts[i:])}:{function}" for i in range(first, len(parts)))
        return cls(
            type_tail=_type_tail(error.type),
            literal=collapse_whitespace(error.message),
            normalised=normalise(error.message),
            frames=frozenset(frames),
        )


@dataclass(frozen=True)
class SignatureMatch:
    """How a signature matched: what a reader needs to trust (or doubt) the match."""

    signature: Signature
    matched_text: str
    """The part of the message the pattern found."""
    type_checked: bool
    """The signature names an exception type, and the error has it (False when the error's type is unknown)."""
    frames_found: tuple[str, ...]
    frames_checked: bool
    """False when the signature names frames but the error carried none to check them against."""

    @property
    def score(self) -> float:
        """Higher for a match that rests on more evidence: a longer message match, the type, each frame."""
        return (
            1.0
            + min(len(self.matched_text), 200) / 200
            + (0.5 if self.type_checked else 0.0)
            + 0.5 * len(self.frames_found)
            - (0.5 if not self.frames_checked else 0.0)
        )


class CompiledSignature:
    """A signature with its pattern compiled once, for matching it against many errors."""

    __slots__ = ("signature", "type_tail", "pattern", "frames")

    def __init__(self, signature: Signature) -> None:
        self.signature = signature
        self.type_tail = _type_tail(signature.exception)
        self.pattern = re.compile(signature.message)
        self.frames = tuple(signature.frames)

    def match(self, error: PreparedError) -> SignatureMatch | None:
        """The match, or None when the type, the message or a frame rules the error out."""
        if self.type_tail and error.type_tail and self.type_tail != error.type_tail:
            return None  # an error pasted without its `ExcType:` is judged on its message and frames
        found = self.pattern.search(error.normalised) or self.pattern.search(error.literal)
        if found is None:
            return None
        frames_checked = bool(error.frames) or not self.frames
        if frames_checked and not all(frame in error.frames for frame in self.frames):
            return None
        return SignatureMatch(
            signature=self.signature,
            matched_text=found.group(),
            type_checked=bool(self.type_tail and error.type_tail),
            frames_found=self.frames if error.frames else (),
            frames_checked=frames_checked,
        )


def signature_matches(signature: Signature, error: ErrorInfo) -> bool:
    """True when the error has the signature's type, message pattern and every one of its frames.

    A part the error does not carry at all (no type, no frames) is not held against it; see the module docstring.
    """
    return CompiledSignature(signature).match(PreparedError.of(error)) is not None


def any_matches(signatures: Iterable[Signature], error: ErrorInfo | None) -> bool:
    """True when some signature matches the error (never for no error)."""
    if error is None:
        return False
    prepared = PreparedError.of(error)
    return any(CompiledSignature(s).match(prepared) is not None for s in signatures)
