"""The catalog's fixity state of every copy: kept up to date, and planned from.

Planning reads one row per copy (``fixity_state``) and the bytes per hour of
deep deadline (``fixity_backlog``) instead of every version and file. Each test
holds those rows against what the catalog's own history says (versions, files
and every recorded check), and the plans made from the catalog against the
planner run over the same copies in memory. The tests not about SQLite run on
PostgreSQL too (``tests/integration/test_fixity_state_postgres.py``).
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, Text, and_, func, literal, select, union_all
from sqlalchemy.engine import Engine

import storage.catalog_fixity as catalog_fixity
from ingest.copies import VERIFIED, CopyRecord
from ingest.findings import Finding
from ingest.fixity_due import plan_due, run_due
from ingest.fixity_policy import (
    DEEP,
    SHALLOW,
    CopyState,
    FixityPolicy,
    PlannedCheck,
    RecordedCheck,
    tally_cutoffs,
)
from ingest.models import BatchRecord, StoredFile, VersionRecord, package_id_for
from storage.catalog import SqlCatalog
from storage.catalog_fixity_state import hour_of
from storage.database import create_engine_for, migrate
from storage.tables import File, Package, Version
from storage.tables_base import UtcDateTime
from storage.tables_fixity import FixityBacklog, FixityCheck, FixityState
from storage.tables_replicas import VersionCopy
from tests.catalog_revisions import upgrade_to
from tests.fixity_oracles import coverage, fixity_copies, plan_checks

START = datetime(2025, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)
PRIMARY, REPLICA, LATER = "file:///primary", "s3://replica/strongroom", "s3://third/strongroom"
LOCATIONS = (PRIMARY, REPLICA)
MISMATCH = Finding("FIXITY_MISMATCH", path="data/page.tif")


@pytest.fixture
def catalog_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two copies in a walk's first page, three in the next ones: every walk
    crosses pages."""
    monkeypatch.setattr(catalog_fixity, "FIRST_PAGE", 2)
    monkeypatch.setattr(catalog_fixity, "PAGE", 3)


# --------------------------------------------------------------------------- helpers


def identifier(n: int) -> str:
    return f"letter-{n:03}"


def files(size: int) -> tuple[StoredFile, ...]:
    return (StoredFile("data/page.tif", size, "a" * 64, "b" * 128),
            StoredFile("bagit.txt", 55, "c" * 64, "d" * 128))


def ingest(catalog: SqlCatalog, made: Sequence[tuple[int, datetime, int]],
           locations: Sequence[str] = LOCATIONS, batch_id: str = "b1") -> None:
    """Commit version 1 of package n for each (n, made at, payload size), its copies
    noted in ``locations`` first, as the pipeline does."""
    items = catalog.create_batch(
        BatchRecord(batch_id=batch_id, source="/incoming", submitted_at=START),
        [identifier(n) for n, _, _ in made])
    for item, (n, made_at, size) in zip(items, made, strict=True):
        package_id = package_id_for(identifier(n))
        number = catalog.reserve_version(package_id, identifier(n), item.item_id)
        catalog.record_copies(package_id, number,
                              [CopyRecord(location, VERIFIED, made_at) for location in locations])
        assert catalog.commit_version(VersionRecord(
            package_id=package_id, number=number, identifier=identifier(n),
            title=f"Letter {n}", record={"title": f"Letter {n}"}, created_at=made_at,
            batch_id=batch_id, item_id=item.item_id, files=files(size)))


def check(planned: PlannedCheck, at: datetime, failed: bool = False) -> RecordedCheck:
    findings = (MISMATCH,) if failed else ()
    return RecordedCheck(planned.package_id, planned.number, planned.location, planned.tier,
                         at, findings)


