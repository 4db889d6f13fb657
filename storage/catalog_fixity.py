"""The catalog's fixity checks of every copy: when each was last checked, by which tier, what is due.

Each copy (a committed version in one location) has a row in ``fixity_state``,
kept as versions are committed or imported (``_track_version``, called by
``commit_version``, ``import_version`` and ``record_copies``) and as checks are
queued and recorded, and ``fixity_backlog`` holds the bytes of each location's
copies by the hour their deep deadline counts from. So the planner's questions
(``ingest.fixity_planner.DueSource``) are index scans read a page at a time, and
the pace of deep checks is a sum over a few thousand rows, however large the
archive.

Keeping those rows is ``storage.catalog_fixity_state``; this module asks them
the planner's and the report's questions and records checks.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    CompoundSelect,
    Select,
    and_,
    case,
    cast,
    func,
    or_,
    select,
    tuple_,
    union,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from ingest.errors import VersionNotFound
from ingest.fixity_planner import merge_copies
from ingest.fixity_policy import (
    DEEP,
    DELIVERY,
    CopyState,
    CopyTally,
    OrderKey,
    PlannedCheck,
    RecordedCheck,
)
from ingest.models import NewEvent
from storage.audit_log import append_events
from storage.catalog_base import cast_table, rows_changed
from storage.catalog_fixity_state import (
    _EPOCH,
    _HOUR,
    FixityStateUpkeep,
    _note_check,
    hour_of,
)
from storage.catalog_rows import COMMITTED, findings_of
from storage.tables import File, Version
from storage.tables_fixity import (
    FAILING,
    FixityBacklog,
    FixityCheck,
    FixityState,
)

#: copies read per query while walking a location's copies in order (the first
#: query of a walk reads FIRST_PAGE, each next one four times more up to PAGE)
PAGE = 500
FIRST_PAGE = 32

def _damaged() -> ColumnElement[bool]:
    """A copy found damaged: by its last deep check, or by a delivery since."""
    return or_(FixityState.last_deep_outcome == "failed",
               FixityState.delivery_failed_check_id.is_not(None))


def _copy_state(row: Any) -> CopyState:
    return CopyState(
        package_id=row.package_id, number=row.number, location=row.location, size=row.octets,
        committed_at=row.made_at, last_deep=row.last_deep_at, last_deep_ok=row.last_deep_ok_at,
        last_shallow=row.last_shallow_at, queued_deep=row.queued_deep_at,
        queued_shallow=row.queued_shallow_at, last_deep_failed=row.last_deep_outcome == "failed")


def _free(column: InstrumentedAttribute, stale_before: datetime) -> ColumnElement[bool]:
    """Not queued after ``stale_before``."""
    return or_(column.is_(None), column <= stale_before)


class FixitySchedule(FixityStateUpkeep):
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""

    # ------------------------------------------------------------------ planning

    def fixity_backlog(self, locations: Sequence[str],
                       collapse_before: datetime) -> list[tuple[datetime, int]]:
        """The bytes of every copy in ``locations`` by the hour its deep deadline
        counts from, earliest first (``DueSource.fixity_backlog``); every hour
        before ``collapse_before``'s is summed in one pair. Raises CatalogUnavailable."""
        self._cover(locations)
        cut = hour_of(collapse_before)
        ours = and_(FixityBacklog.location.in_(set(locations)), FixityBacklog.copies > 0)
        with self._read() as session:
            connection = session.connection()  # Core rows: no ORM result machinery
            # sums cast back to BIGINT: PostgreSQL sums BIGINTs as NUMERIC (Decimal)
            early = connection.execute(
                select(func.min(FixityBacklog.hour),
                       cast(func.sum(FixityBacklog.octets), BigInteger))
                .where(ours, FixityBacklog.hour < cut)).one()
            rows = connection.execute(
                select(FixityBacklog.hour, cast(func.sum(FixityBacklog.octets), BigInteger))
                .where(ours, FixityBacklog.hour >= cut)
                .group_by(FixityBacklog.hour).order_by(FixityBacklog.hour)).all()
        pairs = [(early[0], early[1])] if early[0] is not None else []
        pairs += [(hour, octets) for hour, octets in rows]
        return [(_EPOCH + int(hour) * _HOUR, int(octets)) for hour, octets in pairs]

    def fixity_oldest(self, locations: Sequence[str], stale_before: datetime | None,
                      larger_than: int | None = None, at_most: int | None = None,
                      after: OrderKey | None = None) -> Iterator[CopyState]:
        """Copies earliest deep deadline first, then by key: those not queued for a
        deep check after ``stale_before`` (every copy when None); of more than
        ``larger_than`` bytes, of at most ``at_most``, after ``after`` in that
        order, when given. Read a page at a time as the caller goes on. Raises
        CatalogUnavailable (also while iterating)."""
        self._cover(locations)
        conditions = []
        if stale_before is not None:
            conditions.append(_free(FixityState.queued_deep_at, stale_before))
        if larger_than is not None:
            conditions.append(FixityState.octets > larger_than)
        if at_most is not None:
            conditions.append(FixityState.octets <= at_most)
        return merge_copies(
            (self._walk(location, FixityState.deep_base_at, conditions, after)
             for location in dict.fromkeys(locations)), "deep_since")

    def fixity_shallow_due(self, locations: Sequence[str], checked_before: datetime,
                           stale_before: datetime) -> Iterator[CopyState]:
        """Copies with no check of either tier (nor their making) after
        ``checked_before``, queued for neither tier after ``stale_before``, the
        longest unchecked first, then by key; read a page at a time. Raises
        CatalogUnavailable (also while iterating)."""
        self._cover(locations)
        conditions = [FixityState.shallow_base_at <= checked_before,
                      _free(FixityState.queued_deep_at, stale_before),
                      _free(FixityState.queued_shallow_at, stale_before)]
        return merge_copies(
            (self._walk(location, FixityState.shallow_base_at, conditions)
             for location in dict.fromkeys(locations)), "checked_since")

    def _walk(self, location: str, since: InstrumentedAttribute,
              conditions: Sequence[ColumnElement[bool]],
              start: OrderKey | None = None) -> Iterator[CopyState]:
        """One location's copies meeting ``conditions`` in (``since``, package,
        number) order, after ``start`` (a (time, key) in the order of every
        location): keyset pages along the index that begins with those columns.
        The first page is small, so the first copies come quickly."""
        order = (since, FixityState.package_id, FixityState.number)
        after: tuple | None = None
        inclusive = False
        if start is not None:
            at, (package_id, number, other) = start
            after, inclusive = (at, package_id, number), location > other
        size = FIRST_PAGE
        while True:
            query = select(*FixityState.__table__.c).where(
                FixityState.location == location, *conditions)
            if after is not None:
                key = tuple_(*order)
                query = query.where(key >= tuple_(*after) if inclusive else key > tuple_(*after))
            with self._read() as session:
                rows = session.connection().execute(query.order_by(*order).limit(size)).all()
            yield from (_copy_state(row) for row in rows)
            if len(rows) < size:
                return
            last = rows[-1]
            after, inclusive = (getattr(last, since.key), last.package_id, last.number), False
            size = min(size * 4, PAGE)

    # ------------------------------------------------------------------ the report

    def fixity_tally(self, locations: Sequence[str], verified_since: datetime,
                     due_before: datetime) -> CopyTally:
        """Counts for the coverage figure, summed in the database: per location, the
        copies whose last deep check, at or after ``verified_since``, found them whole; the
        versions, and those covered in every one of ``locations``; the copies
        whose deep deadline counts from before ``due_before`` (overdue). Raises
        CatalogUnavailable."""
        wanted = list(dict.fromkeys(locations))
        self._cover(wanted)
        # Covered: found whole by its last deep check, inside the window; a copy
        # whose last deep check failed is not, however recent its last good one.
        # Nor is one a delivery found damaged since: it is failing (a delivery is
        # never counted as a deep check, ingest.fixity_policy.DELIVERY).
        ok = case((and_(FixityState.last_deep_ok_at >= verified_since,
                        FixityState.last_deep_outcome == "ok",
                        FixityState.delivery_failed_check_id.is_(None)), 1), else_=0)
        late = case((FixityState.deep_base_at < due_before, 1), else_=0)
        ours = FixityState.location.in_(wanted)
        with self._read() as session:
            rows = {row.location: row for row in session.execute(
                select(FixityState.location, func.count().label("copies"),
                       func.sum(ok).label("covered"), func.sum(late).label("overdue"))
                .where(ours).group_by(FixityState.location))}
            if len(rows) > 1:
                per_version = (select(func.sum(ok).label("covered"))
                               .where(ours)
                               .group_by(FixityState.package_id, FixityState.number)
                               .subquery())
                versions, covered = session.execute(
                    select(func.count(),
                           func.sum(case((per_version.c.covered == len(rows), 1), else_=0)))
                ).one()
            else:  # one location: its figures are the versions'
                only = next(iter(rows.values()), None)
                versions, covered = (only.copies, only.covered) if only else (0, 0)
        per_location = {location: (int(rows[location].covered or 0), int(rows[location].copies))
                        for location in wanted if location in rows}
        return CopyTally(versions=int(versions or 0), covered=int(covered or 0),
                         per_location=per_location,
                         overdue=sum(int(row.overdue or 0) for row in rows.values()))

    def fixity_failures(self, locations: Sequence[str], since: datetime | None = None,
                        limit: int | None = None) -> tuple[list[RecordedCheck], int]:
        """Failed checks, oldest first, the first ``limit`` of them, and how many
        there are in all. With ``since``: every failed check at or after it. Without:
        what is wrong now, each copy's (in ``locations``) last check of a tier when
        it failed. Raises CatalogUnavailable."""
        chosen: Select[Any] | CompoundSelect[Any]
        if since is not None:
            chosen = (select(FixityCheck.check_id)
                      .where(FixityCheck.checked_at >= since, FixityCheck.outcome == "failed"))
        else:
            wanted = list(dict.fromkeys(locations))
            self._cover(wanted)
            failing = and_(FixityState.location.in_(wanted), FAILING)
            chosen = union(
                select(FixityState.last_deep_check_id.label("check_id"))
                .where(failing, FixityState.last_deep_outcome == "failed"),
                select(FixityState.last_shallow_check_id.label("check_id"))
                .where(failing, FixityState.last_shallow_outcome == "failed"),
                select(FixityState.delivery_failed_check_id.label("check_id"))
                .where(failing, FixityState.delivery_failed_check_id.is_not(None)))
        ids = chosen.subquery()
        query = (select(FixityCheck).where(FixityCheck.check_id.in_(select(ids.c.check_id)))
                 .order_by(FixityCheck.checked_at, FixityCheck.check_id))
        if limit is not None:
            query = query.limit(limit)
        with self._read() as session:
            total = session.execute(select(func.count()).select_from(ids)).scalar_one()
            checks = [_recorded(row) for row in session.execute(query).scalars()]
        return checks, int(total)

    def failing_copies(self, location: str) -> set[tuple[str, int]]:
        """(package id, version) of each copy in ``location`` whose last deep check
        failed, or that a delivery found damaged since: an index scan of the
        failing copies (``ix_fixity_state_failing``). Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(FixityState.package_id, FixityState.number)
                .where(FixityState.location == location, FAILING,
                       _damaged())).all()
        return {(package_id, number) for package_id, number in rows}

    def copies_verified_at(self, package_id: str,
                           numbers: Sequence[int]) -> dict[tuple[int, str], datetime | None]:
        """When a deep check last found each copy of versions ``numbers`` of a
        package whole, by (version, location); None: never. A copy the schedule
        does not track yet is left out. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(FixityState.number, FixityState.location, FixityState.last_deep_ok_at)
                .where(FixityState.package_id == package_id,
                       FixityState.number.in_(list(numbers)))).all()
        return {(number, location): at for number, location, at in rows}

    # ------------------------------------------------------------------ queue and record

    def enqueue_checks(self, planned: Sequence[PlannedCheck], queued_at: datetime,
                       stale_before: datetime) -> list[PlannedCheck]:
        """Mark planned checks queued and return those this call queued: a check
        already queued since ``stale_before`` (by a run still going, or another
        planner) is left out, so no copy is queued twice. Raises CatalogUnavailable."""
        taken = []
        with self._write() as session:
            for check in planned:
                column = (FixityState.queued_deep_at if check.tier == DEEP
                          else FixityState.queued_shallow_at)
                result = session.execute(
                    cast_table(FixityState).update()
                    .where(FixityState.package_id == check.package_id,
                           FixityState.number == check.number,
                           FixityState.location == check.location,
                           or_(column.is_(None), column < stale_before))
                    .values({column.key: queued_at}))
                if rows_changed(result):
                    taken.append(check)
        return taken

    def record_check_of_copy(self, check: RecordedCheck, events: Sequence[NewEvent] = ()) -> None:
        """Keep one check of one copy with its events, and finish its queued check, in
        one transaction; the copy's row takes it as its last check of the tier when
        it is the latest (a check recorded later at the same time wins); a deep
        check, or a refused delivery (``DELIVERY``, which moves no deadline),
        also becomes the version's last fixity result (``show``): "failed" while
        any copy's last deep check failed or a delivery found it damaged since. Raises
        VersionNotFound (also for a version never committed), CatalogUnavailable."""
        with self._write() as session:
            state = session.execute(
                select(Version.state).where(Version.package_id == check.package_id,
                                            Version.number == check.number)
            ).scalar_one_or_none()
            if state != COMMITTED:
                raise VersionNotFound(
                    f"package {check.package_id} has no version {check.number}")
            key = (check.package_id, check.number, check.location)
            row = self._locked_state(session, key)
            if row is None:  # a copy in a location the schedule does not cover (yet)
                self._track_version(session, check.package_id, check.number, [check.location])
                row = self._locked_state(session, key)
                assert row is not None
            recorded = FixityCheck(
                package_id=check.package_id, number=check.number, location=check.location,
                tier=check.tier, checked_at=check.checked_at, outcome=check.outcome,
                findings=[f.to_dict() for f in check.findings])
            session.add(recorded)
            session.flush()
            self._shift_backlog(session, _note_check(row, check, recorded.check_id))
            if check.tier in (DEEP, DELIVERY):
                # The version is as whole as its worst copy: "ok" only while no
                # copy's last deep check failed, nor a delivery since, whichever
                # copy was checked last.
                session.flush()
                failing = session.execute(
                    select(FixityState.location)
                    .where(FixityState.package_id == check.package_id,
                           FixityState.number == check.number, _damaged()).limit(1)
                ).first()
                session.execute(
                    cast_table(Version).update()
                    .where(Version.package_id == check.package_id,
                           Version.number == check.number)
                    .values(last_fixity_at=check.checked_at,
                            last_fixity_outcome="failed" if failing else check.outcome))
            append_events(session, events)

    @staticmethod
    def _locked_state(session: Session, key: tuple[str, int, str]) -> FixityState | None:
        return session.execute(
            select(FixityState)
            .where(FixityState.package_id == key[0], FixityState.number == key[1],
                   FixityState.location == key[2])
            .with_for_update()).scalar_one_or_none()

    # ------------------------------------------------------------------ other readers

    def fixity_checks(self, since: datetime | None = None,
                      failed_only: bool = False) -> list[RecordedCheck]:
        """Recorded checks, oldest first, those at or after ``since`` (all when None),
        only failures when ``failed_only``. Raises CatalogUnavailable."""
        query = select(FixityCheck).order_by(FixityCheck.checked_at, FixityCheck.check_id)
        if since is not None:
            query = query.where(FixityCheck.checked_at >= since)
        if failed_only:
            query = query.where(FixityCheck.outcome == "failed")
        with self._read() as session:
            return [_recorded(row) for row in session.execute(query).scalars()]

    def fixity_checks_per_day(self, since: datetime,
                              until: datetime) -> list[tuple[date, str, str, int]]:
        """How many checks were recorded on each UTC day from ``since`` up to (not
        including) ``until``, by tier and outcome: (day, tier, outcome, checks),
        days in order; a day without a check has no row. Counted in the catalog
        (the index on ``checked_at``), however many checks there are. Raises
        CatalogUnavailable."""
        with self._read() as session:
            if session.get_bind().dialect.name == "postgresql":
                day: ColumnElement[Any] = func.date(func.timezone("UTC", FixityCheck.checked_at))
            else:  # SQLite keeps the UTC wall time: its date is the UTC day
                day = func.date(FixityCheck.checked_at)
            day = day.label("day")
            rows = session.connection().execute(
                select(day, FixityCheck.tier, FixityCheck.outcome, func.count())
                .where(FixityCheck.checked_at >= since, FixityCheck.checked_at < until)
                .group_by(day, FixityCheck.tier, FixityCheck.outcome)
                .order_by(day, FixityCheck.tier, FixityCheck.outcome)).all()
        return [(row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0])),
                 str(row[1]), str(row[2]), int(row[3])) for row in rows]

    def version_states(self) -> dict[tuple[str, int], str]:
        """Every version row's state (``pending`` claim or ``committed``), by
        (package id, number): reconciliation tells crashed ingests from strangers
        with it. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(select(Version.package_id, Version.number, Version.state))
            return {(row.package_id, row.number): row.state for row in rows}

    def committed_paths(self) -> dict[tuple[str, int], set[str]]:
        """The bag-relative paths of the objects every committed version is made
        of, by (package id, number of the version whose prefix holds them): a
        file shared with an earlier version (``ingest.layout``) under that one's.
        Raises CatalogUnavailable."""
        query = (select(File.package_id, File.number, File.path, File.held_by)
                 .join(Version, and_(Version.package_id == File.package_id,
                                     Version.number == File.number))
                 .where(Version.state == COMMITTED))
        paths: dict[tuple[str, int], set[str]] = {}
        with self._read() as session:
            for row in session.execute(query):
                holder = row.held_by or row.number
                paths.setdefault((row.package_id, holder), set()).add(row.path)
        return paths


def _recorded(row: FixityCheck) -> RecordedCheck:
    return RecordedCheck(package_id=row.package_id, number=row.number, location=row.location,
                         tier=row.tier, checked_at=row.checked_at,
                         findings=findings_of(row.findings))
