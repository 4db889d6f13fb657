"""Tables for the catalog's API tokens and package search (see storage.tables_base for conventions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables_base import Base


class ApiToken(Base):
    """One bearer token. Only the SHA-256 of the secret is kept: a stolen
    database yields no usable token."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("role IN ('submitter', 'auditor', 'reader', 'admin')",
                        name="ck_api_tokens_role"),
        # One live token per name: a name says who did something in the audit log.
        Index("uq_api_tokens_live_name", "name", unique=True,
              sqlite_where=text("revoked_at IS NULL"),
              postgresql_where=text("revoked_at IS NULL")),
    )

    token_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    #: when a request last presented it (written at most once a minute)
    last_used_at: Mapped[datetime | None]
    #: the agent who made it (``Actor.to_dict``); None when not known
    created_by: Mapped[dict[str, Any] | None]
