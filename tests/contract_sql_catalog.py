"""The behaviour of the SQL catalog and audit log on every database it runs on.

One definition, run on each backend: a test module subclasses ``SqlCatalogContract``
(its name starting with ``Test``) and gives the ``catalog_url`` fixture, a fresh
empty database; every test here then runs on it, with the ``catalog`` fixture of
tests/conftest.py on that database. ``tests/unit/test_sql_catalog.py``
runs the contract on SQLite files, ``tests/integration/test_postgres_catalog.py`` on
PostgreSQL; what is about one database alone stays in those modules::

    @pytest.fixture
    def catalog_url(tmp_path):
        return f"sqlite:///{tmp_path / 'catalog.db'}"

    class TestSqlCatalogOnSqlite(SqlCatalogContract):
        pass
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from itertools import islice

import pytest
from sqlalchemy import inspect, text

from ingest.access import PackageQuery, PackageSort
from ingest.audit import GENESIS, verify_chain
from ingest.errors import (
    BatchNotFound,
    CatalogMissing,
    InputError,
    NotFound,
    PackageBusy,
    PackageNotFound,
    VersionNotFound,
)
from ingest.findings import Finding
from ingest.models import (
    Actor,
    BatchRecord,
    EventType,
    ItemStatus,
    NewEvent,
    Outcome,
    StoredFile,
    VersionRecord,
    identifier_key,
    package_id_for,
)
from storage.catalog import SqlCatalog, create_engine_for, migrate
from storage.database import schema_differences

T0 = datetime(2024, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC)
IDENTIFIER = "APRF, f. 45, op. 1, d. 339, ll. 64-65"
PACKAGE = package_id_for(IDENTIFIER)


def event(kind: EventType = EventType.VALIDATION, package_id: str | None = None,
          **detail: object) -> NewEvent:
    return NewEvent(event_type=kind, outcome=Outcome.SUCCESS, agent="strongroom/test",
                    occurred_at=T0, package_id=package_id, detail=dict(detail))


def batch(batch_id: str = "b1", **changes: object) -> BatchRecord:
    values: dict[str, object] = {"batch_id": batch_id, "source": "/incoming/1951",
                                 "submitted_at": T0, "submitter": "archivist",
                                 "collection": "telegrams"}
    values.update(changes)
    return BatchRecord(**values)  # type: ignore[arg-type]


def version(number: int, item_id: str, title: str = "Telegram", **changes: object
            ) -> VersionRecord:
    values: dict[str, object] = {
        "package_id": PACKAGE, "number": number, "identifier": IDENTIFIER, "title": title,
        "record": {"title": title, "date": "1951-03-14"}, "created_at": T0,
        "batch_id": "b1", "item_id": item_id,
        "files": (
            StoredFile("data/telegram.pdf", 1024, "a" * 64, "b" * 128),
            StoredFile("bagit.txt", 55, "c" * 64, "d" * 128),
        ),
    }
    values.update(changes)
    return VersionRecord(**values)  # type: ignore[arg-type]


def item_ids(catalog: SqlCatalog, *names: str, batch_id: str = "b1") -> list[str]:
    items = catalog.create_batch(batch(batch_id), list(names))
    return [item.item_id for item in items]


def raw(catalog: SqlCatalog, sql: str, **params: object) -> None:
    with catalog.engine.begin() as connection:
        connection.execute(text(sql), params)


class SqlCatalogContract:
    """Tests every database of the SQL catalog must pass, on the database of the
    ``catalog_url`` fixture of the module that subclasses it (``catalog``: a
    catalog on it, from tests/conftest.py)."""

    # ------------------------------------------------------------------ schema

    def test_migrations_create_the_schema_the_models_describe(self, catalog: SqlCatalog) -> None:
        with catalog.engine.connect() as connection:
            assert schema_differences(connection) == []
        tables = set(inspect(catalog.engine).get_table_names())
        assert {"batches", "items", "packages", "versions", "files", "events",
                "audit_head", "alembic_version"} <= tables

    def test_migrating_again_changes_nothing(self, catalog: SqlCatalog, catalog_url: str) -> None:
        item_ids(catalog, "a")
        migrate(catalog_url)
        migrate(catalog.engine)
        assert [item.name for item in catalog.list_items("b1")] == ["a"]

    def test_empty_database_is_no_catalog_to_open_and_is_left_empty(self, catalog_url: str) -> None:
        with pytest.raises(CatalogMissing):
            SqlCatalog.open_existing(catalog_url)
        engine = create_engine_for(catalog_url)
        try:
            assert inspect(engine).get_table_names() == []
        finally:
            engine.dispose()
        SqlCatalog.from_url(catalog_url).engine.dispose()
        opened = SqlCatalog.open_existing(catalog_url)
        assert opened.list_packages() == []
        opened.engine.dispose()

    # ------------------------------------------------------------------ batches and items

    def test_batch_registers_items_in_name_order_with_its_events(self, catalog: SqlCatalog) -> None:
        items = catalog.create_batch(batch(), ["telegram-b", "telegram-a", "Ärchiv"],
                                     [event(EventType.ACCESSION, items=3)])
        assert [item.name for item in items] == ["telegram-a", "telegram-b", "Ärchiv"]
        assert all(item.status is ItemStatus.ACCEPTED and item.attempts == 0 for item in items)
        assert len({item.item_id for item in items}) == 3
        assert catalog.list_items("b1") == items
        assert catalog.get_item(items[0].item_id) == items[0]
        assert [e.event_type for e in catalog.events()] == ["accession"]

    def test_batch_reads_back_as_submitted(self, catalog: SqlCatalog) -> None:
        finding = Finding("BATCH_STRAY_FILE", path="notes.txt")
        submitted = batch(submitted_at=T0.astimezone(timezone(timedelta(hours=3))),
                          findings=(finding,))
        catalog.create_batch(submitted, ["a"])
        stored = catalog.get_batch("b1")
        assert stored == submitted
        assert stored.submitted_at.utcoffset() == timedelta(0)
        assert stored.findings == (finding,)

    def test_batches_are_listed_newest_first_with_item_counts(self, catalog: SqlCatalog) -> None:
        for n in range(3):
            catalog.create_batch(batch(f"b{n}", submitted_at=T0 + timedelta(days=n),
                                       submitted_by=Actor("alice")), ["a", "b"])
        [first, _] = catalog.list_items("b1")
        catalog.finish_item(first.item_id, ItemStatus.REJECTED)
        for item in catalog.list_items("b0"):
            catalog.finish_item(item.item_id, ItemStatus.FAILED)

        listed = catalog.list_batches()
        assert [s.batch.batch_id for s in listed] == ["b2", "b1", "b0"]
        assert listed[1].batch == catalog.get_batch("b1")
        assert listed[1].batch.submitted_by == Actor("alice")
        assert [s.items for s in listed] == [{"accepted": 2}, {"accepted": 1, "rejected": 1},
                                             {"failed": 2}]
        assert [s.status for s in listed] == ["accepted", "accepted", "done"]
        assert [s.batch.batch_id for s in catalog.list_batches(since=T0 + timedelta(days=1))
                ] == ["b2", "b1"]
        assert [s.batch.batch_id for s in catalog.list_batches(limit=1)] == ["b2"]
        assert [s.batch.batch_id for s in catalog.list_batches(status="done")] == ["b0"]
        assert [s.batch.batch_id for s in catalog.list_batches(status="accepted")] == ["b2", "b1"]
        assert [s.batch.batch_id for s in catalog.list_batches(status="rejected")] == ["b1"]
        assert catalog.list_batches(status="stored") == []
        with pytest.raises(ValueError, match="unknown batch status"):
            catalog.list_batches(status="lost")

    def test_registering_a_batch_twice_is_refused_and_writes_nothing(self, catalog: SqlCatalog) -> None:
        catalog.create_batch(batch(), ["a"], [event()])
        with pytest.raises(ValueError):
            catalog.create_batch(batch(), ["b"], [event()])
        assert [item.name for item in catalog.list_items("b1")] == ["a"]
        assert len(list(catalog.events())) == 1

    def test_item_named_twice_is_refused(self, catalog: SqlCatalog) -> None:
        with pytest.raises(ValueError):
            catalog.create_batch(batch(), ["a", "a"])
        with pytest.raises(BatchNotFound):
            catalog.get_batch("b1")

    def test_unknown_batch_and_item_are_not_found(self, catalog: SqlCatalog) -> None:
        with pytest.raises(BatchNotFound):
            catalog.get_batch("nope")
        with pytest.raises(BatchNotFound):
            catalog.list_items("nope")
        with pytest.raises(NotFound):
            catalog.get_item("nope")
        with pytest.raises(NotFound):
            catalog.count_attempt("nope")
        with pytest.raises(NotFound):
            catalog.finish_item("nope", ItemStatus.REJECTED)
        with pytest.raises(NotFound):
            catalog.reset_item("nope")

    def test_attempts_count_up(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        assert [catalog.count_attempt(item) for _ in range(3)] == [1, 2, 3]
        assert catalog.get_item(item).attempts == 3

    def test_finishing_twice_is_refused_and_writes_nothing(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        bad = Finding("METADATA_INVALID", pointer="/date", expected="a date", found="yesterday")
        assert catalog.finish_item(item, ItemStatus.REJECTED, [bad],
                                   events=[event(EventType.VALIDATION, code="METADATA_INVALID")])
        assert not catalog.finish_item(item, ItemStatus.UNCHANGED, package_id=PACKAGE, version=1,
                                       events=[event(EventType.INGESTION)])
        stored = catalog.get_item(item)
        assert (stored.status, stored.findings, stored.package_id) == (
            ItemStatus.REJECTED, (bad,), None)
        assert [e.event_type for e in catalog.events()] == ["validation"]
        assert stored.updated_at is not None and stored.updated_at.tzinfo is not None

    def test_finishing_as_accepted_is_refused(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        with pytest.raises(ValueError):
            catalog.finish_item(item, ItemStatus.ACCEPTED)

    def test_unchanged_item_keeps_the_version_it_matched(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        assert catalog.finish_item(item, ItemStatus.UNCHANGED, package_id=PACKAGE, version=3)
        stored = catalog.get_item(item)
        assert (stored.status, stored.package_id, stored.version) == (
            ItemStatus.UNCHANGED, PACKAGE, 3)

    def test_failed_item_is_reset_for_a_retry(self, catalog: SqlCatalog) -> None:
        failed, stored = item_ids(catalog, "a", "b")
        catalog.count_attempt(failed)
        catalog.finish_item(failed, ItemStatus.FAILED,
                            [Finding("STORAGE_UNAVAILABLE", params={"attempts": 5})])
        catalog.finish_item(stored, ItemStatus.STORED, package_id=PACKAGE, version=1)
        catalog.reset_item(failed)
        catalog.reset_item(stored)
        again = catalog.get_item(failed)
        assert (again.status, again.attempts, again.findings) == (ItemStatus.ACCEPTED, 0, ())
        assert catalog.get_item(stored).status is ItemStatus.STORED
        assert catalog.finish_item(failed, ItemStatus.REJECTED)

    def test_items_are_counted_by_status_with_the_stuck_ones_in_one_tally(self,
            catalog: SqlCatalog) -> None:
        stored, rejected, idle, busy = item_ids(catalog, "a", "b", "c", "d")
        catalog.finish_item(stored, ItemStatus.STORED, package_id=PACKAGE, version=1)
        catalog.finish_item(rejected, ItemStatus.REJECTED)
        raw(catalog, "UPDATE items SET updated_at = :old WHERE item_id IN (:idle, :rejected)",
            old=datetime(2020, 1, 1), idle=idle, rejected=rejected)
        tally = catalog.item_tally(idle_before=datetime(2021, 1, 1, tzinfo=UTC))
        assert tally.by_status == {"accepted": 2, "stored": 1, "unchanged": 0, "rejected": 1,
                                   "failed": 0}
        assert tally.stuck == 1  # the idle accepted one; an old rejected one is not stuck
        assert busy not in {i.item_id for i in catalog.stuck_items(datetime(2021, 1, 1, tzinfo=UTC))}

    def test_an_empty_catalog_tallies_no_items(self, catalog: SqlCatalog) -> None:
        tally = catalog.item_tally(idle_before=T0)
        assert (set(tally.by_status.values()), tally.stuck) == ({0}, 0)

    def test_the_newest_anchor_is_the_highest_head_with_when_it_was_anchored(self,
            catalog: SqlCatalog) -> None:
        assert catalog.newest_anchor() is None
        catalog.record_anchor(3, "a" * 64, T0)
        catalog.record_anchor(7, "b" * 64, T0 + timedelta(minutes=5))
        assert catalog.newest_anchor() == (7, T0 + timedelta(minutes=5))

    # ------------------------------------------------------------------ claiming versions

    def test_first_claim_is_version_one_and_a_retry_gets_it_again(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        assert catalog.reserve_version(PACKAGE, IDENTIFIER, item) == 1
        assert catalog.reserve_version(PACKAGE, IDENTIFIER, item) == 1

    def test_second_item_on_a_claimed_package_is_busy(self, catalog: SqlCatalog) -> None:
        first, second = item_ids(catalog, "a", "b")
        assert catalog.reserve_version(PACKAGE, IDENTIFIER, first) == 1
        with pytest.raises(PackageBusy):
            catalog.reserve_version(PACKAGE, IDENTIFIER, second)
        assert catalog.commit_version(version(1, first))
        assert catalog.reserve_version(PACKAGE, IDENTIFIER, second) == 2

    def test_released_claim_frees_the_number(self, catalog: SqlCatalog) -> None:
        first, second = item_ids(catalog, "a", "b")
        catalog.reserve_version(PACKAGE, IDENTIFIER, first)
        catalog.release_version(PACKAGE, 1, second)  # not its claim: nothing happens
        with pytest.raises(PackageBusy):
            catalog.reserve_version(PACKAGE, IDENTIFIER, second)
        catalog.release_version(PACKAGE, 1, first)
        assert catalog.reserve_version(PACKAGE, IDENTIFIER, second) == 1
        with pytest.raises(PackageNotFound):
            catalog.get_version(PACKAGE)

    def test_stale_claim_of_a_finished_item_is_taken_over(self, catalog: SqlCatalog) -> None:
        crashed, next_one = item_ids(catalog, "a", "b")
        catalog.reserve_version(PACKAGE, IDENTIFIER, crashed)
        catalog.finish_item(crashed, ItemStatus.FAILED)  # gave up without releasing
        assert catalog.reserve_version(PACKAGE, IDENTIFIER, next_one) == 1
        assert not catalog.commit_version(version(1, crashed))  # the old claim is gone
        assert catalog.commit_version(version(1, next_one))
        assert catalog.get_version(PACKAGE).item_id == next_one

    def test_copies_are_noted_with_the_commit_and_not_at_all_when_it_is_refused(self,
            catalog: SqlCatalog) -> None:
        from ingest.copies import VERIFIED, CopyRecord

        first, late = item_ids(catalog, "a", "b")
        at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        catalog.reserve_version(PACKAGE, IDENTIFIER, first)
        copies = [CopyRecord("file:///primary", VERIFIED, at), CopyRecord("s3://replica/", VERIFIED, at)]
        assert catalog.commit_version(version(1, first), [event(EventType.INGESTION, PACKAGE)], copies)
        assert {c.location for c in catalog.list_copies(PACKAGE, 1)} == {"file:///primary",
                                                                         "s3://replica/"}
        # A stale claim's commit writes nothing: not its copies either.
        catalog.finish_item(late, ItemStatus.REJECTED)
        assert not catalog.commit_version(version(1, late),
                                          copies=[CopyRecord("file:///elsewhere", VERIFIED, at)])
        assert {c.location for c in catalog.list_copies(PACKAGE, 1)} == {"file:///primary",
                                                                         "s3://replica/"}

    def test_claim_of_an_item_finished_elsewhere_cannot_commit(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        catalog.finish_item(item, ItemStatus.REJECTED)
        assert not catalog.commit_version(version(1, item), [event(EventType.INGESTION)])
        assert catalog.latest_version(PACKAGE) is None
        assert list(catalog.events()) == []

    def test_racing_items_get_one_claim(self, catalog: SqlCatalog) -> None:
        items = item_ids(catalog, *[f"item-{n}" for n in range(6)])
        outcomes: list[object] = []
        start = threading.Barrier(len(items))

        def claim(item: str) -> None:
            start.wait()
            try:
                outcomes.append(catalog.reserve_version(PACKAGE, IDENTIFIER, item))
            except PackageBusy as busy:
                outcomes.append(busy)

        threads = [threading.Thread(target=claim, args=(item,)) for item in items]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [o for o in outcomes if not isinstance(o, PackageBusy)] == [1]
        assert sum(isinstance(o, PackageBusy) for o in outcomes) == 5

    def test_look_alike_identifiers_racing_make_one_package(self, catalog: SqlCatalog) -> None:
        """Items giving the same identifier in other capitals or letter forms, in
        other batches, each found no stored twin before either committed, and each
        claimed a package of its own: the archive held two records that read alike.
        A new package's first claim now waits (PackageBusy) while a package whose
        identifier reads like it is being written or stored."""
        spellings = ["SG-PR-0021", "sg-pr-0021", "Sg-Pr-0021", "\uff33\uff27-PR-0021",
                     "SG-PR-0021\u200b", "sG-pR-0021"]
        items = item_ids(catalog, *[f"item-{n}" for n in range(len(spellings))])
        outcomes: list[object] = []
        start = threading.Barrier(len(items))

        def claim(item: str, identifier: str) -> None:
            start.wait()
            try:
                outcomes.append((identifier, catalog.reserve_version(
                    package_id_for(identifier), identifier, item)))
            except PackageBusy as busy:
                outcomes.append(busy)

        threads = [threading.Thread(target=claim, args=pair) for pair in zip(items, spellings, strict=True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        claimed = [o for o in outcomes if not isinstance(o, PackageBusy)]
        assert len(claimed) == 1 and claimed[0][1] == 1, outcomes
        assert sum(isinstance(o, PackageBusy) for o in outcomes) == len(spellings) - 1

    def test_a_look_alike_waits_for_the_claim_and_is_free_once_it_is_given_up(
            self, catalog: SqlCatalog) -> None:
        first, second, third = item_ids(catalog, "a", "b", "c")
        assert catalog.reserve_version(package_id_for("SG-PR-0021"), "SG-PR-0021", first) == 1
        with pytest.raises(PackageBusy, match="reads like"):
            catalog.reserve_version(package_id_for("sg-pr-0021"), "sg-pr-0021", second)
        catalog.finish_item(first, ItemStatus.REJECTED)  # gave up: its claim is stale
        assert catalog.reserve_version(package_id_for("sg-pr-0021"), "sg-pr-0021", second) == 1
        assert catalog.commit_version(version(1, second, package_id=package_id_for("sg-pr-0021"),
                                              identifier="sg-pr-0021"))
        # Stored: a new look-alike still waits; its ingest then refuses it by the
        # stored twin (ingest.batch_identifiers.identifier_refusal).
        with pytest.raises(PackageBusy, match="reads like"):
            catalog.reserve_version(package_id_for("SG-PR-0021"), "SG-PR-0021", third)
        # A new version of the stored package itself is not held back.
        assert catalog.reserve_version(package_id_for("sg-pr-0021"), "sg-pr-0021", third) == 2

    def test_identifier_of_another_package_is_refused(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        with pytest.raises(ValueError):
            catalog.reserve_version(package_id_for("other"), IDENTIFIER, item)

    # ------------------------------------------------------------------ committing versions

    def test_nothing_is_visible_before_commit(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        assert catalog.latest_version(PACKAGE) is None
        assert catalog.list_packages() == []
        with pytest.raises(PackageNotFound):
            catalog.get_version(PACKAGE, 1)
        with pytest.raises(PackageNotFound):
            catalog.list_versions(PACKAGE)
        with pytest.raises(PackageNotFound):
            catalog.resolve_package(IDENTIFIER)

    def test_committed_version_reads_back_whole(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        committed = version(1, item, title="Telegram — Сталин", created_at=T0,
                            record={"title": "Telegram — Сталин", "extent": {"pages": 2}})
        assert catalog.commit_version(committed, [event(EventType.INGESTION, PACKAGE)])
        stored = catalog.get_version(PACKAGE, 1)
        assert stored.files == tuple(sorted(committed.files, key=lambda f: f.path))
        assert stored == VersionRecord(**{**committed.__dict__, "files": stored.files})
        assert [f.path for f in stored.payload] == ["data/telegram.pdf"]
        assert catalog.latest_version(PACKAGE) == stored
        done = catalog.get_item(item)
        assert (done.status, done.package_id, done.version) == (ItemStatus.STORED, PACKAGE, 1)
        assert [e.event_type for e in catalog.events(PACKAGE)] == ["ingestion"]

    def test_duplicate_commit_returns_false_and_writes_nothing(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        assert catalog.commit_version(version(1, item), [event(EventType.INGESTION, PACKAGE)])
        assert not catalog.commit_version(version(1, item, title="Changed"),
                                          [event(EventType.INGESTION, PACKAGE)])
        assert len(catalog.get_version(PACKAGE).files) == 2
        assert catalog.get_version(PACKAGE).title == "Telegram"
        with catalog.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM files").scalar() == 2
        assert len(list(catalog.events())) == 1

    def test_commit_without_a_claim_returns_false(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        assert not catalog.commit_version(version(1, item))
        assert catalog.get_item(item).status is ItemStatus.ACCEPTED

    def test_versions_and_packages_list_in_order(self, catalog: SqlCatalog) -> None:
        items = item_ids(catalog, "a", "b", "c")
        for number, item in enumerate(items[:2], start=1):
            assert catalog.reserve_version(PACKAGE, IDENTIFIER, item) == number
            catalog.commit_version(version(number, item, title=f"Telegram v{number}"))
        other = package_id_for("AAA first identifier")
        catalog.reserve_version(other, "AAA first identifier", items[2])
        catalog.commit_version(version(1, items[2], package_id=other,
                                       identifier="AAA first identifier", title="Other"))
        assert [v.number for v in catalog.list_versions(PACKAGE)] == [1, 2]
        assert catalog.get_version(PACKAGE).number == 2
        assert catalog.get_version(PACKAGE, 1).title == "Telegram v1"
        assert [(p.identifier, p.latest_version, p.title) for p in catalog.list_packages()] == [
            ("AAA first identifier", 1, "Other"), (IDENTIFIER, 2, "Telegram v2")]
        with pytest.raises(VersionNotFound):
            catalog.get_version(PACKAGE, 3)

    # ------------------------------------------------------------------ package search order

    def _stock(self, catalog: SqlCatalog, records: list[tuple[str, str, str]]) -> None:
        """Commit version 1 of a package per (identifier, title, date), in this order."""
        items = item_ids(catalog, *[identifier for identifier, _, _ in records], batch_id="stock")
        for (identifier, title, date), item in zip(records, items, strict=True):
            package = package_id_for(identifier)
            catalog.reserve_version(package, identifier, item)
            catalog.commit_version(version(1, item, package_id=package, identifier=identifier,
                                           title=title, batch_id="stock",
                                           record={"title": title, "date": date}))

    @staticmethod
    def _every_page(catalog: SqlCatalog, sort: PackageSort, limit: int = 2,
                    query: PackageQuery | None = None) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page = catalog.search_packages(query or PackageQuery(), sort=sort, cursor=cursor,
                                           limit=limit)
            seen.extend(hit.identifier for hit in page.packages)
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    def test_packages_are_found_in_each_order_a_page_at_a_time(self, catalog: SqlCatalog) -> None:
        self._stock(catalog, [("c-1", "banana letter", "1951-06-21"),
                              ("a-1", "Apple telegram", "1952"),
                              ("b-1", "cherry report", "1951-06/1951-08"),
                              ("d-1", "apple note", "1951-06-21"),
                              ("e-1", "Date memo", "1950-12-31")])
        assert self._every_page(catalog, PackageSort.IDENTIFIER) == ["a-1", "b-1", "c-1", "d-1", "e-1"]
        # titles A to Z whatever their case; the same title key: by identifier
        assert self._every_page(catalog, PackageSort.TITLE) == ["d-1", "a-1", "c-1", "b-1", "e-1"]
        # an interval sorts by its start, a month before the days in it; ties by identifier
        assert self._every_page(catalog, PackageSort.DATE) == ["e-1", "b-1", "c-1", "d-1", "a-1"]
        assert self._every_page(catalog, PackageSort.DATE_LATEST) == ["a-1", "d-1", "c-1", "b-1", "e-1"]
        # the latest committed first
        assert self._every_page(catalog, PackageSort.NEWEST) == ["e-1", "d-1", "b-1", "a-1", "c-1"]
        for sort in PackageSort:  # one page of all reads the same as pages of one
            assert self._every_page(catalog, sort, limit=1) == self._every_page(catalog, sort, limit=50)

    def test_a_new_version_moves_its_package_in_the_orders(self, catalog: SqlCatalog) -> None:
        self._stock(catalog, [("a-1", "Apple", "1951"), ("b-1", "Banana", "1952")])
        [item] = item_ids(catalog, "again", batch_id="again")
        package = package_id_for("a-1")
        catalog.reserve_version(package, "a-1", item)
        catalog.commit_version(version(2, item, package_id=package, identifier="a-1",
                                       title="Zebra", batch_id="again",
                                       record={"title": "Zebra", "date": "1960"}))
        assert self._every_page(catalog, PackageSort.NEWEST) == ["a-1", "b-1"]
        assert self._every_page(catalog, PackageSort.TITLE) == ["b-1", "a-1"]
        assert self._every_page(catalog, PackageSort.DATE) == ["b-1", "a-1"]
        page = catalog.search_packages(PackageQuery(), sort=PackageSort.NEWEST)
        assert page.packages[0].latest_version == 2 and page.packages[0].updated_at is not None

    def test_orders_combine_with_filters(self, catalog: SqlCatalog) -> None:
        self._stock(catalog, [("a-1", "Telegram to Moscow", "1951-06-21"),
                              ("b-1", "Letter to Beijing", "1951-07"),
                              ("c-1", "telegram from Beijing", "1950"),
                              ("d-1", "Telegram, no date known", "1953")])
        words = PackageQuery(title="telegram", date_from="1950", date_to="1951-12")
        assert self._every_page(catalog, PackageSort.DATE_LATEST, limit=1, query=words) == ["a-1", "c-1"]
        assert self._every_page(catalog, PackageSort.TITLE, limit=1, query=words) == ["c-1", "a-1"]

    def test_collection_type_and_date_range_are_filtered_by_the_database(self, catalog: SqlCatalog) -> None:
        records = [("a-1", {"date": "1951-06/1951-08", "type": "telegram", "collection": "Korea"}),
                   ("b-1", {"date": "1951-09-01", "type": "letter", "collection": "Korea"}),
                   ("c-1", {"type": "telegram", "collection": "Korea"}),           # no date
                   ("d-1", {"date": "1950", "type": "telegram", "collection": "Other"})]
        items = item_ids(catalog, *[r[0] for r in records], batch_id="filters")
        for (identifier, record), item in zip(records, items, strict=True):
            package = package_id_for(identifier)
            catalog.reserve_version(package, identifier, item)
            catalog.commit_version(version(1, item, package_id=package, identifier=identifier,
                                           batch_id="filters", record={"title": "T", **record}))

        def found(**asked: str) -> list[str]:
            return self._every_page(catalog, PackageSort.DATE, limit=1, query=PackageQuery(**asked))

        assert found(collection="Korea") == ["c-1", "a-1", "b-1"]   # no date sorts first
        assert found(type="telegram", collection="Korea") == ["c-1", "a-1"]
        assert found(date_from="1951-08-31", date_to="1951-08-31") == ["a-1"]  # inside the interval
        assert found(date_from="1951-08") == ["a-1", "b-1"]
        assert found(date_to="1951-05") == ["d-1"]
        assert found(date_from="1950-12", date_to="1951-06-01") == ["d-1", "a-1"]
        assert found(type="report") == []

    def test_a_cursor_of_another_order_is_refused(self, catalog: SqlCatalog) -> None:
        self._stock(catalog, [("a-1", "Apple", "1951"), ("b-1", "Banana", "1952")])
        cursor = catalog.search_packages(PackageQuery(), sort=PackageSort.TITLE, limit=1).next_cursor
        assert cursor is not None
        with pytest.raises(InputError, match="another order"):
            catalog.search_packages(PackageQuery(), sort=PackageSort.DATE, cursor=cursor)
        with pytest.raises(InputError):
            catalog.search_packages(PackageQuery(), sort=PackageSort.TITLE, cursor="%%%")

    def test_package_is_resolved_by_id_or_identifier(self, catalog: SqlCatalog) -> None:
        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        catalog.commit_version(version(1, item))
        assert catalog.resolve_package(PACKAGE) == PACKAGE
        assert catalog.resolve_package(IDENTIFIER) == PACKAGE
        with pytest.raises(PackageNotFound):
            catalog.resolve_package("APRF, f. 45")

    def test_a_package_withdrawn_as_a_whole_is_found_by_its_identifiers_key(
            self, catalog: SqlCatalog) -> None:
        """``withdrawn_with_identifier_key``: what refuses a new record that reads like
        a deaccessioned package's (PACKAGE_DEACCESSIONED in other capitals, widths)."""
        from ingest.tombstones import DeaccessionRequest

        [first, second] = item_ids(catalog, "a", "b")
        other = package_id_for("SG-PR-0021")
        catalog.reserve_version(PACKAGE, IDENTIFIER, first)
        catalog.commit_version(version(1, first))
        catalog.reserve_version(other, "SG-PR-0021", second)
        catalog.commit_version(version(1, second, package_id=other, identifier="SG-PR-0021"))
        asker, approver = Actor("alice", role="admin"), Actor("bob", role="admin")
        whole = DeaccessionRequest("r-whole", other, "SG-PR-0021", None, "court order", asker, T0)
        one = DeaccessionRequest("r-one", PACKAGE, IDENTIFIER, 1, "personal data", asker, T0)
        for request in (whole, one):
            catalog.add_deaccession_request(request)
            catalog.begin_deaccession(request.request_id, approver, T0)

        [found] = catalog.withdrawn_with_identifier_key(identifier_key("ｓｇ-pr-0021"))
        assert (found.request_id, found.package_id, found.identifier) == (
            "r-whole", other, "SG-PR-0021")
        # One version withdrawn is not the package withdrawn as a whole.
        assert catalog.withdrawn_with_identifier_key(identifier_key(IDENTIFIER)) == []

    def test_an_identifier_written_as_another_packages_id_is_ambiguous_not_shadowed(
            self, catalog: SqlCatalog) -> None:
        """Before, the package id quietly won: the package whose identifier it was
        could not be found by its identifier at all."""
        [first, second] = item_ids(catalog, "a", "b")
        catalog.reserve_version(PACKAGE, IDENTIFIER, first)
        catalog.commit_version(version(1, first))
        impostor = package_id_for(PACKAGE)  # the package whose identifier is PACKAGE
        catalog.reserve_version(impostor, PACKAGE, second)
        catalog.commit_version(version(1, second, package_id=impostor, identifier=PACKAGE))

        with pytest.raises(InputError, match="name the first by its identifier"):
            catalog.resolve_package(PACKAGE)
        assert catalog.resolve_package(IDENTIFIER) == PACKAGE
        assert catalog.resolve_package(impostor) == impostor

    def test_a_deep_check_of_a_copy_is_the_versions_fixity_result_while_no_copy_fails(
            self, catalog: SqlCatalog) -> None:
        from ingest.fixity_policy import DEEP, RecordedCheck

        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        catalog.commit_version(version(1, item))
        checked = T0 + timedelta(days=30)
        damaged = RecordedCheck(PACKAGE, 1, "file:///b", DEEP, checked,
                                (Finding("FILE_MISSING", path="data/a.txt"),))
        catalog.record_check_of_copy(damaged, [event(EventType.FIXITY_CHECK, PACKAGE)])
        whole = RecordedCheck(PACKAGE, 1, "file:///a", DEEP, checked + timedelta(seconds=1))
        catalog.record_check_of_copy(whole, [event(EventType.FIXITY_CHECK, PACKAGE)])
        stored = catalog.get_version(PACKAGE)
        # checked last, the whole copy does not make the version whole
        assert (stored.last_fixity_at, stored.last_fixity_outcome) == (whole.checked_at, "failed")
        mended = RecordedCheck(PACKAGE, 1, "file:///b", DEEP, checked + timedelta(seconds=2))
        catalog.record_check_of_copy(mended)
        assert catalog.get_version(PACKAGE).last_fixity_outcome == "ok"
        assert [e.event_type for e in catalog.events(PACKAGE)] == ["fixity check"] * 2
        with pytest.raises(VersionNotFound):
            catalog.record_check_of_copy(RecordedCheck(PACKAGE, 2, "file:///a", DEEP, checked))

    def test_failing_copies_are_those_whose_last_deep_check_failed_in_that_location(
            self, catalog: SqlCatalog) -> None:
        from ingest.fixity_policy import DEEP, SHALLOW, RecordedCheck

        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        catalog.commit_version(version(1, item))
        at = T0 + timedelta(days=3)
        missing = (Finding("FILE_MISSING", path="data/a.txt"),)
        catalog.record_check_of_copy(RecordedCheck(PACKAGE, 1, "file:///a", DEEP, at, missing))
        catalog.record_check_of_copy(RecordedCheck(PACKAGE, 1, "file:///b", SHALLOW, at, missing))
        assert catalog.failing_copies("file:///a") == {(PACKAGE, 1)}
        assert catalog.failing_copies("file:///b") == set()  # a shallow look is not a deep check
        catalog.record_check_of_copy(RecordedCheck(PACKAGE, 1, "file:///a", DEEP,
                                                   at + timedelta(seconds=1)))
        assert catalog.failing_copies("file:///a") == set()

    def test_the_locations_holding_copies_are_counted_with_their_damaged_ones(
            self, catalog: SqlCatalog) -> None:
        from ingest.copies import DAMAGED, VERIFIED, CopyRecord

        assert catalog.copy_locations() == {}
        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        catalog.record_copies(PACKAGE, 1, [CopyRecord("file:///a", VERIFIED, T0)])
        assert catalog.copy_locations() == {}  # a claim, not a committed version
        catalog.commit_version(version(1, item))
        catalog.record_copies(PACKAGE, 1, [CopyRecord("file:///a", VERIFIED, T0),
                                           CopyRecord("file:///b", DAMAGED, T0)])
        assert catalog.copy_locations() == {"file:///a": (1, 0), "file:///b": (1, 1)}

    def test_checks_are_counted_per_utc_day_by_tier_and_outcome(self, catalog: SqlCatalog) -> None:
        from datetime import date

        from ingest.fixity_policy import DEEP, SHALLOW, RecordedCheck

        [item] = item_ids(catalog, "a")
        catalog.reserve_version(PACKAGE, IDENTIFIER, item)
        catalog.commit_version(version(1, item))
        damage = (Finding("FIXITY_MISMATCH", path="data/telegram.pdf"),)
        late = datetime(2024, 5, 2, 23, 59, 59, 500_000, tzinfo=UTC)
        east = timezone(timedelta(hours=3))
        for at, tier, findings in [
            (datetime(2024, 5, 1, 23, 0, tzinfo=UTC), DEEP, ()),        # before the span
            (datetime(2024, 5, 2, 0, 0, tzinfo=UTC), DEEP, ()),
            (late, DEEP, damage),
            (late, DEEP, ()),
            # 01:30 at UTC+3 is 22:30 UTC the day before: counted on the UTC day
            (datetime(2024, 5, 3, 1, 30, tzinfo=east), SHALLOW, ()),
            (datetime(2024, 5, 4, 12, 0, tzinfo=UTC), SHALLOW, damage),
            (datetime(2024, 5, 5, 0, 0, tzinfo=UTC), DEEP, ()),         # at the span's end: out
        ]:
            catalog.record_check_of_copy(RecordedCheck(PACKAGE, 1, "file:///primary", tier, at, findings))
        counted = catalog.fixity_checks_per_day(datetime(2024, 5, 2, tzinfo=UTC),
                                                datetime(2024, 5, 5, tzinfo=UTC))
        assert counted == [(date(2024, 5, 2), DEEP, "failed", 1), (date(2024, 5, 2), DEEP, "ok", 2),
                           (date(2024, 5, 2), SHALLOW, "ok", 1), (date(2024, 5, 4), SHALLOW, "failed", 1)]
        assert catalog.fixity_checks_per_day(datetime(2025, 1, 1, tzinfo=UTC),
                                             datetime(2025, 2, 1, tzinfo=UTC)) == []

    # ------------------------------------------------------------------ the audit log

    def test_events_chain_from_genesis_and_verify(self, catalog: SqlCatalog) -> None:
        first = catalog.append([event(n=1), event(n=2)])
        [item] = item_ids(catalog, "a")
        catalog.finish_item(item, ItemStatus.REJECTED, events=[event(n=3)])
        assert catalog.append([]) == []
        events = list(catalog.events())
        assert [e.seq for e in events] == [1, 2, 3]
        assert events[:2] == first
        assert events[0].prev_hash == GENESIS
        report = verify_chain(events)
        assert (report.ok, report.count, report.head) == (True, 3, events[-1].hash)

    def test_event_content_reads_back_as_it_was_hashed(self, catalog: SqlCatalog) -> None:
        moment = T0.astimezone(timezone(timedelta(hours=-7)))
        odd = NewEvent(event_type=EventType.FIXITY_CHECK, outcome=Outcome.FAILURE, agent="Ärchiv",
                       occurred_at=moment, batch_id="b1", item_id="i1", package_id=PACKAGE,
                       version=2, detail={"checked_at": T0, "ratio": 0.1, "names": ["ж", "\n"],
                                          "nested": {"big": 2**70}})
        [appended] = catalog.append([odd])
        [stored] = list(catalog.events())
        assert stored == appended
        assert stored.occurred_at == moment
        assert verify_chain([stored]).ok

    def test_events_of_one_package_are_filtered_in_order(self, catalog: SqlCatalog) -> None:
        catalog.append([event(package_id="p1", n=1), event(package_id="p2", n=2),
                        event(package_id="p1", n=3)])
        assert [(e.seq, e.detail["n"]) for e in catalog.events("p1")] == [(1, 1), (3, 3)]
        assert list(catalog.events("p3")) == []

    def test_long_log_is_read_across_pages(self, catalog: SqlCatalog) -> None:
        catalog.append([event(n=n) for n in range(2500)])
        events = list(catalog.events())
        assert [e.detail["n"] for e in events] == list(range(2500))
        assert verify_chain(events).ok

    def test_a_later_page_of_the_log_starts_after_the_last_event_seen(self, catalog: SqlCatalog) -> None:
        # the audit page's "next" reads on from there, not from the start of a long log
        catalog.append([event(package_id="p1" if n % 2 else None, n=n) for n in range(1500)])
        assert [e.seq for e in islice(catalog.events(after=1200), 3)] == [1201, 1202, 1203]
        assert [e.detail["n"] for e in catalog.events(after=1400)] == list(range(1400, 1500))
        assert [e.seq for e in islice(catalog.events("p1", after=1000), 2)] == [1002, 1004]
        assert list(catalog.events(after=1500)) == []

    def test_naive_event_time_is_refused_and_nothing_written(self, catalog: SqlCatalog) -> None:
        naive = NewEvent(event_type=EventType.VALIDATION, outcome=Outcome.SUCCESS, agent="a",
                         occurred_at=datetime(2024, 5, 1))
        with pytest.raises(ValueError):
            catalog.append([event(), naive])
        assert list(catalog.events()) == []

    def test_concurrent_appends_form_one_unbroken_chain(self, catalog: SqlCatalog) -> None:
        errors: list[BaseException] = []

        def append_fifty(worker: int) -> None:
            try:
                for n in range(50):
                    catalog.append([event(worker=worker, n=n)])
            except BaseException as exc:  # noqa: BLE001 - surfaced by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=append_fifty, args=(w,)) for w in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        events = list(catalog.events())
        assert [e.seq for e in events] == list(range(1, 201))
        assert verify_chain(events).ok
        for worker in range(4):
            assert [e.detail["n"] for e in events if e.detail["worker"] == worker] == list(range(50))

    # ------------------------------------------------------------------ tampering

    @pytest.fixture
    def logged(self, catalog: SqlCatalog) -> SqlCatalog:
        catalog.append([event(n=n) for n in range(1, 7)])
        return catalog

    def test_edited_event_detail_is_named(self, logged: SqlCatalog) -> None:
        raw(logged, "UPDATE events SET detail = :detail WHERE seq = 3", detail='{"n": 333}')
        report = verify_chain(logged.events())
        assert (report.ok, report.first_bad_seq, report.count) == (False, 3, 2)

    def test_deleted_middle_event_is_named(self, logged: SqlCatalog) -> None:
        raw(logged, "DELETE FROM events WHERE seq = 4")
        report = verify_chain(logged.events())
        assert (report.ok, report.first_bad_seq) == (False, 5)

    def test_swapped_events_are_named(self, logged: SqlCatalog) -> None:
        raw(logged, "UPDATE events SET seq = -1 WHERE seq = 2")
        raw(logged, "UPDATE events SET seq = 2 WHERE seq = 3")
        raw(logged, "UPDATE events SET seq = 3 WHERE seq = -1")
        report = verify_chain(logged.events())
        assert (report.ok, report.first_bad_seq) == (False, 2)

    def test_truncated_tail_still_verifies_without_an_anchor(self, logged: SqlCatalog) -> None:
        # The chain alone cannot show that its last events were cut off: the rest is
        # a valid chain. Anchoring the head elsewhere is what reveals this.
        original_head = verify_chain(logged.events()).head
        raw(logged, "DELETE FROM events WHERE seq > 4")
        report = verify_chain(logged.events())
        assert (report.ok, report.count) == (True, 4)
        assert report.head != original_head

    def test_a_late_duplicate_cannot_claim_a_version_for_a_finished_item(self, tmp_path) -> None:
        """A duplicate task that reaches reserve_version after its item was stored must
        not leave a pending claim behind (it could never be committed)."""
        from datetime import datetime

        from ingest.errors import ItemFinished
        from ingest.models import BatchRecord, ItemStatus
        from storage.catalog import SqlCatalog

        catalog = SqlCatalog.from_url(f"sqlite:///{tmp_path / 'c.sqlite3'}")
        batch = BatchRecord(batch_id="b-late", source="/nowhere", submitted_at=datetime.now(UTC))
        (item,) = catalog.create_batch(batch, ["only"])
        catalog.finish_item(item.item_id, ItemStatus.REJECTED)
        import pytest

        with pytest.raises(ItemFinished):
            catalog.reserve_version("pkg-late", "rec-late", item.item_id)
        assert catalog.latest_version("pkg-late") is None

    # ------------------------------------------------------------------ the log's identity, seals

    def test_a_new_catalogs_log_has_an_identity_of_its_own_and_no_legacy_anchors(self,
            catalog: SqlCatalog) -> None:
        log_id, legacy = catalog.log_identity()
        assert len(log_id) == 36 and legacy is False
        assert catalog.log_identity() == (log_id, False)  # made once, when the log was created

    def test_a_catalog_that_anchored_before_logs_had_an_identity_keeps_its_legacy_anchors(self,
            catalog_url: str) -> None:
        from tests.unit.test_catalog_startup import upgrade_with_alembic_to

        upgrade_with_alembic_to(catalog_url, ["0004", "0005", "0006"])  # the schema before log ids
        engine = create_engine_for(catalog_url)
        with engine.begin() as connection:
            connection.execute(text("INSERT INTO audit_anchors (seq, hash, anchored_at) "
                                    "VALUES (1, :hash, :at)"), {"hash": "a" * 64, "at": T0})
        engine.dispose()
        upgraded = SqlCatalog.from_url(catalog_url)
        try:
            assert upgraded.log_identity()[1] is True
        finally:
            upgraded.engine.dispose()

    def test_the_sealing_event_of_a_version_is_its_first_successful_ingestion(self,
            catalog: SqlCatalog) -> None:
        def ingestion(version: int, outcome: Outcome = Outcome.SUCCESS, **detail: object) -> NewEvent:
            return NewEvent(event_type=EventType.INGESTION, outcome=outcome, agent="strongroom/test",
                            occurred_at=T0, package_id=PACKAGE, version=version, detail=dict(detail))

        catalog.append([ingestion(1, Outcome.FAILURE, manifest_sha256="x"),
                        ingestion(1, manifest_sha256="first"), ingestion(2, manifest_sha256="two"),
                        ingestion(1, manifest_sha256="later")])
        sealed = catalog.sealing_event(PACKAGE, 1)
        assert sealed is not None and sealed.detail == {"manifest_sha256": "first"}
        assert catalog.sealing_event(PACKAGE, 3) is None
