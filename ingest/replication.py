"""Replication: every version written to the primary and every replica, each copy checked.

The pipeline writes a version to all of ``Services.locations`` at once: each
payload file is read from the batch folder once and every chunk goes to a
writer per location (``CopyWriters``), so adding a replica adds no read of the
source. Each copy is then checked back on its own (``confirm_written_copy``: every object
there, with our size and, where the store keeps one, our SHA-256). Only when
every copy checks is the version committed, with a PREMIS ``replication`` event
per replica copy, so a committed version *is* a replicated one.

A location that cannot be reached makes the whole item a transient failure
(StorageUnavailable, retried like an outage of the primary): a version is never
committed with fewer copies than configured.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.errors import ObjectNotFound, StorageUnavailable
from ingest.models import StoredFile
from ingest.ports import ObjectStore, ObjectWriter


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


def put_everywhere(stores: Sequence[ObjectStore], key: str, data: bytes, sha256: str) -> None:
    """Write a small object (a tag file) to every store. Raises StorageUnavailable,
    ChecksumRefused."""
    for store in stores:
        store.put_bytes(key, data, sha256)


def confirm_written_copy(store: ObjectStore, prefix: str, files: Sequence[StoredFile]) -> str:
    """Check one copy right after writing it: every object is there with our size,
    and our SHA-256 where the store keeps one. Returns how it was checked
    (``"size+sha256"`` or ``"size"``), for the event.

    Raises StorageUnavailable when the store holds other bytes than were sent
    (a storage fault: a retry writes the version again) or cannot be reached.
    """
    how = "size+sha256"
    for f in files:
        try:
            info = store.stat(prefix + f.path)
        except ObjectNotFound as exc:
            raise StorageUnavailable(
                f"read-back of {prefix + f.path!r} at {store.location}: not stored") from exc
        if info.size != f.size or (info.sha256 is not None and info.sha256 != f.sha256):
            raise StorageUnavailable(
                f"read-back of {prefix + f.path!r} at {store.location} found size {info.size}"
                f" sha256 {info.sha256}, expected {f.size} {f.sha256}")
        if info.sha256 is None:
            how = "size"
    return how


__all__ = ["CopyWriters", "confirm_written_copy", "put_everywhere"]
