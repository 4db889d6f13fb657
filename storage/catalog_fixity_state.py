"""Keeping the per-copy fixity rows: one ``fixity_state`` row per copy, and the
bytes of each location's copies by the hour their deep deadline counts from.

Each copy (a committed version in one location) gets its row when the version
is committed or imported, or a copy of it is noted (``_track_version``, called
by ``commit_version``, ``import_version`` and ``record_copies``); recorded
checks move it (``_note_check``) and its bytes in ``fixity_backlog``
(``_shift_backlog``). A location gets its rows the first time the schedule is
asked about it (``_cover``). On PostgreSQL that backfill holds an exclusive
advisory lock and every insert of rows a shared one, so a version committed
meanwhile cannot be missed; SQLite's writers are serialized anyway.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Integer,
    Text,
    and_,
    bindparam,
    cast,
    delete,
    exists,
    func,
    literal,
    select,
    text,
)
from sqlalchemy.orm import Session

from ingest.fixity_policy import DEEP, DELIVERY, RecordedCheck
from storage.catalog_base import (
    CatalogBase,
    cast_table,
    dialect_name,
    prepared_upsert,
    rows_changed,
)
from storage.catalog_rows import COMMITTED, utc_now
from storage.tables import File, Version
from storage.tables_fixity import FixityBacklog, FixityLocation, FixityState
from storage.tables_replicas import VersionCopy

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR = timedelta(hours=1)
_LOCATIONS_LOCK = "strongroom-fixity-locations"
#: where a committed version gets fixity rows: the schedule's locations and its copies'
_TRACKED_LOCATIONS = select(cast_table(FixityLocation).c.location).union(
    select(cast_table(VersionCopy).c.location)
    .where(cast_table(VersionCopy).c.package_id == bindparam("b_package_id"),
           cast_table(VersionCopy).c.number == bindparam("b_number")))


def hour_of(moment: datetime) -> int:
    """Whole hours since 1970 (the ``fixity_backlog`` bucket of a time)."""
    return (moment - _EPOCH) // _HOUR


def _hour_sql(session: Session, column: ColumnElement[Any]) -> ColumnElement[Any]:
    """``hour_of`` in this database's SQL."""
    if session.get_bind().dialect.name == "postgresql":
        return cast(func.floor(func.extract("epoch", column) / 3600), BigInteger)
    # SQLite keeps UTC wall time as text; strftime('%s') would round the
    # microseconds up into the next second (and hour): cut them first
    return cast(func.strftime("%s", func.substr(column, 1, 19)), Integer) / 3600




def _hold_locations(session: Session, shared: bool) -> None:
    """Serialize adding a location's rows with adding any copy's row (PostgreSQL;
    SQLite's write transactions are serial already)."""
    if session.get_bind().dialect.name == "postgresql":
        name = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        session.execute(text(f"SELECT {name}(hashtext(:key))"), {"key": _LOCATIONS_LOCK})


