"""Where the ingest of an item reads its files: the batch folder, or the staging
area of the object store.

A batch submitted with a shared folder (the embedded shape, ``submit
--in-place``) is read where it lies, by path, as ``ingest.batch`` and
``ingest.submitted`` say. A batch staged in the store (``ingest.staged_batch``)
is read from there: the worker needs no disk of the submitter's. The pipeline
asks a ``BatchSource`` for an item's scan, its payload streams, and the batch's
fields and ``metadata.csv``, and does not know which it has.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from ingest.batch import ItemScan, PayloadEntry, scan_item
from ingest.batch_files import read_batch_fields, read_sheet
from ingest.findings import Finding
from ingest.models import BatchRecord
from ingest.ports import ObjectStore
from ingest.spreadsheet import Sheet
from ingest.submitted import open_submitted

#: What a staged batch's ``source`` starts with; the origin (folder or upload) follows.
STAGED_SOURCE = "staged:"


class BatchSource(Protocol):
    """An item's files and the batch's own, as the ingest of one item reads them."""

    def scan(self, name: str, skip: Sequence[str], sealed: str | None = None) -> ItemScan:
        """The item's metadata, payload and problems (``ingest.batch.scan_item``);
        ``sealed``, the SHA-256 the catalog keeps of a staged item's listing.
        Raises StorageUnavailable; nothing for bad input."""

    def open(self, name: str, entry: PayloadEntry) -> AbstractContextManager[BinaryIO]:
        """The payload file as the scan listed it. Raises ContentRefused, OSError,
        StorageUnavailable."""

    def batch_fields(self) -> dict[str, Any]:
        """The fields of the batch's ``batch.json``, or none. Raises StorageUnavailable."""

    def sheet(self, schema: Mapping[str, Any]) -> tuple[Sheet | None, list[Finding]]:
        """The batch's ``metadata.csv`` (``ingest.batch_files.read_sheet``). Raises StorageUnavailable."""


class FolderSource:
    """A batch read where it lies: a folder every worker can reach by its path."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def scan(self, name: str, skip: Sequence[str], sealed: str | None = None) -> ItemScan:
        # Read walking from the batch folder: an item folder swapped for a link is refused.
        return scan_item(self.root / name, within=self.root, skip=skip)

    def open(self, name: str, entry: PayloadEntry) -> AbstractContextManager[BinaryIO]:
        return open_submitted(self.root, f"{name}/{entry.within}{entry.path}", entry.identity,
                              hidden=1)

    def batch_fields(self) -> dict[str, Any]:
        return read_batch_fields(self.root)

    def sheet(self, schema: Mapping[str, Any]) -> tuple[Sheet | None, list[Finding]]:
        return read_sheet(self.root, schema)


def is_staged(batch: BatchRecord) -> bool:
    """True when the batch was staged in the store at submission."""
    return batch.source.startswith(STAGED_SOURCE)


def origin_of(source: str) -> str:
    """Where a batch came from (its folder, or its upload), staged or not."""
    return source.removeprefix(STAGED_SOURCE)


def source_of(batch: BatchRecord, staging: ObjectStore) -> BatchSource:
    """Where the items of ``batch`` are read: the staging area in ``staging``
    for a staged batch, else its folder."""
    if is_staged(batch):
        from ingest.staged_source import StagedSource

        return StagedSource(staging, batch.batch_id, batch.staged_sha256)
    return FolderSource(batch.source)


__all__ = ["STAGED_SOURCE", "BatchSource", "FolderSource", "is_staged", "origin_of", "source_of"]
