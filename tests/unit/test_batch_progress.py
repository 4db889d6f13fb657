"""Following a batch as a person: its counts and one page of items from two catalog
reads whatever its size, the findings of every item, and the same answer for a
batch one may not read as for one that does not exist."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.batch_progress import (
    PAGE_SIZE,
    batch_findings,
    batch_progress,
    batches_page,
    recent_batches_for,
)
from ingest.errors import BatchNotFound
from ingest.findings import Finding
from ingest.models import Actor, BatchRecord, ItemStatus
from storage.catalog import SqlCatalog

SAM = Actor("Sam", role="submitter", account_id="account-sam")
SOL = Actor("Sol", role="submitter", account_id="account-sol")
AVERY = Actor("Avery", role="auditor", account_id="account-avery")


class CountingCatalog:
    """The catalog, counting the reads a use case makes."""

    def __init__(self, catalog: SqlCatalog) -> None:
        self.catalog, self.reads = catalog, 0

    def __getattr__(self, name: str) -> Any:
        self.reads += 1
        return getattr(self.catalog, name)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[SqlCatalog]:
    catalog = SqlCatalog.from_url(f"sqlite:///{tmp_path / 'catalog.db'}")
    yield catalog
    catalog.engine.dispose()


def register(catalog: SqlCatalog, batch_id: str, by: Actor, names: list[str],
             at: datetime | None = None) -> None:
    catalog.create_batch(BatchRecord(batch_id=batch_id, source="/staging/x", submitted_by=by,
                                     submitted_at=at or datetime.now(UTC), collection="Letters"), names)


def test_ten_thousand_items_are_counted_and_paged_from_two_catalog_reads(catalog: SqlCatalog) -> None:
    register(catalog, "big", SAM, [f"item-{n:05d}" for n in range(10_000)])
    first = catalog.list_items("big")[0]
    catalog.finish_item(first.item_id, ItemStatus.REJECTED, [Finding("METADATA_MISSING", path="metadata.json")])
    counting = CountingCatalog(catalog)
    progress = batch_progress(counting, SAM, "big", page=3)  # type: ignore[arg-type]
    assert counting.reads == 2
    assert progress.counts == {"accepted": 9_999, "stored": 0, "unchanged": 0, "rejected": 1, "failed": 0}
    assert (progress.page, progress.pages, len(progress.items)) == (3, 10_000 // PAGE_SIZE, PAGE_SIZE)
    assert progress.items[0].name == f"item-{2 * PAGE_SIZE:05d}"
    assert not progress.done and progress.needs_attention
    assert batch_progress(catalog, SAM, "big", page=999).page == progress.pages  # past the last: the last


def test_a_batch_another_submitter_sent_is_not_found_like_one_that_does_not_exist(catalog: SqlCatalog) -> None:
    register(catalog, "sams", SAM, ["a"])
    catalog.finish_item(catalog.list_items("sams")[0].item_id, ItemStatus.REJECTED,
                        [Finding("METADATA_MISSING", path="metadata.json")])
    for reader, batch_id in ((SOL, "sams"), (SAM, "no-such-batch")):
        with pytest.raises(BatchNotFound, match=f"no batch {batch_id}"):
            batch_progress(catalog, reader, batch_id)
        with pytest.raises(BatchNotFound):
            list(batch_findings(catalog, reader, batch_id))
    assert batch_progress(catalog, AVERY, "sams").total == 1
    assert [(name, status, f["code"]) for name, status, f in batch_findings(catalog, SAM, "sams")] == [
        ("a", "rejected", "METADATA_MISSING")]


def test_a_submitter_sees_only_their_own_recent_batches_others_see_all(catalog: SqlCatalog) -> None:
    now = datetime.now(UTC)
    for n in range(30):
        register(catalog, f"sol-{n}", SOL, ["a"], now - timedelta(minutes=n))
    register(catalog, "sam-old", SAM, ["a"], now - timedelta(hours=5))
    assert [s.batch.batch_id for s in recent_batches_for(catalog, SAM, 10)] == ["sam-old"]
    assert len(recent_batches_for(catalog, AVERY, 10)) == 10


@pytest.mark.parametrize("findings, attention", [
    ([Finding("SYSTEM_FILE_SKIPPED", path=".DS_Store")], False),  # told, not a problem
    ([Finding("BATCH_EMPTY")], True),
    ([], False)])
def test_the_batch_page_and_the_listings_agree_on_what_needs_attention(
        catalog: SqlCatalog, findings: list[Finding], attention: bool) -> None:
    # Before: a batch with a warning alone read "Some need your attention" on its
    # page while the home page and `strongroom batches` said "done"; an empty
    # batch the other way round.
    from ingest.batches_list import list_batches

    catalog.create_batch(BatchRecord(batch_id="b", source="/staging/x", submitted_by=SAM,
                                     submitted_at=datetime.now(UTC), findings=tuple(findings)),
                         [] if attention else ["letter"])
    for item in catalog.list_items("b"):
        catalog.finish_item(item.item_id, ItemStatus.STORED, [])
    assert batch_progress(catalog, SAM, "b").needs_attention is attention
    [listed] = list_batches(catalog)["batches"]
    assert listed["needs_attention"] is attention
    [recent] = recent_batches_for(catalog, SAM, 10)
    assert recent.needs_attention is attention


def test_the_list_of_batches_reaches_every_batch_newest_first_a_page_at_a_time(catalog: SqlCatalog) -> None:
    # Before, the console reached only the ten newest batches (Home).
    now = datetime.now(UTC)
    for n in range(25):
        register(catalog, f"sol-{n:02d}", SOL, ["a"], now - timedelta(minutes=n))
    register(catalog, "sam-old", SAM, ["a"], now - timedelta(hours=5))
    register(catalog, "sam-older", SAM, ["a"], now - timedelta(hours=6))
    seen: list[str] = []
    after = None
    while True:
        counting = CountingCatalog(catalog)
        page = batches_page(counting, AVERY, after, page_size=10)  # type: ignore[arg-type]
        assert counting.reads == 1
        seen += [s.batch.batch_id for s in page.batches]
        if page.next_after is None:
            break
        after = page.next_after
    assert seen == [f"sol-{n:02d}" for n in range(25)] + ["sam-old", "sam-older"]
    # a submitter's pages hold their own batches only, however many others sent since
    first = batches_page(catalog, SAM, page_size=1)
    assert [s.batch.batch_id for s in first.batches] == ["sam-old"] and first.next_after == "sam-old"
    second = batches_page(catalog, SAM, first.next_after, page_size=1)
    assert [s.batch.batch_id for s in second.batches] == ["sam-older"] and second.next_after is None
    assert batches_page(catalog, AVERY, "no-such-batch").batches == ()


def test_a_batch_page_shows_only_the_items_needing_attention_when_asked(catalog: SqlCatalog) -> None:
    register(catalog, "mixed", SAM, ["a", "b", "c"])
    items = catalog.list_items("mixed")
    catalog.finish_item(items[0].item_id, ItemStatus.STORED, [])
    catalog.finish_item(items[1].item_id, ItemStatus.REJECTED, [Finding("METADATA_MISSING", path="metadata.json")])
    progress = batch_progress(catalog, SAM, "mixed", attention_only=True)
    assert [i.name for i in progress.items] == ["b"]
    assert progress.total == 3 and progress.counts["stored"] == 1  # the counts stay the whole batch's