class FixityStateUpkeep(CatalogBase):
    """Part of ``SqlCatalog`` (through ``FixitySchedule``): needs ``self._write()``
    and ``self._read()`` sessions."""

    def _track_version(self, session: Session, package_id: str, number: int,
                       locations: Iterable[str] = (), *,
                       committed: tuple[datetime, int] | None = None) -> None:
        """Give a committed version a ``fixity_state`` row in every location the
        schedule covers, every location a copy of it is noted in, and
        ``locations``, where it has none yet. A version not committed gets none:
        only committed versions are checked. Called inside the write transaction
        that commits, imports or notes copies, before its events are appended.
        ``committed`` (when, bytes) is given by the commit that has just made
        the version and written its files: neither is read again."""
        _hold_locations(session, shared=True)
        if committed is None:
            version = session.execute(
                select(Version.state, Version.created_at)
                .where(Version.package_id == package_id, Version.number == number)).one_or_none()
            if version is None or version.state != COMMITTED:
                return
            made_at = version.created_at
            octets = int(session.execute(
                select(func.coalesce(func.sum(File.size), 0))
                .where(File.package_id == package_id, File.number == number)).scalar_one())
        else:
            made_at, octets = committed
        wanted = set(locations)
        wanted.update(session.execute(
            _TRACKED_LOCATIONS, {"b_package_id": package_id, "b_number": number}).scalars())
        added = []
        statement = prepared_upsert(dialect_name(session), FixityState)
        for location in sorted(wanted):
            inserted = session.execute(statement, {
                "package_id": package_id, "number": number, "location": location,
                "octets": octets, "made_at": made_at, "deep_base_at": made_at,
                "shallow_base_at": made_at})
            if rows_changed(inserted):
                added.append((location, hour_of(made_at), 1, octets))
        self._shift_backlog(session, added)

    def _untrack_version(self, session: Session, package_id: str, number: int) -> None:
        """Remove a withdrawn version's ``fixity_state`` rows and their bytes from
        the backlog: no run plans a check of it again."""
        rows = session.execute(
            select(FixityState.location, FixityState.deep_base_at, FixityState.octets)
            .where(FixityState.package_id == package_id, FixityState.number == number)).all()
        session.execute(delete(FixityState).where(FixityState.package_id == package_id,
                                                  FixityState.number == number))
        self._shift_backlog(session, [(location, hour_of(base), -1, -octets)
                                      for location, base, octets in rows])

    def _shift_backlog(self, session: Session,
                       changes: Iterable[tuple[str, int, int, int]]) -> None:
        """Add (location, hour, copies, bytes) changes to the backlog, in (location,
        hour) order so that two transactions never wait for each other's rows in
        turn; rows left with no copies go."""
        emptied = []
        statement = prepared_upsert(dialect_name(session), FixityBacklog,
                                    ("location", "hour"), add=("copies", "octets"))
        for location, hour, copies, octets in sorted(changes):
            session.execute(statement, {"location": location, "hour": hour, "copies": copies,
                                        "octets": octets})
            if copies < 0:
                emptied.append((location, hour))
        for location, hour in emptied:
            session.execute(delete(FixityBacklog).where(
                FixityBacklog.location == location, FixityBacklog.hour == hour,
                FixityBacklog.copies <= 0))

    def _cover(self, locations: Sequence[str]) -> None:
        """Make sure the schedule covers ``locations``: the first time a location is
        named, every committed version gets its row there, and its bytes are
        added to the backlog. Raises CatalogUnavailable."""
        covered: set[str] = self.__dict__.setdefault("_fixity_covered", set())
        wanted = set(locations) - covered
        if not wanted:
            return  # a location once covered stays covered
        with self._read() as session:
            known = set(session.execute(
                select(FixityLocation.location)
                .where(FixityLocation.location.in_(wanted))).scalars())
        if wanted <= known:
            covered.update(known)
            return
        with self._write() as session:
            _hold_locations(session, shared=False)
            for location in sorted(wanted - known):
                if session.get(FixityLocation, location) is not None:
                    continue  # another process added it meanwhile
                session.add(FixityLocation(location=location, added_at=utc_now()))
                self._add_location_rows(session, location)
        covered.update(wanted)

    def _add_location_rows(self, session: Session, location: str) -> None:
        sizes = (select(File.package_id, File.number, func.sum(File.size).label("octets"))
                 .group_by(File.package_id, File.number).subquery())
        has_row = exists().where(FixityState.package_id == Version.package_id,
                                 FixityState.number == Version.number,
                                 FixityState.location == location)
        missing = (
            select(Version.package_id, Version.number, Version.created_at,
                   func.coalesce(sizes.c.octets, 0).label("octets"))
            .join(sizes, and_(sizes.c.package_id == Version.package_id,
                              sizes.c.number == Version.number), isouter=True)
            .where(Version.state == COMMITTED, ~has_row)
            .subquery())
        hour = _hour_sql(session, missing.c.created_at)
        buckets = session.execute(
            select(hour.label("hour"), func.count(), func.sum(missing.c.octets))
            .group_by(hour)).all()
        session.execute(
            cast_table(FixityState).insert().from_select(
                ["package_id", "number", "location", "octets", "made_at", "deep_base_at",
                 "shallow_base_at"],
                select(missing.c.package_id, missing.c.number, literal(location, Text),
                       missing.c.octets, missing.c.created_at, missing.c.created_at,
                       missing.c.created_at)))
        self._shift_backlog(session, [(location, int(h), int(n), int(o or 0))
                                      for h, n, o in buckets])


def _note_check(row: FixityState, check: RecordedCheck,
                check_id: int) -> list[tuple[str, int, int, int]]:
    """Update a copy's row for a recorded check; returns the backlog changes (the
    copy's bytes move to the hour of its new deep baseline)."""
    at = check.checked_at
    moves: list[tuple[str, int, int, int]] = []
    if check.tier == DELIVERY:
        # Damage seen on the way out: the copy fails until a deep check after it
        # says otherwise; no deadline, no queue, no coverage moves (it was no check
        # of the whole copy). A delivery that found nothing is no news.
        last_deep = row.last_deep_at
        if check.outcome == "failed" and (last_deep is None or at >= last_deep) and (
                row.delivery_failed_at is None or at >= row.delivery_failed_at):
            row.delivery_failed_at, row.delivery_failed_check_id = at, check_id
        return moves
    if check.tier == DEEP:
        if row.last_deep_at is None or at >= row.last_deep_at:
            before, after = hour_of(row.deep_base_at), hour_of(at)
            if before != after:
                moves = [(row.location, before, -1, -row.octets),
                         (row.location, after, 1, row.octets)]
            row.last_deep_at, row.deep_base_at = at, at
            row.last_deep_check_id, row.last_deep_outcome = check_id, check.outcome
            if row.delivery_failed_at is not None and at >= row.delivery_failed_at:
                row.delivery_failed_at = row.delivery_failed_check_id = None  # the last word
        if row.last_shallow_at is None or at >= row.last_shallow_at:
            # A deep check looks at all that a shallow one does (every file there,
            # at its size), and more: the latest of either is the last word on it.
            # A copy whose shallow check failed, then was repaired or filled and
            # found whole, no longer fails until the next shallow check.
            row.last_shallow_at = at
            row.last_shallow_check_id, row.last_shallow_outcome = check_id, check.outcome
        if check.outcome == "ok" and (row.last_deep_ok_at is None or at >= row.last_deep_ok_at):
            row.last_deep_ok_at = at
        row.queued_deep_at = None
    else:
        if row.last_shallow_at is None or at >= row.last_shallow_at:
            row.last_shallow_at = at
            row.last_shallow_check_id, row.last_shallow_outcome = check_id, check.outcome
        row.queued_shallow_at = None
    row.shallow_base_at = max(row.shallow_base_at, at)
    return moves
