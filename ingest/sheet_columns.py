"""The columns of a ``metadata.csv`` for a record schema, and its template.

A sheet has the ``folder`` column, then each field of the schema in the
schema's order, a field inside an object by its dotted name (``source.citation``);
a list's values are separated by ``|``. ``strongroom template csv`` prints the
header and the schema's own example record as one row, written as
``ingest.spreadsheet`` reads it back.

Pure: a schema in, text out.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from ingest.errors import SchemaNotFound
from ingest.record_schema import SchemaSet

#: the column that names the item folder a row describes
FOLDER_COLUMN = "folder"
#: what separates the values of a list in one cell
LIST_SEPARATOR = "|"


def template_columns(schema: Mapping[str, Any]) -> list[str]:
    """The columns of a metadata.csv for ``schema``: folder, then each field in
    the schema's order, an object's fields by dotted name."""
    return [FOLDER_COLUMN, *(".".join(path) for path, _ in _leaves(schema, schema, ()))]


def template_csv(schema: Mapping[str, Any], folder: str = "") -> str:
    """A metadata.csv for ``schema``: the header and one example row, the
    schema's own first example record (its top-level ``examples``) written as
    ``ingest.spreadsheet`` reads it; an empty row when the schema gives none."""
    examples = schema.get("examples") or [{}]
    example = examples[0]
    columns = template_columns(schema)
    row = [folder or str(example.get("identifier", ""))]
    for path, node in _leaves(schema, schema, ()):
        row.append(_cell(_dig(example, path), node, schema))
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    writer.writerow(row)
    return out.getvalue()


def metadata_template(schemas: SchemaSet, name: str) -> str:
    """``template_csv`` for the record schema ``name``; raises SchemaNotFound
    when no record schema has that name."""
    if name not in schemas.record_names():
        raise SchemaNotFound(f"no record schema named {name!r}; expected one of "
                             f"{', '.join(schemas.record_names())}")
    return template_csv(schemas.document(name))


def resolve_node(node: Any, root: Mapping[str, Any]) -> dict[str, Any]:
    """The schema node, following local ``$ref``s (``#/$defs/...``, ``#/properties/...``)."""
    seen = 0
    while isinstance(node, dict) and isinstance(node.get("$ref"), str) and seen < 32:
        ref: str = node["$ref"]
        if "#" not in ref:
            break
        target: Any = root
        for part in ref.split("#", 1)[1].split("/")[1:]:
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = {**{k: v for k, v in node.items() if k != "$ref"}, **target}
        seen += 1
    return node if isinstance(node, dict) else {}


def _leaves(node: Any, root: Mapping[str, Any],
            path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], dict[str, Any]]]:
    resolved = resolve_node(node, root)
    properties = resolved.get("properties")
    if resolved.get("type") == "object" and isinstance(properties, dict):
        for name, child in properties.items():
            child_node = resolve_node(child, root)
            if child_node.get("type") == "object" and isinstance(child_node.get("properties"), dict):
                yield from _leaves(child_node, root, (*path, name))
            else:
                yield (*path, name), child_node


def _dig(record: Mapping[str, Any], path: Sequence[str]) -> Any:
    value: Any = record
    for part in path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def _cell(value: Any, node: Mapping[str, Any], root: Mapping[str, Any]) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return LIST_SEPARATOR.join(_cell(v, resolve_node(node.get("items", {}), root), root) for v in value)
    if isinstance(value, dict):
        text = str(value.get("name", ""))
        if value.get("name_as_written"):
            text += f" [{value['name_as_written']}]"
        if value.get("role"):
            text += f" ({value['role']})"
        return text
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


__all__ = ["FOLDER_COLUMN", "LIST_SEPARATOR", "metadata_template", "resolve_node", "template_columns",
           "template_csv"]
