"""The SQL catalog: batches, items, packages, versions and files, with the audit log.

``SqlCatalog`` implements both ``ingest.ports.Catalog`` and
``ingest.ports.AuditLog`` on one database (SQLite or PostgreSQL, see
``storage.database``), so a change and the events that record it are committed
in one transaction. Every write method commits before it returns; a
connection-level failure raises CatalogUnavailable.

How a version comes to be: ``reserve_version`` inserts a *pending* row (the
claim), the item's bag is uploaded, and ``commit_version`` turns the claim
*committed*. Readers only ever see committed versions. The primary key
(package, number) makes two claims on the same number impossible; a claim
left behind by an item that then finished or failed is stale, and the next
item takes it over.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Engine, delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest.errors import (
    ItemFinished,
    BatchNotFound,
    NotFound,
    PackageBusy,
    PackageNotFound,
    VersionNotFound,
)
from ingest.findings import Finding
from ingest.models import (
    AuditEvent,
    BatchRecord,
    ItemRecord,
    ItemStatus,
    NewEvent,
    PackageSummary,
    StoredFile,
    VersionRecord,
)
from storage.audit_log import append_events, read_events, walk_events
from storage.database import catalog_errors, create_engine_for, is_prepared, migrate, writing
from storage.tables import Batch, File, Item, Package, Version

__all__ = ["SqlCatalog", "create_engine_for", "migrate"]

_migrate = migrate  # from_url's ``migrate`` flag hides the function's name

PENDING = "pending"
COMMITTED = "committed"
ACCEPTED = ItemStatus.ACCEPTED.value


class _Unchanged(Exception):
    """Raised inside a write transaction to roll it back: nothing is to be written."""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _text(value: Any) -> Any:
    return getattr(value, "value", value)


class SqlCatalog:
    """The catalog and audit log on one SQLAlchemy engine from ``create_engine_for``."""

    def __init__(self, engine: Engine) -> None:
        """Use ``engine``, whose schema must be migrated. Raises ValueError for a
        SQLite engine not made by ``create_engine_for`` (its writes would not
        serialize)."""
        if not is_prepared(engine):
            raise ValueError("make the engine with storage.database.create_engine_for")
        self.engine = engine
        self._writer = writing(engine)

    @classmethod
    def from_url(cls, url: str, migrate: bool = True) -> SqlCatalog:
        """A catalog on the database at ``url``, migrated to the newest schema
        first unless ``migrate`` is False. Raises CatalogUnavailable, ValueError."""
        engine = create_engine_for(url)
        if migrate:
            try:
                _migrate(engine)
            except BaseException:
                engine.dispose()
                raise
        return cls(engine)

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with catalog_errors(), Session(self._writer, expire_on_commit=False) as session:
            with session.begin():
                yield session

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with catalog_errors(), Session(self.engine, expire_on_commit=False) as session:
            with session.begin():
                yield session

    # ------------------------------------------------------------------ batches, items

    def create_batch(self, batch: BatchRecord, item_names: Sequence[str],
                     events: Sequence[NewEvent] = ()) -> list[ItemRecord]:
        """Register a batch, one accepted item per name, and ``events``, in one
        transaction. Returns the items in name order. Raises ValueError for a
        repeated name or a batch id already registered, CatalogUnavailable."""
        names = sorted(item_names)
        if len(set(names)) != len(names):
            raise ValueError(f"batch {batch.batch_id} names an item twice")
        now = _now()
        try:
            with self._write() as session:
                session.add(Batch(
                    batch_id=batch.batch_id,
                    source=batch.source,
                    submitted_at=batch.submitted_at,
                    submitter=batch.submitter,
                    collection=batch.collection,
                    schema=batch.schema,
                    findings=[finding.to_dict() for finding in batch.findings],
                ))
                session.flush()
                items = [
                    Item(item_id=str(uuid.uuid4()), batch_id=batch.batch_id, name=name,
                         status=ACCEPTED, findings=[], attempts=0, updated_at=now)
                    for name in names
                ]
                session.add_all(items)
                session.flush()
                append_events(session, events)
                return [_item_record(item) for item in items]
        except IntegrityError as exc:
            raise ValueError(f"batch {batch.batch_id} is already registered") from exc

    def get_batch(self, batch_id: str) -> BatchRecord:
        """Raises BatchNotFound, CatalogUnavailable."""
        with self._read() as session:
            row = session.get(Batch, batch_id)
            if row is None:
                raise BatchNotFound(f"no batch {batch_id}")
            return BatchRecord(
                batch_id=row.batch_id,
                source=row.source,
                submitted_at=row.submitted_at,
                submitter=row.submitter,
                collection=row.collection,
                schema=row.schema,
                findings=_findings(row.findings),
            )

    def list_items(self, batch_id: str) -> list[ItemRecord]:
        """Items of a batch in name order. Raises BatchNotFound, CatalogUnavailable."""
        with self._read() as session:
            if session.get(Batch, batch_id) is None:
                raise BatchNotFound(f"no batch {batch_id}")
            rows = session.execute(select(Item).where(Item.batch_id == batch_id)).scalars()
            # Sorted here, not by the database, whose collation may differ.
            return sorted((_item_record(row) for row in rows), key=lambda item: item.name)

    def get_item(self, item_id: str) -> ItemRecord:
        """Raises NotFound, CatalogUnavailable."""
        with self._read() as session:
            row = session.get(Item, item_id)
            if row is None:
                raise NotFound(f"no item {item_id}")
            return _item_record(row)

    def count_attempt(self, item_id: str) -> int:
        """Add one to the item's attempts and return the new count. Raises
        NotFound, CatalogUnavailable."""
        with self._write() as session:
            # Starting an attempt is progress: updated_at tells a working item
            # from a stuck one (see stuck_items).
            result = session.execute(
                update(Item).where(Item.item_id == item_id)
                .values(attempts=Item.attempts + 1, updated_at=_now())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 0:
                raise NotFound(f"no item {item_id}")
            return session.execute(
                select(Item.attempts).where(Item.item_id == item_id)).scalar_one()

    def finish_item(self, item_id: str, status: ItemStatus, findings: Sequence[Finding] = (),
                    package_id: str | None = None, version: int | None = None,
                    events: Sequence[NewEvent] = ()) -> bool:
        """Give an accepted item its final status and append ``events``, in one
        transaction. Returns False, writing nothing, when the item is already
        final. Raises ValueError for a status that is not final, NotFound,
        CatalogUnavailable."""
        final = ItemStatus(status)
        if not final.is_final:
            raise ValueError(f"{final.value} is not a final item status")
        with self._write() as session:
            result = session.execute(
                update(Item)
                .where(Item.item_id == item_id, Item.status == ACCEPTED)
                .values(status=final.value, findings=[f.to_dict() for f in findings],
                        package_id=package_id, version=version, updated_at=_now())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 0:
                if session.get(Item, item_id) is None:
                    raise NotFound(f"no item {item_id}")
                return False
            append_events(session, events)
            return True

    def reset_item(self, item_id: str) -> None:
        """Put a failed item back to accepted, with no attempts and no findings, for
        a retry by hand; an item in any other status is left as it is. Raises
        NotFound, CatalogUnavailable."""
        with self._write() as session:
            result = session.execute(
                update(Item)
                .where(Item.item_id == item_id, Item.status == ItemStatus.FAILED.value)
                .values(status=ACCEPTED, attempts=0, findings=[], updated_at=_now())
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 0 and session.get(Item, item_id) is None:
                raise NotFound(f"no item {item_id}")

    def stuck_items(self, idle_before: datetime, limit: int = 1000) -> list[ItemRecord]:
        """Accepted items of any batch last updated before ``idle_before``, the
        longest idle first, at most ``limit``. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(Item)
                .where(Item.status == ACCEPTED, Item.updated_at < idle_before)
                .order_by(Item.updated_at, Item.item_id)
                .limit(limit)
            ).scalars()
            return [_item_record(row) for row in rows]

    def record_requeue(self, item_ids: Sequence[str]) -> int:
        """Note that the accepted items among ``item_ids`` were sent to the workers
        again (their updated_at becomes now, so they are not stuck again at once).
        Returns how many were accepted. Raises CatalogUnavailable."""
        if not item_ids:
            return 0
        with self._write() as session:
            result = session.execute(
                update(Item)
                .where(Item.item_id.in_(list(item_ids)), Item.status == ACCEPTED)
                .values(updated_at=_now())
                .execution_options(synchronize_session=False)
            )
            return result.rowcount

    # ------------------------------------------------------------------ versions

    def reserve_version(self, package_id: str, identifier: str, item_id: str) -> int:
        """Claim the next version number of a package for one item (see the
        module docstring). The same item asking again gets the same number.
        Raises PackageBusy while another accepted item holds a claim, ItemFinished
        when the item itself already has a final status (a duplicate task that
        came late must not claim a version it can never commit), ValueError when
        ``identifier`` already names another package, CatalogUnavailable."""
        try:
            with self._write() as session:
                own_status = session.execute(
                    select(Item.status).where(Item.item_id == item_id)).scalar_one_or_none()
                if own_status is not None and own_status != ACCEPTED:
                    raise ItemFinished(f"item {item_id} is already {own_status}")
                self._ensure_package(session, package_id, identifier)
                claims = session.execute(
                    select(Version)
                    .where(Version.package_id == package_id, Version.state == PENDING)
                    .with_for_update()
                ).scalars().all()
                for claim in claims:
                    if claim.item_id == item_id:
                        return claim.number
                    owner_status = session.execute(
                        select(Item.status).where(Item.item_id == claim.item_id)
                    ).scalar_one_or_none()
                    if owner_status == ACCEPTED:
                        raise PackageBusy(
                            f"package {package_id} version {claim.number} is being written "
                            f"by item {claim.item_id}")
                    # The owner finished or failed without releasing: the claim is stale.
                    session.delete(claim)
                session.flush()
                newest = session.execute(
                    select(func.max(Version.number))
                    .where(Version.package_id == package_id, Version.state == COMMITTED)
                ).scalar_one()
                number = (newest or 0) + 1
                batch_id = session.execute(
                    select(Item.batch_id).where(Item.item_id == item_id)).scalar_one_or_none()
                session.add(Version(
                    package_id=package_id, number=number, state=PENDING, item_id=item_id,
                    batch_id=batch_id, identifier=identifier, created_at=_now(),
                ))
                session.flush()
                return number
        except IntegrityError as exc:
            # Another transaction claimed the same number between our read and insert.
            raise PackageBusy(f"package {package_id} was claimed concurrently") from exc

    def _ensure_package(self, session: Session, package_id: str, identifier: str) -> None:
        """Insert the package row unless present; raises ValueError when the
        identifier belongs to another package."""
        dialect = session.get_bind().dialect.name
        builder = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            builder(Package)
            .values(package_id=package_id, identifier=identifier)
            .on_conflict_do_nothing()
        )
        known = session.execute(
            select(Package.identifier).where(Package.package_id == package_id)
        ).scalar_one_or_none()
        if known != identifier:
            raise ValueError(
                f"identifier {identifier!r} and package {package_id} do not belong together")

    def release_version(self, package_id: str, number: int, item_id: str) -> None:
        """Drop an uncommitted claim held by ``item_id``; anything else is left
        alone. Raises CatalogUnavailable."""
        with self._write() as session:
            session.execute(
                delete(Version).where(
                    Version.package_id == package_id, Version.number == number,
                    Version.item_id == item_id, Version.state == PENDING,
                ).execution_options(synchronize_session=False)
            )

    def commit_version(self, version: VersionRecord, events: Sequence[NewEvent] = ()) -> bool:
        """Make a claimed version visible with its files, mark its item stored and
        append ``events``, in one transaction. Returns False, writing nothing,
        when there is no pending claim of this item on this number (a duplicate
        already committed it) or the item already has a final status. Raises
        CatalogUnavailable, ValueError when two files share a path."""
        paths = [f.path for f in version.files]
        if len(set(paths)) != len(paths):
            raise ValueError(f"package {version.package_id} version {version.number} "
                             "lists a file path twice")
        now = _now()
        try:
            with self._write() as session:
                claimed = session.execute(
                    update(Version)
                    .where(Version.package_id == version.package_id,
                           Version.number == version.number,
                           Version.item_id == version.item_id,
                           Version.state == PENDING)
                    .values(state=COMMITTED, identifier=version.identifier,
                            title=version.title, record=version.record,
                            batch_id=version.batch_id, created_at=version.created_at,
                            committed_at=now)
                    .execution_options(synchronize_session=False)
                )
                if claimed.rowcount == 0:
                    raise _Unchanged
                self._mark_stored(session, version, now)
                session.add_all(
                    File(package_id=version.package_id, number=version.number,
                         path=f.path, size=f.size, sha256=f.sha256, sha512=f.sha512)
                    for f in version.files
                )
                session.execute(
                    update(Package)
                    .where(Package.package_id == version.package_id,
                           or_(Package.latest_version.is_(None),
                               Package.latest_version < version.number))
                    .values(latest_version=version.number, title=version.title)
                    .execution_options(synchronize_session=False)
                )
                append_events(session, events)
                return True
        except _Unchanged:
            return False

    def _mark_stored(self, session: Session, version: VersionRecord, now: datetime) -> None:
        """Set the claiming item stored; raises _Unchanged when it is already final
        (its claim is stale: committing it would make a second version)."""
        if version.item_id is None:
            return
        stored = session.execute(
            update(Item)
            .where(Item.item_id == version.item_id, Item.status == ACCEPTED)
            .values(status=ItemStatus.STORED.value, package_id=version.package_id,
                    version=version.number, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        # No item row at all (a catalog rebuilt from storage) is fine.
        if stored.rowcount == 0 and session.get(Item, version.item_id) is not None:
            raise _Unchanged

    def latest_version(self, package_id: str) -> VersionRecord | None:
        """The newest committed version, or None. Raises CatalogUnavailable."""
        try:
            return self.get_version(package_id)
        except PackageNotFound:
            return None

    def get_version(self, package_id: str, number: int | None = None) -> VersionRecord:
        """One committed version, the latest when ``number`` is None. Raises
        PackageNotFound, VersionNotFound, CatalogUnavailable."""
        with self._read() as session:
            latest = self._visible_latest(session, package_id)
            wanted = latest if number is None else number
            row = session.execute(
                select(Version).where(Version.package_id == package_id,
                                      Version.number == wanted,
                                      Version.state == COMMITTED)
            ).scalar_one_or_none()
            if row is None:
                raise VersionNotFound(f"package {package_id} has no version {wanted}")
            files = session.execute(
                select(File).where(File.package_id == package_id, File.number == wanted)
            ).scalars().all()
            return _version_record(row, files)

    def list_versions(self, package_id: str) -> list[VersionRecord]:
        """Committed versions, oldest first. Raises PackageNotFound, CatalogUnavailable."""
        with self._read() as session:
            self._visible_latest(session, package_id)
            rows = session.execute(
                select(Version)
                .where(Version.package_id == package_id, Version.state == COMMITTED)
                .order_by(Version.number)
            ).scalars().all()
            files_of: dict[int, list[File]] = {}
            for file in session.execute(
                    select(File).where(File.package_id == package_id)).scalars():
                files_of.setdefault(file.number, []).append(file)
            return [_version_record(row, files_of.get(row.number, [])) for row in rows]

    def _visible_latest(self, session: Session, package_id: str) -> int:
        latest = session.execute(
            select(Package.latest_version).where(Package.package_id == package_id)
        ).scalar_one_or_none()
        if latest is None:
            raise PackageNotFound(f"no package {package_id}")
        return latest

    def list_packages(self) -> list[PackageSummary]:
        """Packages with a committed version, by identifier. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(Package).where(Package.latest_version.is_not(None))).scalars()
            summaries = [
                PackageSummary(package_id=row.package_id, identifier=row.identifier,
                               title=row.title or "", latest_version=row.latest_version or 0)
                for row in rows
            ]
        return sorted(summaries, key=lambda summary: summary.identifier)

    def resolve_package(self, ref: str) -> str:
        """The id of the package ``ref`` names, by package id or record identifier.
        Raises PackageNotFound, CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(Package.package_id, Package.identifier)
                .where(or_(Package.package_id == ref, Package.identifier == ref),
                       Package.latest_version.is_not(None))
            ).all()
        by_id = [row.package_id for row in rows if row.package_id == ref]
        found = by_id or [row.package_id for row in rows]
        if not found:
            raise PackageNotFound(f"no package {ref!r}")
        return found[0]

    def record_fixity(self, package_id: str, number: int, checked_at: datetime, outcome: str,
                      events: Sequence[NewEvent] = ()) -> None:
        """Remember the last fixity result of a committed version, with its events,
        in one transaction. Raises PackageNotFound, VersionNotFound,
        CatalogUnavailable."""
        with self._write() as session:
            result = session.execute(
                update(Version)
                .where(Version.package_id == package_id, Version.number == number,
                       Version.state == COMMITTED)
                .values(last_fixity_at=checked_at, last_fixity_outcome=_text(outcome))
                .execution_options(synchronize_session=False)
            )
            if result.rowcount == 0:
                self._visible_latest(session, package_id)
                raise VersionNotFound(f"package {package_id} has no version {number}")
            append_events(session, events)

    # ------------------------------------------------------------------ AuditLog

    def append(self, events: Sequence[NewEvent]) -> list[AuditEvent]:
        """Chain ``events`` at the end of the log, in order, in one transaction.
        Raises ValueError for an event that cannot be sealed, CatalogUnavailable."""
        if not events:
            return []
        with self._write() as session:
            return append_events(session, events)

    def events(self, package_id: str | None = None) -> Iterator[AuditEvent]:
        """Events in chain order, all or those of one package, read a page at a
        time. Raises CatalogUnavailable while iterating."""
        def read_page(after_seq: int, package: str | None) -> list[AuditEvent]:
            with self._read() as session:
                return read_events(session, after_seq, package)

        return walk_events(read_page, package_id)


# ---------------------------------------------------------------------- rows → records


def _findings(data: list[Any] | None) -> tuple[Finding, ...]:
    return tuple(Finding.from_dict(entry) for entry in data or ())


def _item_record(row: Item) -> ItemRecord:
    return ItemRecord(
        item_id=row.item_id,
        batch_id=row.batch_id,
        name=row.name,
        status=ItemStatus(row.status),
        package_id=row.package_id,
        version=row.version,
        findings=_findings(row.findings),
        attempts=row.attempts,
        updated_at=row.updated_at,
    )


def _version_record(row: Version, files: Sequence[File]) -> VersionRecord:
    return VersionRecord(
        package_id=row.package_id,
        number=row.number,
        identifier=row.identifier,
        title=row.title or "",
        record=row.record or {},
        created_at=row.created_at,
        batch_id=row.batch_id,
        item_id=row.item_id,
        files=tuple(
            StoredFile(path=f.path, size=f.size, sha256=f.sha256, sha512=f.sha512)
            for f in sorted(files, key=lambda f: f.path)
        ),
        last_fixity_at=row.last_fixity_at,
        last_fixity_outcome=row.last_fixity_outcome,
    )
