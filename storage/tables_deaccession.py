"""Tables of deaccession requests and the tombstones they leave (``ingest.tombstones``;
see storage.tables_base for conventions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables_base import Base


class DeaccessionRequestRow(Base):
    """A request to deaccession a package (``version`` null) or one version; from
    state ``deleting`` on, with its ``Tombstone`` rows, the tombstone itself."""

    __tablename__ = "deaccession_requests"
    __table_args__ = (
        CheckConstraint("state IN ('requested', 'rejected', 'deleting', 'deaccessioned')",
                        name="ck_deaccession_requests_state"),
        Index("ix_deaccession_requests_package", "package_id", "state"),
        Index("ix_deaccession_requests_identifier_key", "identifier_key"),
    )

    request_id: Mapped[str] = mapped_column(String, primary_key=True)
    package_id: Mapped[str] = mapped_column(String)
    identifier: Mapped[str] = mapped_column(Text)
    #: the identifier as compared for sameness (``ingest.models.identifier_key``):
    #: a new record that reads like a package withdrawn as a whole is refused
    identifier_key: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String)
    #: who asked (ingest.models.Actor.to_dict), and when
    requested_by: Mapped[dict[str, Any]]
    requested_at: Mapped[datetime]
    #: who approved or rejected it, when, and a rejection's reason
    decided_by: Mapped[dict[str, Any] | None]
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str | None] = mapped_column(Text)
    #: when every location was rid of the objects
    completed_at: Mapped[datetime | None]


class Tombstone(Base):
    """One version a deaccession withdrew: its files (path, size, sha256, sha512)
    as the catalog had them. Its number is never given to a new version."""

    __tablename__ = "tombstones"

    package_id: Mapped[str] = mapped_column(String, primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    request_id: Mapped[str] = mapped_column(
        String, ForeignKey("deaccession_requests.request_id"))
    #: [[path, size, sha256, sha512], ...]
    files: Mapped[list[Any]]
