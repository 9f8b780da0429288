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

from incidentkb.schema import Incident

__all__ = ["SCHEMA_COMMENT", "incident_schema", "render_schema", "write_schema", "schema_is_current"]

#: The line `incidentkb new` writes at the top of a record in `incidents/`.
SCHEMA_COMMENT = "# yaml-language-server: $schema=../schema/incident.schema.json"


def incident_schema() -> dict[str, Any]:
    """The schema as a dict: the model's own JSON Schema, labelled with the draft it follows."""
    schema = Incident.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def render_schema() -> str:
    """The schema as the committed file holds it (stable key order, so diffs show real changes only)."""
    return json.dumps(incident_schema(), indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path) -> bool:
    """Write the schema to `path`; returns False (and writes nothing) when it is already current."""
    text = render_schema()
    if path.is_file() and path.read_text(encoding="utf-8") == text:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return True


def schema_is_current(path: Path) -> bool:
    """True when `path` holds exactly what `render_schema` produces now."""
    return path.is_file() and path.read_text(encoding="utf-8") == render_schema()
