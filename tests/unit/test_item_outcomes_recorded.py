"""Every item's outcome is recorded: a batch cannot pick a non-record schema for its
items, and an item that fails leaves an audit event saying so, with its finding code."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.errors import StorageUnavailable
from ingest.models import ItemStatus
from ingest.pipeline import ingest_item
from ingest.services import Services
from ingest.submission import submit_batch
from tests.fakes import MemoryObjectStore
from tests.sqlite_services import sqlite_services
from tests.unit.test_pipeline import FaultyStore, fail_at, write_item


@pytest.fixture
def store() -> FaultyStore:
    return FaultyStore(MemoryObjectStore())


@pytest.fixture
def services(tmp_path: Path, store: FaultyStore) -> Iterator[Services]:
    with sqlite_services(tmp_path, store) as services:
        yield services


def only_item(services: Services, batch: Path) -> str:
    (item,) = submit_batch(batch, services).items
    return item.item_id


def failure_events(services: Services, item_id: str) -> list[tuple[str, list[str]]]:
    """(event type, finding codes) of every failure event about the item."""
    return [(e.event_type, sorted({f["code"] for f in e.detail.get("findings", [])}))
            for e in services.catalog.events()
            if e.item_id == item_id and e.outcome == "failure"]


def test_batch_schema_chosen_for_items_is_schema_unknown(tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch_schema_for_items"
    write_item(batch, "empty-record", metadata={})
    (batch / "empty-record" / "metadata.json").write_text("{}", encoding="utf-8")
    (batch / "batch.json").write_text(json.dumps({"schema": "batch/v1"}), encoding="utf-8")

    submitted = submit_batch(batch, services)

    assert [f.code for f in submitted.batch.findings] == ["SCHEMA_UNKNOWN"]
    assert "batch/v1" not in submitted.batch.findings[0].expected
    (item,) = submitted.items
    result = ingest_item(item.item_id, services)
    assert result.status is ItemStatus.REJECTED
    assert [f.code for f in result.findings] == ["SCHEMA_UNKNOWN"]


def test_item_failing_on_an_unexpected_error_leaves_a_failure_event(
        tmp_path: Path, services: Services, store: FaultyStore) -> None:
    write_item(tmp_path / "batch", "letter")
    item_id = only_item(services, tmp_path / "batch")
    store.on_write = fail_at(1, RuntimeError("a bug in the store adapter"))

    result = ingest_item(item_id, services)

    assert result.status is ItemStatus.FAILED
    assert failure_events(services, item_id) == [("ingestion", ["INGEST_FAILED"])]


def test_item_failing_after_its_last_attempt_leaves_a_failure_event(
        tmp_path: Path, services: Services, store: FaultyStore) -> None:
    write_item(tmp_path / "batch", "letter")
    item_id = only_item(services, tmp_path / "batch")
    store.on_write = fail_at(1, StorageUnavailable("connection reset"))

    result = ingest_item(item_id, services, final_attempt=True)

    assert result.status is ItemStatus.FAILED
    assert failure_events(services, item_id) == [("ingestion", ["STORAGE_UNAVAILABLE"])]
