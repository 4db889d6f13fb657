"""Commit records: which versions the catalog committed, said by the store itself.

A version's bag is complete and checked in every location *before* the catalog
commits it, so a crash just before the commit leaves a bag that looks exactly
like a committed one. The catalog tells them apart; a store alone (a catalog
rebuild) could not. So right after the catalog commits version N of a package,
the pipeline writes ``_commits/{package_id}/v{N}.json`` to every location and
syncs it:

- ``catalog rebuild`` imports only versions that have a record in some location
  (``ingest.rebuild``); a store with no record at all (written before records
  existed) is refused unless the operator vouches for it;
- ``fixity reconcile`` writes the record of every committed version a location
  lacks (a crash between commit and record, a location that could not take it,
  stores written before records existed), and reports a record whose version
  the catalog does not hold committed as ``UNTRACKED_OBJECT``;
- ``repair`` writes the record into every copy it finds or makes good.

The body names the version (package id, number, identifier, creation time): the
key alone is what counts; the body helps a person reading the store.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence

from ingest.errors import ObjectNotFound, StorageUnavailable
from ingest.layout import canonical_package_id
from ingest.models import VersionRecord
from ingest.ports import ObjectStore

#: Key prefix of the commit records, beside the packages (never a package id).
COMMIT_PREFIX = "_commits/"

_COMMIT_KEY = re.compile(r"_commits/(?P<package>[^/]+)/v(?P<number>[1-9][0-9]*)\.json", re.DOTALL)


def commit_record_key(package_id: str, number: int) -> str:
    """``_commits/{package_id}/v{N}.json``."""
    return f"{COMMIT_PREFIX}{package_id}/v{number}.json"


def version_of_record(key: str) -> tuple[str, int] | None:
    """(package id, version number) a commit record's key names, or None when the
    key is not shaped like one (the whole key must match; the id be a canonical UUID)."""
    match = _COMMIT_KEY.fullmatch(key)
    if match is None:
        return None
    package_id = canonical_package_id(match["package"])
    return None if package_id is None else (package_id, int(match["number"]))


def commit_record_body(version: VersionRecord) -> bytes:
    """The record's bytes: the same for every location and every writer."""
    return json.dumps({"package_id": version.package_id, "version": version.number,
                       "identifier": version.identifier,
                       "created_at": version.created_at.isoformat()},
                      sort_keys=True, ensure_ascii=False).encode("utf-8")


def write_commit_record(store: ObjectStore, version: VersionRecord, *, sync: bool = True) -> None:
    """Write (or write again) the record of ``version`` to ``store`` and sync it
    (with ``sync`` False, the caller syncs it soon: ``sync_commit_records``).
    Raises StorageUnavailable, ChecksumRefused."""
    key = commit_record_key(version.package_id, version.number)
    body = commit_record_body(version)
    store.put_bytes(key, body, hashlib.sha256(body).hexdigest())
    if sync:
        store.sync(key)


def record_commit(stores: Sequence[ObjectStore], version: VersionRecord, *,
                  sync: bool = True) -> list[str]:
    """Record in every location that ``version`` is committed (call right after the
    catalog's commit). A location that cannot take the record now is skipped: the
    version *is* committed, and ``fixity reconcile`` writes the record later.
    With ``sync`` False the records are written but made durable by the caller's
    next ``sync_commit_records`` (a runner that syncs the records of many items
    at once). Returns the locations skipped. Raises nothing for an unreachable
    location."""
    skipped = []
    for store in stores:
        try:
            write_commit_record(store, version, sync=sync)
        except StorageUnavailable:
            skipped.append(store.location)
    return skipped


def sync_commit_records(stores: Sequence[ObjectStore]) -> list[str]:
    """Make durable every commit record written in these stores and not yet
    synced (``record_commit(..., sync=False)``), each folder once for them all.
    A location that cannot is skipped, as in ``record_commit``: what a crash
    then loses, ``fixity reconcile`` writes again. Returns the locations skipped."""
    skipped = []
    for store in stores:
        try:
            store.sync(COMMIT_PREFIX)
        except StorageUnavailable:
            skipped.append(store.location)
    return skipped


def ensure_commit_record(store: ObjectStore, version: VersionRecord) -> bool:
    """Write the record of ``version`` to ``store`` unless one is there; True if
    written. Raises StorageUnavailable, ChecksumRefused."""
    try:
        store.stat(commit_record_key(version.package_id, version.number))
        return False
    except ObjectNotFound:
        write_commit_record(store, version)
        return True


def recorded_versions(keys: Iterable[str]) -> set[tuple[str, int]]:
    """The versions that the commit records among ``keys`` name."""
    return {parts for parts in map(version_of_record, keys) if parts is not None}


__all__ = [
    "COMMIT_PREFIX",
    "commit_record_body",
    "commit_record_key",
    "ensure_commit_record",
    "record_commit",
    "recorded_versions",
    "sync_commit_records",
    "version_of_record",
    "write_commit_record",
]


def holding_commits(stores: Sequence[ObjectStore]) -> list[str]:
    """The locations that hold at least one commit record: an archive is there
    (one look at the first page of each listing). Raises StorageUnavailable."""
    found = []
    for store in stores:
        for _ in store.list(COMMIT_PREFIX):
            found.append(store.location)
            break
    return found

