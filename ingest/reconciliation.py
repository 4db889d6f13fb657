"""Reconciliation: the catalog and each storage location, compared in both directions.

- Every file of every committed version has its object in the location
  (``FILE_MISSING`` otherwise), under the prefix of the version that holds it
  (``ingest.layout``: versions share unchanged objects).
- Every object in the location belongs to a committed version:
  an object under a committed version's prefix that the catalog does not list
  is ``UNEXPECTED_FILE``; one under the prefix of a version the catalog does not
  hold committed, though committed versions read files there (their fetch.txt),
  belongs to a version that was committed, whose commit record was lost and
  that a catalog rebuild left out (``REFERENCED_VERSION_NOT_IN_CATALOG``: never
  to be cleaned up); one under a version prefix (``{package_id}/v{N}/``) with
  only a pending claim or no version row at all was left by an ingest that
  crashed or is still running (``INGEST_LEFTOVER``, reported apart: the next
  attempt of that item cleans it up); anything else is a stranger
  (``UNTRACKED_OBJECT``).

Objects under ``_audit/`` (the audit chain's anchors) belong to the service,
and so do the commit records under ``_commits/`` (``ingest.commit_records``):
each committed version should have one in each location (with ``backfill``,
the missing ones are written), and a record of a version the catalog does not
hold committed is ``UNTRACKED_OBJECT``.
Versions withdrawn by a deaccession (``ingest.deaccession``) must be gone: an
object under such a version's prefix, or its commit record, is
``DEACCESSIONED_LEFTOVER`` (a location out of reach or not configured during
the deletion, a backup restored), unless a remaining version references it
(``ingest.layout.objects_referenced``); with ``remove_deaccessioned_as`` it is
deleted, and the tombstones under ``_tombstones/`` that the location lacks are
written. Each such deletion is a ``deletion`` event in the audit log, one per
version and location, as the deaccession's own are
(``ingest.deaccession.deletion_event``): who asked for it, the request, the
location, and the keys deleted.
Findings name the full object key as their path, and their location. Only
listings are read, no object's bytes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.anchoring import AUDIT_PREFIX
from ingest.commit_records import COMMIT_PREFIX, version_of_record, write_commit_record
from ingest.deaccession import LocationDeletion, deletion_event, write_tombstones
from ingest.errors import ObjectRetained, StorageUnavailable
from ingest.findings import Finding
from ingest.layout import STAGING_PREFIX, canonical_package_id, version_prefix
from ingest.models import NewEvent
from ingest.ports import Catalog, ObjectStore
from ingest.services import Services
from ingest.tombstones import TOMBSTONE_PREFIX, DeaccessionRequest, version_of_tombstone

#: Key prefixes the service itself writes outside packages: the audit anchors,
#: the commit records, the tombstones of deaccessioned versions and batches
#: staged for the workers (``ingest.staged_batch``).
RESERVED_PREFIXES = (AUDIT_PREFIX, COMMIT_PREFIX, TOMBSTONE_PREFIX, STAGING_PREFIX)

COMMITTED = "committed"
# Matched against the whole key (fullmatch, DOTALL): a payload name may hold a
# line feed, which ``.`` and ``$`` would otherwise stop at or step over.
_VERSION_KEY = re.compile(r"(?P<package>[^/]+)/v(?P<number>[1-9][0-9]*)/(?P<path>.+)", re.DOTALL)


@dataclass(frozen=True)
class Reconciliation:
    """What one location holds that it should not, or lacks."""

    location: str
    objects: int
    #: FILE_MISSING, UNEXPECTED_FILE, UNTRACKED_OBJECT
    findings: tuple[Finding, ...]
    #: INGEST_LEFTOVER
    leftovers: tuple[Finding, ...]
    #: committed versions that had no commit record here, and how many were written
    commit_records_missing: int = 0
    commit_records_written: int = 0
    #: objects of deaccessioned versions removed (``remove_deaccessioned``)
    deaccessioned_removed: int = 0
    #: tombstones this location lacked, and how many were written
    tombstones_missing: int = 0
    tombstones_written: int = 0

    @property
    def status(self) -> str:
        return "failed" if self.findings else "ok"

    def to_dict(self) -> dict[str, object]:
        return {"location": self.location, "objects": self.objects, "status": self.status,
                "findings": [f.to_dict() for f in self.findings],
                "leftovers": [f.to_dict() for f in self.leftovers],
                "commit_records_missing": self.commit_records_missing,
                "commit_records_written": self.commit_records_written,
                "deaccessioned_removed": self.deaccessioned_removed,
                "tombstones_missing": self.tombstones_missing,
                "tombstones_written": self.tombstones_written}


def version_of_key(key: str) -> tuple[str, int, str] | None:
    """(package id, version number, bag-relative path) of a key shaped like a
    version's object, or None."""
    match = _VERSION_KEY.fullmatch(key)
    if match is None:
        return None
    package_id = canonical_package_id(match["package"])
    return None if package_id is None else (package_id, int(match["number"]), match["path"])


