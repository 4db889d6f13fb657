"""Leases on items at work (``ingest.lease``), driven at the use-case level.

Two ``Services`` on one SQLite catalog and one store stand for two workers: the
first attempt is held inside one of its object writes (as a worker paused with
SIGSTOP would be) while the second takes the item over. What a person relies on:
one version and one ingestion event per item, and a stored bag that is exactly
what the catalog committed, whatever the paused attempt does when it wakes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from ingest.clock import SystemClock
from ingest.errors import LeaseHeld, LeaseLost
from ingest.item_outcome import IngestResult
from ingest.models import EventType, ItemStatus
from ingest.pipeline import ingest_item
from ingest.record_schema import SchemaSet
from ingest.services import Services
from storage.catalog import SqlCatalog
from tests.fakes import MemoryObjectStore
from tests.unit.test_pipeline import (
    PACKAGE,
    FaultyStore,
    assert_sound,
    events_of,
    submit_one,
    write_item,
)

#: the new worker's lease interval: the paused attempt's lease lapses after this
SHORT = 0.3


@pytest.fixture
def store() -> FaultyStore:
    return FaultyStore(MemoryObjectStore())


@pytest.fixture
def live(tmp_path: Path, store: FaultyStore) -> Iterator[Services]:
    """A worker's services on the real clock (leases lapse in real time)."""
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    yield Services(catalog=catalog, store=store, clock=SystemClock(), schemas=SchemaSet.default(),
                   stuck_after=2.0)
    catalog.engine.dispose()


def take_over(item_id: str, services: Services, timeout: float = 10) -> IngestResult:
    """Ingest the item as a second worker would once the first stopped renewing:
    tried until its lease has lapsed (before that the item is held)."""
    deadline = time.monotonic() + timeout
    while True:
        result = ingest_item(item_id, services)
        if result.outcome != "held" or time.monotonic() > deadline:
            return result
        time.sleep(0.05)


def test_an_attempt_paused_past_its_lease_commits_nothing_and_leaves_the_new_holders_bag_whole(
        tmp_path: Path, live: Services, store: FaultyStore,
        caplog: pytest.LogCaptureFixture) -> None:
    write_item(tmp_path / "batch", "letter")
    item_id = submit_one(live, tmp_path / "batch")
    # The paused worker renews every 0.5 s; the second counts a lease idle for
    # 0.3 s as lapsed, so it takes the item over between two renewals.
    second = replace(live, stuck_after=SHORT)
    taken: list[IngestResult] = []

    def pause_then_wake(count: int, key: str) -> None:
        if count == 2 and not taken:  # mid-version: one payload file written
            taken.append(take_over(item_id, second))
            time.sleep(1.0)  # asleep a while longer; the first's next renewal fails
    store.on_write = pause_then_wake

    with caplog.at_level(logging.WARNING, logger="strongroom.lease"):
        first = ingest_item(item_id, live)

    (new,) = taken
    assert (new.outcome, new.status) == ("done", ItemStatus.STORED)
    # The woken attempt found its lease taken and wrote nothing more.
    assert first.outcome == "held" and first.finished_here is False
    assert "taken over by another attempt" in caplog.text
    assert live.catalog.get_item(item_id).status is ItemStatus.STORED
    assert [v.number for v in live.catalog.list_versions(PACKAGE)] == [1]
    assert len(events_of(live, EventType.INGESTION)) == 1
    assert_sound(live, 1)  # every object is what the catalog committed, nothing more


def test_a_late_writer_that_wakes_after_the_commit_leaves_the_same_bytes(
        tmp_path: Path, live: Services, store: FaultyStore) -> None:
    """The paused attempt wakes up after the new holder committed, before any of
    its own renewals: it may put a file it had in hand in place, but the same
    source makes the same bag, so the committed version is unchanged; its commit
    is refused."""
    write_item(tmp_path / "batch", "letter")
    item_id = submit_one(live, tmp_path / "batch")
    slow = replace(live, stuck_after=60.0)  # its thread would renew in 15 s: not yet
    second = replace(live, stuck_after=SHORT)
    taken: list[IngestResult] = []
    committed: dict[str, bytes] = {}

    def paused(count: int, key: str) -> None:
        if count == 1 and not taken:
            time.sleep(SHORT * 2)
            taken.append(take_over(item_id, second))
            committed.update(store.inner.objects)  # type: ignore[attr-defined]
    store.on_write = paused

    first = ingest_item(item_id, slow)

    assert taken[0].status is ItemStatus.STORED
    assert first.finished_here is False
    assert [v.number for v in live.catalog.list_versions(PACKAGE)] == [1]
    assert len(events_of(live, EventType.INGESTION)) == 1
    assert store.inner.objects == committed  # type: ignore[attr-defined]
    assert_sound(live, 1)


