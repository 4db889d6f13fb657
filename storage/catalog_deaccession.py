"""The catalog's deaccession requests and tombstones (``ingest.tombstones``).

Approving a request (``begin_deaccession``) is one transaction: the request
becomes ``deleting``, each version it covers is copied into ``tombstones``
(its files, sizes and digests) and its rows go (files, copies, fixity state and
checks), the package's latest version and sort keys follow what remains, and
the events are appended. From then on no reader finds the version and no
fixity run plans it; ``resolve_package`` and ``get_version`` answer
``Deaccessioned`` with the tombstone instead of not-found.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, or_, select, update
from sqlalchemy.orm import Session

from ingest.errors import Deaccessioned, DeaccessionRefused, DeaccessionRequestNotFound
from ingest.findings import Finding
from ingest.models import Actor, NewEvent, StoredFile, identifier_key
from ingest.tombstones import (
    DEACCESSIONED,
    DELETING,
    REJECTED,
    REQUESTED,
    WITHDRAWN,
    DeaccessionRequest,
    WithdrawnVersion,
)
from storage.audit_log import append_events
from storage.catalog_base import CatalogBase, cast_table, rows_changed
from storage.catalog_rows import COMMITTED, package_sort_keys, version_record
from storage.tables import File, Package, Version
from storage.tables_deaccession import DeaccessionRequestRow, Tombstone
from storage.tables_fixity import FixityCheck
from storage.tables_replicas import VersionCopy

#: the deaccessions that withdrew a package (by id or identifier), newest first;
#: and those that withdrew one version of it (every new package is looked up)
_WITHDRAWING = (select(DeaccessionRequestRow)
                .where(or_(DeaccessionRequestRow.package_id == bindparam("b_ref"),
                           DeaccessionRequestRow.identifier == bindparam("b_ref")),
                       DeaccessionRequestRow.state.in_(WITHDRAWN))
                .order_by(DeaccessionRequestRow.decided_at.desc()))
_WITHDRAWN_WHOLE = (select(DeaccessionRequestRow)
                    .where(DeaccessionRequestRow.package_id == bindparam("b_package_id"),
                           DeaccessionRequestRow.version.is_(None),
                           DeaccessionRequestRow.state.in_(WITHDRAWN))
                    .order_by(DeaccessionRequestRow.decided_at.desc()))
_WITHDRAWING_NUMBER = (_WITHDRAWING
                       .join(Tombstone, Tombstone.request_id == DeaccessionRequestRow.request_id)
                       .where(Tombstone.number == bindparam("b_number")))
#: the highest version number of a package a deaccession withdrew (0 if none)
_NEWEST_WITHDRAWN = (select(func.coalesce(func.max(cast_table(Tombstone).c.number), 0))
                     .where(cast_table(Tombstone).c.package_id == bindparam("b_package_id")))


class DeaccessionsAndTombstones(CatalogBase):
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions,
    and ``_untrack_version`` of the fixity schedule."""

    def add_deaccession_request(self, request: DeaccessionRequest,
                                events: Sequence[NewEvent] = ()) -> None:
        """Keep a new request. Raises DeaccessionRefused (DEACCESSION_PENDING) while
        another request of the package waits or is under way, CatalogUnavailable."""
        with self._write() as session:
            open_one = session.execute(
                select(DeaccessionRequestRow.request_id)
                .where(DeaccessionRequestRow.package_id == request.package_id,
                       DeaccessionRequestRow.state.in_((REQUESTED, DELETING)))
                .with_for_update()).scalars().first()
            if open_one is not None:
                raise DeaccessionRefused(Finding("DEACCESSION_PENDING", path=request.identifier,
                                                 found=open_one))
            session.add(DeaccessionRequestRow(
                request_id=request.request_id, package_id=request.package_id,
                identifier=request.identifier, identifier_key=identifier_key(request.identifier),
                version=request.version, reason=request.reason,
                state=REQUESTED, requested_by=request.requested_by.to_dict(),
                requested_at=request.requested_at))
            session.flush()
            append_events(session, events)

    def get_deaccession_request(self, request_id: str) -> DeaccessionRequest:
        """Raises DeaccessionRequestNotFound, CatalogUnavailable."""
        with self._read() as session:
            row = session.get(DeaccessionRequestRow, request_id)
            if row is None:
                raise DeaccessionRequestNotFound(f"no deaccession request {request_id!r}")
            return _request(row, _tombstone_rows(session, [request_id]))

    def list_deaccession_requests(self) -> list[DeaccessionRequest]:
        """Every request, newest first. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(DeaccessionRequestRow)
                .order_by(DeaccessionRequestRow.requested_at.desc(),
                          DeaccessionRequestRow.request_id)).scalars().all()
            stones = _tombstone_rows(session, [r.request_id for r in rows])
            return [_request(row, stones) for row in rows]

    def tombstones(self, package_id: str | None = None) -> list[DeaccessionRequest]:
        """Requests deleting or deaccessioned (of one package, or all), oldest first.
        Raises CatalogUnavailable."""
        with self._read() as session:
            query = select(DeaccessionRequestRow).where(DeaccessionRequestRow.state.in_(WITHDRAWN))
            if package_id is not None:
                query = query.where(DeaccessionRequestRow.package_id == package_id)
            rows = session.execute(query.order_by(DeaccessionRequestRow.requested_at)).scalars().all()
            stones = _tombstone_rows(session, [r.request_id for r in rows])
            return [_request(row, stones) for row in rows]

    def withdrawn_with_identifier_key(self, key: str) -> list[DeaccessionRequest]:
        """The requests that withdrew a package as a whole (deleting or
        deaccessioned) whose identifier has ``key`` (``ingest.models.identifier_key``),
        the latest decided first, by the index on it. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(DeaccessionRequestRow)
                .where(DeaccessionRequestRow.identifier_key == key,
                       DeaccessionRequestRow.version.is_(None),
                       DeaccessionRequestRow.state.in_(WITHDRAWN))
                .order_by(DeaccessionRequestRow.decided_at.desc(),
                          DeaccessionRequestRow.request_id)).scalars().all()
            stones = _tombstone_rows(session, [r.request_id for r in rows])
            return [_request(row, stones) for row in rows]

    def reject_deaccession(self, request_id: str, by: Actor, at: datetime, note: str | None,
                           events: Sequence[NewEvent] = ()) -> DeaccessionRequest:
        """requested -> rejected, with ``events``. Raises DeaccessionRequestNotFound,
        DeaccessionRefused, CatalogUnavailable."""
        with self._write() as session:
            self._decide(session, request_id, REJECTED, by, at, note)
            append_events(session, events)
            row = session.get(DeaccessionRequestRow, request_id)
            assert row is not None
            return _request(row, {})

    def begin_deaccession(self, request_id: str, by: Actor, at: datetime,
                          events: Sequence[NewEvent] = ()) -> DeaccessionRequest:
        """requested -> deleting: tombstones kept, versions withdrawn, events
        appended, in one transaction (see the module docstring). Raises
        DeaccessionRequestNotFound, DeaccessionRefused, CatalogUnavailable."""
        with self._write() as session:
            row = self._decide(session, request_id, DELETING, by, at, None)
            # The package's lock, as commit_version takes it: a version sharing
            # objects of a withdrawn one commits before (and is spared) or not at all.
            session.execute(select(Package.package_id)
                            .where(Package.package_id == row.package_id)
                            .with_for_update()).all()
            wanted = [Version.package_id == row.package_id, Version.state == COMMITTED]
            if row.version is not None:
                wanted.append(Version.number == row.version)
            versions = session.execute(select(Version).where(*wanted)
                                       .order_by(Version.number)).scalars().all()
            for version in versions:
                files = session.execute(
                    select(File).where(File.package_id == version.package_id,
                                       File.number == version.number)
                    .order_by(File.path)).scalars().all()
                session.add(Tombstone(package_id=version.package_id, number=version.number,
                                      request_id=request_id,
                                      files=[[f.path, f.size, f.sha256, f.sha512] for f in files]))
                self._withdraw_version(session, version.package_id, version.number)
            session.flush()
            _follow_latest(session, row.package_id)
            append_events(session, events)
            return _request(row, _tombstone_rows(session, [request_id]))

    def finish_deaccession(self, request_id: str, at: datetime,
                           events: Sequence[NewEvent] = ()) -> DeaccessionRequest:
        """deleting -> deaccessioned, with ``events`` (nothing written when it is
        deaccessioned already). Raises DeaccessionRequestNotFound, CatalogUnavailable."""
        with self._write() as session:
            finished = session.execute(
                update(DeaccessionRequestRow)
                .where(DeaccessionRequestRow.request_id == request_id,
                       DeaccessionRequestRow.state == DELETING)
                .values(state=DEACCESSIONED, completed_at=at)
                .execution_options(synchronize_session=False))
            if rows_changed(finished):
                append_events(session, events)
            row = session.get(DeaccessionRequestRow, request_id)
            if row is None:
                raise DeaccessionRequestNotFound(f"no deaccession request {request_id!r}")
            session.refresh(row)
            return _request(row, _tombstone_rows(session, [request_id]))

    def import_tombstone(self, request: DeaccessionRequest,
                         events: Sequence[NewEvent] = ()) -> bool:
        """Keep a tombstone read from the object store (a catalog rebuild); the
        versions of one request found under several keys are merged. False
        when every version was kept already. Raises CatalogUnavailable."""
        with self._write() as session:
            if session.get(DeaccessionRequestRow, request.request_id) is None:
                session.add(DeaccessionRequestRow(
                    request_id=request.request_id, package_id=request.package_id,
                    identifier=request.identifier,
                    identifier_key=identifier_key(request.identifier), version=request.version,
                    reason=request.reason, state=request.state,
                    requested_by=request.requested_by.to_dict(),
                    requested_at=request.requested_at,
                    decided_by=request.decided_by.to_dict() if request.decided_by else None,
                    decided_at=request.decided_at, decision_note=request.decision_note,
                    completed_at=request.completed_at))
                session.flush()
            added = False
            for version in request.versions:
                if session.get(Tombstone, (request.package_id, version.number)) is None:
                    session.add(Tombstone(
                        package_id=request.package_id, number=version.number,
                        request_id=request.request_id,
                        files=[[f.path, f.size, f.sha256, f.sha512] for f in version.files]))
                    added = True
            if added:
                append_events(session, events)
            return added

    # ------------------------------------------------------------------ inside other parts

    def _withdrawn(self, session: Session, ref: str, number: int | None = None) -> None:
        """Raise Deaccessioned when ``ref`` (a package id or identifier) names a
        package with no visible version left by a deaccession (``number`` None),
        or when its version ``number`` was deaccessioned; else return."""
        values: dict[str, str | int]
        if number is None:
            query, values = _WITHDRAWING, {"b_ref": ref}
        else:
            query, values = _WITHDRAWING_NUMBER, {"b_ref": ref, "b_number": number}
        row = session.execute(query, values).scalars().first()
        if row is None:
            return
        if number is None:
            visible = session.execute(
                select(Package.latest_version).where(Package.package_id == row.package_id)
            ).scalar_one_or_none()
            if visible is not None:
                return
        tombstone = _request(row, _tombstone_rows(session, [row.request_id]))
        what = f"version {number} of package" if number is not None else "package"
        raise Deaccessioned(
            f"{what} {row.identifier!r} was deaccessioned on {_day(row.decided_at)}"
            f" (request {row.request_id}): {row.reason}", tombstone)

    def _refuse_if_withdrawn_whole(self, session: Session, package_id: str) -> None:
        """Raise Deaccessioned when a deaccession withdrew the package as a whole (not
        one version of it): two people decided it leaves the archive, and no new
        version of it is claimed or committed after that, not even by an ingest
        already under way when they decided (asked under the package's lock, in
        the claim's and the commit's transactions)."""
        row = session.execute(_WITHDRAWN_WHOLE, {"b_package_id": package_id}).scalars().first()
        if row is None:
            return
        tombstone = _request(row, _tombstone_rows(session, [row.request_id]))
        raise Deaccessioned(
            f"package {row.identifier!r} was deaccessioned as a whole on {_day(row.decided_at)}"
            f" (request {row.request_id}): {row.reason}", tombstone)

    def _newest_withdrawn(self, session: Session, package_id: str) -> int:
        """The highest version number of the package a deaccession withdrew (0 if none):
        a withdrawn number is never given to a new version."""
        return int(session.execute(_NEWEST_WITHDRAWN, {"b_package_id": package_id}).scalar_one())

    def _decide(self, session: Session, request_id: str, state: str, by: Actor, at: datetime,
                note: str | None) -> DeaccessionRequestRow:
        row = session.get(DeaccessionRequestRow, request_id)
        if row is None:
            raise DeaccessionRequestNotFound(f"no deaccession request {request_id!r}")
        decided = session.execute(
            update(DeaccessionRequestRow)
            .where(DeaccessionRequestRow.request_id == request_id,
                   DeaccessionRequestRow.state == REQUESTED)
            .values(state=state, decided_by=by.to_dict(), decided_at=at, decision_note=note)
            .execution_options(synchronize_session=False))
        session.refresh(row)
        if rows_changed(decided) == 0:
            raise DeaccessionRefused(Finding("DEACCESSION_DECIDED", path=request_id,
                                             found=row.state))
        return row

    def _withdraw_version(self, session: Session, package_id: str, number: int) -> None:
        """Remove a version's rows (files, copies, fixity checks and state)."""
        self._untrack_version(session, package_id, number)
        for table in (File, FixityCheck, VersionCopy):
            session.execute(delete(table).where(table.package_id == package_id,
                                                table.number == number))
        session.execute(delete(Version).where(Version.package_id == package_id,
                                              Version.number == number))