def reconcile_location(catalog: Catalog, store: ObjectStore, *,
                       backfill: bool = False,
                       remove_deaccessioned_as: Services | None = None) -> Reconciliation:
    """Compare ``store`` with the catalog, both ways (see the module docstring);
    with ``backfill``, write the commit record of each committed version that
    has none in ``store``; with ``remove_deaccessioned_as``, delete what is left
    of deaccessioned versions, recording each deletion as the ``actor`` of those
    services, and write the tombstones ``store`` lacks.

    Raises StorageUnavailable, ChecksumRefused, CatalogUnavailable.
    """
    tombstones = catalog.tombstones()
    withdrawn = {(t.package_id, v.number): t for t in tombstones for v in t.versions}
    stones: set[tuple[str, int]] = set()
    left: list[str] = []
    states = catalog.version_states()
    expected = catalog.committed_paths()
    unseen = {(*version, path) for version, paths in expected.items() for path in paths}
    findings: list[Finding] = []
    leftovers: list[Finding] = []
    objects = 0
    recorded: set[tuple[str, int]] = set()
    readers: dict[tuple[str, int], str] = {}
    strange_records: dict[tuple[str, int] | None, list[str]] = {}
    for info in store.list(""):
        objects += 1
        if info.key.startswith(TOMBSTONE_PREFIX):
            stone = version_of_tombstone(info.key)
            if stone in withdrawn:
                stones.add(stone)
            else:
                findings.append(Finding("UNTRACKED_OBJECT", path=info.key, location=store.location))
            continue
        if info.key.startswith(COMMIT_PREFIX):
            record = version_of_record(info.key)
            if record in withdrawn:
                left.append(info.key)
                continue
            if record is not None and states.get(record) == COMMITTED:
                recorded.add(record)
            else:
                strange_records.setdefault(record, []).append(info.key)
            continue
        if info.key.startswith(RESERVED_PREFIXES):
            continue
        parts = version_of_key(info.key)
        if parts is None:
            findings.append(Finding("UNTRACKED_OBJECT", path=info.key, location=store.location))
            continue
        package_id, number, path = parts
        if path in expected.get((package_id, number), ()):
            # a committed version's object (a withdrawn version's too, while a
            # later version shares it)
            unseen.discard(parts)
        elif (package_id, number) in withdrawn and states.get((package_id, number)) != COMMITTED:
            left.append(info.key)
        elif states.get((package_id, number)) != COMMITTED and (package_id, number) in expected:
            # committed versions read files under its prefix: it was committed too
            findings.append(Finding("REFERENCED_VERSION_NOT_IN_CATALOG", path=info.key,
                                    location=store.location, params={
                                        "version": number,
                                        "by": _readers(catalog, package_id, number, readers)}))
        elif states.get((package_id, number)) != COMMITTED:
            leftovers.append(Finding("INGEST_LEFTOVER", path=info.key, location=store.location))
        else:
            findings.append(Finding("UNEXPECTED_FILE", path=info.key, location=store.location))
    findings.extend(
        Finding("FILE_MISSING", path=version_prefix(package_id, number) + path, location=store.location)
        for package_id, number, path in unseen)
    if strange_records:
        # A version committed (and recorded) while the store was listed is no stranger.
        states_now = catalog.version_states()
        for record, keys in strange_records.items():
            if record is None or states_now.get(record) != COMMITTED:
                findings.extend(Finding("UNTRACKED_OBJECT", path=key, location=store.location)
                                for key in keys)
    removed = written = 0
    if remove_deaccessioned_as is not None:
        removed = _remove_leftovers(remove_deaccessioned_as, store, left, withdrawn)
        for key in sorted(set(withdrawn) - stones):
            write_tombstones(store, withdrawn[key])
            written += 1
    else:
        findings.extend(
            Finding("DEACCESSIONED_LEFTOVER", path=key, location=store.location,
                    params={"request": withdrawn[_version_named(key)].request_id})
            for key in left)
    findings.sort(key=lambda f: (f.path or "", f.code))
    unrecorded = sorted(v for v, state in states.items() if state == COMMITTED and v not in recorded)
    # Only beside a copy whose every object is here: a record beside a copy
    # that is not would say a version is stored where it is not (``repair``
    # writes the record with the copy).
    # Nor beside one whose last deep check found it damaged (its objects all
    # listed, some of them other bytes): ``repair`` writes it with the copy.
    incomplete = {(package_id, number) for package_id, number, _ in unseen}
    if backfill and unrecorded:
        incomplete |= catalog.failing_copies(store.location)
    writable = [v for v in unrecorded if v not in incomplete] if backfill else []
    for package_id, number in writable:
        write_commit_record(store, catalog.get_version(package_id, number))
    return Reconciliation(store.location, objects, tuple(findings), tuple(leftovers),
                          commit_records_missing=len(unrecorded),
                          commit_records_written=len(writable),
                          deaccessioned_removed=removed,
                          tombstones_missing=len(set(withdrawn) - stones),
                          tombstones_written=written)


