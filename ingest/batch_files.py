"""The batch's own files at its root: ``batch.json``, the fields of the batch as
a whole, and ``metadata.csv``, a sheet of the items' records.

Both are optional and both are read strictly: a link is refused, never
followed; a file that is too large, not valid JSON, or refused by the batch
schema is a finding (``BATCH_METADATA_INVALID`` with the JSON pointer of what
is wrong), never a crash, and the batch goes on without its fields (an item
whose record was to take a collection, rights or source from them is then
refused: ``ingest.submission``, BATCH_FIELDS_UNUSABLE). The batch
fields a person types beside a folder (a form's collection and description)
are checked by the same schema. ``ingest.batch`` lists the batch and its
items; it reads these files through this module.
"""

from __future__ import annotations

import hashlib
import os
import stat
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from ingest.errors import ContentRefused
from ingest.findings import Finding
from ingest.metadata import parse_metadata
from ingest.record_schema import SchemaSet
from ingest.spreadsheet import MAX_METADATA_CSV_BYTES, METADATA_CSV, UNUSABLE, Sheet, parse_sheet
from ingest.submitted import FileIdentity, identity_seen, kind_of_mode, read_submitted, unreadable

BATCH_METADATA = "batch.json"
BATCH_SCHEMA = "batch/v1"
#: batch.json fields that every item's record takes when it lacks them.
RECORD_DEFAULTS = ("collection", "rights", "source")
#: batch.json is a handful of fields; anything larger is a mistake.
MAX_BATCH_METADATA_BYTES = 1024 * 1024


def batch_fields_in(entry: os.DirEntry[str], kind: str) -> tuple[dict[str, Any], list[Finding]]:
    """The fields of the batch.json a listing found (``kind`` as the listing saw it),
    or no fields and why (each problem BATCH_METADATA_INVALID)."""
    if kind == "symlink":
        return {}, [Finding("SYMLINK_REFUSED", path=BATCH_METADATA)]
    if kind != "file":
        return {}, [_batch_invalid(f"it is a {kind}, not a file")]
    try:
        raw = read_submitted(os.path.dirname(entry.path), BATCH_METADATA,
                             MAX_BATCH_METADATA_BYTES + 1, identity_seen(entry))
    except ContentRefused as refused:
        return {}, [refused.finding]
    except OSError as exc:
        return {}, [_batch_invalid(f"it could not be read: {exc.strerror or exc}")]
    if len(raw) > MAX_BATCH_METADATA_BYTES:
        return {}, [_batch_invalid(f"it is larger than {MAX_BATCH_METADATA_BYTES} bytes")]
    fields, problems = parse_metadata(raw, name=BATCH_METADATA)
    if fields is not None and not problems:
        problems = list(SchemaSet.default().validate(fields, BATCH_SCHEMA))
    if problems or fields is None:
        return {}, [_batch_problem(p) for p in problems] or [_batch_invalid("it holds no JSON object")]
    return fields, []


