"""A batch staged in the object store, so that workers share no disk with whoever submitted it.

With a broker (distributed mode), ``strongroom submit`` and the HTTP uploads
copy the batch into the staging area of the store before they register it; the
workers then read the staged objects, never the submitter's folder. The staging
area is the key prefix ``_staging/`` of its store: the primary location, or
the location STRONGROOM_STAGING_URL names. Below ``_staging/{batch_id}/``:

    batch/staged.json              what staging found of the batch's own files
    batch/batch.json               the batch's batch.json, when it has one
    batch/metadata.csv             its metadata.csv, when it has one
    items/{item}/metadata.json     the item's metadata.json, when it has one
    items/{item}/files/{path}      each file of the item (a received bag's tag files too)
    items/{item}/staged.json       the item's listing, written after its files:
                                   each file's path, size and SHA-256, and what the
                                   walk of its folder found (refused links, unsafe names)

Each file is read once: the same read computes its SHA-256 and feeds the
upload, and the store is given that digest with the bytes (S3 checks it,
``ObjectWriter.commit``). The staged objects are synced before the batch is
registered, so no registered batch names staging that a crash can lose.

At ingest (``ingest.staged_source.StagedSource``) each staged object is again read once, and the SHA-256 computed in
that read must be the one staged: an object changed in the store since gives
STAGED_CONTENT_CHANGED, one gone STAGED_CONTENT_MISSING, both findings that
reject the item (no retry can bring the bytes back). A staging area the store
cannot read (a file where it keeps a folder, a bucket gone, credentials
refused) is a fault of the store, not of the item: StorageUnavailable, the
item tried again and then left failed, for ``requeue --failed`` once mended.
So is a staging area that holds nothing of the batch, not even a record that
``staging prune`` removed it: the worker looks in another place than the
submitter staged to (``ingest.staging_removals``).

Staging goes as soon as nothing can read it again (``release_staging``): an
item's objects once it is stored, unchanged or rejected, the batch's once none
of its items is accepted or failed. A failed item (a transient error past the
retries) keeps its objects, since ``strongroom requeue --failed`` ingests it
again; ``strongroom staging prune`` removes staging that nothing needs
(``ingest.staging_prune``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ingest.batch import (
    ITEM_METADATA,
    BatchLayout,
    ItemWalk,
    walk_item,
)
from ingest.batch_files import BATCH_METADATA, MAX_BATCH_METADATA_BYTES
from ingest.errors import (
    CatalogUnavailable,
    ContentRefused,
    StorageUnavailable,
)
from ingest.findings import Finding
from ingest.layout import STAGING_PREFIX
from ingest.models import BatchRecord, ItemRecord, ItemStatus
from ingest.paths import display_path
from ingest.ports import IngestCatalog, ObjectStore
from ingest.progress import StopFlag
from ingest.spreadsheet import MAX_METADATA_CSV_BYTES, METADATA_CSV
from ingest.submitted import FileIdentity, open_submitted, read_submitted

#: The listing beside what it lists (one per item, one for the batch's own files).
LISTING = "staged.json"
#: How much of a staged file is read and written at a time.
CHUNK = 1024 * 1024
#: Item statuses after which nothing reads an item's staging again (``requeue
#: --failed`` reads a failed item's).
SETTLED = frozenset({ItemStatus.STORED, ItemStatus.UNCHANGED, ItemStatus.REJECTED})

_log = logging.getLogger("strongroom.ingest")


def batch_prefix(batch_id: str) -> str:
    """``_staging/{batch_id}/``: everything staged for one batch."""
    return f"{STAGING_PREFIX}{batch_id}/"


def item_prefix(batch_id: str, name: str) -> str:
    """``_staging/{batch_id}/items/{name}/``: everything staged for one item."""
    return f"{batch_prefix(batch_id)}items/{name}/"


# --------------------------------------------------------------------------- staging


@dataclass(frozen=True)
class StagedListings:
    """The SHA-256 of each listing staging wrote: the batch's and each item's (by
    name). Kept in the catalog with the batch, they are what the staged objects
    are held to at ingest: a listing rewritten in the store since no longer
    matches, whatever it says of the files."""

    batch: str
    items: dict[str, str]


def stage_batch(layout: BatchLayout, batch_id: str, store: ObjectStore, *,
                skip: Sequence[str] = (), now: datetime | None = None,
                stop: StopFlag | None = None, catalog_log: str | None = None) -> StagedListings:
    """Copy a batch folder, read as ``layout``, into the staging area of
    ``store`` under ``batch_id`` (see the module docstring), and make it durable;
    returns the digests of the listings written.

    Problems with a file (a link, a file changed while it was read) are what
    the ingest would have found in the folder: they are kept in the item's
    listing, and the item is rejected with them at ingest. A ``stop`` asked
    for is looked at between chunks. Raises StopRequested, StorageUnavailable,
    ChecksumRefused (the store received other bytes than were read); what was
    staged is then removed, or, when the store cannot be reached, left for
    ``staging prune``. ``catalog_log`` (the identity of the registering catalog's
    audit log) is kept in the batch's listing: another catalog on the same store
    does not take the staging for its own abandoned one."""
    prefix = batch_prefix(batch_id)
    stop = stop if stop is not None else StopFlag()
    try:
        # The batch's listing first: it says when staging began (``staging prune``
        # removes what no registered batch came from only long after).
        batch = _stage_batch_files(layout.root, prefix, store, now or datetime.now(UTC),
                                   catalog_log)
        items = {}
        for name, folder in layout.items:
            walk = walk_item(folder, within=layout.root, skip=skip)
            items[name] = _stage_item(layout.root, name, walk, item_prefix(batch_id, name),
                                      store, stop)
        store.sync(prefix)
        return StagedListings(batch, items)
    except Exception:
        try:
            delete_prefix(store, prefix)
        except StorageUnavailable:
            _log.warning("staging of batch %s left in place (staging prune removes it)", batch_id)
        raise


def _stage_batch_files(root: Path, prefix: str, store: ObjectStore, now: datetime,
                       catalog_log: str | None = None) -> str:
    listing: dict[str, Any] = {"staged_at": now.isoformat(), "files": {}, "findings": []}
    if catalog_log is not None:
        listing["catalog_log"] = catalog_log
    found: dict[str, bytes] = {}
    for name, limit in ((BATCH_METADATA, MAX_BATCH_METADATA_BYTES + 1),
                        (METADATA_CSV, MAX_METADATA_CSV_BYTES + 1)):
        try:
            found[name] = read_submitted(root, name, limit)
        except FileNotFoundError:
            continue
        except ContentRefused as refused:
            listing["findings"].append(refused.finding.to_dict())
            continue
        except OSError as exc:
            listing["findings"].append(Finding("FILE_UNREADABLE", path=name, params={
                "detail": exc.strerror or str(exc)}).to_dict())
            continue
        listing["files"][name] = {"size": len(found[name]),
                                  "sha256": hashlib.sha256(found[name]).hexdigest()}
    sealed = _put_json(store, f"{prefix}batch/{LISTING}", listing)
    for name, raw in found.items():
        store.put_bytes(f"{prefix}batch/{name}", raw, listing["files"][name]["sha256"])
    return sealed


def _stage_item(root: Path, name: str, walk: ItemWalk, prefix: str, store: ObjectStore,
                stop: StopFlag) -> str:
    findings = list(walk.findings)
    files = []
    for entry in walk.payload:
        try:
            sha256 = _stage_file(store, f"{prefix}files/{entry.path}", root,
                                 f"{name}/{entry.path}", entry.identity, stop)
        except ContentRefused as refused:
            findings.append(refused.finding)
            continue
        except OSError as exc:
            findings.append(Finding("FILE_UNREADABLE", path=display_path(entry.path),
                                    params={"detail": exc.strerror or str(exc)}))
            continue
        files.append({"path": entry.path, "size": entry.size, "sha256": sha256})
    metadata = None
    if walk.metadata is not None:
        digest = hashlib.sha256(walk.metadata).hexdigest()
        store.put_bytes(prefix + ITEM_METADATA, walk.metadata, digest)
        metadata = {"size": len(walk.metadata), "sha256": digest}
    return _put_json(store, prefix + LISTING, {
        "listed": walk.listed, "metadata_seen": walk.metadata_seen, "metadata": metadata,
        "files": files, "findings": [f.to_dict() for f in findings]})


def _stage_file(store: ObjectStore, key: str, root: Path, rel: str,
                seen: FileIdentity | None, stop: StopFlag) -> str:
    """Copy one submitted file to ``key``, its SHA-256 computed in the same read
    and given to the store with it; returns that digest."""
    writer = store.writer(key)
    sha256 = hashlib.sha256()
    try:
        # open_submitted checks at the end of the block that the file was not
        # written to meanwhile: only then is the object committed.
        with open_submitted(root, rel, seen, hidden=1) as source:
            while chunk := source.read(CHUNK):
                stop.check()
                sha256.update(chunk)
                writer.write(chunk)
    except BaseException:
        writer.abort()
        raise
    digest = sha256.hexdigest()
    writer.commit(digest)
    return digest


def _put_json(store: ObjectStore, key: str, document: Mapping[str, Any]) -> str:
    """Store ``document`` as JSON under ``key``; returns the SHA-256 of its bytes."""
    raw = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
    digest = hashlib.sha256(raw).hexdigest()
    store.put_bytes(key, raw, digest)
    return digest


# --------------------------------------------------------------------------- removal


def delete_prefix(store: ObjectStore, prefix: str) -> int:
    """Delete every object under ``prefix``; returns how many. Raises StorageUnavailable."""
    removed = 0
    for info in list(store.list(prefix)):
        store.delete(info.key)
        removed += 1
    return removed


def release_staging(store: ObjectStore, catalog: IngestCatalog, batch: BatchRecord,
                    item: ItemRecord, status: ItemStatus) -> None:
    """Remove what nothing will read again now that ``item`` is ``status``: its
    own staged objects when it is stored, unchanged or rejected, and the batch's
    when none of its items is accepted or failed any longer (see the module
    docstring). A store or catalog that cannot be reached leaves them for
    ``staging prune``. Raises nothing."""
    if status not in SETTLED:
        return
    try:
        delete_prefix(store, item_prefix(batch.batch_id, item.name))
        if catalog.batch_settled(batch.batch_id):
            delete_prefix(store, batch_prefix(batch.batch_id))
    except (StorageUnavailable, CatalogUnavailable) as exc:
        _log.warning("staging of item %s left in place (staging prune removes it): %s",
                     item.name, exc)


__all__ = [
    "LISTING",
    "SETTLED",
    "STAGING_PREFIX",
    "batch_prefix",
    "delete_prefix",
    "item_prefix",
    "release_staging",
    "stage_batch",
]
