"""The hand-over use case (ingest.handover) with the Celery dispatcher on a real
Redis broker and no worker running: the messages wait on the queues, the items
stay accepted, and ``wait`` gives up after its timeout, saying so."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from ingest.handover import check_versions, hand_over
from ingest.models import ItemStatus
from ingest.services import Services
from ingest.submission import submit_batch
from storage.filesystem import FilesystemObjectStore
from tests.sqlite_services import sqlite_services
from tests.unit.test_pipeline import record, write_item
from workers.dispatch import make_dispatcher
from workers.reliability import QUEUE_FIXITY, QUEUE_INGEST, WorkerSettings


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with sqlite_services(tmp_path, FilesystemObjectStore(tmp_path / "objects")) as services:
        yield services


def test_items_sent_to_the_broker_wait_there_and_waiting_times_out(
        tmp_path: Path, services: Services, redis_url: str) -> None:
    folder = tmp_path / "batch"
    for name in ("first", "second"):
        write_item(folder, name, metadata=record(identifier=f"broker-{name}"))
    submitted = submit_batch(str(folder), services)
    ids = [item.item_id for item in submitted.items]
    broker = WorkerSettings(broker_url=redis_url)

    handed = hand_over(services, make_dispatcher(services, broker), submitted.batch.batch_id,
                       ids, wait=True, timeout=0.5)

    assert handed.to_dict() == {"enqueued": 2, "timed_out": True}
    assert [i.status for i in services.catalog.list_items(submitted.batch.batch_id)] == [
        ItemStatus.ACCEPTED, ItemStatus.ACCEPTED]
    queued = redis.Redis.from_url(redis_url)
    try:
        assert queued.llen(QUEUE_INGEST) == 2
        check_versions(make_dispatcher(services, broker), "some-package", [1, 2])
        assert queued.llen(QUEUE_FIXITY) == 2
    finally:
        queued.close()
