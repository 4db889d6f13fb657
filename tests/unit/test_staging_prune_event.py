"""``staging prune --failed`` removes the staged files of failed items, the only
copy the archive holds of what was submitted for them: after it they can no
longer be requeued. Before, nothing in the audit log said that this happened,
when, or who did it; now each such removal is a ``deletion`` event on the
batch, naming its items, the location, what was removed, and who asked.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.models import Actor, ItemStatus
from ingest.services import Services
from ingest.staging_prune import prune_staging
from ingest.staging_removals import removal_key
from ingest.submission import submit_batch
from storage.filesystem import FilesystemObjectStore
from tests.sqlite_services import AT, sqlite_services
from tests.unit.test_staged_batch import staged_keys, write_item

OFFICER = Actor("officer", kind="person")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with sqlite_services(tmp_path, FilesystemObjectStore(tmp_path / "objects"),
                         actor=OFFICER) as services:
        yield services


def test_staging_prune_failed_records_who_removed_the_failed_items_staging(
        services: Services, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    submitted = submit_batch(batch, replace(services, actor=Actor("clerk", kind="person")),
                             stage=True)
    shutil.rmtree(batch)
    [item] = submitted.items
    services.catalog.finish_item(item.item_id, ItemStatus.FAILED)
    before = len(list(services.catalog.events()))

    dry = prune_staging(services, AT, failed=True, dry_run=True)
    assert [r.removed for r in dry] == [False]
    assert len(list(services.catalog.events())) == before, "a dry run recorded something"

    [report] = prune_staging(services, AT, failed=True)

    # What is left is the record of the removal (``ingest.staging_removals``).
    assert report.removed
    assert staged_keys(services.store) == [removal_key(submitted.batch.batch_id)]
    [event] = list(services.catalog.events())[before:]
    assert (event.event_type, event.outcome) == ("deletion", "success")
    assert event.batch_id == submitted.batch.batch_id
    assert event.actor == OFFICER
    assert event.detail["during"] == "staging prune"
    assert event.detail["items"] == [item.item_id]
    assert event.detail["location"] == services.store.location
    assert event.detail["objects"] == report.objects and event.detail["objects"] > 0


def test_staging_prune_of_settled_batches_records_nothing(
        services: Services, tmp_path: Path) -> None:
    from ingest.pipeline import ingest_item

    batch = tmp_path / "batch"
    write_item(batch, "letter")
    submitted = submit_batch(batch, services, stage=True)
    [item] = submitted.items
    ingest_item(item.item_id, services)
    before = len(list(services.catalog.events()))
    prune_staging(services, AT, failed=True)
    assert len(list(services.catalog.events())) == before