def from_history(catalog: SqlCatalog, locations: Sequence[str]) -> list[CopyState]:
    """Every committed version in every location, its size summed from its files and
    its last checks from every check ever recorded: what the state rows must say
    (queued times aside: the queue has no history)."""
    with catalog.engine.connect() as connection:
        versions = connection.execute(
            select(Version.package_id, Version.number, Version.created_at,
                   func.coalesce(func.sum(File.size), 0))
            .join(File, and_(File.package_id == Version.package_id,
                             File.number == Version.number), isouter=True)
            .where(Version.state == "committed")
            .group_by(Version.package_id, Version.number, Version.created_at)).all()
        checks = connection.execute(select(FixityCheck)).all()
    copies = []
    for package_id, number, made_at, size in sorted(versions):
        for location in locations:
            mine = [c for c in checks if (c.package_id, c.number, c.location)
                    == (package_id, number, location)]

            def last(*tiers: str, outcome: str | None = None) -> datetime | None:
                return max((c.checked_at for c in mine if c.tier in tiers  # noqa: B023 - called at once
                            and outcome in (None, c.outcome)), default=None)

            deep = sorted((c.checked_at, c.check_id, c.outcome) for c in mine if c.tier == DEEP)
            copies.append(CopyState(package_id, number, location, int(size), made_at,
                                    last_deep=last(DEEP), last_deep_ok=last(DEEP, outcome="ok"),
                                    # a deep check is also the last look at what a shallow one sees
                                    last_shallow=last(SHALLOW, DEEP),
                                    last_deep_failed=bool(deep) and deep[-1][2] == "failed"))
    return copies


def unqueued(copies: Sequence[CopyState]) -> list[CopyState]:
    return [replace(c, queued_deep=None, queued_shallow=None) for c in copies]


def assert_state_follows_history(catalog: SqlCatalog, locations: Sequence[str]) -> None:
    assert unqueued(fixity_copies(catalog, locations)) == from_history(catalog, locations)
    with catalog.engine.connect() as connection:
        rows = connection.execute(
            select(FixityState.location, FixityState.deep_base_at, FixityState.octets)).all()
        backlog = connection.execute(select(FixityBacklog)).all()
    expected: dict[tuple[str, int], tuple[int, int]] = {}
    for location, since, octets in rows:
        copies, total = expected.get((location, hour_of(since)), (0, 0))
        expected[(location, hour_of(since))] = (copies + 1, total + octets)
    assert {(b.location, b.hour): (b.copies, b.octets) for b in backlog} == expected


def current_failures(catalog: SqlCatalog, locations: Sequence[str]) -> list[RecordedCheck]:
    """Each copy's and tier's last check (the latest, then the last recorded) when
    it failed, oldest first: the report's failures without --since."""
    last: dict[tuple, tuple[int, RecordedCheck]] = {}
    for order, recorded in enumerate(catalog.fixity_checks()):  # oldest, then first recorded
        if recorded.location in locations:
            copy = (recorded.package_id, recorded.number, recorded.location)
            # a deep check is also the last word on what a shallow one sees
            for tier in (recorded.tier, SHALLOW) if recorded.tier == DEEP else (recorded.tier,):
                last[(*copy, tier)] = (order, recorded)
    chosen = {order: c for order, c in last.values() if c.outcome == "failed"}
    return [chosen[order] for order in sorted(chosen)]


# --------------------------------------------------------------------------- keeping the rows


def test_a_committed_version_gets_a_row_in_every_location_a_copy_is_noted_in(
        catalog: SqlCatalog) -> None:
    made = START + timedelta(hours=5, minutes=59, seconds=59, microseconds=999_999)
    ingest(catalog, [(1, made, 1_000)])
    (primary, replica) = fixity_copies(catalog, LOCATIONS)
    assert (primary.location, replica.location) == LOCATIONS
    assert primary.size == replica.size == 1_055
    assert primary.committed_at == made and primary.last_deep is None
    assert_state_follows_history(catalog, LOCATIONS)


def test_a_claim_not_yet_committed_has_no_row_and_is_never_planned(catalog: SqlCatalog) -> None:
    items = catalog.create_batch(
        BatchRecord(batch_id="b1", source="/incoming", submitted_at=START), [identifier(1)])
    package_id = package_id_for(identifier(1))
    number = catalog.reserve_version(package_id, identifier(1), items[0].item_id)
    catalog.record_copies(package_id, number, [CopyRecord(PRIMARY, VERIFIED, START)])
    assert fixity_copies(catalog, LOCATIONS) == []
    assert list(plan_due(catalog, LOCATIONS, FixityPolicy(), START + 400 * DAY)) == []


