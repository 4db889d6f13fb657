"""Who may do what, API tokens and package search as the domain sees them: the
records the catalog keeps and returns, and the rules that need no database.

Roles and what each may do are listed here once: a machine's bearer token and a
person's console account carry the same roles, and the HTTP API and the web
console check the same table.

=================  =========  =======  ======  =====
permission         submitter  auditor  reader  admin
=================  =========  =======  ======  =====
submit, batches    yes                         yes
read a batch       own        yes              yes
read packages                 yes      yes     yes
fixity, audit log             yes              yes
repair, accounts                               yes
=================  =========  =======  ======  =====
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.errors import NotFound

#: The roles a token or an account can carry.
ROLES = ("submitter", "auditor", "reader", "admin")


class Permission(str, enum.Enum):
    SUBMIT = "submit"
    READ_BATCHES = "read batches"
    READ_PACKAGES = "read packages"
    PRESERVE = "fixity and audit"
    ADMINISTER = "repair and manage accounts"


#: role -> what it may do; admin may do everything.
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "submitter": frozenset({Permission.SUBMIT, Permission.READ_BATCHES}),
    "auditor": frozenset({Permission.READ_PACKAGES, Permission.PRESERVE,
                          Permission.READ_BATCHES}),
    "reader": frozenset({Permission.READ_PACKAGES}),
    "admin": frozenset(Permission),
}


def may(role: str | None, permission: Permission) -> bool:
    """True when ``role`` has ``permission`` (an unknown role has none)."""
    return role is not None and permission in ROLE_PERMISSIONS.get(role, frozenset())


class TokenNotFound(NotFound):
    """No token with that id or name."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as the catalog knows it: never the secret."""

    token_id: str
    name: str
    role: str
    created_at: datetime
    revoked_at: datetime | None = None
    #: when a request last presented it, to the minute; None if never
    last_used_at: datetime | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "name": self.name,
            "role": self.role,
            "created_at": _iso(self.created_at),
            "revoked_at": _iso(self.revoked_at),
            "last_used_at": _iso(self.last_used_at),
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


@dataclass(frozen=True)
class PackageQuery:
    """What a search asks for; every field is optional and they all must hold."""

    identifier: str | None = None
    title: str | None = None
    collection: str | None = None
    type: str | None = None
    date_from: str | None = None
    date_to: str | None = None


@dataclass(frozen=True)
class PackageHit:
    package_id: str
    identifier: str
    title: str
    latest_version: int
    date: str | None
    type: str | None
    collection: str | None


@dataclass(frozen=True)
class PackagePage:
    packages: list[PackageHit]
    #: opaque; pass it back as ``cursor`` for the next page; None on the last page
    next_cursor: str | None


def date_overlaps(record_date: Any, date_from: str | None, date_to: str | None) -> bool:
    """True when an ISO 8601 date or interval (``1951``, ``1951-06``,
    ``1951-06-21``, ``1951-06/1951-08``) overlaps [date_from, date_to].

    Works on the text: an ISO date that is a prefix of another covers it, so a
    start compares as its earliest day and an end as its latest (``~`` sorts
    after every digit and ``-``).
    """
    if date_from is None and date_to is None:
        return True
    if not isinstance(record_date, str) or not record_date:
        return False
    start, _, end = record_date.partition("/")
    end = end or start
    starts_in_time = date_to is None or start <= date_to + "~"
    ends_in_time = date_from is None or end + "~" >= date_from
    return starts_in_time and ends_in_time


__all__ = [
    "ROLES", "ROLE_PERMISSIONS", "PackageHit", "PackagePage", "PackageQuery", "Permission", "TokenInfo",
    "TokenNotFound", "date_overlaps", "may",
]
