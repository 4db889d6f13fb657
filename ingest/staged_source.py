"""A batch staged in the object store, as the ingest reads it (``ingest.batch_source.BatchSource``).

The layout of the staging area, and how a batch is put there, are
``ingest.staged_batch``. Each staged object is read once at ingest, and the
SHA-256 computed in that read must be the one staged: an object changed since
gives STAGED_CONTENT_CHANGED, one gone STAGED_CONTENT_MISSING, or, where the
staging area holds nothing of the batch, StorageUnavailable
(``ingest.staging_removals``).
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from ingest.batch import (
    ITEM_METADATA,
    ItemScan,
    ItemWalk,
    PayloadEntry,
    finish_scan,
)
from ingest.batch_files import BATCH_METADATA, batch_fields_of, sheet_of
from ingest.errors import (
    ContentRefused,
    ObjectBlocked,
    ObjectNotFound,
    StorageUnavailable,
)
from ingest.findings import Finding
from ingest.fixity import Digests
from ingest.paths import display_path
from ingest.ports import ObjectStore
from ingest.spreadsheet import MAX_METADATA_CSV_BYTES, METADATA_CSV, Sheet
from ingest.staged_batch import CHUNK, LISTING, batch_prefix
from ingest.staging_removals import missing, unusable

#: the batch's own files of staged batches by (location, prefix, sealed listing)
_BATCH_FILES: OrderedDict[tuple[str, str, str], tuple[dict[str, bytes], list[Finding]]] = OrderedDict()
_BATCH_FILES_KEPT = 4
_BATCH_FILES_LOCK = threading.Lock()


class StagedSource:
    """A staged batch as the ingest reads it (``ingest.batch_source.BatchSource``)."""

    def __init__(self, store: ObjectStore, batch_id: str, sealed: str | None = None) -> None:
        self.store = store
        self.batch_id = batch_id
        self.prefix = batch_prefix(batch_id)
        #: the SHA-256 of the batch's listing as the catalog keeps it (None: not kept)
        self.sealed = sealed
        self._batch: tuple[dict[str, bytes], list[Finding]] | None = None

    def scan(self, name: str, skip: Sequence[str], sealed: str | None = None) -> ItemScan:
        """The item's scan from its staged listing, which must have the SHA-256
        ``sealed`` (the catalog's; else STAGED_CONTENT_CHANGED rejects the item).
        ``skip`` was applied when the batch was staged. Raises StorageUnavailable."""
        prefix = f"{self.prefix}items/{name}/"
        try:
            raw = self._read_checked(prefix + LISTING, LISTING, sealed)
        except ContentRefused as refused:  # gone, or not the listing the catalog keeps
            return ItemScan(None, (), (refused.finding,))
        listing = json.loads(raw)
        findings = [Finding.from_dict(f) for f in listing["findings"]]
        # The batch's own files changed or gone since staging: the record of
        # every item would be read from other fields than were handed in.
        findings += [f for f in self._batch_files()[1] if f.code.startswith("STAGED_")]
        metadata = None
        if listing["metadata"] is not None:
            try:
                metadata = self._read_checked(prefix + ITEM_METADATA, ITEM_METADATA,
                                              listing["metadata"]["sha256"])
            except ContentRefused as refused:
                findings.append(refused.finding)
        payload = tuple(PayloadEntry(path=f["path"], source=Path(f"files/{f['path']}"),
                                     size=f["size"], staged_sha256=f["sha256"])
                        for f in listing["files"])
        walk = ItemWalk(metadata, listing["metadata_seen"], payload, tuple(findings),
                        listed=listing["listed"])

        def read_tag(entry: PayloadEntry) -> bytes:
            return self._read_checked(f"{prefix}files/{entry.path}", entry.path,
                                      entry.staged_sha256)
        return finish_scan(walk, read_tag)

    def key_of(self, name: str, entry: PayloadEntry) -> str:
        """The key, in ``store``, of the staged payload file ``entry`` of item ``name``."""
        return f"{self.prefix}items/{name}/files/{entry.within}{entry.path}"

    @contextmanager
    def open(self, name: str, entry: PayloadEntry) -> Iterator[BinaryIO]:
        """The staged payload file. Its digest is compared with the staged one by
        the reader (``check_read``), in its one read. Raises ContentRefused
        (STAGED_CONTENT_MISSING), StorageUnavailable (also for a staging area that
        holds nothing of the batch: ``ingest.staging_removals``)."""
        key = self.key_of(name, entry)
        try:
            stream = self.store.open(key)
        except ObjectBlocked as exc:
            raise unusable(exc) from exc
        except ObjectNotFound as exc:
            raise self._gone(entry.path) from exc
        with stream:
            yield stream

    def batch_fields(self) -> dict[str, Any]:
        raw = self._batch_files()[0].get(BATCH_METADATA)
        return batch_fields_of(raw) if raw is not None else {}

    def sheet(self, schema: Mapping[str, Any]) -> tuple[Sheet | None, list[Finding]]:
        files, problems = self._batch_files()
        raw = files.get(METADATA_CSV)
        if raw is not None:
            return sheet_of(raw, schema)
        return None, [f for f in problems if f.path == METADATA_CSV
                      and not f.code.startswith("STAGED_")]

    def _batch_files(self) -> tuple[dict[str, bytes], list[Finding]]:
        """The batch's own staged files (read once, checked against the digests
        staged), and the problems: those found at staging, and any change since."""
        if self._batch is None and self.sealed is not None:
            # Every item of the batch asks; what its sealed listing pins down was
            # read and checked once in this process (a sheet of N rows read for
            # each of N items was N² bytes from the store).
            key = (self.store.location, self.prefix, self.sealed)
            with _BATCH_FILES_LOCK:
                self._batch = _BATCH_FILES.get(key)
            if self._batch is None:
                self._batch = self._read_batch_files()
                if not self._batch[1]:  # only a whole, unchanged reading is kept
                    with _BATCH_FILES_LOCK:
                        _BATCH_FILES[key] = self._batch
                        while len(_BATCH_FILES) > _BATCH_FILES_KEPT:
                            _BATCH_FILES.popitem(last=False)
        if self._batch is None:
            self._batch = self._read_batch_files()
        return self._batch

    def _read_batch_files(self) -> tuple[dict[str, bytes], list[Finding]]:
        """The batch's own staged files read now and checked, and the problems."""
        files: dict[str, bytes] = {}
        problems: list[Finding] = []
        try:
            listing = json.loads(self._read_checked(f"{self.prefix}batch/{LISTING}", LISTING,
                                                    self.sealed))
        except ContentRefused as refused:  # gone, or not the listing the catalog keeps
            listing = {"files": {}, "findings": []}
            problems.append(refused.finding)
        problems += [Finding.from_dict(f) for f in listing["findings"]
                     if f.get("path") == METADATA_CSV]
        for name, staged in listing["files"].items():
            try:
                files[name] = self._read_checked(f"{self.prefix}batch/{name}", name,
                                                 staged["sha256"])
            except ContentRefused as refused:
                problems.append(refused.finding)
        return files, problems

    def check_read(self, name: str, entry: PayloadEntry, digests: Digests) -> None:
        """Raise ContentRefused (STAGED_CONTENT_CHANGED) when the one read of a staged
        payload file gave another SHA-256 than the file was staged with, and the
        store confirms the object is not what was staged (``_confirm_changed``);
        StorageUnavailable when it is, and the read went wrong."""
        if entry.staged_sha256 is not None and digests.sha256 != entry.staged_sha256:
            self._confirm_changed(self.key_of(name, entry), digests.size, entry.staged_sha256)
            raise ContentRefused(_changed(entry.within + entry.path, entry.staged_sha256,
                                          digests.sha256))

    def _read_checked(self, key: str, shown: str, sha256: str | None) -> bytes:
        try:
            raw = _read_all(self.store, key, MAX_METADATA_CSV_BYTES + 1)
        except ObjectBlocked as exc:
            raise unusable(exc) from exc
        except ObjectNotFound as exc:
            raise self._gone(shown) from exc
        found = hashlib.sha256(raw).hexdigest()
        if sha256 is not None and found != sha256:
            if len(raw) <= MAX_METADATA_CSV_BYTES:  # larger than any staged listing: changed
                self._confirm_changed(key, len(raw), sha256)
            raise ContentRefused(_changed(shown, sha256, found))
        return raw

    def _confirm_changed(self, key: str, size_read: int, staged: str) -> None:
        """Before a read that did not give the staged SHA-256 is called a change (which
        rejects the item for good): ask the store what it holds. When it keeps the
        object's SHA-256 and that is the one staged, or when the object's size is not
        what the read gave, the read went wrong (a connection handed a short or
        another response: seen from a worker resumed after a pause), not the object:
        StorageUnavailable, and the item is tried again. Returns when the object did
        change; raises as ``_gone`` says when it is not there."""
        try:
            info = self.store.stat(key)
        except ObjectBlocked as exc:
            raise unusable(exc) from exc
        except ObjectNotFound as exc:
            raise self._gone(key.rsplit("/", 1)[-1]) from exc
        if (info.sha256 is not None and info.sha256 == staged) or info.size != size_read:
            raise StorageUnavailable(
                f"{key}: a read gave {size_read} bytes that are not the object the store holds "
                f"({info.size} bytes{', as staged' if info.sha256 == staged else ''}); the item "
                "is tried again")

    def _gone(self, shown: str) -> ContentRefused | StorageUnavailable:
        """What a staged object (shown as ``shown``) not found in the store means:
        gone (STAGED_CONTENT_MISSING), or looked for in the wrong place
        (``ingest.staging_removals.missing``)."""
        return missing(self.store, self.batch_id, f"{self.prefix}batch/{LISTING}", shown)


def _read_all(store: ObjectStore, key: str, limit: int) -> bytes:
    """Up to ``limit`` bytes of an object (a stream may give fewer than asked per read)."""
    chunks: list[bytes] = []
    remaining = limit
    with store.open(key) as stream:
        while remaining > 0:
            chunk = stream.read(min(remaining, CHUNK))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
    return b"".join(chunks)


def _changed(path: str, expected: str, found: str) -> Finding:
    return Finding("STAGED_CONTENT_CHANGED", path=display_path(path), expected=expected,
                   found=found)


__all__ = ["StagedSource"]
