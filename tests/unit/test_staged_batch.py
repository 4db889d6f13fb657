"""Batches staged in the object store (``ingest.staged_batch``): the folder may go as
soon as the batch is registered, every item is read from the staging area, a staged
object changed since gives a finding, and the staging goes once nothing reads it.

These run the use cases in this process against the filesystem store (the
staging area needs nothing S3 has); tests/integration/test_staging_distributed.py
runs them with real workers on SeaweedFS.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest

from ingest.clock import FixedClock
from ingest.fixity_audit import verify_version
from ingest.models import ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.reconciliation import reconcile_location
from ingest.record_schema import SchemaSet
from ingest.requeue import choose_requeue
from ingest.services import Services
from ingest.staged_batch import STAGING_PREFIX, batch_prefix, item_prefix
from ingest.staging_prune import prune_staging
from ingest.submission import submit_batch
from storage.catalog import SqlCatalog
from storage.filesystem import FilesystemObjectStore
from tests.sqlite_services import sqlite_services
from tests.unit.test_pipeline import AT, PAYLOAD, record, write_item


@pytest.fixture
def store(tmp_path: Path) -> FilesystemObjectStore:
    return FilesystemObjectStore(tmp_path / "objects")


@pytest.fixture
def services(tmp_path: Path, store: FilesystemObjectStore) -> Iterator[Services]:
    with sqlite_services(tmp_path, store) as services:
        yield services


def staged_keys(store: FilesystemObjectStore) -> list[str]:
    return [info.key for info in store.list(STAGING_PREFIX)]


def three_items(batch: Path) -> Path:
    """Two good items (one with its payload in a received bag) and one without a title;
    batch.json gives the collection every record lacks."""
    batch.mkdir(parents=True)
    (batch / "batch.json").write_text(json.dumps({"collection": "Staged letters"}))
    write_item(batch, "first", metadata={k: v for k, v in record("staged-first").items()
                                         if k != "rights"} | {"rights": {
                                             "statement": "May be copied freely."}})
    bag = write_item(batch, "second", metadata=record("staged-second"))
    (bag / "metadata.json").unlink()
    bagit.make_bag(str(bag), checksums=["sha256"])
    (bag / "metadata.json").write_text(json.dumps(record("staged-second")))  # beside bagit.txt
    write_item(batch, "untitled", metadata={"identifier": "staged-untitled", "date": "1952"})
    return batch


def test_folder_deleted_after_submit_every_item_read_from_staging_which_then_goes(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    batch = three_items(tmp_path / "batch")
    submitted = submit_batch(batch, services, stage=True)
    assert submitted.batch.source == "staged:" + str(batch)
    keys = staged_keys(store)
    prefix = batch_prefix(submitted.batch.batch_id)
    assert prefix + "batch/batch.json" in keys
    assert prefix + "items/first/files/scan/page-01.txt" in keys
    assert prefix + "items/second/files/bagit.txt" in keys
    # Staged objects are no untracked part of the store.
    assert reconcile_location(services.catalog, store).findings == ()
    shutil.rmtree(batch)  # the submitter's folder is gone before any item is read

    for item in submitted.items:
        ingest_item(item.item_id, services)
    items = {i.name: i for i in services.catalog.list_items(submitted.batch.batch_id)}
    assert {n: i.status for n, i in items.items()} == {
        "first": ItemStatus.STORED, "second": ItemStatus.STORED, "untitled": ItemStatus.REJECTED}
    assert [f.code for f in items["untitled"].findings] == ["METADATA_INVALID"]
    first = services.catalog.get_version(package_id_for("staged-first"))
    assert first.record["collection"] == "Staged letters"  # batch.json read from staging
    assert {f.path for f in first.payload} == {"data/" + p for p in PAYLOAD}
    second = services.catalog.get_version(package_id_for("staged-second"))
    assert {f.path for f in second.payload} == {"data/" + p for p in PAYLOAD}
    assert verify_version(services, package_id_for("staged-second"), 1).findings == ()
    assert staged_keys(store) == []


def test_staged_object_changed_in_the_store_rejects_its_item_with_a_finding(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    submitted = submit_batch(batch, services, stage=True)
    item = submitted.items[0]
    key = item_prefix(submitted.batch.batch_id, "letter") + "files/scan/page-01.txt"
    staged = (store.root / key).read_bytes()
    altered = staged.replace(b"Dear", b"Deer")
    store.put_bytes(key, altered, "0" * 64)

    result = ingest_item(item.item_id, services)
    assert result.outcome == "done" and result.status is ItemStatus.REJECTED
    [finding] = services.catalog.get_item(item.item_id).findings
    assert finding.code == "STAGED_CONTENT_CHANGED" and finding.path == "scan/page-01.txt"
    assert finding.found != finding.expected
    assert services.catalog.latest_version(package_id_for(record()["identifier"])) is None
    assert staged_keys(store) == []


def _rewrite_json(store: FilesystemObjectStore, key: str, change) -> None:  # type: ignore[no-untyped-def]
    document = json.loads((store.root / key).read_bytes())
    change(document)
    raw = json.dumps(document, ensure_ascii=False, sort_keys=True).encode("utf-8")
    store.put_bytes(key, raw, hashlib.sha256(raw).hexdigest())


def test_a_staged_file_rewritten_with_its_listing_is_refused_not_stored(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    """Whoever can write the store but not the catalog rewrote a staged file and
    the digest its listing gives, together: before, the forged bytes were stored
    (the listing, in the same store, was all they were held to), and the bag
    verified whole. The catalog keeps each listing's digest now."""
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    submitted = submit_batch(batch, services, stage=True)
    item = submitted.items[0]
    prefix = item_prefix(submitted.batch.batch_id, "letter")
    forged = b"Forged words the sender never wrote.\n"
    store.put_bytes(prefix + "files/scan/page-01.txt", forged, hashlib.sha256(forged).hexdigest())

    def forge(listing: dict) -> None:  # type: ignore[type-arg]
        for f in listing["files"]:
            if f["path"] == "scan/page-01.txt":
                f["size"], f["sha256"] = len(forged), hashlib.sha256(forged).hexdigest()
    _rewrite_json(store, prefix + "staged.json", forge)

    result = ingest_item(item.item_id, services)

    assert result.status is ItemStatus.REJECTED
    [finding] = services.catalog.get_item(item.item_id).findings
    assert (finding.code, finding.path) == ("STAGED_CONTENT_CHANGED", "staged.json")
    assert finding.expected == item.staged_sha256
    assert services.catalog.latest_version(package_id_for(record()["identifier"])) is None


