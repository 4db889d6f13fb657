"""What changed between two versions of a package: payload files added, removed,
changed or moved, and the fields of the descriptive record added, removed or
changed.

Tag files are left out of the files (``bag-info.txt`` names the batch and the
date, so it differs in every version); the record (``metadata/record.json``) is
compared field by field instead. A file that disappeared under one path and
appeared under another with the same size and digests was moved, not removed
and added. Fields are compared by JSON pointer, objects (``/source``) down to
their members (``/source/citation``), lists as a whole; each carries the title
the record schema gives it ("Archival citation"), so that people read what
changed in the archive's words.

``version_history`` gives every version of a package, oldest first, each with
what changed since the one before (the CLI's ``show``, the API's package
document and the console's Package page present it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from typing import Any, Protocol

from ingest.findings import Finding, json_pointer
from ingest.models import StoredFile, VersionRecord

ADDED = "added"
REMOVED = "removed"
CHANGED = "changed"
MOVED = "moved"


@dataclass(frozen=True)
class FileChange:
    """One payload file that differs: ``before`` in the older version, ``after`` in the newer."""

    change: str                      # ADDED, REMOVED, CHANGED or MOVED
    path: str                        # the newer path (the older one when removed)
    before: StoredFile | None = None
    after: StoredFile | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change, "path": self.path,
                "before": _file(self.before), "after": _file(self.after)}


@dataclass(frozen=True)
class FieldChange:
    """One field of the descriptive record that differs."""

    change: str                      # ADDED, REMOVED or CHANGED
    pointer: str                     # JSON pointer into the record: /source/citation
    label: str                       # what the schema calls it: Archival citation
    before: Any = None
    after: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {"change": self.change, "pointer": self.pointer, "label": self.label,
                "before": self.before, "after": self.after}


@dataclass(frozen=True)
class VersionChanges:
    """What changed from version ``older`` to version ``newer`` of one package."""

    package_id: str
    older: int
    newer: int
    files: tuple[FileChange, ...] = ()
    fields: tuple[FieldChange, ...] = ()

    @property
    def unchanged(self) -> bool:
        return not self.files and not self.fields

    def count(self, change: str) -> int:
        """How many payload files had ``change``."""
        return sum(1 for f in self.files if f.change == change)

    def to_dict(self) -> dict[str, Any]:
        return {"package_id": self.package_id, "from_version": self.older,
                "to_version": self.newer, "files": [f.to_dict() for f in self.files],
                "metadata": [f.to_dict() for f in self.fields]}


@dataclass(frozen=True)
class VersionStep:
    """One version on a package's timeline, with what changed since the version before
    (``changes`` is None for the first version)."""

    version: VersionRecord
    changes: VersionChanges | None = None
    payload_files: int = field(init=False)
    payload_bytes: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "payload_files", len(self.version.payload))
        object.__setattr__(self, "payload_bytes", sum(f.size for f in self.version.payload))

    @property
    def created_at(self) -> datetime:
        return self.version.created_at


class VersionLister(Protocol):
    def list_versions(self, package_id: str) -> list[VersionRecord]:
        """Committed versions, oldest first. Raises PackageNotFound."""


def compare_versions(older: VersionRecord, newer: VersionRecord) -> VersionChanges:
    """What changed from ``older`` to ``newer`` (two versions of one package): payload
    files by path, then the record by field. Raises ValueError for versions of two
    packages."""
    if older.package_id != newer.package_id:
        raise ValueError(f"versions of two packages cannot be compared: "
                         f"{older.package_id} and {newer.package_id}")
    return VersionChanges(package_id=newer.package_id, older=older.number, newer=newer.number,
                          files=tuple(_file_changes(older.payload, newer.payload)),
                          fields=tuple(_field_changes(older.record, newer.record)))


def version_history(catalog: VersionLister, package_id: str) -> list[VersionStep]:
    """Every committed version of a package, oldest first, each with what changed
    since the version before. Raises PackageNotFound, CatalogUnavailable."""
    versions = catalog.list_versions(package_id)
    steps = [VersionStep(versions[0])] if versions else []
    for before, after in pairwise(versions):
        steps.append(VersionStep(after, compare_versions(before, after)))
    return steps


# ---------------------------------------------------------------------- files


def _file_changes(older: Iterable[StoredFile], newer: Iterable[StoredFile]) -> list[FileChange]:
    before = {f.path: f for f in older}
    after = {f.path: f for f in newer}
    changes = [FileChange(CHANGED, path, before[path], after[path])
               for path in sorted(before.keys() & after.keys())
               if _content(before[path]) != _content(after[path])]
    gone = {path: f for path, f in before.items() if path not in after}
    moved_from: dict[tuple[int, str, str], list[StoredFile]] = {}
    for f in sorted(gone.values(), key=lambda f: f.path):
        moved_from.setdefault(_content(f), []).append(f)
    for path in sorted(after.keys() - before.keys()):
        new = after[path]
        candidates = moved_from.get(_content(new))
        if candidates:
            old = candidates.pop(0)
            del gone[old.path]
            changes.append(FileChange(MOVED, path, old, new))
        else:
            changes.append(FileChange(ADDED, path, None, new))
    changes.extend(FileChange(REMOVED, path, f, None) for path, f in sorted(gone.items()))
    order = {CHANGED: 0, MOVED: 1, ADDED: 2, REMOVED: 3}
    return sorted(changes, key=lambda c: (order[c.change], c.path))


def _content(f: StoredFile) -> tuple[int, str, str]:
    return f.size, f.sha256, f.sha512


def _file(f: StoredFile | None) -> dict[str, Any] | None:
    if f is None:
        return None
    return {"path": f.path, "size": f.size, "sha256": f.sha256, "sha512": f.sha512}


# ---------------------------------------------------------------------- record fields


def _field_changes(older: Mapping[str, Any], newer: Mapping[str, Any],
                   parts: tuple[str, ...] = ()) -> list[FieldChange]:
    changes: list[FieldChange] = []
    for key in [*older, *(k for k in newer if k not in older)]:
        here = (*parts, key)
        pointer = json_pointer(list(here))
        if key not in newer:
            changes.append(FieldChange(REMOVED, pointer, field_label(here), before=older[key]))
        elif key not in older:
            changes.append(FieldChange(ADDED, pointer, field_label(here), after=newer[key]))
        elif isinstance(older[key], Mapping) and isinstance(newer[key], Mapping):
            changes.extend(_field_changes(older[key], newer[key], here))
        elif older[key] != newer[key] or type(older[key]) is not type(newer[key]):
            changes.append(FieldChange(CHANGED, pointer, field_label(here),
                                       before=older[key], after=newer[key]))
    return changes


def correction_findings(latest: VersionRecord, record: Mapping[str, Any],
                        versions: Callable[[], Sequence[VersionRecord]]) -> list[Finding]:
    """Warnings on a new version's ``record`` that a person should see before
    taking it for granted: fields the latest version has and it lacks
    (RECORD_FIELDS_REMOVED: a correction sent without the batch.json that gave
    the package its collection and rights), and a record that is an earlier
    version's again (RECORD_AS_EARLIER_VERSION: an old copy of a batch sent
    again, undoing a correction). ``versions`` (every version, oldest first) is
    read only for a record that differs from the latest."""
    if dict(record) == dict(latest.record):
        return []
    changes = _field_changes(latest.record, record)
    findings = []
    removed = [c.label for c in changes if c.change == REMOVED]
    if removed:
        findings.append(Finding("RECORD_FIELDS_REMOVED", params={
            "version": latest.number, "fields": ", ".join(removed)}))
    earlier = next((v for v in reversed(versions()) if v.number < latest.number
                    and dict(v.record) == dict(record)), None)
    if earlier is not None:
        findings.append(Finding("RECORD_AS_EARLIER_VERSION", params={
            "earlier": earlier.number, "latest": latest.number,
            "fields": ", ".join(dict.fromkeys(c.label for c in changes))}))
    return findings


def field_label(parts: Iterable[str]) -> str:
    """What the record schema calls the field at ``parts`` ("Archival citation" for
    source, citation); the last name itself where the schema has no title for it."""
    names = list(parts)
    node: Mapping[str, Any] | None = _record_schema()
    title = None
    for name in names:
        properties = node.get("properties") if isinstance(node, Mapping) else None
        node = properties.get(name) if isinstance(properties, Mapping) else None
        title = node.get("title") if isinstance(node, Mapping) else None
    return title if isinstance(title, str) else (names[-1] if names else "record")


@functools.cache
def _record_schema() -> Mapping[str, Any]:
    from ingest.record_schema import DEFAULT_SCHEMA, SchemaSet

    return SchemaSet.default().document(DEFAULT_SCHEMA)


__all__ = [
    "ADDED", "CHANGED", "MOVED", "REMOVED", "FieldChange", "FileChange", "VersionChanges",
    "VersionStep", "compare_versions", "correction_findings", "field_label", "version_history",
]
