"""Descriptive metadata: read an item's metadata.json, validate it, store it.

Three steps, each reporting every problem it finds as a :class:`Finding`:

1. :func:`parse_metadata` turns bytes into a JSON object. It refuses what
   ``json.loads`` would accept but an archive must not: documents over the size
   or nesting limit (checked on the bytes before parsing, so hostile input never
   reaches the parser's recursion), duplicate keys (the last value would silently
   replace the first), NaN and Infinity, lone surrogates, text that is not UTF-8.
2. :meth:`SchemaSet.validate` checks the object against a JSON Schema (draft
   2020-12) shipped in the ``schemas`` package, with formats asserted, and
   reports all errors at once, each at its JSON pointer. A ``$ref`` resolves
   only within the set: nothing is ever fetched from the network.
3. :func:`canonical_record` gives the record's canonical bytes, stored in the
   bag as ``metadata/record.json``; identical records give identical bytes, so
   an identical resubmission is recognised by their digest.
"""

from __future__ import annotations

import codecs
import itertools
import json
import math
import re
import unicodedata
from collections.abc import Iterator, Mapping
from typing import Any

from ingest.findings import Finding, json_pointer
from ingest.hints import json_syntax_hint, not_utf8

MAX_METADATA_BYTES = 1024 * 1024
MAX_DEPTH = 64

#: Every shipped schema's ``$id`` is this base plus its name plus ".json".

_DETAIL = 300  # characters of a validator message quoted in a finding


# -- parsing ----------------------------------------------------------------

class _NotJson(ValueError):
    """A value that Python's json module accepts but RFC 8259 JSON does not hold."""


class _ObjectWithDuplicates(dict):  # type: ignore[type-arg]
    """A parsed object in which some keys occurred more than once."""

    duplicates: list[str]


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    duplicates = []
    for key, value in pairs:
        if key in obj:
            duplicates.append(key)
        obj[key] = value
    if not duplicates:
        return obj
    marked = _ObjectWithDuplicates(obj)
    marked.duplicates = duplicates
    return marked


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999 parses as inf: JSON has no infinity
        raise _NotJson(f"the number {text[:40]} is too large to represent")
    return value


def _constant(name: str) -> Any:
    raise _NotJson(f"{name} is not a JSON value (JSON has no NaN or Infinity)")


_STRINGS = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def _nesting_depth(raw: bytes) -> int:
    """How deep arrays and objects nest in ``raw``, not counting brackets in strings.

    Works on the bytes, before decoding: in UTF-8 no byte of a multi-byte
    character is a quote, backslash or bracket. A stray closing bracket can make
    the count low only after the point where a parser stops on it anyway.
    """
    brackets = _STRINGS.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(itertools.accumulate(map(_STEP.__getitem__, brackets)), default=0)


