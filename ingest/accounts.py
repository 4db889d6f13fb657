"""People's accounts and their console sessions.

Machines carry bearer tokens (``ingest.access``); people sign in to the web
console with a name and a password. Both carry one of the same four roles and
are checked against the same table (``ingest.access.ROLE_PERMISSIONS``), and
both are named in every audit event they cause.

Passwords are hashed with Argon2id (argon2-cffi, its RFC 9106 low-memory
profile); the catalog keeps only the hash. A session is a random secret in a
cookie; the catalog keeps only its SHA-256, so a copy of the database opens no
session. A session ends when it is signed out, when it has been idle longer
than the idle limit, when it is older than the absolute limit, or as soon as
its account is disabled.

Disabling an account also revokes, in the same transaction, every live token
its person made (``tokens_of_person``): in the console as this account, or at
the command line under an operating-system account whose name reads as its
own (other capitals, fullwidth letters: ``ingest.models.name_key``, the rule
that keeps account names apart), which the two-person rule takes for the same
person (``ingest.tombstones.same_person``). Whoever made a token holds its secret, so
a token left live would let a person who has left go on acting as an
administrator. The tokens are revoked, not merely refused while their maker is
disabled, so that ``token list`` and the audit log say when each stopped
working and who ended it (``ingest.identities.end_account``).

Sign-in attempts are throttled per name and per address (``SignInThrottle``):
a guessing run against one name, or from one address against many names, is
refused for a while with the same answer a wrong password gets, so the answer
does not tell which names exist.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from ingest.access import ROLES, TokenInfo
from ingest.errors import InputError, NotFound
from ingest.models import Actor, NewEvent, name_key
from ingest.tombstones import same_person

#: A password shorter than this is refused (NIST SP 800-63B asks for at least 8;
#: an archive's accounts guard the only copy of its records).
MIN_PASSWORD_LENGTH = 12
#: Longer passwords are refused too: hashing unbounded input is a denial of service.
MAX_PASSWORD_LENGTH = 1024
#: A session idle this long is over (STRONGROOM_SESSION_IDLE_MINUTES).
DEFAULT_IDLE = timedelta(minutes=30)
#: A session is over this long after sign-in, however busy (sign in again).
SESSION_LIFETIME = timedelta(hours=12)
#: ``last_seen_at`` is written at most this often per session.
SEEN_PRECISION = timedelta(seconds=30)

if TYPE_CHECKING:
    from argon2 import PasswordHasher


@functools.cache
def _hasher() -> PasswordHasher:
    """Argon2id with RFC 9106's low-memory parameters, made on first use: every
    command imports this module (through the ports), few hash a password."""
    from argon2 import PasswordHasher
    from argon2.profiles import RFC_9106_LOW_MEMORY

    return PasswordHasher.from_parameters(RFC_9106_LOW_MEMORY)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so that the answer takes as
    long. Made on the first such sign-in, not on import: an Argon2id hash costs
    a tenth of a second or more, which every command that imports this module
    (submit included) would otherwise pay."""
    return _hasher().hash("not a password of anyone" * 2)


class AccountNotFound(NotFound):
    """No account with that name."""


class SignInRefused(InputError):
    """Wrong name or password, a disabled account, or too many attempts. The
    message is the same for all of them."""


@dataclass(frozen=True)
class AccountInfo:
    """An account as the catalog knows it: never the password nor its hash."""

    account_id: str
    name: str
    role: str
    created_at: datetime
    disabled_at: datetime | None = None
    last_sign_in_at: datetime | None = None
    password_changed_at: datetime | None = None
    #: who last set the password: the administrator who made the account, until
    #: its owner changes it; None when not known
    password_set_by: Actor | None = None
    #: everyone but its owner who has ever set its password, its maker first:
    #: each could have chosen the password its "owner" then changed
    password_setters: tuple[Actor, ...] = ()

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def actor(self) -> Actor:
        """The agent the audit log names for what this person does."""
        return Actor(self.name, kind="person", role=self.role, account_id=self.account_id)

    def to_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "name": self.name,
            "role": self.role,
            "created_at": _iso(self.created_at),
            "disabled_at": _iso(self.disabled_at),
            "last_sign_in_at": _iso(self.last_sign_in_at),
            "password_changed_at": _iso(self.password_changed_at),
            "password_set_by": self.password_set_by.to_dict() if self.password_set_by else None,
        }


