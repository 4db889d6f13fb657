"""Which items ``strongroom requeue`` sends again (ingest.requeue), on a real
SQLite catalog: accepted ones (only the stuck ones with a stuck interval), and
with ``include_failed`` the failed ones, put back to accepted first."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.models import ItemStatus
from ingest.requeue import choose_requeue
from ingest.services import Services
from ingest.submission import submit_batch
from storage.filesystem import FilesystemObjectStore
from tests.sqlite_services import sqlite_services
from tests.unit.test_pipeline import record, write_item


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with sqlite_services(tmp_path, FilesystemObjectStore(tmp_path / "objects")) as services:
        yield services


@pytest.fixture
def batch(tmp_path: Path, services: Services) -> tuple[str, dict[str, str]]:
    """A batch with one item waiting, one failed and one stored: (batch id, name -> id)."""
    folder = tmp_path / "batch"
    for name in ("waiting", "failed", "stored"):
        write_item(folder, name, metadata=record(identifier=f"requeue-{name}"))
    submitted = submit_batch(str(folder), services)
    ids = {item.name: item.item_id for item in submitted.items}
    services.catalog.finish_item(ids["failed"], ItemStatus.FAILED)
    services.catalog.finish_item(ids["stored"], ItemStatus.STORED)
    return submitted.batch.batch_id, ids


def statuses(services: Services, batch_id: str) -> dict[str, ItemStatus]:
    return {item.name: item.status for item in services.catalog.list_items(batch_id)}


def test_requeue_sends_the_accepted_items_and_leaves_failed_ones_alone(
        services: Services, batch: tuple[str, dict[str, str]]) -> None:
    batch_id, ids = batch
    choice = choose_requeue(services.catalog, batch_id, include_failed=False,
                            now=datetime.now(UTC), stuck_after=None)
    assert choice.item_ids == (ids["waiting"],)
    assert choice.reset == ()
    assert statuses(services, batch_id)["failed"] is ItemStatus.FAILED


def test_requeue_failed_puts_failed_items_back_to_accepted_and_sends_them(
        services: Services, batch: tuple[str, dict[str, str]]) -> None:
    batch_id, ids = batch
    choice = choose_requeue(services.catalog, batch_id, include_failed=True,
                            now=datetime.now(UTC), stuck_after=None)
    assert choice.item_ids == (ids["waiting"], ids["failed"])
    assert choice.reset == (ids["failed"],)
    assert statuses(services, batch_id) == {"waiting": ItemStatus.ACCEPTED,
                                            "failed": ItemStatus.ACCEPTED,
                                            "stored": ItemStatus.STORED}


def test_requeue_with_a_stuck_interval_sends_only_the_stuck_items(
        services: Services, batch: tuple[str, dict[str, str]]) -> None:
    batch_id, ids = batch
    fresh = choose_requeue(services.catalog, batch_id, include_failed=False,
                           now=datetime.now(UTC), stuck_after=600)
    assert fresh.item_ids == ()  # updated just now: still working, not stuck
    later = choose_requeue(services.catalog, batch_id, include_failed=False,
                           now=datetime.now(UTC) + timedelta(hours=1), stuck_after=600)
    assert later.item_ids == (ids["waiting"],)
