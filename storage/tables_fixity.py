"""Tables for the catalog's fixity checks of every copy: when each was last checked, by which tier, what is due (see storage.tables for conventions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base


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
        CheckConstraint("tier IN ('deep', 'shallow')", name="ck_fixity_checks_tier"),
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


class FixityQueueEntry(Base):
    """A check of one copy and tier that was planned and sent, until it is recorded.

    While a row is ``queued`` the copy is not planned again for that tier; a row
    queued for longer than the policy's ``requeue_after`` is taken for lost (its
    worker or run crashed) and may be queued again.
    """

    __tablename__ = "fixity_queue"
    __table_args__ = (
        ForeignKeyConstraint(
            ["package_id", "number"], ["versions.package_id", "versions.number"],
            name="fk_fixity_queue_version", ondelete="CASCADE",
        ),
        CheckConstraint("state IN ('queued', 'done')", name="ck_fixity_queue_state"),
    )

    package_id: Mapped[str] = mapped_column(String, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    location: Mapped[str] = mapped_column(Text, primary_key=True)
    tier: Mapped[str] = mapped_column(String, primary_key=True)
    state: Mapped[str] = mapped_column(String)
    queued_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
