"""The catalog's API tokens and package search.

Tokens: a secret is made here, shown to the caller once, and only its SHA-256
is stored; a lookup hashes what a request presents and compares hashes, so the
secret itself never reaches the database or a log line.

Search: the latest committed version of each package, filtered by identifier
(prefix), title words (each word must appear), a part of a creator's name,
collection (its whole name), type and a date range (title, creator and
collection compared folded, ``ingest.access.search_fold``: without regard to
case or accents, against keys kept on each package), in one of the orders of
``ingest.access.PackageSort`` (identifier, title, date either way, newest
version first), with how many match (up to ``COUNT_LIMIT``). Pages are cut by
keyset on (sort key, identifier), the identifier being unique per package, so a
cursor stays right while packages are added: the next page starts after the
last key seen, never at an offset, and each order is read from its own index.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError

from ingest.access import (
    COUNT_LIMIT,
    ROLES,
    PackageHit,
    PackagePage,
    PackageQuery,
    PackageSort,
    TokenInfo,
    TokenNotFound,
    date_overlaps,
    search_fold,
)
from ingest.errors import CatalogUnavailable, InputError
from ingest.models import Actor, NewEvent
from storage.audit_log import append_events
from storage.catalog_base import CatalogBase
from storage.tables import Package, Version
from storage.tables_access import ApiToken

#: Secrets start with this, so a leaked one is easy to recognize and search for.
TOKEN_PREFIX = "srt_"
#: Rows read from the database per round while filling one page.
_SCAN_ROWS = 200
#: ``last_used_at`` is written at most this often per token, so requests do not
#: each write to the catalog.
LAST_USE_PRECISION = timedelta(minutes=1)


def secret_digest(secret: str) -> str:
    """The SHA-256 (hex) under which a token secret is stored."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def encode_cursor(sort: PackageSort, key: tuple[Any, str]) -> str:
    """An opaque cursor continuing after ``key`` (sort key, identifier) in ``sort``.
    In identifier order it is the identifier alone, as cursors always were."""
    value, identifier = key
    if sort is PackageSort.IDENTIFIER:
        text = identifier
    else:
        if isinstance(value, datetime):
            value = value.isoformat()
        text = json.dumps([sort.value, value, identifier], ensure_ascii=False)
    return base64.urlsafe_b64encode(text.encode("utf-8")).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, sort: PackageSort = PackageSort.IDENTIFIER) -> tuple[Any, str]:
    """The (sort key, identifier) a cursor continues after. Raises InputError for a
    cursor this catalog did not make, or made for another order."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.b64decode(padded.encode("ascii"), altchars=b"-_", validate=True
                                ).decode("utf-8")
    except (ValueError, UnicodeError) as exc:
        raise InputError("the cursor is not one this service issued") from exc
    if sort is PackageSort.IDENTIFIER:
        return text, text
    try:
        named, value, identifier = json.loads(text)
    except (ValueError, TypeError) as exc:
        raise _other_order() from exc
    if named != sort.value or not isinstance(identifier, str):
        raise _other_order()
    if sort is PackageSort.NEWEST:
        try:
            value = datetime.fromisoformat(value) if value is not None else None
        except (TypeError, ValueError) as exc:
            raise _other_order() from exc
        if value is not None and value.utcoffset() is None:
            # Every moment this service writes into a cursor names its zone.
            raise InputError("the cursor is not one this service issued")
    elif not isinstance(value, str):
        raise _other_order()
    return value, identifier


def _other_order() -> InputError:
    return InputError("the cursor belongs to another order of packages: "
                      "start again from the first page")


class AccessAndSearch(CatalogBase):
    """Part of ``SqlCatalog``: needs ``self._write()`` and ``self._read()`` sessions."""

    # ------------------------------------------------------------------ tokens

    def create_token(self, name: str, role: str, *, created_by: Actor | None = None,
                     events: Callable[[TokenInfo], Sequence[NewEvent]] | None = None,
                     ) -> tuple[TokenInfo, str]:
        """Make a token, made by ``created_by``, with ``events(token)`` appended to
        the audit log in the same transaction; returns its record and the secret,
        which is not kept and cannot be shown again. Raises InputError for an
        unknown role or an empty name, CatalogUnavailable."""
        if role not in ROLES:
            raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        if not name.strip():
            raise InputError("a token needs a name saying who or what holds it")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(token_id=str(uuid.uuid4()), name=name, role=role,
                         created_at=datetime.now(UTC), created_by=created_by)
        taken = InputError(f"a live token is already named {name!r}: revoke it first "
                           "(`strongroom token revoke NAME`) or choose another name")
        try:
            with self._write() as session:
                if _live_named(session, name):
                    raise taken
                session.add(ApiToken(token_id=info.token_id, name=name, role=role,
                                     secret_sha256=secret_digest(secret),
                                     created_at=info.created_at, revoked_at=None,
                                     created_by=created_by.to_dict() if created_by else None))
                if events is not None:
                    session.flush()
                    append_events(session, events(info))
        except IntegrityError as exc:  # the same name created at the same moment
            raise taken from exc
        return info, secret

    def get_token(self, token_id: str) -> TokenInfo | None:
        """The token with this id, live or revoked, or None. Raises CatalogUnavailable."""
        with self._read() as session:
            row = session.get(ApiToken, token_id)
            return None if row is None else token_info(row)

    def find_token(self, secret: str) -> TokenInfo | None:
        """The live (not revoked) token whose secret this is, or None.

        Records the use in ``last_used_at`` when the one recorded is older than
        ``LAST_USE_PRECISION`` (so most requests only read). Raises CatalogUnavailable."""
        with self._read() as session:
            row = session.execute(
                select(ApiToken).where(ApiToken.secret_sha256 == secret_digest(secret),
                                       ApiToken.revoked_at.is_(None))
            ).scalar_one_or_none()
            if row is None:
                return None
            info = token_info(row)
        now = datetime.now(UTC)
        if info.last_used_at is None or now - info.last_used_at >= LAST_USE_PRECISION:
            try:
                with self._write() as session:
                    session.execute(
                        update(ApiToken).where(ApiToken.token_id == info.token_id)
                        .values(last_used_at=now).execution_options(synchronize_session=False))
            except CatalogUnavailable:
                return info  # a busy catalog must not refuse the request; the next use writes
            info = token_info(row, last_used_at=now)
        return info

    def revoke_token(self, ref: str, *,
                     events: Callable[[list[TokenInfo]], Sequence[NewEvent]] | None = None,
                     ) -> list[TokenInfo]:
        """Revoke the one live token with this id or name, with ``events(revoked)``
        appended to the audit log in the same transaction; returns it (in a list).
        Raises TokenNotFound when none matches, InputError when the reference
        fits more than one (an id of one and the name of another), CatalogUnavailable."""
        now = datetime.now(UTC)
        with self._write() as session:
            rows = session.execute(
                select(ApiToken).where((ApiToken.token_id == ref) | (ApiToken.name == ref),
                                       ApiToken.revoked_at.is_(None))
            ).scalars().all()
            if not rows:
                raise TokenNotFound(f"no live token with id or name {ref!r}")
            if len(rows) > 1:
                raise InputError(f"{ref!r} names {len(rows)} live tokens "
                                 f"({', '.join(r.token_id for r in rows)}): give the token id")
            session.execute(
                update(ApiToken).where(ApiToken.token_id.in_([r.token_id for r in rows]))
                .values(revoked_at=now).execution_options(synchronize_session=False))
            revoked = [token_info(r, revoked_at=now) for r in rows]
            if events is not None:
                append_events(session, events(revoked))
            return revoked

    def list_tokens(self) -> list[TokenInfo]:
        """Every token, live and revoked, oldest first. Raises CatalogUnavailable."""
        with self._read() as session:
            rows = session.execute(
                select(ApiToken).order_by(ApiToken.created_at, ApiToken.token_id)).scalars().all()
            return [token_info(r) for r in rows]

    # ------------------------------------------------------------------ search

    def search_packages(self, query: PackageQuery, *, sort: PackageSort = PackageSort.IDENTIFIER,
                        cursor: str | None = None, limit: int = 50) -> PackagePage:
        """One page of packages matching ``query``, in the order ``sort``, and how
        many match in all (up to ``COUNT_LIMIT``).

        Identifier, title words, creator and collection are filtered by the
        database on the package's keys; type and date come from the record of the
        latest version, asked of the database and checked again here, reading
        rows a batch at a time, in order, until the page is full. Every order is
        (sort key, identifier), read from an index after the last key seen
        (keyset), so a page costs the same at the first package and at the
        hundred-thousandth. Raises InputError for a bad cursor or one of another
        sort, CatalogUnavailable.
        """
        after = decode_cursor(cursor, sort) if cursor else None
        limit = max(1, limit)
        conditions = _conditions(query)
        hits: list[tuple[PackageHit, tuple[Any, str]]] = []
        rounds = 0
        while True:
            rows = self._search_rows(conditions, sort, after)
            rounds += 1
            hits.extend((_hit(package, version), _sort_key(package, sort))
                        for package, version in rows
                        if _matches_record(query, version.record or {}))
            if len(hits) > limit or len(rows) < _SCAN_ROWS:
                break
            after = _sort_key(rows[-1][0], sort)
        # The first page read in one round saw every match: counted already, for free.
        matched = (len(hits) if cursor is None and rounds == 1 and len(rows) < _SCAN_ROWS
                   else self._count(query, conditions))
        count, more = min(matched, COUNT_LIMIT), matched > COUNT_LIMIT
        if len(hits) > limit:
            return PackagePage([hit for hit, _ in hits[:limit]],
                               encode_cursor(sort, hits[limit - 1][1]), count, more)
        return PackagePage([hit for hit, _ in hits], None, count, more)

    def _count(self, query: PackageQuery, conditions: list[ColumnElement[bool]]) -> int:
        """How many packages match, counting no further than one past
        ``COUNT_LIMIT``: the matching rows are read through the same indexes as a
        page, at most ``COUNT_LIMIT + 1`` of them, never every package."""
        matching = select(Package.package_id).where(*conditions)
        if query.type is not None:  # the one condition on the version's record
            matching = matching.join(Version, and_(Version.package_id == Package.package_id,
                                                   Version.number == Package.latest_version))
        with self._read() as session:
            return int(session.execute(
                select(func.count()).select_from(matching.limit(COUNT_LIMIT + 1).subquery())
            ).scalar_one())

    def _search_rows(self, conditions: list[ColumnElement[bool]], sort: PackageSort,
                     after: tuple[Any, str] | None) -> list[tuple[Package, Version]]:
        column, descending = _ORDERS[sort]
        if after is not None:
            conditions = [*conditions, _after(column, descending, after)]
        order = ([column.desc(), Package.identifier.desc()] if descending
                 else [column, Package.identifier])
        if column is Package.identifier:
            order = order[1:]
        with self._read() as session:
            return [tuple(row) for row in session.execute(  # type: ignore[misc]
                select(Package, Version)
                .join(Version, and_(Version.package_id == Package.package_id,
                                    Version.number == Package.latest_version))
                .where(*conditions)
                .order_by(*order)
                .limit(_SCAN_ROWS)
            ).all()]


#: each order: the package column it sorts by (then by identifier), descending or not
_ORDERS: dict[PackageSort, tuple[Any, bool]] = {
    PackageSort.IDENTIFIER: (Package.identifier, False),
    PackageSort.TITLE: (Package.sort_title, False),
    PackageSort.DATE: (Package.sort_date, False),
    PackageSort.DATE_LATEST: (Package.sort_date, True),
    PackageSort.NEWEST: (Package.latest_at, True),
}


def _conditions(query: PackageQuery) -> list[ColumnElement[bool]]:
    """Everything a search asks, as the database can answer it, so that a rare match
    costs one query, not a walk through every package a batch at a time (type and
    date are checked again by ``_matches_record``).

    Title words and the creator are compared folded, as ``LIKE '%word%'`` on the
    folded keys (PostgreSQL reads them from trigram indexes; SQLite scans); the
    creator's words must stand together in one name (the key has a name a line,
    and a folded query holds no line break). The collection is its whole name,
    folded. A date range compares ISO 8601 text as ``ingest.access.date_overlaps``
    does: the start against the range's end (a start inside the end's month or
    year counts), the end against the range's start (likewise)."""
    conditions: list[ColumnElement[bool]] = [Package.latest_version.is_not(None)]
    if query.identifier:
        conditions.append(Package.identifier.startswith(query.identifier, autoescape=True))
    for word in search_fold(query.title or "").split():
        conditions.append(Package.title_key.contains(word, autoescape=True))
    if query.creator and (creator := search_fold(query.creator)):
        conditions.append(Package.creators_key.contains(creator, autoescape=True))
    if query.collection is not None:
        conditions.append(Package.collection_key == search_fold(query.collection))
    if query.type is not None:
        conditions.append(Version.record["type"].as_string() == query.type)
    if query.date_from is not None or query.date_to is not None:
        conditions.append(Package.sort_date != "")
    # "x + '~' >= y" written as "x >= y, or y starts with x": the same in byte order,
    # and also under a collation that ignores punctuation (glibc's en_US, say)
    if query.date_to is not None:
        conditions.append(or_(Package.sort_date <= query.date_to,
                              Package.sort_date.startswith(query.date_to, autoescape=True)))
    if query.date_from is not None:
        conditions.append(or_(Package.date_end >= query.date_from,
                              literal(query.date_from).startswith(Package.date_end)))
    return conditions


