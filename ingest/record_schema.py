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
"""

from __future__ import annotations

import calendar
import copy
import functools
import importlib.resources
import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from importlib.resources.abc import Traversable
from typing import TYPE_CHECKING, Any
from urllib.parse import urljoin

from ingest import hints
from ingest.errors import SchemaBroken
from ingest.findings import Finding, json_pointer
from ingest.metadata import parse_metadata  # the same limits as for records

if TYPE_CHECKING:  # loaded on the first validation (see the module docstring)
    from jsonschema import ValidationError
    from referencing import Resource

SCHEMA_BASE_URI = "https://strongroom.invalid/schemas/"
DEFAULT_SCHEMA = "archival-record/v1"
DATE_FORMAT = "iso8601-date-or-interval"

_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_NOT_SCHEMAS = frozenset({"bagit-profile.json"})  # JSON in schemas/ that is not a JSON Schema
_EXCERPT = 200  # characters of an offending value quoted in a finding
_DETAIL = 300  # characters of a validator message quoted in a finding

# -- the date format ----------------------------------------------------------

_DAY = r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?"
_DATE_OR_INTERVAL = re.compile(rf"{_DAY}(?:/{_DAY})?")


def _days(year: str, month: str | None, day: str | None) -> tuple[date, date]:
    """The first and last day a date of year, month or day precision covers."""
    y = int(year)
    if month is None:
        return date(y, 1, 1), date(y, 12, 31)
    if day is None:
        first = date(y, int(month), 1)
        return first, first.replace(day=calendar.monthrange(y, int(month))[1])
    exact = date(y, int(month), int(day))
    return exact, exact


def is_date_or_interval(value: object) -> bool:
    """The ``iso8601-date-or-interval`` format: a real calendar date or interval.

    Accepts YYYY, YYYY-MM, YYYY-MM-DD (years 0001-9999) and ``start/end`` of any
    two of these whose start's first day is not after the end's last day.
    Values that are not strings pass (the schema's ``type`` judges them).
    Raises ValueError saying why a string is not such a date.
    """
    if not isinstance(value, str):
        return True
    match = _DATE_OR_INTERVAL.fullmatch(value)
    if match is None:
        raise ValueError("not YYYY, YYYY-MM, YYYY-MM-DD or two of these joined by '/'")
    start = _days(*match.group(1, 2, 3))
    if match.group(4) is not None:
        end = _days(*match.group(4, 5, 6))
        if start[0] > end[1]:
            raise ValueError(f"the interval ends ({end[1]}) before it starts ({start[0]})")
    return True



# -- patterns with ECMA-262 anchors --------------------------------------------

def _ecma_anchors(pattern: str) -> str:
    """Translate ``$`` to ``\\Z``. In ECMA-262, which JSON Schema patterns follow,
    ``$`` matches only at the very end; Python's ``$`` also matches before a
    final newline, which would let "identifier\\n" through a no-control-character
    pattern."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_ecma_anchors(pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        from jsonschema import ValidationError

        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def _jsonschema() -> tuple[Any, Any]:
    """The validator class (2020-12 with ECMA-262 ``pattern``) and the format
    checker (2020-12's formats and ours), made on first use."""
    from jsonschema import Draft202012Validator, FormatChecker, validators

    checker = FormatChecker(formats=())
    checker.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)
    checker.checks(DATE_FORMAT, raises=ValueError)(is_date_or_interval)
    return validators.extend(Draft202012Validator, {"pattern": _pattern}), checker


# -- findings from validation errors ---------------------------------------------

_FORMATS = {
    DATE_FORMAT: "an ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD) or interval (start/end) that exists in the calendar",
    "date": "a date YYYY-MM-DD",
    "date-time": "an RFC 3339 date-time",
    "email": "an e-mail address",
    "uri": "an absolute URI",
}


