"""Tables for people's accounts and their console sessions (see storage.tables_base for conventions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.tables_base import Base


class Account(Base):
    """A person who signs in to the console. Names are never reused, disabled
    accounts included: a name in the audit log names one person."""

    __tablename__ = "accounts"
    __table_args__ = (
        CheckConstraint("role IN ('submitter', 'auditor', 'reader', 'admin')",
                        name="ck_accounts_role"),
    )

    account_id: Mapped[str] = mapped_column(String, primary_key=True)
    name: Mapped[str] = mapped_column(String, unique=True)
    role: Mapped[str] = mapped_column(String)
    #: Argon2id, in its standard encoded form (parameters and salt included)
    password_hash: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]
    disabled_at: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]
    password_changed_at: Mapped[datetime | None]
    #: the agent who last set the password (``Actor.to_dict``); None when not known
    password_set_by: Mapped[dict[str, Any] | None]
    #: every agent but the owner who has set the password, the maker first (a
    #: list of ``Actor.to_dict``); None when none is known
    password_setters: Mapped[list[Any] | None]


class WebSession(Base):
    """A console session. Only the SHA-256 of the cookie's secret is kept."""

    __tablename__ = "web_sessions"
    __table_args__ = (Index("ix_web_sessions_account", "account_id"),)

    secret_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[str] = mapped_column(String, ForeignKey("accounts.account_id"))
    csrf_token: Mapped[str] = mapped_column(String)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