def _follow_latest(session: Session, package_id: str) -> None:
    """Point the package row at its newest remaining committed version (None: invisible)."""
    latest = session.execute(
        select(Version).where(Version.package_id == package_id, Version.state == COMMITTED)
        .order_by(Version.number.desc())).scalars().first()
    if latest is None:
        values: dict[str, Any] = {"latest_version": None}
    else:
        record = version_record(latest, [])
        values = {"latest_version": latest.number, "title": latest.title,
                  **package_sort_keys(record, latest.committed_at or latest.created_at)}
    session.execute(update(Package).where(Package.package_id == package_id).values(**values)
                    .execution_options(synchronize_session=False))


def _tombstone_rows(session: Session, request_ids: Sequence[str]) -> dict[str, list[Tombstone]]:
    found: dict[str, list[Tombstone]] = {}
    if not request_ids:
        return found
    for stone in session.execute(
            select(Tombstone).where(Tombstone.request_id.in_(request_ids))
            .order_by(Tombstone.number)).scalars():
        found.setdefault(stone.request_id, []).append(stone)
    return found


def _request(row: DeaccessionRequestRow, stones: dict[str, list[Tombstone]]) -> DeaccessionRequest:
    requested_by = Actor.from_dict(row.requested_by) or Actor("unknown")
    return DeaccessionRequest(
        request_id=row.request_id, package_id=row.package_id, identifier=row.identifier,
        version=row.version, reason=row.reason, state=row.state,
        requested_by=requested_by, requested_at=row.requested_at,
        decided_by=Actor.from_dict(row.decided_by), decided_at=row.decided_at,
        decision_note=row.decision_note, completed_at=row.completed_at,
        versions=tuple(
            WithdrawnVersion(stone.number, tuple(StoredFile(str(p), int(s), str(a), str(b))
                                                 for p, s, a, b in stone.files))
            for stone in stones.get(row.request_id, ())))


def _day(at: datetime | None) -> str:
    return at.date().isoformat() if at is not None else "an unknown day"


__all__ = ["DeaccessionsAndTombstones"]
