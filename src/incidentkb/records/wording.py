"""The wording of schema errors: one pydantic error becomes one sentence, placed where the YAML wrote it.

pydantic says ``Extra inputs are not permitted`` at ``('fix', 'alternatives', 0, 'extra')``; a person editing a
record needs ``unknown key 'extra' in 'fix.alternatives[0]'; did you mean ...?`` at the line of that key. The
model classes themselves supply the allowed keys, the enum values and the field descriptions, so the messages
follow the schema without repeating it.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import types
import typing
from typing import Any, Mapping, Sequence

from pydantic import BaseModel

from incidentkb.records.schema import (
    CASE_NAME_PATTERN,
    CASE_ROLE_PATTERN,
    COMPUTE_CAPABILITY_PATTERN,
    ID_PATTERN,
    REGRESSION_PATH_PATTERN,
    URL_PATTERN,
    Incident,
)
from incidentkb.records.yamlload import Path, YamlDocument, clip, where

__all__ = ["explain", "explain_all", "did_you_mean", "describe_value", "model_at"]

# Why a pattern exists, in words, keyed by the pattern the schema uses.
_PATTERN_HINTS = {
    ID_PATTERN: "lowercase words and digits joined by '-', e.g. 2025-04-12-short-name",
    CASE_ROLE_PATTERN: "'symptom', 'fix', 'fix:<alternative fix id>' or 'attempt:<failed attempt id>'",
    CASE_NAME_PATTERN: "the name of a test function, starting with 'test_'",
    REGRESSION_PATH_PATTERN: "a Python file under regressions/, e.g. regressions/test_short_name.py",
    URL_PATTERN: "a web address starting with http:// or https://",
    COMPUTE_CAPABILITY_PATTERN: "a version like 8.6",
}
_DATE_ERRORS = {
    "date_type",
    "date_parsing",
    "date_from_datetime_parsing",
    "date_from_datetime_inexact",
    "date_future",
    "date_past",
}
_EXPECTED = {
    "string_type": "text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping of keys to values",
    "model_type": "a mapping of keys",
    "model_attributes_type": "a mapping of keys",
}


def did_you_mean(word: str, choices: typing.Iterable[str]) -> str | None:
    """The closest choice to a misspelt word, if one is close enough to be a likely typo.

    Case is compared first and apart: `OS` for `os` is the same word written in capitals (difflib alone scores
    the two 0, as no letter is equal), so a choice equal but for case wins.

    >>> did_you_mean("OS", ["os", "python"])
    'os'
    """
    options = list(choices)
    same_but_case = [choice for choice in options if choice.casefold() == word.casefold()]
    if same_but_case:
        return same_but_case[0]
    folded = {choice.casefold(): choice for choice in options}
    matches = difflib.get_close_matches(word.casefold(), list(folded), n=1, cutoff=0.6)
    return folded[matches[0]] if matches else None


def describe_value(value: Any) -> str:
    """What a reader sees in the YAML, in words: ``a number (12.4)``, ``a list``, ``nothing``."""
    if value is None:
        return "nothing (an empty value)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a yes/no value)"
    if isinstance(value, (int, float)):
        return f"a number ({value})"
    if isinstance(value, (dt.date, dt.datetime)):
        return f"a date ({value.isoformat()})"
    if isinstance(value, str):
        return f"the text '{clip(value)}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _unwrap(annotation: Any) -> Any:
    """Strip Optional and Annotated: what remains is the type a value at that place must have."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def model_at(path: Path) -> type[BaseModel] | None:
    """The model class that describes the mapping at `path` of a record, or None where no model applies."""
    current: Any = Incident
    for part in path:
        origin = typing.get_origin(current)
        if isinstance(part, int) and origin is list:
            current = _unwrap(typing.get_args(current)[0])
        elif isinstance(part, str) and isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(part)
            if field is None:
                return None
            current = _unwrap(field.annotation)
        else:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _missing(path: Path) -> str:
    name = str(path[-1])
    model = model_at(path[:-1])
    field = model.model_fields.get(name) if model else None
    kind = _unwrap(field.annotation) if field else None
    what = ""
    if isinstance(kind, type) and issubclass(kind, enum.Enum):
        what = "one of " + ", ".join(str(m.value) for m in kind)
    elif kind is dt.date:
        what = "a date, YYYY-MM-DD"
    elif isinstance(kind, type) and issubclass(kind, BaseModel):
        required = [n for n, f in kind.model_fields.items() if f.is_required()]
        what = "a mapping with " + ", ".join(required) if required else "a mapping"
    elif field and field.description:
        what = field.description.split(". ")[0].rstrip(".")
        what = what[0].lower() + what[1:] if what[1:2].islower() else what
    hint = f" ({what})" if what else ""
    return f"missing field '{name}' in {where(path[:-1])}; add `{name}:`{hint}"


def _unknown_key(path: Path) -> str:
    key = str(path[-1])
    model = model_at(path[:-1])
    allowed = list(model.model_fields) if model else []
    message = f"unknown key '{clip(key)}' in {where(path[:-1])}"
    guess = did_you_mean(key, allowed)
    if guess:
        return f"{message}; did you mean '{guess}'?"
    return f"{message}; allowed keys are {', '.join(allowed)}" if allowed else message