def test_a_long_attempt_keeps_its_lease_past_the_interval_by_renewing_it(
        tmp_path: Path, live: Services, store: FaultyStore) -> None:
    write_item(tmp_path / "batch", "letter")
    item_id = submit_one(live, tmp_path / "batch")
    quick = replace(live, stuck_after=1.0)  # renews every 0.25 s
    others: list[IngestResult] = []

    def slow_write(count: int, key: str) -> None:
        if count == 1:
            # Three lease intervals inside one write; another worker keeps asking.
            deadline = time.monotonic() + 3.0
            while time.monotonic() < deadline:
                others.append(ingest_item(item_id, quick))
                time.sleep(0.05)
    store.on_write = slow_write

    first = ingest_item(item_id, quick)

    assert (first.outcome, first.status) == ("done", ItemStatus.STORED)
    assert others and {r.outcome for r in others} == {"held"}
    assert len(events_of(live, EventType.INGESTION)) == 1
    assert_sound(live, 1)


def test_a_stale_holder_can_neither_claim_nor_commit_nor_finish_nor_release(
        tmp_path: Path, live: Services) -> None:
    write_item(tmp_path / "batch", "letter")
    item_id = submit_one(live, tmp_path / "batch")
    catalog: Any = live.catalog
    now = live.clock.now()
    assert catalog.take_lease(item_id, "first", now) == 1
    number = catalog.reserve_version(PACKAGE, "letter-1952-03-sample", item_id, holder="first")
    with pytest.raises(LeaseHeld):  # live: renewed just now
        catalog.take_lease(item_id, "second", live.clock.now().replace(year=2000))
    # Lapsed: not renewed since a moment after it was taken.
    time.sleep(0.01)
    assert catalog.take_lease(item_id, "second", live.clock.now()) == 2

    assert catalog.renew_lease(item_id, "first") is False
    with pytest.raises(LeaseLost):
        catalog.reserve_version(PACKAGE, "letter-1952-03-sample", item_id, holder="first")
    assert catalog.release_version(PACKAGE, number, item_id, holder="first") is False
    assert catalog.finish_item(item_id, ItemStatus.FAILED, holder="first") is False
    assert catalog.get_item(item_id).status is ItemStatus.ACCEPTED
    # The holder's claim is still there, its own: the same number again.
    assert catalog.reserve_version(PACKAGE, "letter-1952-03-sample", item_id,
                                   holder="second") == number
    assert catalog.renew_lease(item_id, "second") is True


def test_sending_again_revokes_a_lapsed_lease_and_keeps_a_live_one(
        tmp_path: Path, live: Services) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "a-dead")
    write_item(batch, "b-alive", metadata={"identifier": "other-1", "title": "Other",
                                           "date": "1952-03", "type": "letter",
                                           "language": "en-GB",
                                           "rights": {"statement": "May be copied freely.",
                                                      "holder": "Strongroom contributors"}})
    from ingest.submission import submit_batch

    dead, alive = (item.item_id for item in submit_batch(batch, live).items)
    catalog: Any = live.catalog
    catalog.take_lease(dead, "killed-worker", live.clock.now())
    time.sleep(0.05)
    cut = live.clock.now()  # the dead worker's lease lapsed before this
    catalog.take_lease(alive, "working-worker", cut)

    assert catalog.record_requeue([dead, alive], cut) == 2
    # The new message's worker takes the dead one at once, even with the
    # requeue's fresh updated_at; the live one stays with its holder.
    assert catalog.take_lease(dead, "new-worker", live.clock.now().replace(year=2000)) == 2
    with pytest.raises(LeaseHeld):
        catalog.take_lease(alive, "new-worker", live.clock.now().replace(year=2000))
    assert catalog.renew_lease(alive, "working-worker") is True


def test_a_taken_over_attempt_that_rejects_late_neither_logs_nor_counts_a_rejection(
        tmp_path: Path, live: Services, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    """Before, the woken attempt's refusal was not written (the item was another's
    by then) but was still logged "rejected" and counted in the metrics: one
    item, two rejections in the logs and the dashboards."""
    from datetime import timedelta

    import ingest.pipeline as pipeline
    from ingest.findings import Finding

    write_item(tmp_path / "batch", "letter", metadata={"identifier": "letter-without-a-title"})
    item_id = submit_one(live, tmp_path / "batch")
    real_describe = pipeline.describe_item

    def describe_then_lose_the_item(*args: Any, **kwargs: Any) -> Any:
        described = real_describe(*args, **kwargs)
        # Paused here past the lease: another worker took the item and finished it.
        later = live.clock.now() + timedelta(hours=1)
        live.catalog.take_lease(item_id, "another-worker", later)
        assert live.catalog.finish_item(item_id, ItemStatus.REJECTED, [Finding("METADATA_INVALID")],
                                        holder="another-worker")
        return described
    monkeypatch.setattr(pipeline, "describe_item", describe_then_lose_the_item)
    finished: list[str] = []
    monkeypatch.setattr(live.metrics, "item_finished",
                        lambda status, *rest: finished.append(status), raising=False)

    with caplog.at_level(logging.INFO, logger="strongroom.ingest"):
        woken = ingest_item(item_id, live)

    assert woken.finished_here is False
    assert finished == []
    assert "letter rejected" not in caplog.text
    assert live.catalog.get_item(item_id).status is ItemStatus.REJECTED
