"""Reading an item's payload once and writing it to every location.

Each payload file is read once: the one read feeds its SHA-256 and SHA-512,
the received bag's other digests, the head and tail its format is told from,
and every location's copy of the object (``ingest.replication.CopyWriters``).
A file staged in the same bucket as the one location is only read and hashed:
the store copies the staged object itself, and the copy is read back and held
to the digests of the read (``ingest.replication.copy_checked``). Between
chunks the writer looks whether a stop was asked for and whether the item's
lease is still its own, and it puts no object in place for a stale attempt.

``PayloadWriter`` is used by one ingest attempt (``ingest.pipeline``);
``ReceivedCheck`` also by the dry run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

from ingest.batch import ItemScan, PayloadEntry
from ingest.batch_source import BatchSource
from ingest.findings import Finding
from ingest.fixity import Digests, digest_stream
from ingest.format_identification import FileFormat, HeadTail, IdentifiedFormat
from ingest.lease import Lease
from ingest.models import StoredFile
from ingest.ports import ServerSideCopy
from ingest.replication import CopyWriters, copier, copy_checked
from ingest.services import Services
from ingest.staged_source import StagedSource
from ingest.version_sharing import Hashed


class PayloadWriter:
    """One attempt's reading and writing of an item's payload files."""

    def __init__(self, services: Services, item_id: str, item_name: str,
                 source: BatchSource, lease: Lease) -> None:
        self.s = services
        self.item_id = item_id
        self.item_name = item_name
        self.source = source
        self.lease = lease
        #: payload files this attempt had the store copy from the staging area
        self.copied = 0

    def store(self, scan: ItemScan, prefix: str, received: ReceivedCheck,
              shared: Mapping[str, StoredFile], hashed: Hashed,
              ) -> tuple[list[StoredFile], list[FileFormat]]:
        """Write every payload file to every location, except those ``shared``
        with an earlier version (``ingest.version_sharing``); with a format identifier,
        also tell each file's format from the head and tail kept in the same
        read. A file ``hashed`` already is not counted again in the progress."""
        # Each file's format is asked for as soon as it is read, and its answer
        # taken once every file is written: an identifier that matches
        # elsewhere works while the next file is read.
        stored: list[StoredFile | tuple[str, Digests, Callable[[], IdentifiedFormat | None]]] = []
        identifier = self.s.formats
        # While writing, the lease's thread renews it (a claim of a live item is
        # never taken over); each chunk looks whether it is still ours.
        lease = self.lease
        for entry in scan.payload:
            path = "data/" + entry.path
            if path in shared:
                stored.append(shared[path])
                continue
            # One read of the source feeds both digests and every location's copy,
            # or, for a file staged in the same store, only the digests: the
            # store then copies the staged object, and the copy is read back.
            copy_to = self._copier(entry)
            writers = CopyWriters(self.s.locations, prefix + path) if copy_to is None else None
            # The received bag's other digests (md5, sha1) ride on the same read.
            extra = received.hashers()
            ends = HeadTail(identifier.bufsize) if identifier is not None else None
            counted = entry.path not in hashed

            def write(chunk: Any, writers: CopyWriters | None = writers,
                      extra: dict[str, Any] = extra, ends: HeadTail | None = ends,
                      counted: bool = counted) -> None:
                self.s.stop.check()  # a stop asked for: abandon between chunks
                if writers is not None:
                    writers.write(chunk)
                for hasher in extra.values():
                    hasher.update(chunk)
                if ends is not None:
                    ends.update(chunk)
                lease.check()
                if counted:
                    self.s.progress.bytes_done(self.item_id, len(chunk))
            try:
                with self._open(entry) as source:
                    digests = digest_stream(source, write)
                self._check_staged(entry, digests)
                lease.check()  # never put an object in place for a stale attempt
                if writers is not None:
                    writers.commit(digests.sha256)
                else:
                    if copy_to is None or not isinstance(self.source, StagedSource):
                        raise RuntimeError("a payload file with neither writers nor a copier")
                    # What the copy holds must be what was read and hashed; any
                    # other bytes are a storage fault (StorageUnavailable).
                    copy_checked(copy_to, self.source.store,
                                 self.source.key_of(self.item_name, entry), prefix + path,
                                 digests)
                    self.copied += 1
            except BaseException:
                if writers is not None:
                    writers.abort()
                raise
            if counted:  # else checked when it was hashed
                received.check(entry.path, digests, extra)
            if identifier is not None and ends is not None:
                stored.append((path, digests, identifier.identify_soon(ends.head, ends.tail,
                                                                       entry.path)))
            else:
                stored.append(StoredFile(path, digests.size, digests.sha256, digests.sha512))
        files = [f if isinstance(f, StoredFile) else
                 StoredFile(f[0], f[1].size, f[1].sha256, f[1].sha512, format=f[2]())
                 for f in stored]
        formats = ([FileFormat(f.path, f.size, f.format) for f in files]
                   if identifier is not None else [])
        return files, formats

    def _copier(self, entry: PayloadEntry) -> ServerSideCopy | None:
        """The store that copies ``entry`` from the staging area itself, when the
        item is staged in the same bucket as its one location (``ingest.replication.copier``);
        None: the bytes read are written as ever."""
        if not isinstance(self.source, StagedSource) or entry.staged_sha256 is None:
            return None
        return copier(self.s.locations, self.source.store, entry.size)

    def _check_staged(self, entry: PayloadEntry, digests: Digests) -> None:
        """A staged file's one read against the digest it was staged with
        (``StagedSource.check_read``); a folder's files have none."""
        if isinstance(self.source, StagedSource):
            self.source.check_read(self.item_name, entry, digests)

    def _open(self, entry: PayloadEntry) -> Any:
        """The payload file as the scan listed it: opened walking from the batch
        folder (see ``ingest.submitted``), or from the staging area. Raises
        ContentRefused, OSError, StorageUnavailable."""
        return self.source.open(self.item_name, entry)

    def digest(self, entry: PayloadEntry,
               received: ReceivedCheck) -> tuple[Digests, IdentifiedFormat | None]:
        """Read a payload file once without storing it: its digests, checked
        against a received bag's, and its format when there is an identifier."""
        extra = received.hashers()
        identifier = self.s.formats
        ends = HeadTail(identifier.bufsize) if identifier is not None else None

        def counted(chunk: Any) -> None:
            self.s.stop.check()
            for hasher in extra.values():
                hasher.update(chunk)
            if ends is not None:
                ends.update(chunk)
            self.s.progress.bytes_done(self.item_id, len(chunk))
        with self._open(entry) as source:
            digests = digest_stream(source, counted)
        self._check_staged(entry, digests)
        received.check(entry.path, digests, extra)
        found = None
        if identifier is not None and ends is not None:
            found = identifier.identify(ends.head, ends.tail, "data/" + entry.path)
        return digests, found


class ReceivedCheck:
    """The received bag's manifests checked against each payload file as it is read
    (nothing to check for an item that is not a bag): every mismatch is kept."""

    def __init__(self, scan: ItemScan) -> None:
        self.bag = scan.received
        self.findings: list[Finding] = []

    def hashers(self) -> dict[str, Any]:
        """Fresh hashers for the received digests beyond sha256 and sha512."""
        if self.bag is None:
            return {}
        return {algorithm: hashlib.new(algorithm) for algorithm in self.bag.extra_algorithms}

    def check(self, path: str, digests: Digests, extra: Mapping[str, Any]) -> None:
        if self.bag is None:
            return
        read = {"sha256": digests.sha256, "sha512": digests.sha512,
                **{algorithm: hasher.hexdigest() for algorithm, hasher in extra.items()}}
        self.findings += self.bag.check_payload(path, read)


__all__ = ["PayloadWriter", "ReceivedCheck"]
