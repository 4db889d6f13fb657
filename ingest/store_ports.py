"""What the domain core needs from an object store, as Protocols (``ingest.ports``
re-exports them beside the catalog's).

``storage/`` implements them (a folder, an S3 bucket); tests implement them in
memory. Every method documents the domain errors it may raise; adapters raise
nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol, runtime_checkable

# --------------------------------------------------------------------------- objects


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    #: the store's own SHA-256 of the object (hex), where the store keeps one
    sha256: str | None = None
    #: the object version written or read, in a store that keeps versions (a
    #: versioned S3 bucket); None elsewhere
    version_id: str | None = None


class ObjectWriter(Protocol):
    """Bytes of one object, written as they are read; nothing is visible before commit."""

    def write(self, chunk: bytes | memoryview) -> None:
        """Append bytes. Raises StorageUnavailable."""

    def commit(self, sha256: str) -> ObjectInfo:
        """Make the object visible under its key. ``sha256`` (hex) is the digest of
        every byte written; stores that can check it refuse a mismatch with
        ChecksumRefused. Raises StorageUnavailable, ChecksumRefused."""

    def abort(self) -> None:
        """Drop everything written; never raises."""


#: The longest life of a presigned download URL, in seconds (``ObjectStore.presigned_get``,
#: the API's ``expires`` and ``STRONGROOM_API_PRESIGN_SECONDS``): one hour.
MAX_PRESIGN_SECONDS = 3600


class ObjectStore(Protocol):
    """A flat space of keys under one location (a folder, an S3 bucket and prefix)."""

    #: where this store is, as a URL without credentials (``file:///…``, ``s3://…``)
    location: str

    def writer(self, key: str) -> ObjectWriter:
        """Start writing ``key``; an existing object is replaced only at commit."""

    def put_bytes(self, key: str, data: bytes, sha256: str) -> ObjectInfo:
        """Write a small object in one call. Raises StorageUnavailable, ChecksumRefused."""

    def sync(self, prefix: str) -> None:
        """Make every object this store has written under ``prefix`` durable (on
        disk, with the folder entries that lead to it). A committed write is
        visible at once but may be lost to a power cut until then: callers sync
        a version's prefix before the catalog commits a version that names its
        objects, and any other object before a catalog record relies on it.
        A no-op where every write is durable when it returns (S3).
        Raises StorageUnavailable."""

    def abandoned_writes(self, idle_since: datetime) -> list[ObjectInfo]:
        """What writes killed by a crash left and nothing touched since
        ``idle_since`` (what ``sweep_abandoned`` removes), with sizes."""

    def sweep_abandoned(self, idle_since: datetime) -> int:
        """Remove the remains of writes abandoned by a crash (never committed) that
        nothing has touched since ``idle_since``; return how many. A write in
        progress is never touched: give it a generous margin. Raises
        StorageUnavailable."""

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        """A readable stream of the object: of its version ``version_id`` when given
        (an ``ObjectInfo.version_id`` this store returned), else its current one.
        Raises ObjectNotFound, StorageUnavailable, ValueError (a version id asked
        of a store that keeps no versions)."""

    def stat(self, key: str, version_id: str | None = None) -> ObjectInfo:
        """Size (and the store's SHA-256 if it keeps one), of the version
        ``version_id`` when given. Raises ObjectNotFound, StorageUnavailable,
        ValueError (as ``open``)."""

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Every object whose key starts with ``prefix``, in key order.
        Raises StorageUnavailable."""

    def delete(self, key: str) -> None:
        """Remove an object that no committed version refers to; absent is fine.
        Raises ObjectRetained (S3 Object Lock keeps it), StorageUnavailable."""

    def retained_until(self, key: str) -> datetime | None:
        """Until when the store refuses to delete ``key`` (S3 Object Lock retention
        of any version of it), when that is after now; None when it may be deleted
        (or is absent, or the store has no retention). Raises StorageUnavailable."""

    # -- what not every backend can do is still asked the same way of each

    @property
    def bucket(self) -> str | None:
        """The S3 bucket that holds the objects; None for a store without one (a folder)."""

    def ensure_ready(self) -> None:
        """Prepare the store to take objects, safe to repeat: an S3 store creates its
        bucket when it does not exist yet; a no-op where nothing needs preparing (a
        folder is made when the store is opened). Raises StorageUnavailable, StorageError."""

    def probe(self) -> None:
        """Reach the store cheaply, changing nothing (readiness, ``ingest.health``):
        a folder is there and may be read and written; a bucket exists and answers.
        Raises StorageUnavailable, saying what is wrong, when the store cannot be used."""

    def presigned_get(self, key: str, expires_in: int, version_id: str | None = None) -> str:
        """A URL that fetches ``key`` (its version ``version_id`` when given) with a
        plain GET, without credentials, for ``expires_in`` seconds (1 to
        ``MAX_PRESIGN_SECONDS``). Raises PresignUnsupported
        where the store cannot issue one (a filesystem), ValueError for a bad key or
        expiry, StorageUnavailable."""


@runtime_checkable
class ServerSideCopy(Protocol):
    """What a store that can copy an object within itself adds to ``ObjectStore``
    (an S3 store: CopyObject). The server copies the bytes and none travels;
    what the copy holds is the caller's to check (``ingest.replication.copy_checked``).
    A store without it (a folder) is written through a writer as ever."""

    def can_copy_from(self, source: object, size: int) -> bool:
        """Whether an object of ``size`` bytes of ``source`` may be copied here
        (the same bucket of the same server, say); False for any other store."""

    def copy_object(self, source: Any, source_key: str, key: str) -> None:
        """Make ``key`` a copy of ``source_key`` of ``source``, which
        ``can_copy_from`` allowed. Raises ObjectNotFound (no such source),
        StorageUnavailable."""


__all__ = ["MAX_PRESIGN_SECONDS", "ObjectInfo", "ObjectStore", "ObjectWriter", "ServerSideCopy"]
