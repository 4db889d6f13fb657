"""Tables for the catalog's API tokens and package search (see storage.tables for conventions)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables import Base

#: The roles a token can carry; the API decides what each may do.
ROLES = ("submitter", "auditor", "reader", "admin")


class ApiToken(Base):
    """One bearer token. Only the SHA-256 of the secret is kept: a stolen
    database yields no usable token."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("role IN ('submitter', 'auditor', 'reader', 'admin')",
                        name="ck_api_tokens_role"),
    )

    token_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String)
    role: Mapped[str] = mapped_column(String)
    secret_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
