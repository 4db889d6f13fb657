"""A fault of the object store is never held against an item: the item is tried
again and then left failed, for `strongroom requeue --failed` once the store is
mended, with a finding that says what is wrong with the store and where.
Rejection is only for what is wrong with the item itself.

Seen: with the store's staging folder replaced by a file, workers rejected every
item of a batch staged there (STAGED_CONTENT_MISSING, "submit the batch again"),
though the staged bytes were whole once the folder was put back.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import tests.unit.test_staged_batch as staged_tests
from ingest.models import ItemStatus
from ingest.pipeline import ingest_item
from ingest.requeue import choose_requeue
from ingest.services import Services
from ingest.staged_batch import STAGING_PREFIX
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
