"""The SQL catalog: batches, items, packages, versions and files, with the audit log.

``SqlCatalog`` (batches and items in ``storage.catalog_batches``, packages and
versions in ``storage.catalog_versions``) implements both ``ingest.ports.Catalog`` and
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

from collections.abc import Iterator, Sequence

from sqlalchemy import Engine

from ingest.errors import CatalogMissing, CatalogUnavailable
from ingest.models import AuditEvent, NewEvent
from storage.audit_log import append_events, read_events, walk_events
from storage.catalog_access import AccessAndSearch
from storage.catalog_accounts import AccountsAndSessions
from storage.catalog_batches import BatchesAndItems
from storage.catalog_deaccession import DeaccessionsAndTombstones
from storage.catalog_fixity import FixitySchedule
from storage.catalog_locations import LocationLifecycle
from storage.catalog_replicas import ReplicasAndAnchors
from storage.catalog_versions import PackagesAndVersions
from storage.database import (
    catalog_revisions,
    create_engine_for,
    is_prepared,
    migrate,
    sqlite_file,
    writing,
)
from storage.database_creation import database_is_missing

__all__ = ["SqlCatalog", "create_engine_for", "migrate"]

_migrate = migrate  # from_url's ``migrate`` flag hides the function's name


class SqlCatalog(BatchesAndItems, PackagesAndVersions, FixitySchedule, ReplicasAndAnchors,
                 AccessAndSearch, AccountsAndSessions, DeaccessionsAndTombstones, LocationLifecycle):
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
    def from_url(cls, url: str, migrate: bool = True, upgrade: bool = True) -> SqlCatalog:
        """A catalog on the database at ``url``, migrated to the newest schema
        first unless ``migrate`` is False; with ``upgrade`` False a new catalog is
        made but one an earlier release made is refused (CatalogOutdated), not
        upgraded. Raises CatalogUnavailable, CatalogOutdated, ValueError."""
        engine = create_engine_for(url)
        if migrate:
            try:
                _migrate(engine, upgrade=upgrade)
            except BaseException:
                engine.dispose()
                raise
        return cls(engine)

    @classmethod
    def open_existing(cls, url: str, upgrade: bool = True) -> SqlCatalog:
        """The catalog at ``url`` only if one exists there, brought to the newest
        schema like ``from_url`` (refused, CatalogOutdated, when it is behind and
        ``upgrade`` is False); nothing is created. A SQLite file that does not
        exist or is empty, or a database without the catalog's version table,
        is no catalog. Raises CatalogMissing, CatalogOutdated, CatalogUnavailable,
        ValueError."""
        path = sqlite_file(url)
        if path is not None and (not path.is_file() or path.stat().st_size == 0):
            raise CatalogMissing("no catalog there")
        engine = create_engine_for(url)
        try:
            try:
                revisions = catalog_revisions(engine)
            except CatalogUnavailable:
                # A PostgreSQL database that was never made is no catalog either
                # (`strongroom init` makes it), not a server out of reach.
                if database_is_missing(url):
                    raise CatalogMissing("no catalog there") from None
                raise
            if revisions is None:
                raise CatalogMissing("no catalog there")
            _migrate(engine, upgrade=upgrade)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    # ------------------------------------------------------------------ the audit log

    def append(self, events: Sequence[NewEvent]) -> list[AuditEvent]:
        """Chain ``events`` at the end of the log, in order, in one transaction.
        Raises ValueError for an event that cannot be sealed, CatalogUnavailable."""
        if not events:
            return []
        with self._write() as session:
            return append_events(session, events)

    def events(self, package_id: str | None = None, after: int = 0) -> Iterator[AuditEvent]:
        """Events in chain order after seq ``after``, all or those of one package,
        read a page at a time. Raises CatalogUnavailable while iterating."""
        def read_page(after_seq: int, package: str | None, limit: int) -> list[AuditEvent]:
            with self._read() as session:
                return read_events(session, after_seq, package, limit)

        return walk_events(read_page, package_id, after)