@dataclass(frozen=True)
class SessionInfo:
    """A live console session: whose it is and the token its forms must carry."""

    account: AccountInfo
    #: sent in every state-changing form; compared in constant time
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


#: The audit events of an account's change, made from the account as changed.
AccountEvents = Callable[[AccountInfo], Sequence[NewEvent]]
#: The audit events of an account's disabling, made from the account as disabled
#: and the tokens of its owner's making revoked with it.
DisablingEvents = Callable[[AccountInfo, list[TokenInfo]], Sequence[NewEvent]]
#: Which of the live tokens an account's disabling revokes (``tokens_of_person``).
TokensToRevoke = Callable[[AccountInfo, list[TokenInfo]], list[TokenInfo]]


@dataclass(frozen=True)
class DisabledAccount:
    """An account as disabled, the live tokens its person had made, revoked with
    it, and the accounts whose password its person set (left enabled: to review)."""

    account: AccountInfo
    tokens_revoked: list[TokenInfo]
    passwords_set: list[AccountInfo] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {**self.account.to_dict(), "tokens_revoked": [t.to_dict() for t in self.tokens_revoked],
                "passwords_set": [_account_ref(a) for a in self.passwords_set]}


def _account_ref(account: AccountInfo) -> dict[str, Any]:
    return {"account_id": account.account_id, "name": account.name, "role": account.role}


class AccountCatalog(Protocol):
    """What the catalog keeps of accounts and sessions (storage implements it)."""

    def add_account(self, name: str, role: str, password_hash: str, at: datetime, *,
                    set_by: Actor | None = None, events: AccountEvents | None = None) -> AccountInfo:
        """A new account whose password ``set_by`` chose, with ``events(account)``
        appended to the audit log in the same transaction. Raises InputError when
        the name is taken (by any account, disabled ones too)."""

    def get_account(self, account_id: str) -> AccountInfo | None:
        """The account with this id, or None."""

    def find_account(self, name: str) -> tuple[AccountInfo, str] | None:
        """The account with this name and its password hash, or None."""

    def list_accounts(self) -> list[AccountInfo]:
        """Every account, oldest first."""

    def set_account_password(self, name: str, password_hash: str, at: datetime, *,
                             set_by: Actor | None = None,
                             events: AccountEvents | None = None) -> AccountInfo:
        """A new password, chosen by ``set_by``, with ``events(account)`` in the same
        transaction. Raises AccountNotFound."""

    def disable_account(self, name: str, at: datetime, *, revokes: TokensToRevoke,
                        events: DisablingEvents | None = None) -> DisabledAccount:
        """Disable it, end its sessions and revoke the live tokens that
        ``revokes(account, live tokens)`` chooses, with ``events(account, revoked)``
        in the same transaction. Raises AccountNotFound."""

    def note_sign_in(self, account_id: str, at: datetime) -> None:
        """Record a successful sign-in."""

    def add_session(self, account_id: str, secret_sha256: str, csrf_token: str, at: datetime) -> None:
        """Keep a new session under the digest of its secret."""

    def find_session(self, secret_sha256: str) -> SessionInfo | None:
        """The session with this digest (ended ones excluded), with its account."""

    def touch_session(self, secret_sha256: str, at: datetime) -> None:
        """Note that the session was used at ``at``."""

    def end_sessions(self, *, secret_sha256: str | None = None, account_id: str | None = None,
                     at: datetime) -> int:
        """End one session, or every session of an account; returns how many."""


# --------------------------------------------------------------------------- passwords