def _excerpt(value: Any, limit: int = _EXCERPT) -> str:
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _found(value: Any) -> Any:
    """The offending value itself when its JSON is short, else its JSON cut short."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"


def _describe(schema: Any) -> str:
    """A short text of what a (sub)schema wants."""
    if not isinstance(schema, dict):
        return "nothing" if schema is False else "anything"
    if "description" in schema:
        return str(schema["description"])
    if "format" in schema:
        return _FORMATS.get(schema["format"], f"format {schema['format']}")
    if "enum" in schema:
        return "one of " + _excerpt(schema["enum"])
    if "pattern" in schema:
        return f"string matching {schema['pattern']}"
    if "type" in schema:
        return f"type {schema['type']}"
    return _excerpt(schema)


def _plural(n: int, word: str, words: str) -> str:
    return f"{n} {word if n == 1 else words}"


def _expected(keyword: str | None, value: Any) -> str:
    match keyword:
        case "type":
            return f"type {' or '.join(value) if isinstance(value, list) else value}"
        case "enum":
            return "one of " + _excerpt(value)
        case "const":
            return "the value " + _excerpt(value)
        case "pattern":
            return f"string matching {value}"
        case "format":
            return _FORMATS.get(value, f"format {value}")
        case "minLength":
            return f"at least {_plural(value, 'character', 'characters')}"
        case "maxLength":
            return f"at most {_plural(value, 'character', 'characters')}"
        case "minItems":
            return f"at least {_plural(value, 'item', 'items')}"
        case "maxItems":
            return f"at most {_plural(value, 'item', 'items')}"
        case "uniqueItems":
            return "items that all differ"
        case "minProperties":
            return f"at least {_plural(value, 'property', 'properties')}"
        case "anyOf" | "oneOf":
            return " or ".join(_describe(each) for each in value)
        case "not":
            return "not " + _describe(value)
        case None:
            return "nothing (no value is allowed here)"
    return f"{keyword} {_excerpt(value)}"


_SortKey = tuple[tuple[tuple[int, int | str], ...], str, str]


def _sort_key(parts: list[str | int], keyword: str, detail: str) -> _SortKey:
    # Indexes sort as numbers, so /creators/2 comes before /creators/10.
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in parts), keyword, detail


def _invalid(parts: list[str | int], keyword: str, expected: str, found: Any, detail: str,
             hint: str | None = None) -> tuple[_SortKey, Finding]:
    finding = Finding(
        "METADATA_INVALID", pointer=json_pointer(parts), expected=expected, found=found,
        params={"detail": _cut(detail), "keyword": keyword}, hint=hint,
    )
    return _sort_key(parts, keyword, detail), finding


def _cut(text: str, limit: int = _DETAIL) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- in words ----------------------------------------------------------------

_TYPE_WORDS = {"string": "text", "number": "a number", "integer": "a whole number",
               "array": "a list", "object": "a group of named values (an object)",
               "boolean": "true or false", "null": "null"}


def _kind(value: Any) -> str:
    if isinstance(value, str):
        return "text"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"the number {_excerpt(value, 40)}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a group of named values (an object)"
    return "null"


def _type_words(value: Any) -> str:
    names = value if isinstance(value, list) else [value]
    return " or ".join(_TYPE_WORDS.get(str(n), str(n)) for n in names)


def _first_sentence(text: str) -> str:
    sentence = re.split(r"(?<=\.)\s+(?=[A-Z(])", text.strip(), maxsplit=1)[0].rstrip(".")
    return sentence[:1].lower() + sentence[1:]


def _one_of(values: list[Any]) -> str:
    quoted = [_excerpt(v, 60) for v in values]
    return ", ".join(quoted[:-1]) + " or " + quoted[-1] if len(quoted) > 1 else "".join(quoted)


def _resolve_local(root: Any, ref: str) -> Any:
    """A ``#/...`` reference within ``root``; None for any other."""
    if not ref.startswith("#"):
        return None
    node = root
    for part in ref[1:].split("/")[1:] if ref != "#" else []:
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _field_schema(root: Any, schema_path: Sequence[Any]) -> dict[str, Any]:
    """The schema of the property an error concerns: the node reached by the last
    ``properties/NAME`` (or ``items``) step of the error's schema path."""
    node, field = root, root if isinstance(root, dict) else {}
    steps = list(schema_path)
    for index, step in enumerate(steps[:-1]):
        if isinstance(node, dict) and step == "$ref" and isinstance(node.get("$ref"), str):
            node = _resolve_local(root, node["$ref"])
            if node is None:
                break
            continue
        if isinstance(node, dict | list):
            try:
                node = node[step]
            except (KeyError, IndexError, TypeError):
                break
        else:
            break
        previous = steps[index - 1] if index else None
        named = previous in ("properties", "patternProperties")
        if isinstance(node, dict) and (named or (step in ("items", "additionalProperties")
                                                 and "title" in node)):
            field = node
    return field


def _name(field: dict[str, Any], parts: list[str | int]) -> str:
    """The field's title, else the last name of its pointer."""
    title = field.get("title")
    if isinstance(title, str) and title:
        return f"{title}, item {parts[-1] + 1}," if parts and isinstance(parts[-1], int) else title
    names = [p for p in parts if isinstance(p, str)]
    return repr(names[-1]) if names else "The record"


def _pattern_words(error: ValidationError, field: dict[str, Any]) -> str:
    """What a pattern stands for, in words: the description of the definition
    holding it, or the field's examples."""
    holder = error.schema if isinstance(error.schema, dict) else {}
    examples = holder.get("examples") or field.get("examples")
    if holder is not field and isinstance(holder.get("description"), str):
        return _first_sentence(holder["description"])
    if isinstance(examples, list) and examples:
        return "in the form expected, such as " + _one_of(examples)
    if isinstance(holder.get("description"), str):
        return _first_sentence(holder["description"])
    return "in the form this field takes"


