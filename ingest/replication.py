"""Replication: every version written to the primary and every replica, each copy checked.

The pipeline writes a version to all of ``Services.locations`` at once: each
payload file is read from the batch folder once and every chunk goes to a
writer per location (``CopyWriters``), so adding a replica adds no read of the
source. Each copy is then checked back on its own (``confirm_written_copy``: every object
there, with our size and, where the store keeps one, our SHA-256). Only when
every copy checks is the version committed, with a PREMIS ``replication`` event
per replica copy, so a committed version *is* a replicated one.

Small requests go side by side. A bag's tag files, and the read-back of every
object of a copy, are a dozen small requests or more per version; to a store
that answers them over a network (``requests_in_flight`` above 1, as the S3
store says) up to that many are sent at once, so an item waits for about one
round trip instead of one per object. A store on local disk answers in
microseconds and is asked one request at a time.

A location that cannot be reached makes the whole item a transient failure
(StorageUnavailable, retried like an outage of the primary): a version is never
committed with fewer copies than configured.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TypeVar

from ingest.errors import ObjectNotFound, StorageError, StorageUnavailable
from ingest.fixity import Digests
from ingest.layout import object_key
from ingest.models import StoredFile
from ingest.ports import ObjectInfo, ObjectStore, ObjectWriter, ServerSideCopy

_T = TypeVar("_T")


def requests_in_flight(store: ObjectStore) -> int:
    """Small requests worth sending to ``store`` at once (its ``requests_in_flight``
    attribute, else one at a time)."""
    return max(1, int(getattr(store, "requests_in_flight", 1)))


def side_by_side(calls: Sequence[Callable[[], _T]], most: int) -> list[_T]:
    """Run ``calls``, up to ``most`` at once, and return their results in order.
    Every call is waited for; then the first exception, in the calls' order, is
    raised (so nothing is still running when the caller goes on)."""
    if most <= 1 or len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=min(most, len(calls)),
                            thread_name_prefix="store-requests") as pool:
        futures = [pool.submit(call) for call in calls]
    return [future.result() for future in futures]


class CopyWriters:
    """One object written to several stores from one stream of chunks.

    ``write`` hands each chunk to every location's writer (each copies what it
    keeps, as the ObjectWriter contract says); ``commit`` publishes every copy;
    ``abort`` drops them all. Raises what the writers raise (StorageUnavailable,
    ChecksumRefused).
    """

    def __init__(self, stores: Sequence[ObjectStore], key: str) -> None:
        self._writers: list[ObjectWriter] = []
        try:
            for store in stores:
                self._writers.append(store.writer(key))
        except BaseException:
            self.abort()
            raise

    def write(self, chunk: bytes | memoryview) -> None:
        for writer in self._writers:
            writer.write(chunk)

    def commit(self, sha256: str) -> None:
        for writer in self._writers:
            writer.commit(sha256)

    def abort(self) -> None:
        for writer in self._writers:
            writer.abort()


def copier(stores: Sequence[ObjectStore], source: ObjectStore,
           size: int) -> ServerSideCopy | None:
    """The store that may make a ``size``-byte object of ``source`` by copying it
    in the server (``copy_checked``), when ``stores`` is that one store alone;
    None when the bytes must be sent (a folder, a staging area in another bucket
    or server, replicas, which need the bytes anyway)."""
    if len(stores) != 1:
        return None
    store = stores[0]
    if isinstance(store, ServerSideCopy) and store.can_copy_from(source, size):
        return store
    return None


#: how much of a copy is read back at a time
_READ_BACK_CHUNK = 1024 * 1024


def copy_checked(store: ServerSideCopy, source: ObjectStore, source_key: str, key: str,
                 digests: Digests) -> None:
    """Make ``key`` of ``store`` a copy, made by the server, of ``source_key`` of
    ``source``, whose bytes the caller has read and hashed as ``digests``; then
    read the copy back whole and hash it: it must be ``digests.size`` bytes with
    ``digests.sha256``. The server is given no digest to check a copy against
    (SeaweedFS computes none for a copy), so this read is the check that the
    object is the bytes the caller's manifests describe: a source changed
    between the caller's read and the copy, or a copy damaged by the server, is
    caught here, before anything names the object.

    Raises StorageUnavailable for any mismatch (a storage fault: the copy is
    deleted, and a retry reads the source again, where a changed source is
    found as such) or a source gone, and when the store cannot be reached."""
    try:
        store.copy_object(source, source_key, key)
    except ObjectNotFound as exc:
        raise StorageUnavailable(f"copy of {source_key!r} to {key!r}: the source is gone") from exc
    target: ObjectStore = store  # type: ignore[assignment]  # a ServerSideCopy is an ObjectStore too
    sha256, size = hashlib.sha256(), 0
    try:
        with target.open(key) as stream:
            while chunk := stream.read(_READ_BACK_CHUNK):
                sha256.update(chunk)
                size += len(chunk)
    except ObjectNotFound as exc:
        raise StorageUnavailable(f"read-back of the copy {key!r}: not stored") from exc
    if size != digests.size or sha256.hexdigest() != digests.sha256:
        try:
            target.delete(key)
        except StorageError:
            pass  # a stray under an uncommitted prefix: the next attempt drops it
        raise StorageUnavailable(
            f"the copy of {source_key!r} made by the store as {key!r} holds {size} bytes with "
            f"sha256 {sha256.hexdigest()}, not the {digests.size} bytes with sha256 "
            f"{digests.sha256} that were read: a storage fault")


def put_everywhere(stores: Sequence[ObjectStore], key: str, data: bytes, sha256: str) -> None:
    """Write a small object (a tag file) to every store. Raises StorageUnavailable,
    ChecksumRefused."""
    for store in stores:
        store.put_bytes(key, data, sha256)


def put_all_everywhere(stores: Sequence[ObjectStore],
                       objects: Sequence[tuple[str, bytes, str]]) -> None:
    """Write small objects (key, bytes, hex SHA-256), each checked by the store, to
    every store; to each store side by side (``requests_in_flight``). Raises
    StorageUnavailable, ChecksumRefused once every request has ended."""
    for store in stores:
        side_by_side([partial(store.put_bytes, key, data, sha256)
                      for key, data, sha256 in objects], requests_in_flight(store))


def confirm_written_copy(store: ObjectStore, package_id: str, number: int,
                         files: Sequence[StoredFile]) -> str:
    """Check one copy of version ``number`` right after writing it: every object
    is there with our size, and our SHA-256 where the store keeps one; the
    objects it shares with an earlier version too (``ingest.layout``), so that
    none is committed pointing at an object gone meanwhile. Returns how it was
    checked (``"size+sha256"`` or ``"size"``), for the event.

    Raises StorageUnavailable when the store holds other bytes than were sent
    (a storage fault: a retry writes the version again) or cannot be reached.
    """
    how = "size+sha256"

    def stat(f: StoredFile) -> ObjectInfo:
        key = object_key(package_id, number, f)
        try:
            return store.stat(key)
        except ObjectNotFound as exc:
            raise StorageUnavailable(f"read-back of {key!r} at {store.location}: not stored") from exc
    infos = side_by_side([partial(stat, f) for f in files], requests_in_flight(store))
    for f, info in zip(files, infos, strict=True):
        if info.size != f.size or (info.sha256 is not None and info.sha256 != f.sha256):
            raise StorageUnavailable(
                f"read-back of {object_key(package_id, number, f)!r} at {store.location} found "
                f"size {info.size} sha256 {info.sha256}, expected {f.size} {f.sha256}")
        if info.sha256 is None:
            how = "size"
    return how


__all__ = ["CopyWriters", "confirm_written_copy", "copier", "copy_checked", "put_all_everywhere", "put_everywhere",
           "requests_in_flight", "side_by_side"]
