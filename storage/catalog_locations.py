"""The catalog's side of a storage location's life: what it lacks (to fill it),
whether what it holds is held whole elsewhere (to retire it), and retiring it.

A location is *configured* by the settings; the catalog notes a copy of a
version in it (``version_copies``) once the copy was written and checked back,
and plans checks of every configured location (``fixity_locations``,
``fixity_state``). Retiring a location removes all of that for it in one
transaction, with the audit event that says who retired it and why, and keeps a
``retired_locations`` row.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, exists, func, or_, select
from sqlalchemy.orm import Session

from ingest.location_records import LocationGap, RetiredLocationRecord
from ingest.models import Actor, AuditEvent, NewEvent
from storage.audit_log import append_events
from storage.catalog_base import cast_table, rows_changed
from storage.catalog_fixity_state import FixityStateUpkeep, _hold_locations
from storage.catalog_rows import COMMITTED
from storage.tables import Version
from storage.tables_fixity import (
    FAILING,
    FILL_QUEUED,
    FixityBacklog,
    FixityLocation,
    FixityState,
)
from storage.tables_replicas import ObjectVersion, RetiredLocation, VersionCopy

_VERIFIED = "verified"


def _held_whole(location: str) -> ColumnElement[bool]:
    """A condition on ``Version``: a copy of it is noted in ``location`` as
    verified, its last checks there did not fail, and no delivery since found it
    damaged."""
    failing = exists().where(
        FixityState.package_id == Version.package_id, FixityState.number == Version.number,
        FixityState.location == location, FAILING)
    noted = exists().where(
        VersionCopy.package_id == Version.package_id, VersionCopy.number == Version.number,
        VersionCopy.location == location, VersionCopy.state == _VERIFIED)
    return and_(noted, ~failing)


class LocationLifecycle(FixityStateUpkeep):
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""

    def committed_version_count(self) -> int:
        """How many versions are committed (withdrawn ones are not). Raises CatalogUnavailable."""
        with self._read() as session:
            return int(session.execute(
                select(func.count()).select_from(Version)
                .where(Version.state == COMMITTED)).scalar_one())

    def versions_not_held_whole(self, location: str, *, after: tuple[str, int] | None = None,
                                limit: int = 500) -> list[tuple[str, int]]:
        """Committed versions of which ``location`` holds no copy the catalog notes
        whole (none noted, one noted damaged, or one whose last check failed),
        in (package, number) order after ``after``: the work of filling it.
        Raises CatalogUnavailable."""
        return self._versions_page(~_held_whole(location), after, limit)

    def holds_whole(self, location: str, package_id: str, number: int) -> bool:
        """Whether ``location`` holds a copy of the committed version that the
        catalog notes whole (the rule ``versions_not_held_whole`` leaves out).
        Raises CatalogUnavailable."""
        with self._read() as session:
            return bool(session.execute(select(exists().where(
                Version.package_id == package_id, Version.number == number,
                Version.state == COMMITTED, _held_whole(location)))).scalar_one())

    def queue_fills(self, location: str, versions: Sequence[tuple[str, int]],
                    queued_at: datetime, stale_before: datetime) -> list[tuple[str, int]]:
        """Note the copies of ``versions`` in ``location`` queued to be filled and
        return those this call noted: one queued since ``stale_before`` (by a
        fill still going) is left out, so no copy is sent twice, as with
        ``enqueue_checks``. Raises CatalogUnavailable."""
        self._cover([location])  # every committed version has its row there
        taken = []
        with self._write() as session:
            for package_id, number in versions:
                result = session.execute(
                    cast_table(FixityState).update()
                    .where(FixityState.package_id == package_id, FixityState.number == number,
                           FixityState.location == location,
                           or_(FixityState.queued_fill_at.is_(None),
                               FixityState.queued_fill_at < stale_before))
                    .values(queued_fill_at=queued_at))
                if rows_changed(result):
                    taken.append((package_id, number))
        return taken

    def finish_fill(self, location: str, versions: Sequence[tuple[str, int]]) -> None:
        """The copies of ``versions`` in ``location`` are no longer queued to be
        filled: filled, found whole, failed, or never sent. Raises CatalogUnavailable."""
        with self._write() as session:
            for package_id, number in versions:
                session.execute(
                    cast_table(FixityState).update()
                    .where(FixityState.package_id == package_id, FixityState.number == number,
                           FixityState.location == location, FILL_QUEUED)
                    .values(queued_fill_at=None))

    def fills_queued(self, since: datetime) -> dict[str, int]:
        """Per location, the copies queued to be filled at or after ``since`` and
        not yet finished (``ix_fixity_state_fill_queued``). Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(FixityState.location, func.count())
                .where(FILL_QUEUED, FixityState.queued_fill_at >= since)
                .group_by(FixityState.location)).all()
        return {location: int(count) for location, count in rows}

    def versions_held(self, location: str, *, after: tuple[str, int] | None = None,
                      limit: int = 500) -> list[tuple[str, int]]:
        """Committed versions of which the catalog notes a copy in ``location``, in
        (package, number) order after ``after``: what retiring it must find held
        elsewhere. Raises CatalogUnavailable."""
        return self._versions_page(exists().where(
            VersionCopy.package_id == Version.package_id,
            VersionCopy.number == Version.number, VersionCopy.location == location), after, limit)

    def _versions_page(self, condition: ColumnElement[bool], after: tuple[str, int] | None,
                       limit: int) -> list[tuple[str, int]]:
        """(package id, number) of up to ``limit`` committed versions meeting
        ``condition``, in that order after ``after`` (a keyset page)."""
        query = (select(Version.package_id, Version.number)
                 .where(Version.state == COMMITTED, condition)
                 .order_by(Version.package_id, Version.number).limit(limit))
        if after is not None:
            query = query.where((Version.package_id > after[0])
                                | ((Version.package_id == after[0]) & (Version.number > after[1])))
        with self._read() as session:
            return [(p, int(n)) for p, n in session.execute(query).all()]

    def retirement_gaps(self, location: str, configured: Sequence[str], *,
                        limit: int = 20) -> tuple[list[LocationGap], int]:
        """The committed versions ``location`` holds a copy of that some configured
        location does not hold whole (the first ``limit``, each with the
        locations it lacks), and how many there are. Raises CatalogUnavailable."""
        with self._read() as session:
            return _gaps(session, location, configured, limit)

    def retire_location(self, location: str, configured: Sequence[str], event: NewEvent,
                        reason: str) -> tuple[AuditEvent | None, int, list[LocationGap]]:
        """Take ``location`` out of the catalog when every committed version it
        holds is held whole in every ``configured`` location: forget its copies,
        its planned checks and its object-version notes, record it retired
        (who, when, why: ``event``, appended in the same transaction) and return
        (the event, the copies it held, no gaps). When a version is not held
        whole elsewhere nothing changes: (None, 0, the first gaps). Checked
        under the lock that adding a copy takes, so no copy slips in between.
        Raises CatalogUnavailable."""
        with self._write() as session:
            _hold_locations(session, shared=False)
            gaps, _ = _gaps(session, location, configured, 20)
            if gaps:
                return None, 0, gaps
            copies = int(session.execute(
                select(func.count()).select_from(VersionCopy)
                .where(VersionCopy.location == location)).scalar_one())
            for table in (VersionCopy, FixityState, FixityBacklog, FixityLocation, ObjectVersion):
                session.execute(delete(table).where(table.location == location))
            session.execute(delete(RetiredLocation).where(RetiredLocation.location == location))
            [sealed] = append_events(session, [event])
            actor = event.actor.to_dict() if event.actor else {"name": event.agent}
            session.add(RetiredLocation(location=location, retired_at=event.occurred_at,
                                        retired_by=actor, reason=reason, copies=copies,
                                        event_seq=sealed.seq))
        covered = self.__dict__.get("_fixity_covered")
        if isinstance(covered, set):
            covered.discard(location)
        return sealed, copies, []

    def retired_locations(self) -> list[RetiredLocationRecord]:
        """Every retired location, the latest retired first. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(select(RetiredLocation)
                                   .order_by(RetiredLocation.retired_at.desc())).scalars().all()
            return [RetiredLocationRecord(r.location, r.retired_at, Actor.from_dict(r.retired_by),
                                          r.reason, int(r.copies), int(r.event_seq))
                    for r in rows]


def _gaps(session: Session, location: str, configured: Sequence[str],
          limit: int) -> tuple[list[LocationGap], int]:
    """Counted and listed in the database: a location may hold millions."""
    if location in configured:
        raise ValueError(f"{location} is configured: it cannot be retired")
    held_here = exists().where(VersionCopy.package_id == Version.package_id,
                               VersionCopy.number == Version.number,
                               VersionCopy.location == location)
    whole_everywhere = and_(*[_held_whole(other) for other in configured]) if configured else None
    lacking = Version.state == COMMITTED
    lacking = and_(lacking, held_here) if whole_everywhere is None \
        else and_(lacking, held_here, ~whole_everywhere)
    total = int(session.execute(select(func.count()).select_from(Version)
                                .where(lacking)).scalar_one())
    first = session.execute(select(Version.package_id, Version.number).where(lacking)
                            .order_by(Version.package_id, Version.number).limit(limit)).all()
    gaps = []
    for package_id, number in first:
        missing = tuple(other for other in sorted(configured) if not session.execute(
            select(exists().where(Version.package_id == package_id, Version.number == number,
                                  _held_whole(other)))).scalar_one())
        gaps.append(LocationGap(package_id, int(number), missing))
    return gaps, total


__all__ = ["LocationLifecycle"]
