"""Validating records against the JSON Schemas shipped in ``schemas/``.

:class:`SchemaSet` checks a parsed record against a JSON Schema (draft 2020-12)
with formats asserted (including our ``iso8601-date-or-interval``) and reports
every error at once, each at its JSON pointer, as a METADATA_INVALID finding.
A ``$ref`` resolves only within the set: nothing is ever fetched from the
network.

The shipped set is built once per process and is not checked against the
2020-12 metaschema at start-up: that check dominated the cost of building it,
and the test suite makes it once for every file in ``schemas/``. A set built
from other documents is always checked. jsonschema itself is loaded, and the
shipped set's validators compiled, on the first validation: a command that
only reads the catalog (``list``, ``status``) never pays for them.

What a schema means beyond 2020-12 (our date format, ECMA-262 patterns) is in
``ingest.schema_dialect``; how each error is told to a person, in
``ingest.schema_findings``.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import threading
from collections.abc import Iterator, Mapping
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ingest.errors import SchemaBroken
from ingest.findings import Finding, json_pointer
from ingest.metadata import parse_metadata  # the same limits as for records
from ingest.schema_dialect import jsonschema_for_records
from ingest.schema_findings import SortKey, findings_of, usefulness

if TYPE_CHECKING:  # loaded on the first validation (see the module docstring)
    from referencing import Resource

SCHEMA_BASE_URI = "https://strongroom.invalid/schemas/"
DEFAULT_SCHEMA = "archival-record/v1"

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NOT_SCHEMAS = frozenset({"bagit-profile.json"})  # JSON in schemas/ that is not a JSON Schema

def _refuse_retrieval(uri: str) -> Resource:
    """Registry retrieval hook: a ``$ref`` outside the set is never fetched."""
    from referencing.exceptions import NoSuchResource

    raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # an attrs class; its fields are its arguments


_DATA_KEYWORDS = frozenset({"enum", "const", "examples", "default"})  # hold data, not schemas
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas", "$defs"})


def _references(node: Any, base: str, parts: list[str | int]) -> Iterator[tuple[str, str, str]]:
    """(base URI, reference, pointer) of every ``$ref`` and ``$dynamicRef`` in a schema."""
    if isinstance(node, list):
        for index, value in enumerate(node):
            yield from _references(value, base, [*parts, index])
        return
    if not isinstance(node, dict):
        return
    if isinstance(node.get("$id"), str):
        base = urljoin(base, node["$id"])
    for keyword in ("$ref", "$dynamicRef"):
        if isinstance(node.get(keyword), str):
            yield base, node[keyword], json_pointer([*parts, keyword])
    for key, value in node.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            # Names here are property or definition names, whatever they spell.
            for name, schema in value.items():
                yield from _references(schema, base, [*parts, key, name])
        elif key not in _DATA_KEYWORDS:
            yield from _references(value, base, [*parts, key])


def _check_schema(name: str, document: Mapping[str, Any]) -> None:
    """Check ``document`` against the 2020-12 metaschema. Raises SchemaBroken."""
    from jsonschema.exceptions import SchemaError

    try:
        jsonschema_for_records()[0].check_schema(document)
    except SchemaError as exc:
        raise SchemaBroken(f"schema {name!r} is not a valid JSON Schema: {exc.message}") from exc


#: Schema families that describe something other than a record: never chosen for items.
_NOT_RECORD_SCHEMAS = ("batch/",)


class SchemaSet:
    """Named JSON Schemas (draft 2020-12) that resolve ``$ref`` only among themselves."""

    def __init__(self, documents: Mapping[str, Mapping[str, Any]], *,
                 metaschema_checked: bool = False, compile_later: bool = False) -> None:
        """Build a set from schema documents by name (``"archival-record/v1"``).

        Every document must declare the 2020-12 dialect and a ``$id``, be a
        valid schema, and every ``$ref`` in it must resolve within the set.
        Raises SchemaBroken otherwise; nothing is fetched to find out.
        ``metaschema_checked`` skips only the check against the metaschema, for
        documents already known to pass it (the shipped ones, see the module
        docstring); every other check is still made. ``compile_later`` (the
        shipped set) resolves the references and compiles the validators on
        the first validation, which raises SchemaBroken then if one fails.
        """
        self._documents = {name: copy.deepcopy(dict(doc)) for name, doc in documents.items()}
        for name, doc in sorted(self._documents.items()):
            if doc.get("$schema") != _DIALECT:
                raise SchemaBroken(f"schema {name!r} does not declare $schema {_DIALECT!r}")
            if not isinstance(doc.get("$id"), str) or not doc["$id"]:
                raise SchemaBroken(f"schema {name!r} has no $id")
            if not metaschema_checked:
                _check_schema(name, doc)
        ids = [doc["$id"] for doc in self._documents.values()]
        if len(set(ids)) != len(ids):
            raise SchemaBroken(f"two schemas share an $id: {sorted(ids)}")
        self._validators: dict[str, Any] | None = None
        self._compiling = threading.Lock()
        if not compile_later:
            self._compiled_validators()

    def _compiled_validators(self) -> dict[str, Any]:
        """The validators by schema name, compiled once (by whichever thread
        asks first). Raises SchemaBroken for a ``$ref`` that does not resolve
        within the set."""
        if self._validators is not None:
            return self._validators
        with self._compiling:
            if self._validators is None:
                self._validators = self._compile()
            return self._validators

    def _compile(self) -> dict[str, Any]:
        from referencing import Registry
        from referencing.exceptions import Unresolvable
        from referencing.jsonschema import DRAFT202012

        validator_class, format_checker = jsonschema_for_records()
        resources = [(doc["$id"], DRAFT202012.create_resource(doc))
                     for _, doc in sorted(self._documents.items())]
        registry: Registry[Any] = Registry(  # type: ignore[call-arg]  # an attrs field
            retrieve=_refuse_retrieval).with_resources(resources).crawl()
        for name, doc in self._documents.items():
            for base, ref, where in _references(doc, doc["$id"], []):
                try:
                    registry.resolver(base_uri=base).lookup(ref)
                except Unresolvable as exc:
                    raise SchemaBroken(
                        f"schema {name!r}: {ref!r} at {where!r} does not resolve within the schema set"
                    ) from exc
        return {name: validator_class(doc, registry=registry, format_checker=format_checker)
                for name, doc in self._documents.items()}

    @classmethod
    def default(cls) -> SchemaSet:
        """The schemas shipped in the ``schemas`` package (loaded once per
        process, compiled on the first validation; not checked against the
        metaschema, see the module docstring).

        Raises SchemaBroken if a shipped schema is unreadable or lacks its
        ``$schema`` or ``$id``; the first validation raises it if one refers
        outside the set.
        """
        return _shipped_schema_set()

    def names(self) -> list[str]:
        """The schema names, sorted: ``["archival-record/v1", "batch/v1"]``."""
        return sorted(self._documents)

    def record_names(self) -> list[str]:
        """The names of the schemas an item's metadata may be validated against:
        every schema but those describing something else (``batch/…``, the
        schema of batch.json), sorted."""
        return [name for name in self.names() if not name.startswith(_NOT_RECORD_SCHEMAS)]

    def document(self, name: str) -> dict[str, Any]:
        """A copy of the named schema document. Raises KeyError for an unknown name."""
        if name not in self._documents:
            raise KeyError(f"no schema named {name!r}; known: {self.names()}")
        return copy.deepcopy(self._documents[name])

    def view(self, name: str) -> Mapping[str, Any]:
        """The named schema document itself, to read and never to change: what an
        item's reading asks for every item (``document`` copies it). Raises
        KeyError for an unknown name."""
        if name not in self._documents:
            raise KeyError(f"no schema named {name!r}; known: {self.names()}")
        return self._documents[name]

    def validate(self, record: Mapping[str, Any], schema: str = DEFAULT_SCHEMA) -> list[Finding]:
        """Every way ``record`` breaks the named schema, sorted by JSON pointer.

        Each is a METADATA_INVALID finding at the pointer of the offending value
        (for a missing required property: the pointer it should have), with
        ``expected`` (machine-readable: a pattern stays a pattern), ``found``,
        params ``detail`` (a sentence for a person: the field by its title,
        what it holds, what was expected in words, never a regular expression)
        and ``keyword``, and a ``hint`` where a common mistake is recognised
        (``ingest.hints``). One value gives one finding: when several keywords
        refuse it, the most useful is kept (``ingest.schema_findings.usefulness``). An unknown
        schema name gives one SCHEMA_UNKNOWN finding. Raises nothing.
        """
        validator = self._compiled_validators().get(schema)
        if validator is None:
            return [Finding("SCHEMA_UNKNOWN", found=schema, expected=self.names())]
        keyed: dict[str, tuple[SortKey, Finding]] = {}
        for error in validator.iter_errors(record):
            for key, finding in findings_of(error, validator.schema):
                where = finding.pointer or ""
                if where not in keyed or usefulness(finding) < usefulness(keyed[where][1]):
                    keyed[where] = (key, finding)
        return [finding for _, finding in sorted(keyed.values(), key=lambda pair: pair[0])]


def _schema_files(folder: Traversable, prefix: str) -> Iterator[tuple[str, Traversable]]:
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.is_dir():
            if not entry.name.startswith(("_", ".")):
                yield from _schema_files(entry, f"{prefix}{entry.name}/")
        elif entry.name.endswith(".json") and entry.name not in _NOT_SCHEMAS:
            yield prefix + entry.name.removesuffix(".json"), entry


@functools.lru_cache(maxsize=1)
def _shipped_schema_set() -> SchemaSet:

    documents: dict[str, dict[str, Any]] = {}
    for name, entry in _schema_files(importlib.resources.files("schemas"), ""):
        document, findings = parse_metadata(entry.read_bytes(), name=f"schemas/{name}.json")
        if document is None:
            raise SchemaBroken("; ".join(f.message for f in findings))
        if document.get("$id") != f"{SCHEMA_BASE_URI}{name}.json":
            raise SchemaBroken(f"schema {name!r} has $id {document.get('$id')!r}, "
                               f"expected {SCHEMA_BASE_URI}{name}.json")
        documents[name] = document
    # Every shipped file passes the metaschema: the test suite checks it, once.
    return SchemaSet(documents, metaschema_checked=True, compile_later=True)
