"""The catalog's packages and versions: claiming and committing versions (reading
them: ``storage.catalog_package_reads``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from sqlalchemy import (
    BindParameter,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest.copies import CopyRecord
from ingest.errors import (
    ItemFinished,
    LeaseLost,
    PackageBusy,
)
from ingest.findings import Finding
from ingest.models import (
    ItemStatus,
    NewEvent,
    VersionRecord,
    identifier_key,
)
from storage.audit_log import append_events
from storage.catalog_base import (
    cast_table,
    dialect_name,
    prepared_upsert,
    rows_changed,
)
from storage.catalog_package_reads import _FILES, PackageReads
from storage.catalog_rows import (
    ACCEPTED,
    COMMITTED,
    PENDING,
    _Unchanged,
    file_columns,
    package_sort_keys,
    utc_now,
    version_record,
)
from storage.tables import File, Item, Package, Version

# Statements every item's ingest runs, built once (see storage.catalog_batches).
# An UPDATE's new values are given by column name when it is run.
_V, _F, _P, _I = cast_table(Version), cast_table(File), cast_table(Package), cast_table(Item)
_PACKAGE: BindParameter[str] = bindparam("b_package_id")
_NUMBER: BindParameter[int] = bindparam("b_number")
_ITEM: BindParameter[str] = bindparam("b_item_id")
_OWN_ITEM = select(_I.c.status, _I.c.lease_holder, _I.c.batch_id).where(_I.c.item_id == _ITEM)
_ITEM_STATUS = select(_I.c.status).where(_I.c.item_id == _ITEM)
_ITEM_EXISTS = select(exists().where(_I.c.item_id == _ITEM))
_PACKAGE_IDENTIFIER = select(_P.c.identifier).where(_P.c.package_id == _PACKAGE)
_PENDING_CLAIMS = (select(_V.c.number, _V.c.item_id)
                   .where(_V.c.package_id == _PACKAGE, _V.c.state == PENDING).with_for_update())
_DROP_CLAIM = delete(_V).where(_V.c.package_id == _PACKAGE, _V.c.number == _NUMBER,
                               _V.c.state == PENDING)
_NEWEST_COMMITTED = select(func.max(_V.c.number)).where(_V.c.package_id == _PACKAGE,
                                                        _V.c.state == COMMITTED)
_INSERT_VERSION, _INSERT_FILES = insert(_V), insert(_F)
_LOCK_PACKAGE = select(_P.c.package_id).where(_P.c.package_id == _PACKAGE).with_for_update()
#: Another package whose identifier reads like this one's (the same identifier_key)
#: that is stored, or being written by an item still at work.
_LOOK_ALIKE_AT_WORK = (
    select(_P.c.identifier)
    .where(_P.c.identifier_key == bindparam("b_key"), _P.c.package_id != _PACKAGE,
           or_(_P.c.latest_version.is_not(None),
               exists().where(_V.c.package_id == _P.c.package_id, _V.c.state == PENDING,
                              _I.c.item_id == _V.c.item_id, _I.c.status == ACCEPTED)))
    .order_by(_P.c.identifier).limit(1))
_LEASE_HOLDER = select(_I.c.lease_holder).where(_I.c.item_id == _ITEM).with_for_update()
_LATEST_BELOW = (select(_V).where(_V.c.package_id == _PACKAGE, _V.c.state == COMMITTED,
                                  _V.c.number < _NUMBER)
                 .order_by(_V.c.number.desc()).limit(1))
_OWN_CLAIM = select(_V.c.number).where(_V.c.package_id == _PACKAGE, _V.c.number == _NUMBER,
                                       _V.c.item_id == _ITEM, _V.c.state == PENDING)
_COMMIT_CLAIM = update(_V).where(_V.c.package_id == _PACKAGE, _V.c.number == _NUMBER,
                                 _V.c.item_id == _ITEM, _V.c.state == PENDING)
_FINISH_ITEM = update(_I).where(_I.c.item_id == _ITEM, _I.c.status == ACCEPTED)
_MOVE_LATEST = update(_P).where(_P.c.package_id == _PACKAGE,
                                or_(_P.c.latest_version.is_(None), _P.c.latest_version < _NUMBER))


class PackagesAndVersions(PackageReads):
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""

    def reserve_version(self, package_id: str, identifier: str, item_id: str, *,
                        holder: str | None = None) -> int:
        """Claim the next version number of a package for one item (see the
        module docstring). The same item asking again gets the same number.
        Raises PackageBusy while another accepted item holds a claim, ItemFinished
        when the item itself already has a final status (a duplicate task that
        came late must not claim a version it can never commit), LeaseLost when
        ``holder`` is given and no longer holds the item's lease, ValueError when
        ``identifier`` already names another package, Deaccessioned when the
        package was withdrawn as a whole, CatalogUnavailable."""
        try:
            with self._write() as session:
                own = session.execute(_OWN_ITEM, {"b_item_id": item_id}).one_or_none()
                own_status = own.status if own is not None else None
                if own_status is not None and own_status != ACCEPTED:
                    raise ItemFinished(f"item {item_id} is already {own_status}")
                if own is not None and holder is not None and own.lease_holder != holder:
                    raise LeaseLost(f"item {item_id} was taken over by another attempt")
                if dialect_name(session) == "postgresql":
                    # Claims of new packages whose identifiers read alike, one
                    # at a time (SQLite's write transactions are serial already).
                    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                                    {"key": "identifier:" + identifier_key(identifier)})
                self._ensure_package(session, package_id, identifier)
                # the lock a deaccession's approval takes: withdrawn first, or claimed first
                session.execute(_LOCK_PACKAGE, {"b_package_id": package_id}).all()
                self._refuse_if_withdrawn_whole(session, package_id)
                claims = session.execute(_PENDING_CLAIMS, {"b_package_id": package_id}).all()
                for claim in claims:
                    if claim.item_id == item_id:
                        return int(claim.number)
                    owner_status = session.execute(
                        _ITEM_STATUS, {"b_item_id": claim.item_id}).scalar_one_or_none()
                    if owner_status == ACCEPTED:
                        raise PackageBusy(
                            f"package {package_id} version {claim.number} is being written "
                            f"by item {claim.item_id}", holder=claim.item_id, number=claim.number)
                    # The owner finished or failed without releasing: the claim is stale.
                    session.execute(_DROP_CLAIM, {"b_package_id": package_id,
                                                  "b_number": claim.number})
                newest = session.execute(
                    _NEWEST_COMMITTED, {"b_package_id": package_id}).scalar_one()
                if newest is None:
                    self._wait_for_look_alike(session, package_id, identifier)
                # a number a deaccession withdrew is never given again
                number = max(newest or 0, self._newest_withdrawn(session, package_id)) + 1
                session.execute(_INSERT_VERSION, {
                    "package_id": package_id, "number": number, "state": PENDING,
                    "item_id": item_id, "batch_id": own.batch_id if own is not None else None,
                    "identifier": identifier, "created_at": utc_now()})
                return number
        except IntegrityError as exc:
            # Another transaction claimed the same number between our read and insert.
            raise PackageBusy(f"package {package_id} was claimed concurrently") from exc

    @staticmethod
    def _wait_for_look_alike(session: Session, package_id: str, identifier: str) -> None:
        """A new package's first claim waits while another package whose identifier
        reads like ``identifier`` is being written or is stored: two items of
        other batches giving ``SG-PR-0021`` and ``sg-pr-0021`` each found no stored
        twin before either committed, and made two packages that read alike.
        Raises PackageBusy (the item is tried again; once the other is stored,
        its ingest refuses it by that twin, ``identifier_refusal``)."""
        other = session.execute(_LOOK_ALIKE_AT_WORK, {
            "b_key": identifier_key(identifier), "b_package_id": package_id}).scalar()
        if other is not None:
            raise PackageBusy(f"the identifier {identifier!r} reads like {other!r}, "
                              "whose package is being written or stored")

    def _ensure_package(self, session: Session, package_id: str, identifier: str) -> None:
        """Insert the package row unless present; raises ValueError when the
        identifier belongs to another package."""
        session.execute(prepared_upsert(dialect_name(session), Package),
                        {"package_id": package_id, "identifier": identifier,
                         "identifier_key": identifier_key(identifier)})
        known = session.execute(
            _PACKAGE_IDENTIFIER, {"b_package_id": package_id}).scalar_one_or_none()
        if known != identifier:
            raise ValueError(
                f"identifier {identifier!r} and package {package_id} do not belong together")

    def take_over_claim(self, package_id: str, number: int, holder: str, idle_before: datetime,
                        finding: Finding, events: Sequence[NewEvent] = ()) -> bool:
        """Drop the claim of ``holder`` on ``number`` when that item is accepted
        and was not updated since ``idle_before`` (its worker is gone, see
        ``ingest.stuck``): the item fails with ``finding`` and ``events`` are
        appended, in one transaction. Returns False, writing nothing, when the
        claim is gone or its item is still at work. Raises CatalogUnavailable."""
        with self._write() as session:
            claim = session.execute(
                select(Version).where(Version.package_id == package_id, Version.number == number,
                                      Version.item_id == holder, Version.state == PENDING)
                .with_for_update()).scalar_one_or_none()
            if claim is None:
                return False
            failed = session.execute(
                update(Item)
                .where(Item.item_id == holder, Item.status == ACCEPTED,
                       Item.updated_at < idle_before)
                .values(status=ItemStatus.FAILED.value, findings=[finding.to_dict()],
                        updated_at=utc_now())
                .execution_options(synchronize_session=False)
            )
            if rows_changed(failed) == 0:
                return False
            session.delete(claim)
            append_events(session, events)
            return True

    def release_version(self, package_id: str, number: int, item_id: str, *,
                        holder: str | None = None) -> bool:
        """Drop an uncommitted claim held by ``item_id`` (only while ``holder``,
        when given, holds the item's lease); anything else is left alone.
        Returns whether a claim was dropped. Raises CatalogUnavailable."""
        held = []
        if holder is not None:
            held = [select(Item.item_id).where(Item.item_id == item_id,
                                               Item.lease_holder == holder).exists()]
        with self._write() as session:
            result = session.execute(
                delete(Version).where(
                    Version.package_id == package_id, Version.number == number,
                    Version.item_id == item_id, Version.state == PENDING, *held,
                ).execution_options(synchronize_session=False)
            )
            return rows_changed(result) > 0

    def commit_version(self, version: VersionRecord, events: Sequence[NewEvent] = (),
                       copies: Sequence[CopyRecord] = (), *,
                       unchanged_events: Sequence[NewEvent] | None = None,
                       findings: Sequence[Finding] = (), holder: str | None = None) -> bool:
        """Make a claimed version visible with its files, mark its item stored
        with ``findings`` (warnings only, such as system files skipped), note
        its ``copies`` (each checked back) and append ``events``, in one
        transaction. Returns False, writing nothing,
        when there is no pending claim of this item on this number (a duplicate
        already committed it) or the item already has a final status.

        With ``unchanged_events``, the "is it new?" decision is taken again
        here, under the package's lock, against the version that is latest
        now: if that one has the same content (``VersionRecord.same_content``;
        another submission of the same change committed it meanwhile), the
        claim is dropped, the item is marked unchanged at that version, the
        ``unchanged_events`` are appended (their version set to it) and False
        is returned: the caller removes what it wrote.

        With ``holder``, nothing is written and False is returned unless that
        attempt still holds the item's lease: one that was paused past its
        lease and taken over commits nothing. Raises Deaccessioned (writing
        nothing) when the package was withdrawn as a whole since it was claimed,
        CatalogUnavailable, ValueError when two files share a path."""
        paths = [f.path for f in version.files]
        if len(set(paths)) != len(paths):
            raise ValueError(f"package {version.package_id} version {version.number} "
                             "lists a file path twice")
        now = utc_now()
        try:
            with self._write() as session:
                # One commit of a package at a time (PostgreSQL; SQLite writes serialize).
                session.execute(_LOCK_PACKAGE, {"b_package_id": version.package_id}).all()
                self._refuse_if_withdrawn_whole(session, version.package_id)
                if holder is not None and version.item_id is not None and session.execute(
                        _LEASE_HOLDER, {"b_item_id": version.item_id}
                ).scalar_one_or_none() != holder:
                    raise _Unchanged  # taken over: the new holder commits, or has
                if unchanged_events is not None and self._commit_if_unchanged(
                        session, version, unchanged_events, now, findings):
                    return False
                _check_shared_objects_kept(session, version)
                claimed = session.execute(_COMMIT_CLAIM, {
                    "b_package_id": version.package_id, "b_number": version.number,
                    "b_item_id": version.item_id,
                    "state": COMMITTED, "identifier": version.identifier, "title": version.title,
                    "record": version.record, "batch_id": version.batch_id,
                    "created_at": version.created_at, "committed_at": now})
                if rows_changed(claimed) == 0:
                    raise _Unchanged
                self._mark_stored(session, version, now, findings)
                if version.files:  # one INSERT of every row, not the ORM's unit of work
                    session.execute(_INSERT_FILES, [
                        {"package_id": version.package_id, "number": version.number,
                         "path": f.path, "size": f.size, "sha256": f.sha256,
                         "sha512": f.sha512, **file_columns(f)}
                        for f in version.files])
                session.execute(_MOVE_LATEST, {
                    "b_package_id": version.package_id, "b_number": version.number,
                    "latest_version": version.number, "title": version.title,
                    **package_sort_keys(version, now)})
                self._note_copies(session, version.package_id, version.number,
                                  copies)
                self._track_version(session, version.package_id, version.number,
                                    committed=(version.created_at,
                                               sum(f.size for f in version.files)))
                append_events(session, events)
                return True
        except _Unchanged:
            return False

    def _commit_if_unchanged(self, session: Session, version: VersionRecord,
                             events: Sequence[NewEvent], now: datetime,
                             findings: Sequence[Finding] = ()) -> bool:
        """Inside ``commit_version``: when the latest committed version below ours
        has the same content, record the item unchanged at it and return True;
        otherwise return False, writing nothing."""
        latest = session.execute(_LATEST_BELOW, {"b_package_id": version.package_id,
                                                  "b_number": version.number}).one_or_none()
        if latest is None:
            return False
        files = session.execute(_FILES, {"b_package_id": version.package_id,
                                         "b_number": latest.number}).all()
        if not version.same_content(version_record(latest, files)):
            return False
        claim = {"b_package_id": version.package_id, "b_number": version.number,
                 "b_item_id": version.item_id}
        if session.execute(_OWN_CLAIM, claim).one_or_none() is None:
            raise _Unchanged  # not ours to decide: a duplicate task committed or released it
        session.execute(_DROP_CLAIM, claim)
        if version.item_id is not None:
            self._finish_item(session, version.item_id, ItemStatus.UNCHANGED, version.package_id,
                              latest.number, findings, now)
        append_events(session, [replace(e, version=latest.number) if e.package_id else e
                                for e in events])
        return True

    def _mark_stored(self, session: Session, version: VersionRecord, now: datetime,
                     findings: Sequence[Finding] = ()) -> None:
        """Set the claiming item stored; raises _Unchanged when it is already final
        (its claim is stale: committing it would make a second version)."""
        if version.item_id is not None:
            self._finish_item(session, version.item_id, ItemStatus.STORED, version.package_id,
                              version.number, findings, now)

    @staticmethod
    def _finish_item(session: Session, item_id: str, status: ItemStatus, package_id: str,
                     number: int, findings: Sequence[Finding], now: datetime) -> None:
        """Give an accepted item its final status at a version, its lease let go;
        raises _Unchanged when it is final already. No item row at all (a catalog
        rebuilt from storage) is fine."""
        finished = session.execute(_FINISH_ITEM, {
            "b_item_id": item_id, "status": status.value, "package_id": package_id,
            "version": number, "findings": [f.to_dict() for f in findings],
            "lease_holder": None, "updated_at": now})
        if rows_changed(finished) == 0 and session.execute(
                _ITEM_EXISTS, {"b_item_id": item_id}).scalar_one():
            raise _Unchanged


def _check_shared_objects_kept(session: Session, version: VersionRecord) -> None:
    """Inside ``commit_version``, under the package's lock: every object the
    version shares with an earlier one is still referenced by a committed
    version (its holder's own file, or another version sharing it), so no
    deaccession deletes it (``ingest.deaccession`` spares what remaining
    versions reference, computed after its withdrawal, which takes the same
    lock). One query for the whole version. Raises PackageBusy otherwise: the
    retry stores the file again."""
    wanted = {(f.held_by, f.path) for f in version.files if f.held_by is not None}
    if not wanted:
        return
    holders = sorted({number for number, _ in wanted})
    rows = session.execute(
        select(File.number, File.held_by, File.path)
        .where(File.package_id == version.package_id,
               or_(and_(File.number.in_(holders), File.held_by.is_(None)),
                   File.held_by.in_(holders)))).all()
    referenced = {(row.held_by or row.number, row.path) for row in rows}
    missing = sorted(wanted - referenced)
    if missing:
        held_by, path = missing[0]
        raise PackageBusy(f"version {held_by} of {version.package_id}, which holds "
                          f"{path!r} for version {version.number}, was withdrawn meanwhile")
