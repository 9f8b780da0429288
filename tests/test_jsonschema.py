"""The JSON Schema editors use: generated from the model, committed, and named by every record."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Iterator

from incidentkb.records.json_schema import (
    SCHEMA_COMMENT,
    SCHEMA_FILE,
    incident_schema,
    render_schema,
    schema_is_current,
    write_schema,
)
from incidentkb.scaffold import plan

REPO = Path(__file__).parent.parent


def _objects(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    yield "Incident", schema
    yield from schema["$defs"].items()


def test_the_committed_schema_is_what_the_model_gives() -> None:
    assert schema_is_current(REPO / SCHEMA_FILE), f"{SCHEMA_FILE} is stale: run `incidentkb schema --write` and commit it"


def test_every_object_forbids_unknown_keys_so_editors_flag_typos() -> None:
    for name, definition in _objects(incident_schema()):
        if definition.get("type") == "object" and "properties" in definition:
            assert definition.get("additionalProperties") is False, name


def test_field_docstrings_become_descriptions_editors_show() -> None:
    properties = incident_schema()["properties"]
    assert properties["cause"]["description"] == "Why it happened."


def test_the_rendered_schema_is_stable_json() -> None:
    assert json.loads(render_schema()) == incident_schema()
    assert render_schema() == render_schema() and render_schema().endswith("}\n")


def test_write_schema_writes_only_when_something_changed(tmp_path: Path) -> None:
    path = tmp_path / "schema" / "incident.schema.json"
    assert write_schema(path) is True
    assert write_schema(path) is False
    assert schema_is_current(path)


def test_new_records_name_the_schema_on_their_first_line() -> None:
    text = plan("x y", date=dt.date(2025, 1, 1)).record_text
    assert text.splitlines()[0] == SCHEMA_COMMENT
    assert (REPO / "incidents" / SCHEMA_COMMENT.split("=", 1)[1]).resolve() == (REPO / SCHEMA_FILE).resolve()
