"""The catalog's fixity checks of every copy: when each was last checked, by which tier, what is due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, literal, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite

from ingest.errors import VersionNotFound
from ingest.fixity_policy import DEEP, CopyState, PlannedCheck, RecordedCheck
from ingest.models import NewEvent
from storage.audit_log import append_events
from storage.catalog_rows import COMMITTED, findings_of
from storage.tables import File, Version
from storage.tables_fixity import FixityCheck, FixityQueueEntry

QUEUED, DONE = "queued", "done"


class FixitySchedule:
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""

    def fixity_copies(self, locations: Sequence[str]) -> list[CopyState]:
        """Every committed version in every one of ``locations``, with its size and
        the times of its last checks and unfinished queued checks, read in one
        query. Raises CatalogUnavailable."""
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
        queued = (select(FixityQueueEntry.package_id, FixityQueueEntry.number,
                         FixityQueueEntry.location,
                         (literal("queued-") + FixityQueueEntry.tier).label("kind"),
                         FixityQueueEntry.queued_at.label("at"))
                  .where(FixityQueueEntry.state == QUEUED))
        times = union_all(last, last_ok, queued).subquery()
        query = (
            select(Version.package_id, Version.number, Version.created_at,
                   sizes.c.octets, times.c.location, times.c.kind, times.c.at)
            .join(sizes, and_(sizes.c.package_id == Version.package_id,
                              sizes.c.number == Version.number), isouter=True)
            .join(times, and_(times.c.package_id == Version.package_id,
                              times.c.number == Version.number), isouter=True)
            .where(Version.state == COMMITTED)
        )
        wanted = list(dict.fromkeys(locations))
        base: dict[tuple[str, int], tuple[datetime, int]] = {}
        seen: dict[tuple[str, int, str], dict[str, datetime]] = {}
        with self._read() as session:  # type: ignore[attr-defined]
            for row in session.execute(query):
                version = (row.package_id, row.number)
                base[version] = (row.created_at, int(row.octets or 0))
                if row.location in wanted and row.at is not None:
                    seen.setdefault((*version, row.location), {})[row.kind] = row.at
        copies = []
        for (package_id, number), (committed_at, size) in sorted(base.items()):
            for location in wanted:
                times_of = seen.get((package_id, number, location), {})
                copies.append(CopyState(
                    package_id=package_id, number=number, location=location, size=size,
                    committed_at=committed_at, last_deep=times_of.get("deep"),
                    last_deep_ok=times_of.get("deep-ok"), last_shallow=times_of.get("shallow"),
                    queued_deep=times_of.get("queued-deep"),
                    queued_shallow=times_of.get("queued-shallow"),
                ))
        return copies

    def enqueue_checks(self, planned: Sequence[PlannedCheck], queued_at: datetime,
                       stale_before: datetime) -> list[PlannedCheck]:
        """Mark planned checks queued and return those this call queued: a check
        already queued since ``stale_before`` (by a run still going, or another
        planner) is left out, so no copy is queued twice. Raises CatalogUnavailable."""
        taken = []
        with self._write() as session:  # type: ignore[attr-defined]
            dialect = session.get_bind().dialect.name
            builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
            for check in planned:
                statement = builder(FixityQueueEntry).values(
                    package_id=check.package_id, number=check.number, location=check.location,
                    tier=check.tier, state=QUEUED, queued_at=queued_at, finished_at=None)
                table = FixityQueueEntry.__table__
                statement = statement.on_conflict_do_update(
                    index_elements=["package_id", "number", "location", "tier"],
                    set_={"state": QUEUED, "queued_at": queued_at, "finished_at": None},
                    where=(table.c.state != QUEUED) | (table.c.queued_at < stale_before),
                )
                if session.execute(statement).rowcount:
                    taken.append(check)
        return taken

    def record_check(self, check: RecordedCheck, events: Sequence[NewEvent] = ()) -> None:
        """Keep one check of one copy with its events, and finish its queue entry, in
        one transaction; a deep check also becomes the version's last fixity result
        (``show``). Raises VersionNotFound (also for a version never committed),
        CatalogUnavailable."""
        with self._write() as session:  # type: ignore[attr-defined]
            state = session.execute(
                select(Version.state).where(Version.package_id == check.package_id,
                                            Version.number == check.number)
            ).scalar_one_or_none()
            if state != COMMITTED:
                raise VersionNotFound(
                    f"package {check.package_id} has no version {check.number}")
            session.add(FixityCheck(
                package_id=check.package_id, number=check.number, location=check.location,
                tier=check.tier, checked_at=check.checked_at, outcome=check.outcome,
                findings=[f.to_dict() for f in check.findings]))
            session.execute(
                update(FixityQueueEntry)
                .where(FixityQueueEntry.package_id == check.package_id,
                       FixityQueueEntry.number == check.number,
                       FixityQueueEntry.location == check.location,
                       FixityQueueEntry.tier == check.tier)
                .values(state=DONE, finished_at=check.checked_at)
                .execution_options(synchronize_session=False))
            if check.tier == DEEP:
                session.execute(
                    update(Version)
                    .where(Version.package_id == check.package_id,
                           Version.number == check.number)
                    .values(last_fixity_at=check.checked_at, last_fixity_outcome=check.outcome)
                    .execution_options(synchronize_session=False))
            append_events(session, events)

    def fixity_checks(self, since: datetime | None = None,
                      failed_only: bool = False) -> list[RecordedCheck]:
        """Recorded checks, oldest first, those at or after ``since`` (all when None),
        only failures when ``failed_only``. Raises CatalogUnavailable."""
        query = select(FixityCheck).order_by(FixityCheck.checked_at, FixityCheck.check_id)
        if since is not None:
            query = query.where(FixityCheck.checked_at >= since)
        if failed_only:
            query = query.where(FixityCheck.outcome == "failed")
        with self._read() as session:  # type: ignore[attr-defined]
            return [
                RecordedCheck(package_id=row.package_id, number=row.number,
                              location=row.location, tier=row.tier,
                              checked_at=row.checked_at, findings=findings_of(row.findings))
                for row in session.execute(query).scalars()
            ]

    def version_states(self) -> dict[tuple[str, int], str]:
        """Every version row's state (``pending`` claim or ``committed``), by
        (package id, number): reconciliation tells crashed ingests from strangers
        with it. Raises CatalogUnavailable."""
        with self._read() as session:  # type: ignore[attr-defined]
            rows = session.execute(select(Version.package_id, Version.number, Version.state))
            return {(row.package_id, row.number): row.state for row in rows}

    def committed_paths(self) -> dict[tuple[str, int], set[str]]:
        """The bag-relative paths of every committed version's files, by (package id,
        number). Raises CatalogUnavailable."""
        query = (select(File.package_id, File.number, File.path)
                 .join(Version, and_(Version.package_id == File.package_id,
                                     Version.number == File.number))
                 .where(Version.state == COMMITTED))
        paths: dict[tuple[str, int], set[str]] = {}
        with self._read() as session:  # type: ignore[attr-defined]
            for row in session.execute(query):
                paths.setdefault((row.package_id, row.number), set()).add(row.path)
        return paths
