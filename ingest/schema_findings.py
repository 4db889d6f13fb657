"""The words of a record's findings: each JSON Schema validation error as a
METADATA_INVALID finding at its JSON pointer, saying in a sentence what the
field holds, what was expected and, where a common mistake is recognised, a
hint (``findings_of``); and which of several findings on one value says the
most (``usefulness``)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ingest import hints
from ingest.findings import Finding, excerpt, json_pointer
from ingest.schema_dialect import DATE_FORMAT, ecma_compiled

if TYPE_CHECKING:  # loaded on the first validation
    from jsonschema import ValidationError

_EXCERPT = 200  # characters of an offending value quoted in a finding
_DETAIL = 300  # characters of a validator message quoted in a finding

# -- findings from validation errors ---------------------------------------------

_FORMATS = {
    DATE_FORMAT: "an ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD) or interval (start/end) that exists in the calendar",
    "date": "a date YYYY-MM-DD",
    "date-time": "an RFC 3339 date-time",
    "email": "an e-mail address",
    "uri": "an absolute URI",
}


def _excerpt(value: Any, limit: int = _EXCERPT) -> str:
    return excerpt(value, limit)


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


SortKey = tuple[tuple[tuple[int, int | str], ...], str, str]


def _sort_key(parts: list[str | int], keyword: str, detail: str) -> SortKey:
    # Indexes sort as numbers, so /creators/2 comes before /creators/10.
    return tuple((0, p) if isinstance(p, int) else (1, p) for p in parts), keyword, detail


def _invalid(parts: list[str | int], keyword: str, expected: str, found: Any, detail: str,
             hint: str | None = None) -> tuple[SortKey, Finding]:
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


def _field_schemas(root: Any, schema_path: Sequence[Any]) -> list[dict[str, Any]]:
    """The schemas of the properties an error concerns, outermost first: each
    node reached by a ``properties/NAME`` (or titled ``items``) step of the
    error's schema path, following the ``$ref``s that the path passes over
    without naming them (``/creators/0/role``: Creators, then Role)."""
    node: Any = root
    fields: list[dict[str, Any]] = [root] if isinstance(root, dict) else [{}]
    steps = list(schema_path)
    for index, step in enumerate(steps[:-1]):
        while (isinstance(node, dict) and step not in node and step != "$ref"
               and isinstance(node.get("$ref"), str)):
            node = _resolve_local(root, node["$ref"])
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
            fields.append(node)
    return fields


def _name(fields: list[dict[str, Any]], parts: list[str | int]) -> str:
    """The field's title (``Role of Creators, item 1,`` for a field of a list's
    item), else the last name of its pointer."""
    title = fields[-1].get("title")
    if isinstance(title, str) and title:
        if parts and isinstance(parts[-1], int):
            return f"{title}, item {parts[-1] + 1},"
        if len(parts) >= 2 and isinstance(parts[-2], int) and len(fields) >= 2:
            return f"{title} of {_name(fields[:-1], parts[:-1])}"
        return title
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
            compiled = ecma_compiled(error.validator_value)
            return hints.text_hint(value, lambda text: bool(compiled.search(text)))
        case "enum":
            return hints.choice_hint(value, error.validator_value)
        case "type":
            return hints.type_hint(value, error.validator_value)
        case "anyOf" | "oneOf":
            return hints.date_hint(value)
    return None


def findings_of(error: ValidationError, root: Any) -> Iterator[tuple[SortKey, Finding]]:
    parts: list[str | int] = list(error.absolute_path)
    keyword = error.validator if isinstance(error.validator, str) else "false"
    if keyword == "required" and isinstance(error.instance, dict):
        # jsonschema gives one error per missing property without naming it
        # apart from its message; the caller keeps the first of each group.
        defined = error.schema.get("properties", {}) if isinstance(error.schema, dict) else {}
        for missing in error.validator_value:
            if missing not in error.instance:
                field = defined.get(missing, {}) if isinstance(defined.get(missing), dict) else {}
                name = _name([field], [*parts, missing])
                yield _invalid([*parts, missing], keyword, f"required property {missing!r}", None,
                               f"{name} ({missing!r}) is missing; it is required")
    elif keyword == "additionalProperties" and error.validator_value is False and isinstance(error.instance, dict):
        # One error names every extra property; report each at its own pointer.
        defined = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        wanted = "one of the defined properties: " + ", ".join(sorted(defined))
        for extra in error.instance:
            if extra not in defined and not any(ecma_compiled(p).search(extra) for p in patterns):
                yield _invalid([*parts, extra], keyword, wanted, _found(error.instance[extra]),
                               f"{extra!r} is not a property this schema defines (misspelt?)",
                               hints.name_hint(extra, sorted(defined)))
    else:
        fields = _field_schemas(root, error.absolute_schema_path)
        expected = _expected(error.validator if isinstance(error.validator, str) else None, error.validator_value)
        words = _expected(keyword, error.validator_value) if keyword != "pattern" else ""
        detail = _sentence(error, keyword, _name(fields, parts), fields[-1], words)
        yield _invalid(parts, keyword, expected, _found(error.instance), detail, _hint(error, keyword))


#: When several keywords refuse one value, the finding of the first of these
#: is kept: it says the most (a date of the wrong shape fails both its format
#: and its pattern; the format's finding says why in words).
_MOST_USEFUL = ("false", "type", "required", "additionalProperties", "enum", "const", "format",
                "anyOf", "oneOf", "pattern", "minLength", "maxLength")


def usefulness(finding: Finding) -> int:
    keyword = finding.params.get("keyword")
    return _MOST_USEFUL.index(keyword) if keyword in _MOST_USEFUL else len(_MOST_USEFUL)


__all__ = ["SortKey", "findings_of", "usefulness"]