def read_batch_fields(batch_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The fields of a batch folder's ``batch.json`` as read now, or none when it
    is absent or unusable (its problems were the batch's findings at submission).
    Never follows a link. Raises nothing."""
    try:
        raw = read_submitted(batch_dir, BATCH_METADATA, MAX_BATCH_METADATA_BYTES + 1)
    except (ContentRefused, OSError):
        return {}
    return batch_fields_of(raw)


def batch_fields_of(raw: bytes) -> dict[str, Any]:
    """The fields of a ``batch.json`` given as bytes, or none when it is unusable.
    Raises nothing."""
    if len(raw) > MAX_BATCH_METADATA_BYTES:
        return {}
    fields, problems = parse_metadata(raw, name=BATCH_METADATA)
    if fields is None or problems or SchemaSet.default().validate(fields, BATCH_SCHEMA):
        return {}
    return fields


def read_sheet(batch_dir: str | os.PathLike[str],
               schema: Mapping[str, Any]) -> tuple[Sheet | None, list[Finding]]:
    """The batch folder's ``metadata.csv`` as read now, shaped by ``schema``
    (``ingest.spreadsheet``), or None when there is none; and the problems
    that make it unusable. Never follows a link. Raises nothing."""
    try:
        kind = _kind_at(Path(batch_dir) / METADATA_CSV)
    except FileNotFoundError:
        return None, []
    except OSError as exc:
        return None, [unreadable(METADATA_CSV, exc)]
    return sheet_in(Path(batch_dir), kind, schema, None)


def _kind_at(path: Path) -> str:
    mode = os.lstat(path).st_mode
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISREG(mode):
        return "file"
    return kind_of_mode(mode)


def sheet_in(root: Path, kind: str, schema: Mapping[str, Any],
             seen: FileIdentity | None) -> tuple[Sheet | None, list[Finding]]:
    """The ``metadata.csv`` in ``root`` that a listing found (``kind``, and ``seen``,
    what it saw of the file, when known), as ``read_sheet`` gives it."""
    if kind == "symlink":
        return None, [Finding("SYMLINK_REFUSED", path=METADATA_CSV)]
    if kind != "file":
        return None, [Finding("FILE_TYPE_REFUSED", path=METADATA_CSV, found=kind)]
    try:
        raw = read_submitted(root, METADATA_CSV, MAX_METADATA_CSV_BYTES + 1, seen)
    except ContentRefused as refused:
        return None, [refused.finding]
    except OSError as exc:
        return None, [unreadable(METADATA_CSV, exc)]
    return sheet_of(raw, schema)


def sheet_of(raw: bytes, schema: Mapping[str, Any]) -> tuple[Sheet | None, list[Finding]]:
    """A ``metadata.csv`` given as bytes, shaped by ``schema``, as ``read_sheet``
    gives it. Raises nothing.

    Every item of a batch asks for its row, so a sheet is parsed once per
    process for the same bytes and schema (the last few kept): parsing a sheet
    of N rows for each of N items took time growing with N² (25 ms an item at
    800 rows). The bytes are read every time and compared by their SHA-256, so
    a sheet edited between two items is read as it is now."""
    key = (hashlib.sha256(raw).digest(), id(schema))
    with _SHEETS_LOCK:
        known = _SHEETS.get(key)
        if known is not None and known[0] is schema:
            _SHEETS.move_to_end(key)
            return known[1], list(known[2])
    sheet = parse_sheet(raw, schema)
    result: tuple[Sheet | None, list[Finding]] = (
        (None, list(sheet.findings)) if any(f.code in UNUSABLE for f in sheet.findings) else (sheet, []))
    with _SHEETS_LOCK:
        # the schema is kept with its sheet, so that its id is never another's
        _SHEETS[key] = (schema, result[0], tuple(result[1]))
        while len(_SHEETS) > _SHEETS_KEPT:
            _SHEETS.popitem(last=False)
    return result


#: A schema that shapes nothing: the folder column alone is read (a batch's listing).
SHAPELESS: Mapping[str, Any] = MappingProxyType({})

#: parsed sheets by the SHA-256 of their bytes and their schema: (schema, sheet, findings)
_SHEETS: OrderedDict[tuple[bytes, int], tuple[Mapping[str, Any], Sheet | None, tuple[Finding, ...]]] = OrderedDict()
_SHEETS_KEPT = 4
_SHEETS_LOCK = threading.Lock()


def with_batch_fields(record: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The record with the batch's ``collection``, ``rights`` and ``source``
    (``RECORD_DEFAULTS``) wherever it has none of its own: the record's own
    value always wins, and a field is taken whole (a record's own ``rights``
    is not mixed with the batch's)."""
    merged = dict(record)
    for name in RECORD_DEFAULTS:
        if name not in merged and fields.get(name) not in (None, ""):
            merged[name] = fields[name]
    return merged


def check_batch_fields(given: Mapping[str, str]) -> list[Finding]:
    """Every way the batch fields typed beside a folder (empty ones left out) break
    the batch schema, each METADATA_INVALID at the field's JSON pointer
    (``/collection``), so a form can say it beside the field before anything is
    registered. Raises nothing."""
    typed = {name: value for name, value in given.items() if value}
    return SchemaSet.default().validate(typed, BATCH_SCHEMA) if typed else []


def given_fields(given: Mapping[str, str]) -> tuple[dict[str, Any], list[Finding]]:
    """The non-empty given fields, or none and why (each BATCH_METADATA_INVALID)."""
    typed = {name: value for name, value in given.items() if value}
    problems = check_batch_fields(typed)
    if problems:
        return {}, [replace(_batch_problem(p), path=None) for p in problems]
    return typed, []


def _batch_problem(problem: Finding) -> Finding:
    """A metadata finding restated as a batch.json finding, keeping where and what."""
    detail = str(problem.params.get("detail") or problem.code)
    if problem.code == "METADATA_UNPARSABLE":
        detail = f"it is not valid JSON: {detail}"
    elif problem.code == "METADATA_TOO_LARGE":
        detail = f"it is too large: {detail}"
    elif problem.pointer:
        detail = f"at {problem.pointer!r}: {detail}"
    return _batch_invalid(detail, pointer=problem.pointer,
                          expected=problem.expected, found=problem.found, hint=problem.hint)


def _batch_invalid(detail: str, *, pointer: str | None = None,
                   expected: Any = None, found: Any = None, hint: str | None = None) -> Finding:
    return Finding("BATCH_METADATA_INVALID", path=BATCH_METADATA, pointer=pointer,
                   expected=expected, found=found, params={"detail": detail}, hint=hint)


__all__ = [
    "BATCH_METADATA",
    "BATCH_SCHEMA",
    "MAX_BATCH_METADATA_BYTES",
    "RECORD_DEFAULTS",
    "batch_fields_in",
    "batch_fields_of",
    "check_batch_fields",
    "given_fields",
    "read_batch_fields",
    "read_sheet",
    "sheet_in",
    "sheet_of",
    "with_batch_fields",
]
