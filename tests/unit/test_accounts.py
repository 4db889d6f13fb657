"""Accounts and console sessions: the rules, on a real (SQLite) catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.access import ROLE_PERMISSIONS, ROLES, Permission
from ingest.accounts import (
    AccountNotFound,
    SignInRefused,
    SignInThrottle,
    change_password,
    create_account,
    csrf_matches,
    disable_account,
    open_session,
    sign_in,
    sign_out,
)
from ingest.errors import InputError
from storage.catalog import SqlCatalog

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def catalog(tmp_path: Path) -> SqlCatalog:
    return SqlCatalog.from_url(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")


def test_passwords_are_kept_only_as_argon2id_hashes(catalog: SqlCatalog) -> None:
    create_account(catalog, "Margaret Hale", "submitter", "a long enough secret", T0)
    account, stored = catalog.find_account("Margaret Hale")  # type: ignore[misc]
    assert stored.startswith("$argon2id$") and "a long enough secret" not in stored
    assert account.role == "submitter" and account.active


def test_short_passwords_unknown_roles_and_taken_names_are_refused(catalog: SqlCatalog) -> None:
    with pytest.raises(InputError, match="at least 12"):
        create_account(catalog, "Short", "reader", "too short", T0)
    with pytest.raises(InputError, match="role must be one of"):
        create_account(catalog, "Curator", "curator", "a long enough secret", T0)
    create_account(catalog, "Once", "reader", "a long enough secret", T0)
    disable_account(catalog, "Once", T0)
    with pytest.raises(InputError, match="never reused"):
        create_account(catalog, "Once", "admin", "a long enough secret", T0)


def test_a_session_opens_with_the_right_password_only(catalog: SqlCatalog) -> None:
    create_account(catalog, "Reader", "reader", "a long enough secret", T0)
    throttle = SignInThrottle()
    with pytest.raises(SignInRefused):
        sign_in(catalog, throttle, "Reader", "a wrong secret!!", "10.0.0.1", T0)
    with pytest.raises(SignInRefused) as unknown:
        sign_in(catalog, throttle, "Nobody", "a long enough secret", "10.0.0.1", T0)
    assert "name or the password" in str(unknown.value)  # the same words: names cannot be probed
    signed = sign_in(catalog, throttle, "Reader", "a long enough secret", "10.0.0.1", T0)
    session = open_session(catalog, signed.secret, T0 + timedelta(minutes=1))
    assert session is not None and session.account.name == "Reader"
    assert csrf_matches(session, signed.csrf_token) and not csrf_matches(session, "forged")
    assert not csrf_matches(session, None)
    assert catalog.find_session(signed.secret) is None  # only the digest is the key


def test_an_idle_session_ends(catalog: SqlCatalog) -> None:
    create_account(catalog, "Idle", "reader", "a long enough secret", T0)
    signed = sign_in(catalog, SignInThrottle(), "Idle", "a long enough secret", "a", T0)
    assert open_session(catalog, signed.secret, T0 + timedelta(minutes=29)) is not None
    assert open_session(catalog, signed.secret, T0 + timedelta(minutes=29 + 31)) is None
    # and stays ended even if used again soon after
    assert open_session(catalog, signed.secret, T0 + timedelta(minutes=61)) is None


def test_a_busy_session_still_ends_after_twelve_hours(catalog: SqlCatalog) -> None:
    create_account(catalog, "Busy", "reader", "a long enough secret", T0)
    signed = sign_in(catalog, SignInThrottle(), "Busy", "a long enough secret", "a", T0)
    at = T0
    for _ in range(12 * 4 + 2):
        at += timedelta(minutes=15)
        if open_session(catalog, signed.secret, at) is None:
            break
    assert at - T0 <= timedelta(hours=12, minutes=15)
    assert open_session(catalog, signed.secret, at) is None


def test_disabling_an_account_ends_its_sessions_at_once(catalog: SqlCatalog) -> None:
    create_account(catalog, "Leaver", "admin", "a long enough secret", T0)
    signed = sign_in(catalog, SignInThrottle(), "Leaver", "a long enough secret", "a", T0)
    disable_account(catalog, "Leaver", T0 + timedelta(minutes=1))
    assert open_session(catalog, signed.secret, T0 + timedelta(minutes=2)) is None
    with pytest.raises(SignInRefused):
        sign_in(catalog, SignInThrottle(), "Leaver", "a long enough secret", "a", T0 + timedelta(minutes=3))
    with pytest.raises(AccountNotFound):
        disable_account(catalog, "Nobody", T0)


def test_changing_a_password_needs_the_current_one_and_ends_every_session(catalog: SqlCatalog) -> None:
    create_account(catalog, "Changer", "reader", "a long enough secret", T0)
    signed = sign_in(catalog, SignInThrottle(), "Changer", "a long enough secret", "a", T0)
    with pytest.raises(SignInRefused):
        change_password(catalog, "Changer", "not the current one", "a brand new secret", T0)
    change_password(catalog, "Changer", "a long enough secret", "a brand new secret", T0)
    assert open_session(catalog, signed.secret, T0) is None
    sign_in(catalog, SignInThrottle(), "Changer", "a brand new secret", "a", T0)


def test_signing_out_ends_that_session_only(catalog: SqlCatalog) -> None:
    create_account(catalog, "Two Tabs", "reader", "a long enough secret", T0)
    one = sign_in(catalog, SignInThrottle(), "Two Tabs", "a long enough secret", "a", T0)
    two = sign_in(catalog, SignInThrottle(), "Two Tabs", "a long enough secret", "b", T0)
    sign_out(catalog, one.secret, T0)
    assert open_session(catalog, one.secret, T0) is None
    assert open_session(catalog, two.secret, T0) is not None


def test_the_throttle_counts_per_name_and_per_address() -> None:
    throttle = SignInThrottle(per_name=3, per_address=5, window=timedelta(minutes=15))
    for _ in range(3):
        throttle.failed("Ada", "10.0.0.1", T0)
    assert not throttle.allows("ada", "10.0.0.9", T0)  # the name, from anywhere, any case
    assert throttle.allows("Bob", "10.0.0.9", T0)
    assert throttle.allows("Ada", "10.0.0.9", T0 + timedelta(minutes=16))  # the window passed
    for name in ("a", "b", "c", "d", "e"):
        throttle.failed(name, "10.0.0.2", T0)
    assert not throttle.allows("someone else", "10.0.0.2", T0)  # a run over many names from one place


def test_tokens_and_accounts_share_one_role_table() -> None:
    from strongroom.api import auth

    assert set(ROLE_PERMISSIONS) == set(ROLES)
    assert auth.ROLE_PERMISSIONS is ROLE_PERMISSIONS
    assert ROLE_PERMISSIONS["admin"] == frozenset(Permission)
    assert Permission.ADMINISTER not in ROLE_PERMISSIONS["auditor"]


def test_importing_the_accounts_module_hashes_no_password() -> None:
    """Every command imports it (submit too); an Argon2id hash at import cost each
    of them a tenth of a second or more before it did anything."""
    import subprocess
    import sys

    probe = ("import argon2\n"
             "calls = []\n"
             "real = argon2.PasswordHasher.hash\n"
             "argon2.PasswordHasher.hash = lambda *a, **k: calls.append(1) or real(*a, **k)\n"
             "import ingest.accounts\n"
             "print(len(calls))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "0"


@pytest.mark.parametrize("alike", ["Admin", "ADMIN", "ａｄｍｉｎ"])
def test_a_name_that_reads_as_an_existing_account_is_refused(tmp_path: Path, alike: str) -> None:
    """Before, "Admin" and full-width "ａｄｍｉｎ" were made beside "admin": three
    people in the audit log that nobody reading it could tell apart."""
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    now = datetime(2026, 12, 7, tzinfo=UTC)
    create_account(catalog, "admin", "admin", "a long enough password", now)
    with pytest.raises(InputError, match="reads as"):
        create_account(catalog, alike, "admin", "another long password", now)
    catalog.engine.dispose()
