"""In-memory stand-ins for the ports, for unit tests of the domain core.

``MemoryObjectStore`` behaves as the ObjectStore contract says (nothing visible
before commit, SHA-256 checked at commit, listing in key order) and lets a test
damage what it holds::

    store.objects[key] = b"tampered"      # replace or add bytes behind the store's back
    del store.objects[key]                # lose an object
    store.unavailable = True              # every call raises StorageUnavailable
    store.opened[key]                     # how many times ``open`` was called for key
    store.synced                          # the prefixes ``sync`` was called with, in order

``store_bag`` puts a complete bag into any store, as the pipeline would, and
returns the catalog's record of its files. ``FailsToOpen`` wraps any store so
that opening one object fails as a broken disk would.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, BinaryIO

from ingest.bag import build_tag_files
from ingest.errors import (
    ChecksumRefused,
    ObjectNotFound,
    ObjectRetained,
    PresignUnsupported,
    StorageUnavailable,
)
from ingest.fixity import digest_bytes
from ingest.models import StoredFile
from ingest.ports import ObjectInfo, ObjectStore


class MemoryObjectWriter:
    """Collects bytes for one key; the store sees them only at commit."""

    def __init__(self, store: MemoryObjectStore, key: str) -> None:
        self._store = store
        self._key = key
        self._buffer = bytearray()
        self._open = True

    def write(self, chunk: bytes | memoryview) -> None:
        """Append bytes (copied: the caller may reuse its buffer). Raises StorageUnavailable."""
        self._store._check_available()
        if not self._open:
            raise ValueError(f"writer for {self._key!r} is already finished")
        self._buffer += chunk

    def commit(self, sha256: str) -> ObjectInfo:
        """Publish the bytes under the key if ``sha256`` is theirs; else ChecksumRefused."""
        self._store._check_available()
        if not self._open:
            raise ValueError(f"writer for {self._key!r} is already finished")
        self._open = False
        data = bytes(self._buffer)
        self._buffer = bytearray()
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256.lower():
            raise ChecksumRefused(f"{self._key!r}: sha256 is {actual}, the writer said {sha256}")
        self._store.objects[self._key] = data
        return ObjectInfo(key=self._key, size=len(data), sha256=actual)

    def abort(self) -> None:
        """Drop the bytes; never raises."""
        self._open = False
        self._buffer = bytearray()


class MemoryObjectStore:
    """An ObjectStore in a dict; ``objects`` maps key to bytes and may be edited directly."""

    def __init__(self, location: str = "memory://test") -> None:
        self.location = location
        self.objects: dict[str, bytes] = {}
        self.unavailable = False
        self.opened: Counter[str] = Counter()
        self._opened_lock = threading.Lock()  # reads may come from several threads
        #: small requests a reader may send at once (``ingest.replication``)
        self.requests_in_flight = 1
        self.synced: list[str] = []
        #: key -> until when S3 Object Lock would retain it (``retained_until``)
        self.retained: dict[str, datetime] = {}

    def _check_available(self) -> None:
        if self.unavailable:
            raise StorageUnavailable(f"{self.location} is unavailable")

    def writer(self, key: str) -> MemoryObjectWriter:
        self._check_available()
        return MemoryObjectWriter(self, key)

    def put_bytes(self, key: str, data: bytes, sha256: str) -> ObjectInfo:
        writer = self.writer(key)
        try:
            writer.write(data)
            return writer.commit(sha256)
        except BaseException:
            writer.abort()
            raise

    def abandoned_writes(self, idle_since: object) -> list[ObjectInfo]:
        return []

    def sweep_abandoned(self, idle_since: object) -> int:
        """An abandoned write in memory vanishes with its writer: nothing is left."""
        self._check_available()
        return 0

    def sync(self, prefix: str) -> None:
        """Nothing to flush (a dict loses nothing until the process ends); noted."""
        self._check_available()
        self.synced.append(prefix)

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        self._check_available()
        if version_id is not None:
            raise ValueError("a memory store keeps one version of each object")
        with self._opened_lock:
            self.opened[key] += 1
        try:
            return io.BytesIO(self.objects[key])
        except KeyError:
            raise ObjectNotFound(key) from None

    def stat(self, key: str, version_id: str | None = None) -> ObjectInfo:
        self._check_available()
        if version_id is not None:
            raise ValueError("a memory store keeps one version of each object")
        try:
            data = self.objects[key]
        except KeyError:
            raise ObjectNotFound(key) from None
        return ObjectInfo(key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest())

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        self._check_available()
        # A snapshot taken now: the caller may delete while it iterates, as with a real store.
        return iter([
            ObjectInfo(key=key, size=len(data), sha256=hashlib.sha256(data).hexdigest())
            for key, data in sorted(self.objects.items())
            if key.startswith(prefix)
        ])

    def delete(self, key: str) -> None:
        self._check_available()
        if self.retained_until(key) is not None:
            raise ObjectRetained(key, self.retained[key])
        self.objects.pop(key, None)

    def retained_until(self, key: str) -> datetime | None:
        """``retained[key]`` (set by a test, as S3 Object Lock would) while the key
        exists and that is in the future."""
        self._check_available()
        until = self.retained.get(key)
        if until is None or key not in self.objects or until <= datetime.now(UTC):
            return None
        return until

    bucket: str | None = None

    def ensure_ready(self) -> None:
        """Nothing to prepare."""
        self._check_available()

    def probe(self) -> None:
        """Reachable unless ``unavailable``."""
        self._check_available()

    def presigned_get(self, key: str, expires_in: int) -> str:
        raise PresignUnsupported(f"{self.location} cannot issue presigned URLs")


#: bag-info fields a pipeline passes to build_tag_files (the profile requires them).
BAG_INFO = (
    ("Source-Organization", "Strongroom test archive"),
    ("External-Identifier", "APRF-45-1-339"),
    ("External-Description", "Telegram, 1951"),
    ("Bagging-Date", "2024-05-01"),
    ("Bag-Group-Identifier", "batch-1"),
    ("Internal-Sender-Identifier", "item-1"),
)


def store_bag(store: ObjectStore, prefix: str, payload: dict[str, bytes],
              record_json: bytes = b'{"identifier": "APRF-45-1-339"}\n',
              info: tuple[tuple[str, str], ...] = BAG_INFO) -> list[StoredFile]:
    """Write a bag of ``payload`` (paths relative to ``data/``) under ``prefix``.

    Returns every file of the bag, payload then tag files, as the catalog records them.
    """
    files = []
    for path, data in payload.items():
        d = digest_bytes(data)
        store.put_bytes(prefix + "data/" + path, data, d.sha256)
        files.append(StoredFile("data/" + path, d.size, d.sha256, d.sha512))
    payload_files = list(files)
    for path, data in build_tag_files(payload_files, record_json, info):
        d = digest_bytes(data)
        store.put_bytes(prefix + path, data, d.sha256)
        files.append(StoredFile(path, d.size, d.sha256, d.sha512))
    return files


__all__ = ["BAG_INFO", "MemoryObjectStore", "MemoryObjectWriter", "store_bag"]


class FailsToOpen:
    """The store as it is, but opening an object whose key ends with ``failing``
    fails as a broken disk would."""

    def __init__(self, store: Any, failing: str) -> None:
        self._store = store
        self._failing = failing

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def open(self, key: str, version_id: str | None = None) -> Any:
        if key.endswith(self._failing):
            raise StorageUnavailable(f"{self._store.location}: Input/output error")
        return self._store.open(key, version_id)