def test_checks_and_queueing_move_the_row_and_a_late_arriving_older_check_does_not(
        catalog: SqlCatalog) -> None:
    ingest(catalog, [(1, START, 1_000), (2, START + DAY, 5_000)])
    policy = FixityPolicy(window=timedelta(days=30))
    as_of = START + 40 * DAY
    planned = list(plan_due(catalog, LOCATIONS, policy, as_of))
    assert [(p.package_id, p.location, p.tier) for p in planned] == [
        (package_id_for(identifier(n)), location, DEEP)
        for n in (1, 2) for location in LOCATIONS]
    stale = as_of - policy.requeue_after
    assert catalog.enqueue_checks(planned, as_of, stale) == planned
    assert catalog.enqueue_checks(planned, as_of + timedelta(hours=1), stale) == []
    assert all(c.queued_deep == as_of for c in fixity_copies(catalog, LOCATIONS))

    catalog.record_check_of_copy(check(planned[0], as_of, failed=True))
    catalog.record_check_of_copy(check(planned[0], as_of))  # a re-check at the same moment wins
    catalog.record_check_of_copy(check(planned[1], as_of - 20 * DAY))  # arrives late, is older
    catalog.record_check_of_copy(check(planned[1], as_of - 10 * DAY, failed=True))
    shallow = replace(planned[2], tier=SHALLOW)
    catalog.record_check_of_copy(check(shallow, as_of, failed=True))
    assert_state_follows_history(catalog, LOCATIONS)
    state = {c.key: c for c in fixity_copies(catalog, LOCATIONS)}
    first, second, third = (state[(p.package_id, p.number, p.location)] for p in planned[:3])
    assert first.queued_deep is None and first.last_deep_ok == as_of
    assert second.last_deep == as_of - 10 * DAY and second.last_deep_ok == as_of - 20 * DAY
    assert third.queued_deep == as_of and third.last_shallow == as_of
    failures, total = catalog.fixity_failures(LOCATIONS)
    assert failures == current_failures(catalog, LOCATIONS) and total == 2
    assert [(f.location, f.tier) for f in failures] == [(REPLICA, DEEP), (PRIMARY, SHALLOW)]
    # a later good check clears the copy's current failure
    catalog.record_check_of_copy(check(planned[1], as_of + timedelta(minutes=1)))
    assert catalog.fixity_failures(LOCATIONS, limit=0) == ([], 1)
    assert catalog.fixity_failures(LOCATIONS, since=START)[1] == 3


def test_a_copy_found_whole_by_a_deep_check_after_its_shallow_check_failed_no_longer_fails(
        catalog: SqlCatalog) -> None:
    # A file went (the shallow check failed), a repair or a fill put it back and
    # the deep check after writing found the copy whole: the copy stayed failing,
    # in `strongroom locations`, the fixity report and retirement, until the next
    # shallow check days later.
    ingest(catalog, [(1, START, 1_000)])
    at = START + 3 * DAY
    [planned, _] = list(plan_due(catalog, LOCATIONS, FixityPolicy(), START + 100 * DAY))
    catalog.record_check_of_copy(check(replace(planned, tier=SHALLOW), at, failed=True))
    assert catalog.fixity_failures(LOCATIONS)[1] == 1
    assert catalog.versions_not_held_whole(planned.location) == [(planned.package_id, 1)]

    catalog.record_check_of_copy(check(planned, at + timedelta(minutes=5)))

    assert catalog.fixity_failures(LOCATIONS) == ([], 0)
    assert catalog.versions_not_held_whole(planned.location) == []
    assert_state_follows_history(catalog, LOCATIONS)
    # and a deep check that fails is the last look as well
    catalog.record_check_of_copy(check(planned, at + DAY, failed=True))
    [failure], _ = catalog.fixity_failures(LOCATIONS)
    assert (failure.tier, failure.checked_at) == (DEEP, at + DAY)