def test_a_staged_batch_json_rewritten_with_the_batch_listing_is_refused(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    batch = three_items(tmp_path / "batch")
    submitted = submit_batch(batch, services, stage=True)
    prefix = batch_prefix(submitted.batch.batch_id) + "batch/"
    forged = json.dumps({"collection": "Someone else's letters"}).encode()
    store.put_bytes(prefix + "batch.json", forged, hashlib.sha256(forged).hexdigest())

    def forge(listing: dict) -> None:  # type: ignore[type-arg]
        listing["files"]["batch.json"] = {"size": len(forged),
                                          "sha256": hashlib.sha256(forged).hexdigest()}
    _rewrite_json(store, prefix + "staged.json", forge)

    results = [ingest_item(item.item_id, services) for item in submitted.items]

    assert {r.status for r in results} == {ItemStatus.REJECTED}
    first = services.catalog.get_item(submitted.items[0].item_id)
    assert "STAGED_CONTENT_CHANGED" in [f.code for f in first.findings]


def test_failed_item_keeps_its_staging_for_requeue_and_prune_removes_settled_batches(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "kept")
    write_item(batch, "done", metadata=record("staged-done"))
    submitted = submit_batch(batch, services, stage=True)
    shutil.rmtree(batch)
    kept, done = sorted(submitted.items, key=lambda i: i.name != "kept")
    services.catalog.finish_item(kept.item_id, ItemStatus.FAILED)
    ingest_item(done.item_id, services)
    # The failed item may be requeued: its staging and the batch's stay.
    assert any(k.startswith(item_prefix(submitted.batch.batch_id, "kept")) for k in staged_keys(store))
    assert not any(k.startswith(item_prefix(submitted.batch.batch_id, "done"))
                   for k in staged_keys(store))
    report = prune_staging(services, services.clock.now())
    assert [(r.batch_id, r.removable) for r in report] == [(submitted.batch.batch_id, False)]

    choose_requeue(services.catalog, submitted.batch.batch_id, include_failed=True, now=AT,
                   stuck_after=None)
    assert ingest_item(kept.item_id, services).status is ItemStatus.STORED
    assert staged_keys(store) == []


def test_prune_removes_staging_no_batch_was_registered_from_once_old(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    from datetime import timedelta

    from ingest.batch import read_batch
    from ingest.staged_batch import stage_batch

    batch = tmp_path / "batch"
    write_item(batch, "letter")
    # Staged, then the submission crashed before it registered the batch.
    stage_batch(read_batch(batch), "0d2c7a0e-0000-4000-8000-000000000001", store, now=AT)
    young = prune_staging(services, AT, abandoned_after=timedelta(hours=24),
                          dry_run=True)
    assert [r.removable for r in young] == [False]
    later = AT + timedelta(hours=25)
    old = prune_staging(services, later, abandoned_after=timedelta(hours=24))
    assert [(r.removable, r.removed) for r in old] == [(True, True)]
    assert staged_keys(store) == []


def test_prune_leaves_a_batch_another_catalog_on_the_same_store_registered(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    """It removed a batch another catalog sharing the store had registered (three
    items waiting), saying "no batch was registered from it"."""
    from datetime import timedelta

    other = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "other-catalog.sqlite"))
    try:
        elsewhere = Services(catalog=other, store=store, clock=FixedClock(AT),
                             schemas=SchemaSet.default())
        batch = tmp_path / "batch"
        write_item(batch, "letter")
        submitted = submit_batch(batch, elsewhere, stage=True)
        assert other.log_identity()[0] != services.catalog.log_identity()[0]
    finally:
        other.engine.dispose()

    [report] = prune_staging(services, AT + timedelta(days=30))

    assert (report.batch_id, report.removable, report.removed) == (
        submitted.batch.batch_id, False, False)
    assert "another catalog" in report.reason
    assert staged_keys(store)


def test_stop_asked_for_while_staging_registers_nothing_and_leaves_no_staging(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    from ingest.errors import StopRequested

    batch = tmp_path / "batch"
    write_item(batch, "first", metadata=record("staged-first"))
    write_item(batch, "second", metadata=record("staged-second"))
    services.stop.request()
    with pytest.raises(StopRequested):
        submit_batch(batch, services, stage=True)
    assert services.catalog.list_batches() == []
    assert staged_keys(store) == []


class EmptyReadOnce:
    """A store whose first read of each key named gives no bytes, the object
    itself whole: what a worker resumed after a pause got from a connection that
    handed it another request's empty answer."""

    def __init__(self, inner: FilesystemObjectStore) -> None:
        self.inner = inner
        self.fail: set[str] = set()

    def open(self, key: str, version_id: str | None = None) -> object:
        if key in self.fail:
            self.fail.discard(key)
            import io
            return io.BytesIO(b"")
        return self.inner.open(key, version_id)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


@pytest.mark.parametrize("read_badly", ["staged.json", "files/scan/page-01.txt"])
def test_a_staged_read_that_goes_wrong_is_tried_again_not_taken_for_tampering(
        tmp_path: Path, read_badly: str) -> None:
    # Before: STAGED_CONTENT_CHANGED ("read e3b0c442…", the SHA-256 of nothing),
    # the item rejected for good though the staged object was whole.
    inner = FilesystemObjectStore(tmp_path / "objects")
    store = EmptyReadOnce(inner)
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    services = Services(catalog=catalog, store=store, clock=FixedClock(AT),  # type: ignore[arg-type]
                        schemas=SchemaSet.default())
    try:
        batch = tmp_path / "batch"
        write_item(batch, "letter")
        submitted = submit_batch(batch, services, stage=True)
        [item] = submitted.items
        store.fail.add(item_prefix(submitted.batch.batch_id, "letter") + read_badly)

        first = ingest_item(item.item_id, services)
        assert first.outcome == "retry", first
        assert "not the object the store holds" in first.reason
        again = ingest_item(item.item_id, services)
        assert (again.outcome, again.status) == ("done", ItemStatus.STORED), again
    finally:
        catalog.engine.dispose()


def test_a_staged_listing_replaced_by_more_than_any_listing_holds_is_changed_not_a_bad_read(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    # The read stops past the largest listing; the store's size then always
    # differed from what was read, and a tampered object passed for a bad read
    # (tried again, failed, requeued, for ever).
    from ingest.spreadsheet import MAX_METADATA_CSV_BYTES

    batch = tmp_path / "batch"
    write_item(batch, "letter")
    submitted = submit_batch(batch, services, stage=True)
    [item] = submitted.items
    key = item_prefix(submitted.batch.batch_id, "letter") + "staged.json"
    (store.root / key).write_bytes(b"x" * (MAX_METADATA_CSV_BYTES + 100))
    result = ingest_item(item.item_id, services)
    assert (result.outcome, result.status) == ("done", ItemStatus.REJECTED), result
    assert [f.code for f in result.findings] == ["STAGED_CONTENT_CHANGED"]
