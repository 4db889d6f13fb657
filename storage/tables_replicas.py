"""Tables for the catalog's copies of versions in each location, and anchors of the audit chain (see
storage.tables_base for conventions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables_base import Base


class VersionCopy(Base):
    """One copy of a version's bag in one storage location, and what its last check found.

    A row is written for the primary and every replica once that copy has been
    written and checked back (before the version is committed), and again
    whenever ``repair`` deep-verifies or rebuilds it. Dropping a version claim
    drops its copies (ON DELETE CASCADE).
    """

    __tablename__ = "version_copies"
    __table_args__ = (
        ForeignKeyConstraint(
            ["package_id", "number"], ["versions.package_id", "versions.number"],
            name="fk_version_copies_version", ondelete="CASCADE",
        ),
        CheckConstraint("state IN ('verified', 'damaged')", name="ck_version_copies_state"),
    )

    package_id: Mapped[str] = mapped_column(String, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the store's location URL (``file:///…``, ``s3://bucket/prefix``)
    location: Mapped[str] = mapped_column(Text, primary_key=True)
    state: Mapped[str] = mapped_column(String)
    checked_at: Mapped[datetime]


class ObjectVersion(Base):
    """The object version to read for one object of a package in one location,
    where the store keeps versions and the current one is not to be trusted: a
    repair wrote a new version over a damaged object retained by S3 Object Lock
    (``ingest.object_versions``). An object without a row is read in its current
    version. Keyed by the object's key, which names the version that holds it:
    later versions that share the object read it under that key too."""

    __tablename__ = "object_versions"
    __table_args__ = (Index("ix_object_versions_package", "package_id", "location"),)

    #: the store's location URL (``s3://bucket/prefix``)
    location: Mapped[str] = mapped_column(Text, primary_key=True)
    #: ``{package_id}/v{N}/{path}``
    object_key: Mapped[str] = mapped_column(Text, primary_key=True)
    package_id: Mapped[str] = mapped_column(String)
    version_id: Mapped[str] = mapped_column(Text)


class RetiredLocation(Base):
    """A storage location taken out of service (``strongroom locations retire``):
    the catalog notes no copy there any more and plans no check of it. Its bytes
    are left as they were; what becomes of the medium is the operator's. A
    location named again in the settings later is a new location to fill."""

    __tablename__ = "retired_locations"

    location: Mapped[str] = mapped_column(Text, primary_key=True)
    retired_at: Mapped[datetime]
    #: who retired it (``Actor.to_dict``) and why
    retired_by: Mapped[dict[str, Any]]
    reason: Mapped[str] = mapped_column(Text)
    #: copies the catalog noted there when it was retired
    copies: Mapped[int] = mapped_column(BigInteger)
    #: the audit event that says so
    event_seq: Mapped[int] = mapped_column(BigInteger)


class AuditAnchor(Base):
    """An audit chain head written to the object store (``_audit/anchors/``).

    Only a note of what was anchored, so that an unchanged head is not written
    again; ``audit verify`` reads the anchors from the stores, never from here,
    since whoever can rewrite the log can rewrite this table too.
    """

    __tablename__ = "audit_anchors"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))
    anchored_at: Mapped[datetime]


class CatalogRebuild(Base):
    """A catalog rebuild this database came from; its record in the object store
    (``_audit/rebuilds/{rebuild_id}.json``) names the anchors of the log it lost.

    ``audit verify`` excuses the anchors of a rebuild record only when this
    catalog knows its id: a rebuild into some other database leaves the anchors
    of this catalog's log in force.
    """

    __tablename__ = "catalog_rebuilds"

    rebuild_id: Mapped[str] = mapped_column(String, primary_key=True)
    rebuilt_at: Mapped[datetime]


class AuditLogIdentity(Base):
    """The single row (id 1) naming this catalog's audit log (``log_id``, made when
    the log was created): its anchors are ``_audit/logs/{log_id}/anchors/``.

    ``legacy_anchors``: this log anchored itself before logs had an identity, so
    the anchors under the shared ``_audit/anchors/`` are its own too.
    """

    __tablename__ = "audit_log"
    __table_args__ = (CheckConstraint("id = 1", name="ck_audit_log_single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    log_id: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]
    legacy_anchors: Mapped[bool] = mapped_column(Boolean)