def test_a_location_named_later_gets_every_committed_version_and_every_new_one(
        catalog: SqlCatalog) -> None:
    ingest(catalog, [(n, START + n * timedelta(hours=7), 100 * n) for n in range(1, 6)])
    assert fixity_copies(catalog, LOCATIONS)  # the schedule covers the first two
    assert len(fixity_copies(catalog, [LATER])) == 5  # a third, named now
    ingest(catalog, [(9, START + 3 * DAY, 900)], locations=[PRIMARY], batch_id="b2")
    assert len(fixity_copies(catalog, [LATER])) == 6
    everywhere = (*LOCATIONS, LATER)
    assert_state_follows_history(catalog, everywhere)
    # noted later (a replica filled after ingest): the row is there at once
    catalog.record_copies(package_id_for(identifier(9)), 1,
                          [CopyRecord("s3://fourth/strongroom", VERIFIED, START)])
    with catalog.engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(FixityState)
                                  .where(FixityState.location == "s3://fourth/strongroom")
                                  ).scalar_one() == 1


def test_the_catalog_plans_what_the_planner_plans_from_a_list_day_after_day(
        catalog: SqlCatalog, small_pages: None) -> None:
    rng = random.Random(11)
    made = [(n, START + rng.randrange(0, 240) * timedelta(hours=1),
             rng.choice([500, 2_000, 20_000])) for n in range(1, 13)]
    made.append((99, START, 400_000))  # never fits a day's budget
    ingest(catalog, made)
    policy = FixityPolicy(window=timedelta(days=30), bytes_per_day=60_000,
                          shallow_interval=timedelta(days=5))
    deep_days = 0
    for day in range(1, 80):
        as_of = START + day * DAY
        expected = plan_checks(fixity_copies(catalog, LOCATIONS), as_of, policy)
        planned = list(plan_due(catalog, LOCATIONS, policy, as_of))
        assert planned == expected, day
        deep_days += any(p.tier == DEEP for p in planned)
        queued = catalog.enqueue_checks(planned, as_of, as_of - policy.requeue_after)
        assert queued == planned
        for p in queued:
            if rng.random() < 0.05:
                continue  # a lost check: still queued, due again after requeue_after
            catalog.record_check_of_copy(check(p, as_of, failed=rng.random() < 0.05))
        if day % 10 == 0:
            assert_state_follows_history(catalog, LOCATIONS)
            verified_since, due_before = tally_cutoffs(policy, as_of)
            tally = catalog.fixity_tally(LOCATIONS, verified_since, due_before)
            figure = coverage(fixity_copies(catalog, LOCATIONS), policy, as_of)
            assert (tally.versions, tally.covered, tally.per_location, tally.overdue) == (
                figure.versions, figure.covered, figure.per_location, len(figure.overdue))
            late = [c for c in catalog.fixity_oldest(LOCATIONS, stale_before=None)
                    if c.deep_since < due_before]
            assert late == list(figure.overdue)
            assert catalog.fixity_failures(LOCATIONS)[0] == current_failures(catalog, LOCATIONS)
    assert deep_days > 40


def test_an_imported_version_gets_rows_in_the_locations_it_was_found_in(
        catalog: SqlCatalog) -> None:
    made = START + 2 * DAY
    version = VersionRecord(
        package_id=package_id_for(identifier(4)), number=2, identifier=identifier(4),
        title="Letter 4", record={"title": "Letter 4"}, created_at=made, batch_id=None,
        item_id=None, files=files(3_000))
    catalog.import_version(version, [CopyRecord(PRIMARY, VERIFIED, made),
                                     CopyRecord(REPLICA, VERIFIED, made)])
    assert_state_follows_history(catalog, LOCATIONS)
    planned = list(plan_due(catalog, LOCATIONS, FixityPolicy(), made + 91 * DAY))
    assert [(p.number, p.location, p.tier, p.size) for p in planned] == [
        (2, PRIMARY, DEEP, 3_055), (2, REPLICA, DEEP, 3_055)]


# --------------------------------------------------------------------------- the migration

#: fixity_queue as migration 0002 made it (0005 moves its rows into fixity_state)
_QUEUE = Table("fixity_queue", MetaData(),
               Column("package_id", String, primary_key=True),
               Column("number", Integer, primary_key=True),
               Column("location", Text, primary_key=True),
               Column("tier", String, primary_key=True),
               Column("state", String), Column("queued_at", UtcDateTime),
               Column("finished_at", UtcDateTime))


