"""The catalog's tables, as SQLAlchemy typed declarative models.

These rows never leave ``storage/``: the catalog turns them into the
dataclasses of ``ingest.models``. The schema is created and changed only by the
Alembic migrations in ``storage/migrations``; a test checks that they agree
with these models.

The declarative base, its naming convention and the UTC datetime type are in
``storage.tables_base``, beneath this module and the ``storage.tables_*`` ones.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

# Tables of later features live in modules of their own, on the same base;
# importing them here puts them in Base.metadata, which migrations are checked against.
import storage.tables_access
import storage.tables_accounts
import storage.tables_deaccession
import storage.tables_fixity
import storage.tables_replicas  # noqa: F401
from storage.tables_base import Base


class Batch(Base):
    __tablename__ = "batches"
    #: ``list_batches``: newest first, from a date
    __table_args__ = (Index("ix_batches_submitted_at", "submitted_at", "batch_id"),)

    batch_id: Mapped[str] = mapped_column(String, primary_key=True)
    source: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[datetime]
    #: batch.json's submitter: the name the file claims
    submitter: Mapped[str | None] = mapped_column(String)
    collection: Mapped[str | None] = mapped_column(String)
    schema: Mapped[str] = mapped_column(String)
    findings: Mapped[list[Any]]
    #: who submitted the batch (ingest.models.Actor.to_dict)
    submitted_by: Mapped[dict[str, Any] | None]
    #: SHA-256 of the batch's staged listing (a staged batch; ingest.staged_batch)
    staged_sha256: Mapped[str | None] = mapped_column(String(64))


class Item(Base):
    __tablename__ = "items"
    __table_args__ = (
        UniqueConstraint("batch_id", "name", name="uq_items_batch_id_name"),
        # ``stuck_items``: accepted items, the longest idle first
        Index("ix_items_status_updated_at", "status", "updated_at"),
        CheckConstraint(
            "status IN ('accepted', 'stored', 'unchanged', 'rejected', 'failed')",
            name="ck_items_status",
        ),
    )

    item_id: Mapped[str] = mapped_column(String, primary_key=True)
    batch_id: Mapped[str] = mapped_column(String, ForeignKey("batches.batch_id"))
    name: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String)
    package_id: Mapped[str | None] = mapped_column(String)
    version: Mapped[int | None] = mapped_column(Integer)
    findings: Mapped[list[Any]]
    attempts: Mapped[int] = mapped_column(Integer)
    #: the lease (last renewed at updated_at): the token of the attempt at work on
    #: the item, or null (ingest.lease)
    lease_holder: Mapped[str | None] = mapped_column(String)
    updated_at: Mapped[datetime]
    #: SHA-256 of the item's staged listing (a staged batch; ingest.staged_batch)
    staged_sha256: Mapped[str | None] = mapped_column(String(64))


class Package(Base):
    __tablename__ = "packages"
    #: package search reads each order a page at a time from an index (keyset)
    __table_args__ = (
        Index("ix_packages_sort_title", "sort_title", "identifier"),
        Index("ix_packages_sort_date", "sort_date", "identifier"),
        Index("ix_packages_latest_at", "latest_at", "identifier"),
        Index("ix_packages_identifier_key", "identifier_key"),
        Index("ix_packages_collection_key", "collection_key", "identifier"),
    )

    package_id: Mapped[str] = mapped_column(String, primary_key=True)
    identifier: Mapped[str] = mapped_column(Text, unique=True)
    #: the identifier as compared for sameness: NFC, case-folded
    #: (``ingest.batch_identifiers.identifier_key``); not unique (older twins stay)
    identifier_key: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    #: None until the first version is committed; such a package is invisible
    latest_version: Mapped[int | None] = mapped_column(Integer)
    #: the latest version's title, case-folded (``ingest.access.title_sort_key``)
    sort_title: Mapped[str] = mapped_column(Text, server_default="")
    #: the start of the latest version's record date (``ingest.access.date_sort_key``)
    sort_date: Mapped[str] = mapped_column(String, server_default="")
    #: the end of the latest version's record date (``ingest.access.date_end_key``)
    date_end: Mapped[str] = mapped_column(String, server_default="")
    #: when the latest version was committed
    latest_at: Mapped[datetime | None]
    #: the latest version's title as a search compares it (``ingest.access.title_key``)
    title_key: Mapped[str] = mapped_column(Text, server_default="")
    #: its creators' names, each spelling a line (``ingest.access.creators_key``)
    creators_key: Mapped[str] = mapped_column(Text, server_default="")
    #: its collection, folded (``ingest.access.collection_key``)
    collection_key: Mapped[str] = mapped_column(Text, server_default="")


#: Title words and a part of a creator's name on PostgreSQL: trigram indexes on
#: the folded columns, which the search's ``LIKE '%word%'`` uses (migration 0024;
#: SQLite scans).
Index("ix_packages_title_key_trgm", Package.title_key, postgresql_using="gin",
      postgresql_ops={"title_key": "gin_trgm_ops"}).ddl_if(dialect="postgresql")
Index("ix_packages_creators_key_trgm", Package.creators_key, postgresql_using="gin",
      postgresql_ops={"creators_key": "gin_trgm_ops"}).ddl_if(dialect="postgresql")


class Version(Base):
    __tablename__ = "versions"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'committed')", name="ck_versions_state"),
    )

    package_id: Mapped[str] = mapped_column(
        String, ForeignKey("packages.package_id"), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    state: Mapped[str] = mapped_column(String)
    #: the item holding the claim, then the item that stored it (None after a rebuild)
    item_id: Mapped[str | None] = mapped_column(String)
    batch_id: Mapped[str | None] = mapped_column(String)
    identifier: Mapped[str] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    record: Mapped[dict[str, Any] | None]
    created_at: Mapped[datetime]
    committed_at: Mapped[datetime | None]
    last_fixity_at: Mapped[datetime | None]
    last_fixity_outcome: Mapped[str | None] = mapped_column(String)


class File(Base):
    __tablename__ = "files"
    __table_args__ = (
        ForeignKeyConstraint(
            ["package_id", "number"], ["versions.package_id", "versions.number"],
            name="fk_files_version", ondelete="CASCADE",
        ),
        # ``objects_with_digests``: files holding the same bytes, found by digest
        Index("ix_files_sha256", "sha256"),
    )

    package_id: Mapped[str] = mapped_column(String, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    path: Mapped[str] = mapped_column(Text, primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    sha512: Mapped[str] = mapped_column(String(128))
    # the format identified at ingest (ingest.format_identification); null if none
    puid: Mapped[str | None] = mapped_column(String)
    format_name: Mapped[str | None] = mapped_column(Text)
    format_version: Mapped[str | None] = mapped_column(Text)
    mime_type: Mapped[str | None] = mapped_column(String)
    format_basis: Mapped[str | None] = mapped_column(String)
    # the earlier version whose object holds the bytes (ingest.layout); null: this one
    held_by: Mapped[int | None] = mapped_column(Integer)


class Event(Base):
    __tablename__ = "events"
    __table_args__ = (Index("ix_events_package_id", "package_id"),
                      # ``sealing_event``: the ingestion event of one version
                      Index("ix_events_sealing", "package_id", "version", "event_type"))

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    event_id: Mapped[str] = mapped_column(String, unique=True)
    event_type: Mapped[str] = mapped_column(String)
    outcome: Mapped[str] = mapped_column(String)
    agent: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime]
    batch_id: Mapped[str | None] = mapped_column(String)
    item_id: Mapped[str | None] = mapped_column(String)
    package_id: Mapped[str | None] = mapped_column(String)
    version: Mapped[int | None] = mapped_column(Integer)
    detail: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: who caused the event (ingest.models.Actor.to_dict); sealed in the hash when set
    actor: Mapped[dict[str, Any] | None]


class AuditHead(Base):
    """The single row (id 1) naming the last event; locking it serializes appends."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="ck_audit_head_single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
