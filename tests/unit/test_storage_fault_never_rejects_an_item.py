"""A fault of the object store is never held against an item: the item is tried
again and then left failed, for `strongroom requeue --failed` once the store is
mended, with a finding that says what is wrong with the store and where.
Rejection is only for what is wrong with the item itself.

Seen: with the store's staging folder replaced by a file, workers rejected every
item of a batch staged there (STAGED_CONTENT_MISSING, "submit the batch again"),
though the staged bytes were whole once the folder was put back. And a worker
whose STRONGROOM_STAGING_URL named another place than the submitter's (a typo,
another bucket or prefix, a mount missing on its host) rejected good items with
the same finding that staged content truly gone gives: a rejection is final, so
a good item was lost to a setting. Now the staging area tells the two apart
(``ingest.staging_removals``).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

import tests.unit.test_staged_batch as staged_tests
from ingest.models import Actor, ItemStatus
from ingest.pipeline import ingest_item
from ingest.requeue import choose_requeue
from ingest.services import Services
from ingest.staged_batch import STAGING_PREFIX, item_prefix
from ingest.staging_prune import prune_staging
from ingest.staging_removals import removal_key
from ingest.submission import submit_batch
from storage.filesystem import FilesystemObjectStore
from storage.filesystem_paths import STAGING
from strongroom.cli import main
from tests.unit.test_pipeline import AT, record, write_item

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "batch"


#: the fixtures of tests/unit/test_staged_batch.py: a folder store, services on it
store, services = staged_tests.store, staged_tests.services


def test_staging_area_replaced_by_a_file_fails_its_items_for_requeue_instead_of_rejecting_them(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter", metadata=record("staged-letter"))
    submitted = submit_batch(batch, services, stage=True)
    shutil.rmtree(batch)  # the workers read the staging area alone
    [item] = submitted.items
    staging = store.root / STAGING_PREFIX.rstrip("/")
    kept = tmp_path / "staging-moved-away"
    staging.rename(kept)
    staging.write_bytes(b"not a folder")

    first = ingest_item(item.item_id, services)
    assert first.outcome == "retry", first
    last = ingest_item(item.item_id, services, final_attempt=True)
    assert last.status is ItemStatus.FAILED
    [finding] = services.catalog.get_item(item.item_id).findings
    assert finding.code == "STORAGE_UNAVAILABLE"
    # What is wrong with the store, and where.
    assert str(staging) in finding.message and "not a folder" in finding.message
    assert "requeue --failed" in finding.message

    # Mended: the item goes in from the staging it still has.
    staging.unlink()
    kept.rename(staging)
    choose_requeue(services.catalog, submitted.batch.batch_id, include_failed=True, now=AT,
                   stuck_after=None)
    assert ingest_item(item.item_id, services).status is ItemStatus.STORED


def test_store_staging_folder_replaced_by_a_file_fails_the_submitted_items_saying_where(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRONGROOM_DATABASE_URL", "STRONGROOM_STORAGE_URL", "STRONGROOM_REPLICAS",
                 "STRONGROOM_BROKER_URL", "STRONGROOM_STAGING_URL"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(data))
    monkeypatch.setenv("STRONGROOM_RETRY_BACKOFF", "0.01")
    monkeypatch.chdir(tmp_path)
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    blocked = data / "objects" / STAGING
    if blocked.exists():
        blocked.rmdir()
    blocked.write_bytes(b"")

    result = CliRunner().invoke(main, ["submit", str(EXAMPLES)])
    assert result.exit_code == 1, result.output
    lines = result.output.splitlines()
    assert any(line.split()[:2] == ["failed", "letter-1952-03-sample"] for line in lines), result.output
    assert any(line.split()[:2] == ["failed", "telegram-1951-06-21-mao-to-filippov"]
               for line in lines), result.output
    assert any(line.split()[:2] == ["rejected", "bad-record-missing-title"] for line in lines)
    assert "2 failed" in result.output and "1 rejected" in result.output
    assert f"{blocked} is not a folder" in result.output
    assert "requeue --failed" in result.output

    blocked.unlink()
    batch_id = next(line.split()[1] for line in lines if line.startswith("batch "))
    again = CliRunner().invoke(main, ["requeue", "--failed", batch_id])
    assert "2 items sent again (2 of them failed before)" in again.output, again.output
    assert "3 items: 2 stored, 1 rejected" in again.output, again.output


def staged_letter(services: Services, tmp_path: Path) -> tuple[str, str]:
    """(batch id, item id) of one good item staged in the primary store, its
    submitted folder gone: the workers read the staging area alone."""
    batch = tmp_path / "batch"
    write_item(batch, "letter", metadata=record("staged-letter"))
    submitted = submit_batch(batch, services, stage=True)
    shutil.rmtree(batch)
    [item] = submitted.items
    return submitted.batch.batch_id, item.item_id


def test_a_wrong_staging_url_never_rejects_a_good_item(
        services: Services, tmp_path: Path) -> None:
    batch_id, item_id = staged_letter(services, tmp_path)
    # STRONGROOM_STAGING_URL mistyped on the worker's host: another folder.
    elsewhere = FilesystemObjectStore(tmp_path / "stagign")
    worker = replace(services, staging=elsewhere)

    first = ingest_item(item_id, worker)
    assert first.outcome == "retry", first
    last = ingest_item(item_id, worker, final_attempt=True)

    assert last.status is ItemStatus.FAILED, last
    [finding] = services.catalog.get_item(item_id).findings
    assert finding.code == "STORAGE_UNAVAILABLE"
    # The place the worker looked at, that the item is not at fault, and what to do.
    assert elsewhere.location in finding.message
    assert "not at fault" in finding.message and "STRONGROOM_STAGING_URL" in finding.message
    assert "requeue --failed" in finding.message
    assert elsewhere.location != services.store.location

    # The setting mended: the item goes in from the staging it still has.
    choose_requeue(services.catalog, batch_id, include_failed=True, now=AT, stuck_after=None)
    assert ingest_item(item_id, services).status is ItemStatus.STORED


def test_staging_pruned_with_failed_still_rejects_a_requeued_item_as_missing(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    batch_id, item_id = staged_letter(services, tmp_path)
    services.catalog.finish_item(item_id, ItemStatus.FAILED)
    officer = replace(services, actor=Actor("officer", kind="person"))

    [report] = prune_staging(officer, AT, failed=True)

    assert report.removed
    # What is left is the record of the removal, which no later prune takes for a batch.
    assert [info.key for info in store.list(STAGING_PREFIX)] == [removal_key(batch_id)]
    assert prune_staging(officer, AT, failed=True) == []
    choose_requeue(services.catalog, batch_id, include_failed=True, now=AT, stuck_after=None)
    result = ingest_item(item_id, services)
    assert result.status is ItemStatus.REJECTED, result
    [finding] = services.catalog.get_item(item_id).findings
    assert finding.code == "STAGED_CONTENT_MISSING"
    assert "staging prune --failed" in finding.message and "officer" in finding.message
    assert "submit the batch again" in finding.message


def test_a_staged_file_gone_beside_its_batch_still_rejects_its_item_as_missing(
        services: Services, store: FilesystemObjectStore, tmp_path: Path) -> None:
    batch_id, item_id = staged_letter(services, tmp_path)
    files = sorted(info.key for info in store.list(item_prefix(batch_id, "letter") + "files/"))
    store.delete(files[0])

    result = ingest_item(item_id, services)

    assert result.status is ItemStatus.REJECTED, result
    [finding] = services.catalog.get_item(item_id).findings
    assert (finding.code, finding.path) == ("STAGED_CONTENT_MISSING", "scan/page-01.txt")
    assert "the staged object is gone" in finding.message