def legacy_fixity_copies(engine: Engine, locations: Sequence[str]) -> list[CopyState]:
    """What ``fixity_copies`` computed before the state rows: every committed version
    read, the whole ``files`` table grouped, checks and the queue unioned."""
    sizes = (select(File.package_id, File.number, func.sum(File.size).label("octets"))
             .group_by(File.package_id, File.number).subquery())
    last = (select(FixityCheck.package_id, FixityCheck.number, FixityCheck.location,
                   FixityCheck.tier.label("kind"), func.max(FixityCheck.checked_at).label("at"))
            .group_by(FixityCheck.package_id, FixityCheck.number, FixityCheck.location,
                      FixityCheck.tier))
    last_ok = (select(FixityCheck.package_id, FixityCheck.number, FixityCheck.location,
                      literal("deep-ok").label("kind"),
                      func.max(FixityCheck.checked_at).label("at"))
               .where(FixityCheck.tier == DEEP, FixityCheck.outcome == "ok")
               .group_by(FixityCheck.package_id, FixityCheck.number, FixityCheck.location))
    queued = (select(_QUEUE.c.package_id, _QUEUE.c.number, _QUEUE.c.location,
                     (literal("queued-") + _QUEUE.c.tier).label("kind"),
                     _QUEUE.c.queued_at.label("at"))
              .where(_QUEUE.c.state == "queued"))
    times = union_all(last, last_ok, queued).subquery()
    query = (select(Version.package_id, Version.number, Version.created_at, sizes.c.octets,
                    times.c.location, times.c.kind, times.c.at)
             .join(sizes, and_(sizes.c.package_id == Version.package_id,
                               sizes.c.number == Version.number), isouter=True)
             .join(times, and_(times.c.package_id == Version.package_id,
                               times.c.number == Version.number), isouter=True)
             .where(Version.state == "committed"))
    base: dict[tuple[str, int], tuple[datetime, int]] = {}
    seen: dict[tuple[str, int, str], dict[str, datetime]] = {}
    #: each copy's last deep check's outcome (the latest; at one time, the last recorded)
    last_deep_outcomes: dict[tuple[str, int, str], str] = {}
    with engine.connect() as connection:
        for check in connection.execute(select(FixityCheck).where(FixityCheck.tier == DEEP)
                                        .order_by(FixityCheck.checked_at, FixityCheck.check_id)):
            last_deep_outcomes[(check.package_id, check.number, check.location)] = check.outcome
        for row in connection.execute(query):
            base[(row.package_id, row.number)] = (row.created_at, int(row.octets or 0))
            if row.location in locations and row.at is not None:
                seen.setdefault((row.package_id, row.number, row.location), {})[row.kind] = row.at
    return [
        CopyState(package_id, number, location, size, made_at,
                  last_deep=seen.get((package_id, number, location), {}).get("deep"),
                  last_deep_ok=seen.get((package_id, number, location), {}).get("deep-ok"),
                  last_shallow=seen.get((package_id, number, location), {}).get("shallow"),
                  queued_deep=seen.get((package_id, number, location), {}).get("queued-deep"),
                  queued_shallow=seen.get((package_id, number, location), {}).get("queued-shallow"),
                  last_deep_failed=last_deep_outcomes.get((package_id, number, location)) == "failed")
        for (package_id, number), (made_at, size) in sorted(base.items())
        for location in locations]


