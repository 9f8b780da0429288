"""The record schema as reference tables, read from the pydantic model so the page cannot fall behind it.

Every field's description is its attribute docstring in `incidentkb.records.schema`; adding a field there adds a row
here on the next build.
"""

from __future__ import annotations

import datetime as dt
import enum
import inspect
import types
import typing
from dataclasses import dataclass

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from incidentkb.records.schema import Incident
from incidentkb.site.marks import mark_of
from incidentkb.verdict.outcomes import DECISIONS, OUTCOMES, Outcome

__all__ = ["FieldDoc", "ModelDoc", "describe_schema"]


@dataclass(frozen=True)
class FieldDoc:
    name: str
    type: str
    """The type in words, e.g. `list of FailedAttempt`, `text matching ^…$`."""
    links: tuple[str, ...]
    """Names of the models the type refers to, so the template can link them."""
    required: bool
    default: str | None
    description: str


@dataclass(frozen=True)
class ModelDoc:
    name: str
    description: str
    fields: tuple[FieldDoc, ...]


def _pattern_of(metadata: typing.Iterable[object]) -> str | None:
    for item in metadata:
        pattern = getattr(item, "pattern", None)
        if pattern:
            return str(pattern)
    return None


def _type_words(annotation: object, links: list[str]) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        base = _type_words(args[0], links)
        pattern = _pattern_of(args[1:])
        return f"{base} matching `{pattern}`" if pattern else base
    if origin in (typing.Union, types.UnionType):
        kept = [a for a in args if a is not type(None)]
        words = " or ".join(_type_words(a, links) for a in kept)
        return f"{words} (optional)" if len(kept) < len(args) else words
    if origin in (list, tuple, set, frozenset):
        return f"list of {_type_words(args[0], links)}" if args else "list"
    if origin is dict:
        return f"mapping of {_type_words(args[0], links)} to {_type_words(args[1], links)}"
    if inspect.isclass(annotation):
        if issubclass(annotation, BaseModel):
            links.append(annotation.__name__)
            return annotation.__name__
        if issubclass(annotation, enum.Enum):
            return "one of " + ", ".join(f"`{m.value}`" for m in annotation)
        return {str: "text", int: "integer", float: "number", bool: "true/false", dt.date: "date"}.get(
            annotation, annotation.__name__
        )
    return str(annotation)


def _field_doc(name: str, info: FieldInfo) -> FieldDoc:
    links: list[str] = []
    words = _type_words(info.annotation, links)
    pattern = _pattern_of(info.metadata)
    if pattern:
        words = f"{words} matching `{pattern}`"
    default: str | None = None
    if not info.is_required():
        value = info.get_default(call_default_factory=True)
        default = "empty" if value in ([], {}, None) else f"`{value}`"
    return FieldDoc(name, words, tuple(links), info.is_required(), default, info.description or "")


def describe_schema(root: type[BaseModel] = Incident) -> list[ModelDoc]:
    """The root model and every model it refers to, in the order a reader meets them."""
    docs: list[ModelDoc] = []
    queue, seen = [root], {root}
    while queue:
        model = queue.pop(0)
        fields = tuple(_field_doc(n, i) for n, i in model.model_fields.items())
        doc = inspect.cleandoc(model.__doc__ or "") if model.__doc__ != BaseModel.__doc__ else ""
        if doc.startswith("Base of every record part") or doc.startswith("!!! abstract"):
            doc = ""
        docs.append(ModelDoc(model.__name__, doc, fields))
        for field in fields:
            for name in field.links:
                child = _model_named(model, name)
                if child is not None and child not in seen:
                    seen.add(child)
                    queue.append(child)
    return docs


def _model_named(model: type[BaseModel], name: str) -> type[BaseModel] | None:
    module = inspect.getmodule(model)
    child = getattr(module, name, None)
    return child if inspect.isclass(child) and issubclass(child, BaseModel) else None


def describe_outcomes() -> list[dict[str, str]]:
    """Each outcome word, the roles it is given to, its meaning, what it does to a run (from the one table), and
    its mark and tone in the site's grids."""
    roles: dict[Outcome, list[str]] = {}
    for (role, _), outcome in DECISIONS.items():
        names = roles.setdefault(outcome, [])
        if role.value not in names:
            names.append(role.value)
    return [
        {
            "word": outcome.value,
            "roles": ", ".join(roles.get(outcome, [])) or "any",
            "meaning": info.meaning,
            "effect": "fails the run" if info.fails_run else "drift: fails only with --strict" if info.drift else "passes",
            "glyph": mark_of(outcome).glyph,
            "tone": mark_of(outcome).level,
        }
        for outcome, info in OUTCOMES.items()
    ]
