"""Tables for the catalog's fixity checks of every copy: when each was last checked, by which tier,
what is due (see storage.tables_base for conventions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ColumnElement,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    literal_column,
    or_,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables_base import Base


class FixityCheck(Base):
    """One fixity check of one copy (a version in one location), pass or fail.

    Kept for every check, not only the last: the report lists every failure
    since a date, and coverage needs the last check that found a copy whole.
    """

    __tablename__ = "fixity_checks"
    __table_args__ = (
        ForeignKeyConstraint(
            ["package_id", "number"], ["versions.package_id", "versions.number"],
            name="fk_fixity_checks_version", ondelete="CASCADE",
        ),
        # delivery: damage found on the way out (ingest.fixity_policy.DELIVERY)
        CheckConstraint("tier IN ('deep', 'shallow', 'delivery')", name="ck_fixity_checks_tier"),
        CheckConstraint("outcome IN ('ok', 'failed')", name="ck_fixity_checks_outcome"),
        Index("ix_fixity_checks_copy", "package_id", "number", "location", "tier", "checked_at"),
        Index("ix_fixity_checks_checked_at", "checked_at"),
    )

    check_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    package_id: Mapped[str] = mapped_column(String)
    number: Mapped[int] = mapped_column(Integer)
    #: the store's location URL (``file:///…``, ``s3://bucket/prefix``)
    location: Mapped[str] = mapped_column(Text)
    tier: Mapped[str] = mapped_column(String)
    checked_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String)
    findings: Mapped[list[Any]]


class FixityState(Base):
    """What the fixity schedule knows of one copy (a committed version in one location).

    One row per copy, kept by the catalog as versions are committed or imported,
    copies noted and checks queued and recorded, so that "what is due next" is
    an index scan, not a pass over every version and file: ``deep_base_at`` is
    when the copy's deep deadline counts from (its last deep check, or its
    version's making), ``shallow_base_at`` when its shallow interval counts from
    (its last check of either tier, or its making). A delivery refused for
    damage (tier ``delivery``) moves neither: it marks the copy failing until
    the next deep check. A location's rows are added
    for every committed version the first time the schedule is asked about it
    (``FixityLocation``).
    """

    __tablename__ = "fixity_state"
    __table_args__ = (
        ForeignKeyConstraint(
            ["package_id", "number"], ["versions.package_id", "versions.number"],
            name="fk_fixity_state_version", ondelete="CASCADE",
        ),
        CheckConstraint("last_deep_outcome IN ('ok', 'failed')",
                        name="ck_fixity_state_last_deep_outcome"),
        CheckConstraint("last_shallow_outcome IN ('ok', 'failed')",
                        name="ck_fixity_state_last_shallow_outcome"),
        # the oldest deep-verified copies of a location first
        Index("ix_fixity_state_deep_due", "location", "deep_base_at", "package_id", "number"),
        # the longest unchecked copies of a location first
        Index("ix_fixity_state_shallow_due", "location", "shallow_base_at", "package_id",
              "number"),
        # copies bigger than a run's allowance
        Index("ix_fixity_state_size", "location", "octets"),
        # ix_fixity_state_failing: below the class, made of FAILING
    )

    package_id: Mapped[str] = mapped_column(String, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: the store's location URL (``file:///…``, ``s3://bucket/prefix``)
    location: Mapped[str] = mapped_column(Text, primary_key=True)
    #: bytes a deep check reads (every file of the version)
    octets: Mapped[int] = mapped_column(BigInteger)
    #: the version's ``created_at``: the baseline of a copy never checked
    made_at: Mapped[datetime]
    deep_base_at: Mapped[datetime]
    shallow_base_at: Mapped[datetime]
    last_deep_at: Mapped[datetime | None]
    last_deep_ok_at: Mapped[datetime | None]
    last_deep_check_id: Mapped[int | None] = mapped_column(Integer)
    last_deep_outcome: Mapped[str | None] = mapped_column(String)
    last_shallow_at: Mapped[datetime | None]
    last_shallow_check_id: Mapped[int | None] = mapped_column(Integer)
    last_shallow_outcome: Mapped[str | None] = mapped_column(String)
    #: when a check of each tier was queued and not yet recorded
    queued_deep_at: Mapped[datetime | None]
    queued_shallow_at: Mapped[datetime | None]
    #: the last delivery refused for damage in this copy since its last deep
    #: check (null once a deep check is recorded after it): the copy fails, but
    #: its deep deadline and coverage are its deep checks' alone
    delivery_failed_at: Mapped[datetime | None]
    delivery_failed_check_id: Mapped[int | None] = mapped_column(Integer)
    #: when a task to fill this copy (``strongroom locations fill`` with workers)
    #: was sent and not yet finished
    queued_fill_at: Mapped[datetime | None]


#: the outcome of a failed check, written in the SQL itself rather than bound:
#: a query's condition is then the partial index's word for word, and the
#: database can tell the index serves it even in a plan made before the
#: parameters are known (PostgreSQL's generic plans of prepared statements)
_FAILED: ColumnElement[str] = literal_column("'failed'", String)

#: A copy is failing: its last check of either tier failed, or a delivery found
#: it damaged since its last deep check. The one statement of this rule: the
#: partial index below is built from it (its DDL on SQLite and PostgreSQL alike),
#: and every query of failing copies uses it, so each is served by that index.
FAILING: ColumnElement[bool] = or_(FixityState.last_deep_outcome == _FAILED,
                                   FixityState.last_shallow_outcome == _FAILED,
                                   FixityState.delivery_failed_check_id.is_not(None))

# copies whose last check of a tier failed, or a delivery since
Index("ix_fixity_state_failing", FixityState.location,
      postgresql_where=FAILING, sqlite_where=FAILING)

#: a copy a task is sent to fill
FILL_QUEUED: ColumnElement[bool] = FixityState.queued_fill_at.is_not(None)

# copies queued to be filled, by location (``strongroom locations`` counts them)
Index("ix_fixity_state_fill_queued", FixityState.location,
      postgresql_where=FILL_QUEUED, sqlite_where=FILL_QUEUED)


class FixityLocation(Base):
    """A location the fixity schedule covers: every committed version has a
    ``FixityState`` row there."""

    __tablename__ = "fixity_locations"

    location: Mapped[str] = mapped_column(Text, primary_key=True)
    added_at: Mapped[datetime]


class FixityBacklog(Base):
    """The bytes of a location's copies by the hour their deep deadline counts from
    (``FixityState.deep_base_at``, whole hours since 1970), kept up to date with
    the rows: the pace of deep checks needs these sums, and summing a million
    rows at every planning run would not be quick."""

    __tablename__ = "fixity_backlog"

    location: Mapped[str] = mapped_column(Text, primary_key=True)
    hour: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    copies: Mapped[int] = mapped_column(BigInteger)
    octets: Mapped[int] = mapped_column(BigInteger)