def _after(column: Any, descending: bool, after: tuple[Any, str]) -> ColumnElement[bool]:
    """Rows after (key, identifier) in the order: a strict comparison written out,
    not a row-value one, so that every database uses the (key, identifier) index."""
    key, identifier = after
    if column is Package.identifier:
        return Package.identifier > identifier
    if descending:
        return or_(column < key, and_(column == key, Package.identifier < identifier))
    return or_(column > key, and_(column == key, Package.identifier > identifier))


def _sort_key(package: Package, sort: PackageSort) -> tuple[Any, str]:
    column, _ = _ORDERS[sort]
    return getattr(package, column.key), package.identifier


def token_info(row: ApiToken, revoked_at: datetime | None = None,
                last_used_at: datetime | None = None) -> TokenInfo:
    return TokenInfo(token_id=row.token_id, name=row.name, role=row.role,
                     created_at=row.created_at, revoked_at=revoked_at or row.revoked_at,
                     last_used_at=last_used_at or row.last_used_at,
                     created_by=Actor.from_dict(row.created_by))


def _live_named(session: Any, name: str) -> bool:
    return session.execute(
        select(ApiToken.token_id).where(ApiToken.name == name, ApiToken.revoked_at.is_(None))
    ).first() is not None


def _hit(package: Package, version: Version) -> PackageHit:
    record = version.record or {}
    return PackageHit(
        package_id=package.package_id,
        identifier=package.identifier,
        title=package.title or "",
        latest_version=package.latest_version or 0,
        date=_text(record.get("date")),
        type=_text(record.get("type")),
        collection=_text(record.get("collection")),
        updated_at=package.latest_at,
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _matches_record(query: PackageQuery, record: dict[str, Any]) -> bool:
    if query.type is not None and record.get("type") != query.type:
        return False
    return date_overlaps(record.get("date"), query.date_from, query.date_to)
