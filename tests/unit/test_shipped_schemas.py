"""The JSON Schemas shipped in ``schemas/`` are valid for the draft each declares.

``SchemaSet.default()`` does not check them against the metaschema at every
start (it was most of its cost); this suite does, once, for every file. A set
built from any other documents is still checked when it is built.
"""

from __future__ import annotations

import importlib.resources
import json
from collections.abc import Iterator
from importlib.resources.abc import Traversable
from typing import Any

import pytest
from jsonschema.validators import validator_for

from ingest.errors import SchemaBroken
from ingest.record_schema import SchemaSet

DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_files(folder: Traversable, prefix: str = "") -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            yield from json_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".json"):
            yield prefix + entry.name, entry


SHIPPED = dict(json_files(importlib.resources.files("schemas")))


def test_schemas_ships_the_schemas_the_set_is_built_from() -> None:
    schemas = {name for name, entry in SHIPPED.items()
               if "$schema" in json.loads(entry.read_bytes())}
    assert {f"{name}.json" for name in SchemaSet.default().names()} == schemas
    assert len(schemas) >= 2


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_every_json_file_in_schemas_passes_the_metaschema_of_its_draft(name: str) -> None:
    document = json.loads(SHIPPED[name].read_bytes())
    if "$schema" not in document:
        # The one JSON file that is not a JSON Schema: our BagIt profile.
        assert "BagIt-Profile-Info" in document, f"{name} declares no $schema"
        return
    validator = validator_for(document, default=None)
    assert validator is not None, f"{name}: unknown draft {document['$schema']!r}"
    validator.check_schema(document)


def test_the_shipped_set_is_built_once_per_process() -> None:
    assert SchemaSet.default() is SchemaSet.default()


def user_schema(**properties: Any) -> dict[str, Any]:
    return {"$schema": DIALECT, "$id": "https://strongroom.invalid/schemas/local/v1.json",
            "type": "object", **properties}


@pytest.mark.parametrize("broken", [
    {"required": "title"},                     # a string where the draft wants a list
    {"properties": {"title": {"type": "text"}}},  # no such type
    {"minProperties": -1},
])
def test_a_schema_not_shipped_is_checked_against_the_metaschema(broken: dict[str, Any]) -> None:
    with pytest.raises(SchemaBroken, match="'local/v1' is not a valid JSON Schema"):
        SchemaSet({"local/v1": user_schema(**broken)})


def test_a_valid_schema_not_shipped_validates_records() -> None:
    schemas = SchemaSet({"local/v1": user_schema(required=["title"])})
    assert [f.pointer for f in schemas.validate({}, "local/v1")] == ["/title"]