def _readers(catalog: Catalog, package_id: str, number: int,
             known: dict[tuple[str, int], str]) -> str:
    """The committed versions of the package that read files of version ``number``,
    in words ("version 2", "versions 2, 3"); asked once per version."""
    if (package_id, number) not in known:
        numbers = sorted({v.number for v in catalog.list_versions(package_id)
                          if any(f.held_by == number for f in v.files)})
        known[(package_id, number)] = (f"version{'s' if len(numbers) > 1 else ''} "
                                       + ", ".join(str(n) for n in numbers))
    return known[(package_id, number)]


def _version_named(key: str) -> tuple[str, int]:
    """The version an object or commit record of a withdrawn version belongs to."""
    parts = version_of_key(key)
    named = parts[:2] if parts is not None else version_of_record(key)
    assert named is not None
    return named[0], named[1]


def _remove_leftovers(services: Services, store: ObjectStore, keys: list[str],
                      withdrawn: dict[tuple[str, int], DeaccessionRequest]) -> int:
    """Delete the leftovers of deaccessioned versions from ``store``, sparing any
    object a remaining version references; returns how many were deleted.

    A ``deletion`` event per version names the keys deleted, appended even when
    the store fails part way (then a failure, naming what went before the error)."""
    kept = {version_prefix(package_id, number) + path
            for (package_id, number), paths in services.catalog.committed_paths().items()
            for path in paths}
    by_version: dict[tuple[str, int], list[str]] = {}
    for key in keys:
        by_version.setdefault(_version_named(key), []).append(key)
    events: list[NewEvent] = []
    removed = 0
    try:
        for version, found in sorted(by_version.items()):
            deleted: list[str] = []
            spared = sum(1 for key in found if key in kept)
            error: str | None = None
            try:
                for key in sorted(k for k in found if k not in kept):
                    store.delete(key)
                    deleted.append(key)
            except (StorageUnavailable, ObjectRetained) as exc:
                error = str(exc)
                raise
            finally:
                removed += len(deleted)
                if deleted or error:
                    events.append(deletion_event(
                        services, withdrawn[version],
                        LocationDeletion(store.location, deleted=len(deleted), kept=spared, error=error),
                        version=version[1], keys=deleted, during="reconciliation"))
    finally:
        if events:
            services.catalog.append(events)
    return removed


def reconcile(catalog: Catalog, stores: tuple[ObjectStore, ...] | list[ObjectStore], *,
              backfill: bool = False,
              remove_deaccessioned_as: Services | None = None) -> list[Reconciliation]:
    """``reconcile_location`` for each of ``stores``, in order. Raises as it does."""
    return [reconcile_location(catalog, store, backfill=backfill,
                               remove_deaccessioned_as=remove_deaccessioned_as)
            for store in stores]
