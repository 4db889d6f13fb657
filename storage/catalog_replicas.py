"""The catalog's copies of versions in each location, anchors of the audit chain,
and the one way in for a version rebuilt from the object store."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy import case, func, or_, select, update
from sqlalchemy.orm import Session

from ingest.copies import CopyRecord
from ingest.errors import VersionNotFound
from ingest.models import AuditEvent, EventType, NewEvent, Outcome, VersionRecord
from storage.audit_log import append_events, audit_event
from storage.catalog_base import CatalogBase, dialect_name, prepared_upsert, upsert
from storage.catalog_rows import COMMITTED, file_columns, package_sort_keys, utc_now
from storage.tables import AuditHead, Batch, Event, File, Package, Version
from storage.tables_fixity import FAILING, FixityState
from storage.tables_replicas import (
    AuditAnchor,
    AuditLogIdentity,
    CatalogRebuild,
    ObjectVersion,
    VersionCopy,
)


class ReplicasAndAnchors(CatalogBase):
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""

    # ------------------------------------------------------------------ copies

    def record_copies(self, package_id: str, number: int, copies: Sequence[CopyRecord],
                      events: Sequence[NewEvent] = ()) -> None:
        """Note the state of copies of a version (claimed or committed), replacing
        earlier notes on the same locations, and append ``events``, in one
        transaction. Raises VersionNotFound when there is no such version or
        claim, CatalogUnavailable."""
        with self._write() as session:
            exists = session.execute(
                select(Version.number).where(Version.package_id == package_id,
                                             Version.number == number)).scalar_one_or_none()
            if exists is None:
                raise VersionNotFound(f"package {package_id} has no version {number}")
            self._note_copies(session, package_id, number, copies)
            # a copy of a committed version is one the fixity schedule checks
            self._track_version(session, package_id, number)
            append_events(session, events)

    def _note_copies(self, session: Session, package_id: str, number: int,
                     copies: Sequence[CopyRecord]) -> None:
        """Upsert the notes on ``copies`` of a version, inside ``session``'s
        transaction (``record_copies``, and ``commit_version``, which notes the
        copies checked back in the transaction that commits them)."""
        # An upsert: two duplicate tasks may note the same copy at once.
        statement = prepared_upsert(dialect_name(session), VersionCopy,
                                    ("package_id", "number", "location"),
                                    replace=("state", "checked_at"))
        for copy in copies:
            session.execute(statement, {"package_id": package_id, "number": number,
                                        "location": copy.location, "state": copy.state,
                                        "checked_at": copy.checked_at})

    def record_object_versions(self, package_id: str, location: str,
                               versions: Mapping[str, str]) -> None:
        """Note which object version to read (``versions``: object key -> version id)
        for objects of a package in ``location``, replacing earlier notes on those
        objects. Raises CatalogUnavailable."""
        if not versions:
            return
        with self._write() as session:
            builder = upsert(session)
            for key, version_id in versions.items():
                statement = builder(ObjectVersion).values(
                    location=location, object_key=key, package_id=package_id,
                    version_id=version_id)
                session.execute(statement.on_conflict_do_update(
                    index_elements=["location", "object_key"],
                    set_={"version_id": statement.excluded.version_id}))

    def object_versions(self, package_id: str, location: str) -> dict[str, str]:
        """The object versions noted for objects of a package in ``location`` (object
        key -> version id); empty when every object is read in its current version."""
        with self._read() as session:
            rows = session.execute(
                select(ObjectVersion.object_key, ObjectVersion.version_id).where(
                    ObjectVersion.package_id == package_id, ObjectVersion.location == location))
            return {key: version_id for key, version_id in rows}

    def objects_with_digests(self, size: int, sha256: str, sha512: str, *,
                             package_id: str | None = None,
                             limit: int = 8) -> list[tuple[str, int, str]]:
        """The stored objects of committed versions that hold a file of this size
        and these digests, as (package id, number of the version whose prefix
        holds the object, bag path), each once: at most ``limit`` of the package
        ``package_id`` (its latest versions first), then at most ``limit`` of
        others. Found by the SHA-256 index; nothing is said of the objects' bytes.
        Raises CatalogUnavailable."""
        found = (select(File.package_id, File.number, File.held_by, File.path)
                 .join(Version, (Version.package_id == File.package_id)
                       & (Version.number == File.number))
                 .where(File.sha256 == sha256, File.sha512 == sha512, File.size == size,
                        Version.state == COMMITTED))
        # Not ordered across packages: a file every bag has (bagit.txt) matches
        # millions of rows, and the LIMIT stops the index scan after the first few.
        pages = [(found, limit)] if package_id is None else [
            # a package's rows are few; every version sharing a file has a row for it
            (found.where(File.package_id == package_id).order_by(File.number.desc()), None),
            (found.where(File.package_id != package_id), limit)]
        objects: list[tuple[str, int, str]] = []
        with self._read() as session:
            for page, most in pages:
                rows = session.execute(page.limit(10_000 if most is None else 4 * most))
                held = dict.fromkeys((r.package_id, r.held_by or r.number, r.path) for r in rows)
                objects.extend(list(held)[:limit])
        return objects

    def list_copies(self, package_id: str, number: int) -> list[CopyRecord]:
        """The noted copies of one version, by location. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(VersionCopy)
                .where(VersionCopy.package_id == package_id, VersionCopy.number == number)
                .order_by(VersionCopy.location)).scalars().all()
            return [CopyRecord(r.location, r.state, r.checked_at) for r in rows]

    def copy_locations(self) -> dict[str, tuple[int, int]]:
        """Every location noted as holding copies of committed versions: location ->
        (copies, of which damaged: noted so by a repair or a rebuild, or failing
        their last check of either tier or a delivery since: ``tables_fixity.FAILING``).
        One pass over the copies, grouped by location.
        Raises CatalogUnavailable."""
        damaged = func.sum(case((or_(VersionCopy.state == "damaged", FAILING), 1), else_=0))
        with self._read() as session:
            rows = session.execute(
                select(VersionCopy.location, func.count(), damaged)
                .join(Version, (Version.package_id == VersionCopy.package_id)
                      & (Version.number == VersionCopy.number))
                .outerjoin(FixityState, (FixityState.package_id == VersionCopy.package_id)
                           & (FixityState.number == VersionCopy.number)
                           & (FixityState.location == VersionCopy.location))
                .where(Version.state == COMMITTED)
                .group_by(VersionCopy.location)).all()
        return {location: (int(copies), int(bad or 0)) for location, copies, bad in rows}

    # ------------------------------------------------------------------ anchors

    def audit_head(self) -> tuple[int, str]:
        """The (seq, hash) of the last event in the chain ((0, GENESIS) when empty).
        Raises CatalogUnavailable."""
        with self._read() as session:
            head = session.execute(select(AuditHead).where(AuditHead.id == 1)).scalar_one()
            return head.seq, head.hash

    def first_event_hash(self) -> str | None:
        """The hash of the log's first event (seq 1), or None when the log is
        empty: one row by the primary key. Raises CatalogUnavailable."""
        with self._read() as session:
            return session.execute(
                select(Event.hash).where(Event.seq == 1)).scalar_one_or_none()

    def log_identity(self) -> tuple[str, bool]:
        """(log_id, legacy_anchors) of this catalog's audit log: its anchors are
        under ``_audit/logs/{log_id}/anchors/``, and also under the shared
        ``_audit/anchors/`` when ``legacy_anchors``. Raises CatalogUnavailable."""
        with self._read() as session:
            row = session.execute(
                select(AuditLogIdentity).where(AuditLogIdentity.id == 1)).scalar_one()
            return row.log_id, row.legacy_anchors

    def sealing_event(self, package_id: str, number: int) -> AuditEvent | None:
        """The first successful ingestion event of a version (the one that sealed
        its manifests' digests into the chain), or None. One indexed read
        (``ix_events_sealing``). Raises CatalogUnavailable."""
        with self._read() as session:
            row = session.execute(
                select(Event)
                .where(Event.package_id == package_id, Event.version == number,
                       Event.event_type == EventType.INGESTION.value,
                       Event.outcome == Outcome.SUCCESS.value)
                .order_by(Event.seq).limit(1)).scalar_one_or_none()
            return audit_event(row) if row is not None else None

    def last_anchor(self) -> tuple[int, str] | None:
        """The (seq, hash) most recently noted as anchored, or None. Raises CatalogUnavailable."""
        with self._read() as session:
            row = session.execute(
                select(AuditAnchor).order_by(AuditAnchor.seq.desc()).limit(1)).scalar_one_or_none()
            return (row.seq, row.hash) if row else None

    def newest_anchor(self) -> tuple[int, datetime] | None:
        """(seq, anchored_at) of the newest anchor (the highest head anchored), or
        None; one read of the primary key's end. Raises CatalogUnavailable."""
        with self._read() as session:
            row = session.execute(
                select(AuditAnchor.seq, AuditAnchor.anchored_at)
                .order_by(AuditAnchor.seq.desc()).limit(1)).first()
            return (int(row[0]), row[1]) if row else None

    def record_anchor(self, seq: int, hash: str, anchored_at: datetime) -> None:
        """Note that the head (seq, hash) was written to the object store. Raises
        CatalogUnavailable."""
        with self._write() as session:
            # An upsert: a worker and a command may anchor the same head at once.
            statement = upsert(session)(AuditAnchor).values(seq=seq, hash=hash,
                                                           anchored_at=anchored_at)
            session.execute(statement.on_conflict_do_update(
                index_elements=["seq"],
                set_={"hash": statement.excluded.hash,
                      "anchored_at": statement.excluded.anchored_at}))

    # ------------------------------------------------------------------ rebuild

    def record_rebuild(self, rebuild_id: str, rebuilt_at: datetime) -> None:
        """Note that this catalog was rebuilt from the store by rebuild ``rebuild_id``.
        Raises CatalogUnavailable."""
        with self._write() as session:
            session.add(CatalogRebuild(rebuild_id=rebuild_id, rebuilt_at=rebuilt_at))

    def rebuild_ids(self) -> set[str]:
        """The ids of the rebuilds this catalog came from. Raises CatalogUnavailable."""
        with self._read() as session:
            return set(session.execute(select(CatalogRebuild.rebuild_id)).scalars())

    def is_empty(self) -> bool:
        """True when the catalog holds no batch, package, version or event.
        Raises CatalogUnavailable."""
        with self._read() as session:
            return all(
                session.execute(select(func.count()).select_from(table)).scalar_one() == 0
                for table in (Batch, Package, Version, Event))

    def import_version(self, version: VersionRecord, copies: Sequence[CopyRecord] = (),
                       events: Sequence[NewEvent] = ()) -> None:
        """Add a committed version found in the object store (a catalog rebuild):
        its package (created when new), its files, its copies and ``events``, in
        one transaction. Raises ValueError when the version already exists or the
        identifier names another package, CatalogUnavailable."""
        with self._write() as session:
            self._ensure_package(session, version.package_id, version.identifier)
            if session.get(Version, (version.package_id, version.number)) is not None:
                raise ValueError(f"package {version.package_id} already has version {version.number}")
            session.add(Version(
                package_id=version.package_id, number=version.number, state=COMMITTED,
                item_id=version.item_id, batch_id=version.batch_id,
                identifier=version.identifier, title=version.title, record=version.record,
                created_at=version.created_at, committed_at=(committed_at := utc_now())))
            session.flush()
            session.add_all(
                File(package_id=version.package_id, number=version.number, path=f.path,
                     size=f.size, sha256=f.sha256, sha512=f.sha512, **file_columns(f))
                for f in version.files)
            session.add_all(
                VersionCopy(package_id=version.package_id, number=version.number,
                            location=c.location, state=c.state, checked_at=c.checked_at)
                for c in copies)
            _raise_latest(session, version, committed_at)
            self._track_version(session, version.package_id, version.number)
            append_events(session, events)


def _raise_latest(session: Session, version: VersionRecord, committed_at: datetime) -> None:
    session.execute(
        update(Package)
        .where(Package.package_id == version.package_id,
               or_(Package.latest_version.is_(None), Package.latest_version < version.number))
        .values(latest_version=version.number, title=version.title,
                **package_sort_keys(version, committed_at))
        .execution_options(synchronize_session=False))


__all__ = ["ReplicasAndAnchors"]
