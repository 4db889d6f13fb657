"""Handing items over and following them (ingest.handover), with the in-process
dispatcher of workers.dispatch on a real SQLite catalog and a filesystem store,
and a queue stand-in for the workers' broker (which cannot run here)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from ingest.errors import QueueUnavailable
from ingest.handover import check_versions, hand_over, wait_until_final
from ingest.models import ItemStatus
from ingest.pipeline import ingest_item
from ingest.services import Services
from ingest.submission import submit_batch
from storage.filesystem import FilesystemObjectStore
from tests.sqlite_services import sqlite_services
from tests.unit.test_pipeline import record, write_item
from workers.dispatch import InProcessDispatcher, make_dispatcher


class Queue:
    """Stands for the workers' queue: keeps what is sent, returns at once; with
    ``worker`` set, a thread ingests the items a moment later."""

    finishes_items = False

    def __init__(self, services: Services, *, down: bool = False, worker: bool = False) -> None:
        self.services, self.down, self.worker = services, down, worker
        self.sent: list[str] = []
        self.checks: list[tuple[str, int]] = []
        self.closed = False
        self.threads: list[threading.Thread] = []

    def ingest(self, item_ids: Sequence[str]) -> None:
        if self.down:
            raise QueueUnavailable("the broker cannot be reached (connection refused)")
        self.sent += item_ids
        if self.worker:
            thread = threading.Thread(target=self._work, args=(list(item_ids),))
            thread.start()
            self.threads.append(thread)

    def _work(self, item_ids: list[str]) -> None:
        threading.Event().wait(0.3)
        for item_id in item_ids:
            ingest_item(item_id, self.services)

    def verify_version(self, package_id: str, number: int) -> None:
        if self.down:
            raise QueueUnavailable("the broker cannot be reached (connection refused)")
        self.checks.append((package_id, number))

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with sqlite_services(tmp_path, FilesystemObjectStore(tmp_path / "objects")) as services:
        yield services


@pytest.fixture
def batch(tmp_path: Path, services: Services) -> tuple[str, list[str]]:
    folder = tmp_path / "batch"
    for name in ("first", "second"):
        write_item(folder, name, metadata=record(identifier=f"handover-{name}"))
    submitted = submit_batch(str(folder), services)
    return submitted.batch.batch_id, [item.item_id for item in submitted.items]


def statuses(services: Services, batch_id: str) -> list[ItemStatus]:
    return [item.status for item in services.catalog.list_items(batch_id)]


def test_without_a_broker_the_items_are_stored_before_hand_over_returns(
        services: Services, batch: tuple[str, list[str]]) -> None:
    batch_id, ids = batch
    finished: list[str] = []
    dispatcher = make_dispatcher(services, None, on_result=lambda r: finished.append(r.item_id))
    handed = hand_over(services, dispatcher, batch_id, ids)
    assert handed.in_process and handed.to_dict() == {}
    assert statuses(services, batch_id) == [ItemStatus.STORED, ItemStatus.STORED]
    assert sorted(finished) == sorted(ids)


def test_with_a_queue_the_items_are_sent_and_counted_and_stay_accepted(
        services: Services, batch: tuple[str, list[str]]) -> None:
    batch_id, ids = batch
    queue = Queue(services)
    handed = hand_over(services, queue, batch_id, ids)
    assert queue.sent == ids and queue.closed
    assert handed.to_dict() == {"enqueued": 2}
    assert statuses(services, batch_id) == [ItemStatus.ACCEPTED, ItemStatus.ACCEPTED]


def test_a_queue_that_is_down_is_reported_and_the_items_stay_accepted(
        services: Services, batch: tuple[str, list[str]]) -> None:
    batch_id, ids = batch
    queue = Queue(services, down=True)
    handed = hand_over(services, queue, batch_id, ids, wait=True)
    assert queue.closed
    assert handed.to_dict() == {
        "enqueue_error": "the broker cannot be reached (connection refused)"}
    assert statuses(services, batch_id) == [ItemStatus.ACCEPTED, ItemStatus.ACCEPTED]


def test_a_requeue_marks_the_items_as_just_sent_so_they_are_not_stuck(
        services: Services, batch: tuple[str, list[str]]) -> None:
    batch_id, ids = batch
    before = datetime.now(UTC) - timedelta(seconds=1)
    hand_over(services, Queue(services), batch_id, ids, requeue=True)
    assert services.catalog.stuck_items(before) == []
    assert all(item.updated_at is not None and item.updated_at >= before
               for item in services.catalog.list_items(batch_id))


def test_waiting_returns_once_the_workers_finished_every_item(
        services: Services, batch: tuple[str, list[str]]) -> None:
    batch_id, ids = batch
    queue = Queue(services, worker=True)
    progress: list[int] = []
    handed = hand_over(services, queue, batch_id, ids, wait=True, timeout=60,
                       on_progress=progress.append)
    for thread in queue.threads:
        thread.join()
    assert handed.to_dict() == {"enqueued": 2, "timed_out": False}
    assert sum(progress) == 2
    assert statuses(services, batch_id) == [ItemStatus.STORED, ItemStatus.STORED]


def test_waiting_gives_up_after_the_timeout_and_says_so(
        services: Services, batch: tuple[str, list[str]]) -> None:
    batch_id, ids = batch
    handed = hand_over(services, Queue(services), batch_id, ids, wait=True, timeout=0.2)
    assert handed.to_dict() == {"enqueued": 2, "timed_out": True}


def test_waiting_for_a_whole_batch_covers_every_item(
        services: Services, batch: tuple[str, list[str]]) -> None:
    batch_id, ids = batch
    assert not wait_until_final(services.catalog, batch_id, None, 0.1)
    InProcessDispatcher(services).ingest(ids)
    assert wait_until_final(services.catalog, batch_id, None, 0.1)


def test_checking_versions_in_process_records_a_deep_check_of_each(
        services: Services, batch: tuple[str, list[str]]) -> None:
    batch_id, ids = batch
    InProcessDispatcher(services).ingest(ids)
    stored = services.catalog.list_items(batch_id)
    for item in stored:
        assert item.package_id is not None
        check_versions(make_dispatcher(services, None), item.package_id, [1])
    checks = services.catalog.fixity_checks()
    assert {(c.package_id, c.number, c.tier, c.outcome) for c in checks} == {
        (item.package_id, 1, "deep", "ok") for item in stored}


def test_checking_versions_on_a_queue_sends_one_message_each_and_closes(
        services: Services) -> None:
    queue = Queue(services)
    check_versions(queue, "some-package", [1, 2])
    assert queue.checks == [("some-package", 1), ("some-package", 2)] and queue.closed
    down = Queue(services, down=True)
    with pytest.raises(QueueUnavailable):
        check_versions(down, "some-package", [1])
    assert down.closed


class _TimedCatalog:
    """A catalog whose batch of ``size`` items is final from ``final_at`` (fake
    seconds) and whose every look costs ``look`` fake seconds."""

    def __init__(self, size: int, final_at: float, look: float) -> None:
        self.now, self.size, self.final_at, self.look, self.looks = 0.0, size, final_at, look, 0

    def list_items(self, batch_id: str) -> list[Any]:
        self.looks += 1
        final = self.now >= self.final_at
        self.now += self.look
        return [SimpleNamespace(item_id=f"i{n}", status=SimpleNamespace(is_final=final))
                for n in range(self.size)]

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_submit_wait_sees_a_small_batch_final_within_a_twentieth_of_a_second_not_a_third(
        ) -> None:
    # The pause used to grow by half after every look that saw no progress, up
    # to a second: a one-item batch stored after 1 s was seen after 1.32 s.
    catalog = _TimedCatalog(size=1, final_at=1.0, look=0.002)
    assert wait_until_final(catalog, "b", None, 60, sleep=catalog.sleep,  # type: ignore[arg-type]
                            monotonic=lambda: catalog.now)
    assert catalog.now <= 1.0 + 0.05 + 2 * 0.002


def test_waiting_for_a_large_batch_looks_about_once_a_second() -> None:
    # A look over 10,000 items takes a while: the catalog is not asked again at once.
    catalog = _TimedCatalog(size=10_000, final_at=30.0, look=0.2)
    assert wait_until_final(catalog, "b", None, 60, sleep=catalog.sleep,  # type: ignore[arg-type]
                            monotonic=lambda: catalog.now)
    assert catalog.looks <= 30 / 1.2 + 2


def test_a_watcher_nobody_waits_on_looks_no_more_often_than_its_minimum_pause() -> None:
    catalog = _TimedCatalog(size=1, final_at=20.0, look=0.002)
    assert wait_until_final(catalog, "b", None, 60, min_pause=2.0, max_pause=2.0,  # type: ignore[arg-type]
                            sleep=catalog.sleep, monotonic=lambda: catalog.now)
    assert catalog.looks <= 20 / 2.0 + 2
