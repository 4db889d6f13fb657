"""The catalog's accounts and console sessions (see ingest.accounts for the rules).

Only password hashes and the SHA-256 of session secrets are stored: a copy of
the database yields neither a password nor an open session.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ingest.accounts import (
    AccountInfo,
    AccountNotFound,
    DisabledAccount,
    DisablingEvents,
    SessionInfo,
    TokensToRevoke,
)
from ingest.errors import InputError
from ingest.models import Actor, NewEvent
from storage.audit_log import append_events
from storage.catalog_access import token_info
from storage.catalog_base import CatalogBase, rows_changed
from storage.tables_access import ApiToken
from storage.tables_accounts import Account, WebSession

#: the audit events of an account's change, made from the account as changed
Events = Callable[[AccountInfo], Sequence[NewEvent]]


class AccountsAndSessions(CatalogBase):
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""

    def add_account(self, name: str, role: str, password_hash: str, at: datetime, *,
                    set_by: Actor | None = None, events: Events | None = None) -> AccountInfo:
        taken = InputError(f"an account is already named {name!r} (names are never reused, "
                           "disabled accounts included): choose another name")
        row = Account(account_id=str(uuid.uuid4()), name=name, role=role, password_hash=password_hash,
                      created_at=at, disabled_at=None, last_sign_in_at=None, password_changed_at=at,
                      password_set_by=set_by.to_dict() if set_by else None,
                      password_setters=[set_by.to_dict()] if set_by else None)
        try:
            with self._write() as session:
                if session.execute(select(Account.account_id).where(Account.name == name)).first():
                    raise taken
                session.add(row)
                info = _info(row)
                if events is not None:
                    session.flush()
                    append_events(session, events(info))
        except IntegrityError as exc:  # the same name created at the same moment
            raise taken from exc
        return info

    def get_account(self, account_id: str) -> AccountInfo | None:
        with self._read() as session:
            row = session.get(Account, account_id)
            return None if row is None else _info(row)

    def find_account(self, name: str) -> tuple[AccountInfo, str] | None:
        with self._read() as session:
            row = session.execute(select(Account).where(Account.name == name)).scalar_one_or_none()
            return None if row is None else (_info(row), row.password_hash)

    def list_accounts(self) -> list[AccountInfo]:
        with self._read() as session:
            rows = session.execute(select(Account).order_by(Account.created_at, Account.name)).scalars()
            return [_info(r) for r in rows]

    def set_account_password(self, name: str, password_hash: str, at: datetime, *,
                             set_by: Actor | None = None, events: Events | None = None) -> AccountInfo:
        with self._write() as session:
            row = _account(session, name)
            row.password_hash = password_hash
            row.password_changed_at = at
            row.password_set_by = set_by.to_dict() if set_by else None
            if set_by is not None and set_by.account_id != row.account_id:
                known = list(row.password_setters or [])
                if set_by.to_dict() not in known:
                    row.password_setters = [*known, set_by.to_dict()]
            info = _info(row)
            if events is not None:
                append_events(session, events(info))
            return info

    def disable_account(self, name: str, at: datetime, *, revokes: TokensToRevoke,
                        events: DisablingEvents | None = None) -> DisabledAccount:
        with self._write() as session:
            row = _account(session, name)
            if row.disabled_at is None:
                row.disabled_at = at
            session.execute(update(WebSession)
                            .where(WebSession.account_id == row.account_id, WebSession.ended_at.is_(None))
                            .values(ended_at=at).execution_options(synchronize_session=False))
            # The live tokens are few: the domain's rule (``revokes``) chooses among
            # them, here, in the transaction that disables the account.
            info = _info(row)
            live = {token.token_id: token for token in session.execute(
                select(ApiToken).where(ApiToken.revoked_at.is_(None))).scalars()}
            chosen = revokes(info, [token_info(token) for token in live.values()])
            for token in chosen:
                live[token.token_id].revoked_at = at
            revoked = [token_info(live[token.token_id]) for token in chosen]
            if events is not None:
                append_events(session, events(info, revoked))
            return DisabledAccount(info, revoked)

    def note_sign_in(self, account_id: str, at: datetime) -> None:
        with self._write() as session:
            session.execute(update(Account).where(Account.account_id == account_id)
                            .values(last_sign_in_at=at).execution_options(synchronize_session=False))

    def add_session(self, account_id: str, secret_sha256: str, csrf_token: str, at: datetime) -> None:
        with self._write() as session:
            session.add(WebSession(secret_sha256=secret_sha256, account_id=account_id,
                                   csrf_token=csrf_token, created_at=at, last_seen_at=at, ended_at=None))

    def find_session(self, secret_sha256: str) -> SessionInfo | None:
        with self._read() as session:
            found = session.execute(
                select(WebSession, Account).join(Account, Account.account_id == WebSession.account_id)
                .where(WebSession.secret_sha256 == secret_sha256, WebSession.ended_at.is_(None))
            ).first()
            if found is None:
                return None
            web, account = found
            return SessionInfo(account=_info(account), csrf_token=web.csrf_token,
                               created_at=web.created_at, last_seen_at=web.last_seen_at)

    def touch_session(self, secret_sha256: str, at: datetime) -> None:
        with self._write() as session:
            session.execute(update(WebSession).where(WebSession.secret_sha256 == secret_sha256)
                            .values(last_seen_at=at).execution_options(synchronize_session=False))

    def end_sessions(self, *, secret_sha256: str | None = None, account_id: str | None = None,
                     at: datetime) -> int:
        if secret_sha256 is None and account_id is None:
            raise ValueError("end_sessions needs a session or an account")
        with self._write() as session:
            query = update(WebSession).where(WebSession.ended_at.is_(None))
            if secret_sha256 is not None:
                query = query.where(WebSession.secret_sha256 == secret_sha256)
            if account_id is not None:
                query = query.where(WebSession.account_id == account_id)
            result = session.execute(query.values(ended_at=at).execution_options(synchronize_session=False))
            return rows_changed(result)


def _account(session: Session, name: str) -> Account:
    row = session.execute(select(Account).where(Account.name == name)).scalar_one_or_none()
    if row is None:
        raise AccountNotFound(f"no account named {name!r}")
    return row


def _info(row: Account) -> AccountInfo:
    return AccountInfo(account_id=row.account_id, name=row.name, role=row.role, created_at=row.created_at,
                       disabled_at=row.disabled_at, last_sign_in_at=row.last_sign_in_at,
                       password_changed_at=row.password_changed_at,
                       password_set_by=Actor.from_dict(row.password_set_by),
                       password_setters=tuple(actor for actor in map(Actor.from_dict,
                                                                     row.password_setters or ())
                                              if actor is not None))
