"""An item whose attempts kept starting and never ending (input that kills its
worker process each time) is failed with INGEST_FAILED by the next worker that
gets it. Before, that failure went into the catalog alone: every other failed
item has an ingestion event saying which item did not go in, why, and for whom,
but this one left nothing in the audit log. Now it is recorded as they are.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.unit.test_celery_config as celery_config
from ingest.models import Actor, ItemStatus
from ingest.services import Services
from ingest.submission import submit_batch
from storage.filesystem import FilesystemObjectStore
from tests.sqlite_services import sqlite_services
from tests.unit.test_celery_config import SETTINGS, run_task
from tests.unit.test_staged_batch import write_item
from workers.celery_base import StrongroomCelery
from workers.reliability import TASK_INGEST_ITEM, lost_attempts_bound

CLERK = Actor("clerk", kind="token", role="submitter", token_id="t-1")

#: the Celery app of tests/unit/test_celery_config.py, whose tasks are handed their services
app = celery_config.app


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with sqlite_services(tmp_path, FilesystemObjectStore(tmp_path / "objects"),
                         actor=CLERK) as services:
        yield services


def test_an_item_failed_after_its_workers_kept_dying_is_an_ingestion_event_naming_who_asked(
        app: StrongroomCelery, services: Services, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    [item] = submit_batch(batch, services).items
    with sqlite3.connect(tmp_path / "catalog.sqlite") as db:
        db.execute("UPDATE items SET attempts = ? WHERE item_id = ?",
                   (lost_attempts_bound(SETTINGS), item.item_id))
    before = len(list(services.catalog.events()))

    outcome = run_task(app, TASK_INGEST_ITEM, item.item_id, CLERK.to_dict(), services=services)

    assert outcome == "failed"
    stored = services.catalog.get_item(item.item_id)
    assert stored.status is ItemStatus.FAILED
    assert [f.code for f in stored.findings] == ["INGEST_FAILED"]
    recorded = [e for e in list(services.catalog.events())[before:] if e.item_id == item.item_id]
    assert [(e.event_type, e.outcome) for e in recorded] == [("ingestion", "failure")], recorded
    [event] = recorded
    assert event.batch_id == item.batch_id
    assert [f["code"] for f in event.detail["findings"]] == ["INGEST_FAILED"]
    assert event.actor is not None and "clerk" in event.actor.names()