def _unsafe_values(value: Any, path: list[str | int], name: str) -> Iterator[Finding]:
    """Findings for duplicate keys and lone surrogates anywhere under ``value``."""
    if isinstance(value, dict):
        for key in dict.fromkeys(getattr(value, "duplicates", ())):
            where = json_pointer([*path, key])
            yield Finding(
                "METADATA_UNPARSABLE", path=name, pointer=where, expected="each key once",
                found=f"key {key!r} more than once",
                params={"detail": f"duplicate key {key!r} at {where!r}: "
                                  "the later value would silently replace the earlier"},
            )
        for key, item in value.items():
            yield from _surrogates(key, [*path, key], name)
            yield from _unsafe_values(item, [*path, key], name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unsafe_values(item, [*path, index], name)
    elif isinstance(value, str):
        yield from _surrogates(value, path, name)
        yield from _bidi_controls(value, path, name)
        if path == ["identifier"]:
            yield from _invisible_in_identifier(value, name)


#: Characters that make text display in another order than it is stored
#: (embeddings, overrides, isolates): a title "Register \u202eLTR" reads
#: "Register RTL" on screen. Right-to-left text needs none of them.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def unsafe_text(record: Mapping[str, Any], name: str) -> list[Finding]:
    """The findings ``parse_metadata`` makes of a record's text (lone surrogates,
    bidirectional controls), for a record read from elsewhere (metadata.csv)."""
    return list(_unsafe_values(dict(record), [], name))


def _bidi_controls(text: str, path: list[str | int], name: str) -> Iterator[Finding]:
    found = next((char for char in text if char in BIDI_CONTROLS), None)
    if found is not None:
        where = json_pointer(path)
        yield Finding(
            "METADATA_INVALID", path=name, pointer=where,
            expected="text without bidirectional control characters", found=f"U+{ord(found):04X}",
            params={"detail": f"{where} holds the bidirectional control character "
                              f"U+{ord(found):04X} ({unicodedata.name(found)}), which makes the "
                              "text display in another order than it is stored: remove it "
                              "(right-to-left text needs no such character)"})


def _invisible_in_identifier(text: str, name: str) -> Iterator[Finding]:
    """An identifier holding a character that shows nothing (U+200B ZERO WIDTH
    SPACE, U+2060 WORD JOINER, U+200E LEFT-TO-RIGHT MARK, a soft hyphen): it
    reads like the identifier without it, and would name another package."""
    found = next((char for char in text if unicodedata.category(char) == "Cf"), None)
    if found is not None:
        yield Finding(
            "METADATA_INVALID", path=name, pointer="/identifier",
            expected="an identifier of characters that show", found=f"U+{ord(found):04X}",
            params={"detail": f"/identifier holds U+{ord(found):04X} "
                              f"({unicodedata.name(found, 'a format character')}), which shows "
                              "nothing: it would read like the identifier without it and name "
                              "another package; remove it"})


def _surrogates(text: str, path: list[str | int], name: str) -> Iterator[Finding]:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        where = json_pointer(path)
        yield Finding(
            "METADATA_UNPARSABLE", path=name, pointer=where, expected="Unicode text",
            found=f"\\u{ord(text[exc.start]):04x}",
            params={"detail": f"a lone surrogate escape \\u{ord(text[exc.start]):04x} at {where!r} is not a character"},
        )


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    return "a number"


def parse_metadata(raw: bytes, *, name: str = "metadata.json") -> tuple[dict[str, Any] | None, list[Finding]]:
    """Parse the bytes of a metadata document into a JSON object.

    Returns ``(record, [])`` on success, or ``(None, findings)``:
    METADATA_TOO_LARGE when ``raw`` exceeds MAX_METADATA_BYTES or nests deeper
    than MAX_DEPTH (both checked before parsing); METADATA_UNPARSABLE when it is
    not UTF-8 (a leading UTF-8 byte order mark is tolerated; told by line, with
    how to save it as UTF-8), not JSON (with a hint for the common mistakes), holds a
    duplicate key, NaN, Infinity or a lone surrogate, or is not an object at the
    top. Every finding carries ``path=name``. Raises nothing.
    """
    def unparsable(detail: str, hint: str | None = None, **extra: Any) -> tuple[None, list[Finding]]:
        return None, [Finding("METADATA_UNPARSABLE", path=name, hint=hint,
                              params={"detail": detail, **extra})]

    if len(raw) > MAX_METADATA_BYTES:
        return None, [Finding(
            "METADATA_TOO_LARGE", path=name,
            expected=f"at most {MAX_METADATA_BYTES} bytes", found=f"{len(raw)} bytes",
            params={"detail": f"{len(raw)} bytes, the limit is {MAX_METADATA_BYTES} bytes"},
        )]
    depth = _nesting_depth(raw)
    if depth > MAX_DEPTH:
        return None, [Finding(
            "METADATA_TOO_LARGE", path=name,
            expected=f"nesting depth at most {MAX_DEPTH}", found=f"nesting depth {depth}",
            params={"detail": f"arrays and objects nest {depth} levels deep, the limit is {MAX_DEPTH}"},
        )]
    skipped = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[skipped:].decode("utf-8")
    except UnicodeDecodeError as exc:
        at = skipped + exc.start
        where, advice = not_utf8(raw, at, "UTF-8 (in the editor's \"Save as\", encoding UTF-8)")
        return unparsable(f"it is not UTF-8: {where}", advice, offset=at)
    try:
        value = json.loads(text, object_pairs_hook=_object, parse_float=_finite_float, parse_constant=_constant)
    except _NotJson as exc:
        return unparsable(str(exc))
    except json.JSONDecodeError as exc:
        return unparsable(f"{exc.msg} at line {exc.lineno} column {exc.colno}",
                          json_syntax_hint(text, exc.msg, exc.pos), line=exc.lineno, column=exc.colno)
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        return unparsable(str(exc).split(";")[0][:_DETAIL])
    if not isinstance(value, dict):
        kind = _json_kind(value)
        return None, [Finding(
            "METADATA_UNPARSABLE", path=name, pointer="", expected="an object", found=kind,
            params={"detail": f"the top level is {kind}, not an object"},
        )]
    findings = list(_unsafe_values(value, [], name))
    if findings:
        return None, findings
    return value, []


def canonical_record(record: Mapping[str, Any]) -> bytes:
    """The record as stored in the bag's ``metadata/record.json``.

    UTF-8, keys sorted, indented by two spaces, non-ASCII characters kept as
    they are, one trailing newline: the same record always gives the same bytes.
    Raises ValueError if the record holds something JSON cannot represent
    (NaN, a lone surrogate) and TypeError for a value that is not JSON data.
    """
    text = json.dumps(record, sort_keys=True, indent=2, ensure_ascii=False,
                      separators=(",", ": "), allow_nan=False)
    return (text + "\n").encode("utf-8")


__all__ = ["MAX_DEPTH", "MAX_METADATA_BYTES", "canonical_record", "parse_metadata", "unsafe_text"]
