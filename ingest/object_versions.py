"""Which object version to read for each file of a copy, where the store keeps versions.

With S3 Object Lock (``storage.s3_object_lock``) a damaged object cannot be
overwritten or deleted while it is retained: a repair writes a new version of
its key, and the damaged one stays. Whoever can write to the bucket can also
put yet another version on top. So the catalog notes, for every object that a
repair rewrote in a location, the version id of the good one
(``FixityCatalog.record_object_versions``), and every read of that object there
asks for it: verification (deep and shallow), repair, delivery, presigned URLs.
An object without a note is read in its current version, as in any store.

``copy_view`` gives a store as the checks of a package read it: a
``PinnedCopy`` that reads the noted versions of the package's objects.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import BinaryIO

from ingest.ports import FixityCatalog, ObjectInfo, ObjectStore, ObjectWriter
from ingest.replication import requests_in_flight


class PinnedCopy:
    """An ``ObjectStore`` that reads the object versions ``pins`` names (full key ->
    version id) and every other object as ``store`` does; writes go to ``store``."""

    def __init__(self, store: ObjectStore, pins: Mapping[str, str]) -> None:
        self.store = store
        self.pins = dict(pins)
        self.location = store.location

    def with_pins(self, pins: Mapping[str, str]) -> PinnedCopy:
        """The same copy with ``pins`` (full key -> version id) noted too."""
        return PinnedCopy(self.store, {**self.pins, **pins})

    # -- reads, in the noted versions

    # A version id is passed on only when there is one: a store asked for the
    # current version is asked exactly as anyone else asks it.

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        version_id = version_id or self.pins.get(key)
        return self.store.open(key) if version_id is None else self.store.open(key, version_id)

    def stat(self, key: str, version_id: str | None = None) -> ObjectInfo:
        version_id = version_id or self.pins.get(key)
        return self.store.stat(key) if version_id is None else self.store.stat(key, version_id)

    # -- everything else, as the store does it

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        return self.store.list(prefix)

    def writer(self, key: str) -> ObjectWriter:
        return self.store.writer(key)

    def put_bytes(self, key: str, data: bytes, sha256: str) -> ObjectInfo:
        return self.store.put_bytes(key, data, sha256)

    def sync(self, prefix: str) -> None:
        self.store.sync(prefix)

    def abandoned_writes(self, idle_since: datetime) -> builtins.list[ObjectInfo]:
        return self.store.abandoned_writes(idle_since)

    def sweep_abandoned(self, idle_since: datetime) -> int:
        return self.store.sweep_abandoned(idle_since)

    def delete(self, key: str) -> None:
        self.store.delete(key)

    def retained_until(self, key: str) -> datetime | None:
        return self.store.retained_until(key)

    @property
    def bucket(self) -> str | None:
        return self.store.bucket

    @property
    def requests_in_flight(self) -> int:
        """As the store says (``ingest.replication.requests_in_flight``)."""
        return requests_in_flight(self.store)

    def ensure_ready(self) -> None:
        self.store.ensure_ready()

    def probe(self) -> None:
        self.store.probe()

    def presigned_get(self, key: str, expires_in: int, version_id: str | None = None) -> str:
        version_id = version_id or self.pins.get(key)
        if version_id is None:
            return self.store.presigned_get(key, expires_in)
        return self.store.presigned_get(key, expires_in, version_id)


def copy_view(catalog: FixityCatalog, store: ObjectStore, package_id: str) -> PinnedCopy:
    """The objects of a package in ``store`` as they are to be read: in the object
    versions the catalog notes for them there. Every version of the package is
    covered, since a version reads the objects it shares with earlier ones under
    their keys (``ingest.layout``). Raises CatalogUnavailable."""
    if isinstance(store, PinnedCopy):
        store = store.store
    return PinnedCopy(store, catalog.object_versions(package_id, store.location))


def open_object(catalog: FixityCatalog, store: ObjectStore, key: str) -> BinaryIO:
    """A stream of the object ``key`` (``{package_id}/v{N}/{path}``) of a copy in
    ``store``, in the object version the catalog notes for that file of that
    copy, else the current one. Raises ObjectNotFound, StorageUnavailable,
    CatalogUnavailable, ValueError (not the key of a file of a version)."""
    return _noted(catalog, store, key).open(key)


def presigned_object(catalog: FixityCatalog, store: ObjectStore, key: str,
                     expires_in: int) -> str:
    """``ObjectStore.presigned_get`` of the object ``key`` of a copy in ``store``, in
    the object version the catalog notes for it (as ``open_object``). Raises as
    ``presigned_get`` does, and CatalogUnavailable."""
    return _noted(catalog, store, key).presigned_get(key, expires_in)


def _noted(catalog: FixityCatalog, store: ObjectStore, key: str) -> PinnedCopy:
    """The objects of the package ``key`` (``{package_id}/v{N}/{path}``) belongs
    to, as they are read."""
    parts = key.split("/", 2)
    if len(parts) != 3 or not parts[1].startswith("v") or not parts[1][1:].isdigit():
        raise ValueError(f"{key!r} is not the key of a file of a version")
    return copy_view(catalog, store, parts[0])


__all__ = ["PinnedCopy", "copy_view", "open_object", "presigned_object"]
