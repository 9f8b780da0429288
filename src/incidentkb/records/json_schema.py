"""The JSON Schema of a record, generated from the pydantic model for editors.

Each record's first line, ``# yaml-language-server: $schema=../schema/incident.schema.json``, makes editors with
the YAML language server (VS Code, Neovim, JetBrains) complete keys and flag mistakes while typing. The file is
generated, never edited: `incidentkb schema --write` refreshes it, and a test fails when the committed copy no
longer matches the model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from incidentkb.records.schema import Incident

__all__ = ["SCHEMA_FILE", "SCHEMA_COMMENT", "SchemaFileError", "incident_schema", "render_schema", "write_schema", "schema_is_current"]

#: The JSON Schema generated from the model, relative to the repository root; records point editors at it.
SCHEMA_FILE = "schema/incident.schema.json"
#: The line `incidentkb new` writes at the top of a record in `incidents/`.
SCHEMA_COMMENT = f"# yaml-language-server: $schema=../{SCHEMA_FILE}"


_DRAFT = "https://json-schema.org/draft/2020-12/schema"


class SchemaFileError(Exception):
    """The schema file is not written: what is at its place was not written by `write_schema`, or cannot be replaced.

    The message says why, after the file's path: ``schema/incident.schema.json <message>``.
    """


def incident_schema() -> dict[str, Any]:
    """The schema as a dict: the model's own JSON Schema, labelled with the draft it follows."""
    schema = Incident.model_json_schema()
    return {"$schema": _DRAFT, **schema}


def _written_by_us(text: str) -> bool:
    """True for a schema `write_schema` wrote, from this model or an older one (refreshing it loses nothing)."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and data.get("$schema") == _DRAFT and data.get("title") == Incident.__name__


def render_schema() -> str:
    """The schema as the committed file holds it (stable key order, so diffs show real changes only)."""
    return json.dumps(incident_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path) -> bool:
    """Write the schema to `path`; returns False (and writes nothing) when it is already current.

    Only a schema this function wrote is replaced; anything else at `path` (a file someone wrote, a symlink, a
    folder) raises `SchemaFileError` and is left as it is.
    """
    text = render_schema()
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise SchemaFileError("is not a plain file (a link or a folder); it is left as it is: move it away and run again")
    try:
        current = path.read_text(encoding="utf-8") if path.is_file() else None
    except (OSError, UnicodeDecodeError):
        current = ""
    if current == text:
        return False
    if current is not None and not _written_by_us(current):
        raise SchemaFileError("exists and was not written by `incidentkb schema --write`; it is left as it is: "
                              "move it away and run again")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SchemaFileError(f"cannot be written ({exc.strerror or exc})") from None
    return True


def schema_is_current(path: Path) -> bool:
    """True when `path` holds exactly what `render_schema` produces now."""
    return path.is_file() and path.read_text(encoding="utf-8") == render_schema()