def _wrong_type(kind: str, path: Path, value: Any, written: str | None) -> str:
    expected = _EXPECTED[kind]
    if value is None:
        if not path:
            return "the record is empty"
        model = model_at(path) if kind in ("model_type", "model_attributes_type") else None
        required = [n for n, f in model.model_fields.items() if f.is_required()] if model else []
        if required:
            return f"{where(path)} is empty; write its keys under '{path[-1]}:', at least {', '.join(required)}"
        return f"{where(path)} is empty; write {expected} after '{path[-1]}:'"
    if not path:
        return f"the record must be a mapping of keys (id: ..., title: ...), not {describe_value(value)}"
    message = f"{where(path)} should be {expected}, not {describe_value(value)}"
    if kind == "string_type" and written is not None and not isinstance(value, (list, dict)):
        # YAML read `python: 3.10` as the number 3.1: quoting keeps the text as written.
        return f'{message}; put it in quotes: {clip(str(path[-1]))}: "{clip(written)}"'
    if kind == "list_type" and isinstance(value, str):
        return f"{message}; write it as a list: {clip(str(path[-1]))}: [{clip(value)}]"
    return message


def _pattern(path: Path, value: Any, pattern: str) -> str:
    hint = _PATTERN_HINTS.get(pattern, f"text matching the pattern {pattern}")
    message = f"{where(path)} is {describe_value(value)}, which is not {hint}"
    if pattern == CASE_ROLE_PATTERN and isinstance(value, str):
        guess = did_you_mean(value, ["symptom", "fix"])
        if guess:
            return f"{message}; did you mean '{guess}'?"
    return message


def explain(error: Mapping[str, Any], doc: YamlDocument) -> tuple[int, int, str]:
    """Line, column and sentence for one pydantic error (an item of `ValidationError.errors()`)."""
    kind: str = error["type"]
    path: Path = tuple(p for p in error["loc"] if p != "[key]")
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return (*doc.mark(path[:-1]), _missing(path))
    if kind == "extra_forbidden":
        return (*doc.mark(path, key=True), _unknown_key(path))
    # An empty value has no text of its own to point at: point at its key.
    line, col = doc.mark(path, key=value is None)
    if kind in _EXPECTED:
        return line, col, _wrong_type(kind, path, value, doc.text_at(path))
    if kind in _DATE_ERRORS:
        reason = ctx.get("error") or error["msg"]
        shown = value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else clip(str(value))
        return line, col, f"bad date in {where(path)}: '{shown}' ({reason}); write it as YYYY-MM-DD, e.g. 2025-04-12"
    if kind == "enum":
        message = f"{where(path)} is {describe_value(value)}; write one of {ctx.get('expected', '')}"
        model = model_at(path[:-1])
        field = model.model_fields.get(str(path[-1])) if model else None
        kind_type = _unwrap(field.annotation) if field else None
        if isinstance(value, str) and isinstance(kind_type, type) and issubclass(kind_type, enum.Enum):
            guess = did_you_mean(value.lower(), [str(m.value) for m in kind_type])
            if guess:
                message = f"{where(path)} is {describe_value(value)}; did you mean '{guess}'?"
        return line, col, message
    if kind == "string_pattern_mismatch":
        return line, col, _pattern(path, value, str(ctx.get("pattern", "")))
    if kind == "string_too_short":
        return line, col, f"{where(path)} is empty; write the text after '{path[-1]}:'"
    if kind == "too_short":
        least = ctx.get("min_length", 1)
        return line, col, f"{where(path)} is empty; list at least {'one item' if least == 1 else f'{least} items'}"
    if kind == "finite_number":
        return line, col, f"{where(path)} is {value}; it must be a number, not infinity or NaN"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        bound = next(iter(ctx.values()), "")
        bound = f"{bound:g}" if isinstance(bound, (int, float)) else bound
        words = {
            "greater_than_equal": "at least",
            "greater_than": "more than",
            "less_than_equal": "at most",
            "less_than": "less than",
        }[kind]
        return line, col, f"{where(path)} is {value}; it must be {words} {bound}"
    if kind == "value_error":
        reason = str(ctx.get("error", error["msg"]))
        if reason.startswith("signature pattern "):  # the schema's own sentences about a pattern
            return line, col, f"the signature pattern in {where(path)} {reason[len('signature pattern ') :]}"
        return line, col, f"{where(path)}: {reason}"
    return line, col, f"{where(path)}: {error['msg']}"


def explain_all(errors: Sequence[Mapping[str, Any]], doc: YamlDocument) -> list[tuple[Path, int, int, str]]:
    """Every error explained, less those that only repeat another.

    A misspelt key (`sevrity`) also makes the real one (`severity`) missing; the did-you-mean of the unknown key
    already says what to do, so the missing field is not reported separately.
    """
    typos: set[Path] = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            path = tuple(error["loc"])
            model = model_at(path[:-1])
            guess = did_you_mean(str(path[-1]), model.model_fields) if model else None
            if guess:
                typos.add(path[:-1] + (guess,))
    explained = []
    for error in errors:
        path = tuple(p for p in error["loc"] if p != "[key]")
        if error["type"] == "missing" and path in typos:
            continue
        explained.append((path, *explain(error, doc)))
    return explained