def _sentence(error: ValidationError, keyword: str, field_name: str, field: dict[str, Any],
              expected: str) -> str:
    """What is wrong, for a person: the field, what it holds, what was expected, in
    words (never a regular expression)."""
    value = error.instance
    shown = _excerpt(value, 80)
    match keyword:
        case "format":
            cause = str(error.cause) if error.cause is not None else ""
            why = f" ({cause})" if cause and not cause.startswith("not ") else ""
            return f"{field_name} is {shown}, which is not {expected}{why}"
        case "pattern":
            return f"{field_name} is {shown}, which is not {_pattern_words(error, field)}"
        case "type":
            return f"{field_name} is {_kind(value)}, expected {_type_words(error.validator_value)}"
        case "enum":
            return f"{field_name} is {shown}, which is not one of the allowed values: {_one_of(error.validator_value)}"
        case "minLength" if value == "":
            return f"{field_name} is empty"
        case "anyOf" | "oneOf" | "minLength" | "maxLength" | "minItems" | "maxItems" | "const":
            return f"{field_name} is {shown}, expected {expected}"
        case "uniqueItems":
            return f"{field_name} lists a value more than once; each may appear once"
        case "minProperties":
            return f"{field_name} is empty, expected {expected}"
    return f"{field_name}: {error.message}"


def _hint(error: ValidationError, keyword: str) -> str | None:
    value = error.instance
    match keyword:
        case "format" if error.validator_value in (DATE_FORMAT, "date"):
            return hints.date_hint(value)
        case "pattern":
            schema = error.schema if isinstance(error.schema, dict) else {}
            if schema.get("format") == DATE_FORMAT:
                return hints.date_hint(value)
            compiled = _compiled(error.validator_value)
            return hints.text_hint(value, lambda text: bool(compiled.search(text)))
        case "enum":
            return hints.choice_hint(value, error.validator_value)
        case "type":
            return hints.type_hint(value, error.validator_value)
        case "anyOf" | "oneOf":
            return hints.date_hint(value)
    return None


def _findings_of(error: ValidationError, root: Any) -> Iterator[tuple[_SortKey, Finding]]:
    parts: list[str | int] = list(error.absolute_path)
    keyword = error.validator if isinstance(error.validator, str) else "false"
    if keyword == "required" and isinstance(error.instance, dict):
        # jsonschema gives one error per missing property without naming it
        # apart from its message; the caller keeps the first of each group.
        defined = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        for missing in error.validator_value:
            if missing not in error.instance:
                field = defined.get(missing, {}) if isinstance(defined.get(missing), dict) else {}
                name = _name(field, [*parts, missing])
                yield _invalid([*parts, missing], keyword, f"required property {missing!r}", None,
                               f"{name} ({missing!r}) is missing; it is required")
    elif keyword == "additionalProperties" and error.validator_value is False and isinstance(error.instance, dict):
        # One error names every extra property; report each at its own pointer.
        defined = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        wanted = "one of the defined properties: " + ", ".join(sorted(defined))
        for extra in error.instance:
            if extra not in defined and not any(_compiled(p).search(extra) for p in patterns):
                yield _invalid([*parts, extra], keyword, wanted, _found(error.instance[extra]),
                               f"{extra!r} is not a property this schema defines (misspelt?)",
                               hints.name_hint(extra, sorted(defined)))
    else:
        field = _field_schema(root, error.absolute_schema_path)
        expected = _expected(error.validator if isinstance(error.validator, str) else None, error.validator_value)
        words = _expected(keyword, error.validator_value) if keyword != "pattern" else ""
        detail = _sentence(error, keyword, _name(field, parts), field, words)
        yield _invalid(parts, keyword, expected, _found(error.instance), detail, _hint(error, keyword))


#: When several keywords refuse one value, the finding of the first of these
#: is kept: it says the most (a date of the wrong shape fails both its format
#: and its pattern; the format's finding says why in words).
_MOST_USEFUL = ("false", "type", "required", "additionalProperties", "enum", "const", "format",
                "anyOf", "oneOf", "pattern", "minLength", "maxLength")


def _usefulness(finding: Finding) -> int:
    keyword = finding.params.get("keyword")
    return _MOST_USEFUL.index(keyword) if keyword in _MOST_USEFUL else len(_MOST_USEFUL)


# -- the schema set ------------------------------------------------------------

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
        _jsonschema()[0].check_schema(document)
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

        validator_class, format_checker = _jsonschema()
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

    def validate(self, record: Mapping[str, Any], schema: str = DEFAULT_SCHEMA) -> list[Finding]:
        """Every way ``record`` breaks the named schema, sorted by JSON pointer.

        Each is a METADATA_INVALID finding at the pointer of the offending value
        (for a missing required property: the pointer it should have), with
        ``expected`` (machine-readable: a pattern stays a pattern), ``found``,
        params ``detail`` (a sentence for a person: the field by its title,
        what it holds, what was expected in words, never a regular expression)
        and ``keyword``, and a ``hint`` where a common mistake is recognised
        (``ingest.hints``). One value gives one finding: when several keywords
        refuse it, the most useful is kept (``_MOST_USEFUL``). An unknown
        schema name gives one SCHEMA_UNKNOWN finding. Raises nothing.
        """
        validator = self._compiled_validators().get(schema)
        if validator is None:
            return [Finding("SCHEMA_UNKNOWN", found=schema, expected=self.names())]
        keyed: dict[str, tuple[_SortKey, Finding]] = {}
        for error in validator.iter_errors(record):
            for key, finding in _findings_of(error, validator.schema):
                where = finding.pointer or ""
                if where not in keyed or _usefulness(finding) < _usefulness(keyed[where][1]):
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