def check_password_rules(password: str, name: str) -> None:
    """Raises InputError saying what is wrong with a new password."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InputError(f"a password may have at most {MAX_PASSWORD_LENGTH} characters")
    if password.strip().casefold() == name.strip().casefold():
        raise InputError("the password must not be the account's name")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _valid_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InputError("an account needs a name")
    if len(name) > 100 or any((ch.isspace() and ch != " ") or not ch.isprintable() for ch in name):
        raise InputError("an account name is at most 100 printable characters")
    return name


# --------------------------------------------------------------------------- use cases

def create_account(catalog: AccountCatalog, name: str, role: str, password: str,
                   now: datetime, *, set_by: Actor | None = None,
                   events: AccountEvents | None = None) -> AccountInfo:
    """A new account whose password ``set_by`` chose, with ``events`` in the same
    transaction (``ingest.identities.make_account``). Raises InputError for an
    unknown role, a name already taken or a password the rules refuse."""
    name = _valid_name(name)
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    same = [a.name for a in catalog.list_accounts()
            if a.name != name and name_key(a.name) == name_key(name)]
    if same:
        # "Admin", "ａｄｍｉｎ" and "admin" would be three people in the audit log
        # that a reader cannot tell apart.
        raise InputError(f"an account is already named {same[0]!r}, which reads as {name!r}: "
                         "choose a name that differs in more than case or width")
    check_password_rules(password, name)
    return catalog.add_account(name, role, hash_password(password), now, set_by=set_by, events=events)


def change_password(catalog: AccountCatalog, name: str, current: str | None, new: str,
                    now: datetime, *, set_by: Actor | None = None,
                    events: AccountEvents | None = None) -> AccountInfo:
    """Set a new password; with ``current`` (a person changing their own), it must
    match first. Every other session of the account ends. Raises SignInRefused
    for a wrong current password, InputError for a refused new one, AccountNotFound."""
    found = catalog.find_account(name)
    if found is None:
        raise AccountNotFound(f"no account named {name!r}")
    account, password_hash = found
    if current is not None and not password_matches(password_hash, current):
        raise SignInRefused("the current password is not right")
    check_password_rules(new, account.name)
    changed = catalog.set_account_password(account.name, hash_password(new), now, set_by=set_by,
                                           events=events)
    catalog.end_sessions(account_id=account.account_id, at=now)
    return changed


def disable_account(catalog: AccountCatalog, name: str, now: datetime, *,
                    events: DisablingEvents | None = None) -> DisabledAccount:
    """Disable an account: it can no longer sign in, its sessions end now and the
    tokens its person made are revoked (see the module docstring). The name stays
    taken, so the audit log's names stay unambiguous. Disabling an account
    disabled already revokes what its person made and is still live."""
    return catalog.disable_account(name, now, revokes=tokens_of_person, events=events)


def tokens_of_person(account: AccountInfo, tokens: list[TokenInfo]) -> list[TokenInfo]:
    """The live ``tokens`` whose maker is the person of ``account``, by the rule
    of the two-person rule (``same_person``): this account, or a maker whose
    name reads as its name (the operating-system account that ran
    ``strongroom token create``)."""
    person = account.actor()
    return [t for t in tokens
            if t.revoked_at is None and t.created_by is not None and same_person(person, t.created_by)]


def passwords_set_by(account: AccountInfo, accounts: list[AccountInfo]) -> list[AccountInfo]:
    """The active ``accounts`` but ``account`` whose password the person of
    ``account`` (the same person by ``same_person``) ever set: its holder could
    have signed in with it, so a person reviews them when ``account`` is disabled."""
    person = account.actor()
    return [a for a in accounts
            if a.active and a.account_id != account.account_id
            and any(same_person(person, setter)
                    for setter in (*a.password_setters, *([a.password_set_by] if a.password_set_by else [])))]


def session_digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    account: AccountInfo
    #: the cookie's value; shown once, only its digest is kept
    secret: str
    csrf_token: str


def sign_in(catalog: AccountCatalog, throttle: SignInThrottle, name: str, password: str,
            address: str, now: datetime) -> SignedIn:
    """Check a name and password and open a session. Raises SignInRefused (the
    same words for a wrong name, a wrong password, a disabled account and too
    many attempts)."""
    refused = SignInRefused("the name or the password is not right, or the account is disabled; "
                            "after several attempts, wait a few minutes")
    name = name.strip()
    if len(password) > MAX_PASSWORD_LENGTH or not throttle.allows(name, address, now):
        throttle.failed(name, address, now)
        raise refused
    found = catalog.find_account(name) if name else None
    if found is None:
        password_matches(_dummy_hash(), password)  # as slow as a real check
        throttle.failed(name, address, now)
        raise refused
    account, password_hash = found
    if not password_matches(password_hash, password) or not account.active:
        throttle.failed(name, address, now)
        raise refused
    throttle.succeeded(name, address)
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    catalog.add_session(account.account_id, session_digest(secret), csrf, now)
    catalog.note_sign_in(account.account_id, now)
    return SignedIn(account, secret, csrf)


def open_session(catalog: AccountCatalog, secret: str, now: datetime,
                 idle: timedelta = DEFAULT_IDLE) -> SessionInfo | None:
    """The live session this cookie secret opens, or None (unknown, signed out,
    idle too long, too old, or its account disabled). Notes the use."""
    if not secret or len(secret) > 200:
        return None
    digest = session_digest(secret)
    session = catalog.find_session(digest)
    if session is None or not session.account.active:
        return None
    if now - session.last_seen_at > idle or now - session.created_at > SESSION_LIFETIME:
        catalog.end_sessions(secret_sha256=digest, at=now)
        return None
    if now - session.last_seen_at >= SEEN_PRECISION:
        catalog.touch_session(digest, now)
    return session


def sign_out(catalog: AccountCatalog, secret: str, now: datetime) -> None:
    if secret:
        catalog.end_sessions(secret_sha256=session_digest(secret), at=now)


def csrf_matches(session: SessionInfo, presented: str | None) -> bool:
    """True when a form carries this session's CSRF token."""
    return bool(presented) and hmac.compare_digest(session.csrf_token.encode(), (presented or "").encode())