def old_catalog(engine: Engine, rng: random.Random) -> None:
    """A catalog at the heads before 0005, with 30 versions (one still a claim), their
    copies noted in one or both locations, checks of every kind (failures, ties at
    one moment, a location named only by a check) and queued checks, live and done."""
    upgrade_to(engine, ("0002", "0003", "0004"))
    with engine.begin() as connection:
        for n in range(30):
            package_id = package_id_for(identifier(n))
            made = START + timedelta(minutes=rng.randrange(0, 20 * 24 * 60), microseconds=n)
            state = "pending" if n == 29 else "committed"
            connection.execute(Package.__table__.insert().values(
                package_id=package_id, identifier=identifier(n), latest_version=1))
            connection.execute(Version.__table__.insert().values(
                package_id=package_id, number=1, state=state, identifier=identifier(n),
                created_at=made, committed_at=made))
            for path, size in (("data/a", rng.randrange(1, 50_000)), ("bagit.txt", 55)):
                connection.execute(File.__table__.insert().values(
                    package_id=package_id, number=1, path=path, size=size, sha256="a" * 64,
                    sha512="b" * 128))
            for location in LOCATIONS[: 1 + n % 2]:
                connection.execute(VersionCopy.__table__.insert().values(
                    package_id=package_id, number=1, location=location, state="verified",
                    checked_at=made))
            if state == "pending":
                continue
            for _ in range(rng.randrange(0, 4)):
                at = made + timedelta(days=rng.randrange(1, 60))
                tier = rng.choice([DEEP, SHALLOW])
                location = rng.choice([*LOCATIONS, LATER])
                for outcome in rng.sample(["ok", "failed"], k=rng.choice([1, 2])):
                    connection.execute(FixityCheck.__table__.insert().values(
                        package_id=package_id, number=1, location=location, tier=tier,
                        checked_at=at, outcome=outcome,
                        findings=[] if outcome == "ok" else [MISMATCH.to_dict()]))
            if n % 5 == 0:
                connection.execute(_QUEUE.insert().values(
                    package_id=package_id, number=1, location=LOCATIONS[n % 2], tier=DEEP,
                    state="queued" if n % 10 == 0 else "done",
                    queued_at=START + timedelta(days=70, hours=n)))


def test_the_migration_fills_the_state_of_an_existing_catalog_and_plans_stay_the_same(
        catalog_url: str, small_pages: None) -> None:
    engine = create_engine_for(catalog_url)
    try:
        old_catalog(engine, random.Random(5))
        locations = [*LOCATIONS, LATER]
        before = legacy_fixity_copies(engine, locations)
        policies = [FixityPolicy(window=timedelta(days=30)),
                    FixityPolicy(window=timedelta(days=45), bytes_per_day=40_000,
                                 shallow_interval=timedelta(days=3))]
        moments = [START + 71 * DAY, START + 100 * DAY]
        plans = [plan_checks(before, as_of, policy) for policy in policies for as_of in moments]

        migrate(engine)
        catalog = SqlCatalog(engine)
        # a deep check later than the last shallow one is the last look (0028)
        assert fixity_copies(catalog, locations) == [
            replace(c, last_shallow=max((t for t in (c.last_shallow, c.last_deep) if t),
                                        default=None)) for c in before]
        assert_state_follows_history(catalog, locations)
        assert [list(plan_due(catalog, locations, policy, as_of))
                for policy in policies for as_of in moments] == plans
        assert catalog.fixity_failures(locations)[0] == current_failures(catalog, locations)
    finally:
        engine.dispose()


# --------------------------------------------------------------------------- a rebuild


def test_a_rebuilt_catalog_plans_every_copy_it_found(tmp_path: Path) -> None:
    from ingest.clock import FixedClock
    from ingest.rebuild import rebuild_catalog
    from tests.unit.test_replication import AT, make_services, open_archive

    archive = next(open_archive(tmp_path / "before"))
    archive.ingest("telegram")
    archive.ingest("letter", metadata={"identifier": "letter-1", "title": "Letter", "date": "1952"})
    rebuilt = make_services(tmp_path / "after", store=archive.primary,
                            replicas=(archive.replica,))
    rebuild_catalog(rebuilt)
    locations = [store.location for store in rebuilt.locations]
    assert len(fixity_copies(rebuilt.catalog, locations)) == 4
    assert_state_follows_history(rebuilt.catalog, locations)  # type: ignore[arg-type]
    run = run_due(replace(rebuilt, clock=FixedClock(AT + 91 * DAY)), FixityPolicy())
    assert len(run.checks) == 4 and not run.failed
    assert {(c.location, c.tier) for c in run.checks} == {(loc, DEEP) for loc in locations}
