"""Signature patterns that could make `incidentkb match` run for hours on one traceback.

Python's regular expressions backtrack: a repeated group whose body is itself an unbounded repeat with nothing
it must match beside it (`(a+)+`, `(\\s*\\w+)*`, `(?:\\w+|\\d+)+`) tries every way of splitting a run of
characters among its repetitions before it gives up: 2^n ways for a run of n. A traceback holding such a run
(a long line of digits or dashes) then hangs `match`, and the regressions that match with the same patterns.
The schema refuses such a pattern and says how to write it; possessive quantifiers (`a++`) and atomic groups
(`(?>...)`), which never give back what they matched, are allowed (`(?>a+)+`), unless what they hold is itself
of the risky shape (`(?>(a+)+b)`).

It catches the common shape, not every one: overlapping alternatives (`(a|aa)+`) and overlapping neighbours
(`(\\w+\\w)+`) are not detected.
"""

from __future__ import annotations

from typing import Any

try:  # Python 3.11+
    from re import _constants as sre_c  # type: ignore[attr-defined]
    from re import _parser as sre_p
except ImportError:  # pragma: no cover - Python 3.10
    import sre_constants as sre_c  # type: ignore[no-redef]
    import sre_parse as sre_p  # type: ignore[no-redef]

__all__ = ["backtracks_exponentially"]

_REPEATS = {sre_c.MAX_REPEAT, sre_c.MIN_REPEAT}  # the backtracking ones; POSSESSIVE_REPEAT never gives back
_WIDTH_ONE = {sre_c.LITERAL, sre_c.NOT_LITERAL, sre_c.ANY, sre_c.IN}
_ATOMIC = getattr(sre_c, "ATOMIC_GROUP", None)
_POSSESSIVE = getattr(sre_c, "POSSESSIVE_REPEAT", None)


def backtracks_exponentially(pattern: str) -> bool:
    """Whether `pattern` repeats an unbounded repeat with nothing fixed beside it, like `(a+)+`."""
    try:
        parsed = sre_p.parse(pattern)
    except Exception:  # noqa: BLE001 - a pattern that does not compile is reported as such by the schema
        return False
    return _risky(list(parsed), repeated=False)


def _risky(items: list[Any], *, repeated: bool) -> bool:
    """Whether this sequence, itself repeated more than once when `repeated`, holds the risky shape."""
    if repeated and _ambiguous(items):
        return True
    return any(_risky(inner, repeated=again) for op, av in items for inner, again in _inside(op, av))


def _inside(op: Any, av: Any) -> list[tuple[list[Any], bool]]:
    """The sequences one item holds, each with whether the item repeats it more than once.

    Plain groups are opened by `_ambiguous` already, so they are not repeated again here; an atomic group or a
    possessive repeat gives nothing back itself, but a repeated repeat inside it still backtracks.
    """
    if op in _REPEATS:
        return [(list(av[2]), av[1] > 1)]
    if op is _POSSESSIVE:
        return [(list(av[2]), False)]
    if op is _ATOMIC:
        return [(list(av), False)]
    if op is sre_c.SUBPATTERN:
        return [(list(av[-1]), False)]
    if op is sre_c.BRANCH:
        return [(list(alt), False) for alt in av[1]]
    if op in (sre_c.ASSERT, sre_c.ASSERT_NOT):
        return [(list(av[1]), False)]
    if op is sre_c.GROUPREF_EXISTS:  # (?(1)yes|no)
        return [(list(branch), False) for branch in av[1:] if branch is not None]
    return []


def _ambiguous(items: list[Any]) -> bool:
    """Whether a repeated body is an unbounded repeat, or alternatives one of which is, and otherwise optional."""
    flat = _open_groups(items)
    for index, (op, av) in enumerate(flat):
        if op in _REPEATS:
            unbounded = av[1] == sre_c.MAXREPEAT
        elif op is sre_c.BRANCH:
            unbounded = any(_ambiguous(list(alt)) for alt in av[1])
        else:
            continue
        if unbounded and all(_min_width(item) == 0 for i, item in enumerate(flat) if i != index):
            return True
    return False


def _open_groups(items: list[Any]) -> list[Any]:
    """The sequence with plain groups opened: `(a+)b` is `a+ b`."""
    out: list[Any] = []
    for op, av in items:
        if op is sre_c.SUBPATTERN:
            out.extend(_open_groups(list(av[-1])))
        else:
            out.append((op, av))
    return out


def _min_width(item: tuple[Any, Any]) -> int:
    op, av = item
    if op in _WIDTH_ONE:
        return 1
    if op in _REPEATS or op is _POSSESSIVE:
        return av[0] * sum(_min_width(i) for i in av[2])
    if op is sre_c.SUBPATTERN:
        return sum(_min_width(i) for i in av[-1])
    if op is _ATOMIC:
        return sum(_min_width(i) for i in av)
    if op is sre_c.BRANCH:
        return min(sum(_min_width(i) for i in alt) for alt in av[1])
    return 0  # anchors, lookarounds, back-references: they may match nothing