# --------------------------------------------------------------------------- throttle

@dataclass
class SignInThrottle:
    """Failed sign-ins counted over a sliding window, per name and per address.

    Past ``per_name`` failures for one name, or ``per_address`` failures from one
    address, within ``window``, attempts are refused until the window has
    passed. A success clears the name's count (not the address's: one right
    guess must not reset a run over many names). Kept in memory by the process
    that serves the console."""

    per_name: int = 5
    per_address: int = 20
    window: timedelta = timedelta(minutes=15)
    _names: dict[str, deque[datetime]] = field(default_factory=dict)
    _addresses: dict[str, deque[datetime]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def allows(self, name: str, address: str, now: datetime) -> bool:
        with self._lock:
            return (self._recent(self._names, name.casefold(), now) < self.per_name
                    and self._recent(self._addresses, address, now) < self.per_address)

    def failed(self, name: str, address: str, now: datetime) -> None:
        with self._lock:
            self._names.setdefault(name.casefold(), deque()).append(now)
            self._addresses.setdefault(address, deque()).append(now)
            if len(self._names) > 100_000 or len(self._addresses) > 100_000:  # memory stays bounded
                self._forget_old(now)

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            self._names.pop(name.casefold(), None)

    def _recent(self, table: dict[str, deque[datetime]], key: str, now: datetime) -> int:
        times = table.get(key)
        if not times:
            return 0
        while times and now - times[0] > self.window:
            times.popleft()
        if not times:
            del table[key]
            return 0
        return len(times)

    def _forget_old(self, now: datetime) -> None:
        for table in (self._names, self._addresses):
            for key in [k for k, v in table.items() if not v or now - v[-1] > self.window]:
                del table[key]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


__all__ = [
    "DEFAULT_IDLE", "MIN_PASSWORD_LENGTH", "AccountCatalog", "AccountInfo", "AccountNotFound",
    "DisabledAccount", "SessionInfo", "SignInRefused", "SignInThrottle", "SignedIn", "TokensToRevoke",
    "change_password", "check_password_rules", "create_account", "csrf_matches", "disable_account",
    "open_session", "passwords_set_by", "sign_in", "sign_out", "tokens_of_person",
]
