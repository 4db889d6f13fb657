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
metrics                                        yes
=================  =========  =======  ======  =====
"""

from __future__ import annotations

import enum
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from ingest.errors import InputError, NotFound
from ingest.models import Actor

#: The roles a token or an account can carry.
ROLES = ("submitter", "auditor", "reader", "admin")


class Permission(str, enum.Enum):
    SUBMIT = "submit"
    READ_BATCHES = "read batches"
    READ_PACKAGES = "read packages"
    PRESERVE = "fixity and audit"
    ADMINISTER = "repair and manage accounts"
    METRICS = "read metrics"


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
    #: who made it (it acts for them in the two-person rule); None when not known
    created_by: Actor | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "token_id": self.token_id,
            "name": self.name,
            "role": self.role,
            "created_at": _iso(self.created_at),
            "revoked_at": _iso(self.revoked_at),
            "last_used_at": _iso(self.last_used_at),
            "created_by": self.created_by.to_dict() if self.created_by else None,
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


@dataclass(frozen=True)
class PackageQuery:
    """What a search asks for; every field is optional and they all must hold."""

    identifier: str | None = None
    title: str | None = None
    #: any contiguous part of a creator's name (a person or a body)
    creator: str | None = None
    collection: str | None = None
    type: str | None = None
    date_from: str | None = None
    date_to: str | None = None


class PackageSort(str, enum.Enum):
    """The orders a package search can be read in. Each is a total order (ties
    are broken by identifier), so that a page boundary is never ambiguous."""

    IDENTIFIER = "identifier"
    TITLE = "title"                    # A to Z, case-insensitive
    DATE = "date"                      # the record's date, earliest first
    DATE_LATEST = "-date"              # the record's date, latest first
    NEWEST = "newest"                  # the package whose latest version is newest first

    @classmethod
    def named(cls, name: str | None) -> PackageSort:
        """The sort called ``name`` (identifier when None). Raises InputError."""
        if name is None or name == "":
            return cls.IDENTIFIER
        try:
            return cls(name)
        except ValueError:
            raise InputError(f"sort must be one of {', '.join(s.value for s in cls)}, "
                             f"not {name!r}") from None


def date_sort_key(record_date: Any) -> str:
    """What a record's date sorts by: its start (``1951-06`` of ``1951-06/1951-08``);
    the empty text for a record without one, so that it sorts first. As ISO 8601
    text, a month sorts before the days of that month."""
    if not isinstance(record_date, str):
        return ""
    return record_date.partition("/")[0]


def date_end_key(record_date: Any) -> str:
    """The end of a record's date (``1951-08`` of ``1951-06/1951-08``; the date itself
    when it is no interval); the empty text for a record without one. With
    ``date_sort_key`` it lets the catalog filter a date range (``date_overlaps``)."""
    if not isinstance(record_date, str):
        return ""
    start, _, end = record_date.partition("/")
    return end or start


def title_sort_key(title: str | None) -> str:
    """What a title sorts by: case-folded, so that 'apple' and 'Banana' read A to Z."""
    return (title or "").casefold()


#: Letters that no compatibility decomposition takes apart, as a person writes them
#: without them on the keyboard (after case folding): ``soren`` finds ``Søren``.
_PLAIN_LETTERS = str.maketrans({"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d",
                                "ð": "d", "þ": "th", "ı": "i"})
#: Letters often spelled out as two: ``Mueller`` for ``Müller`` (German), ``Soeren``
#: for ``Søren``, ``Aarhus`` for ``Århus`` (Danish, Norwegian, Swedish).
_SPELLED_OUT = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ø": "oe", "å": "aa"})


def search_fold(text: str) -> str:
    """Text as a search compares it, on both sides (what the catalog keeps and what
    a person types): compatibility-decomposed (NFKD), its combining marks dropped,
    case-folded, letters that do not decompose written plainly (ø as o, æ as ae),
    runs of white space made one space. So ``zurich`` finds ``Zürich`` and
    ``ZÜRICH``, and a name typed on one keyboard finds it typed on another. The
    catalog also keeps the spelled-out form of what it stores
    (``search_spellings``), so ``Mueller`` finds ``Müller`` too."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().translate(_PLAIN_LETTERS).split())


def search_spellings(text: str) -> list[str]:
    """The forms the catalog keeps of ``text`` for a search to find it by:
    ``search_fold``'s, and, where it holds ä, ö, ü, ø or å, the same with those
    spelled out (``Müller``: ``muller`` and ``mueller``; ``Århus``: ``arhus`` and
    ``aarhus``). A search types one form; whichever it is, it is kept."""
    folded = search_fold(text)
    composed = unicodedata.normalize("NFC", text.casefold())
    spelled = search_fold(composed.translate(_SPELLED_OUT))
    return [folded] if spelled == folded else [folded, spelled]


def title_key(title: str | None) -> str:
    """A title as a search compares its words: its spellings (``search_spellings``),
    a line each, so that a word is found in either and never across the two."""
    return "\n".join(search_spellings(title or ""))


def creators_key(record: dict[str, Any]) -> str:
    """The names of a record's creators as a search compares them: each spelling of
    each name (``search_spellings``) on a line of its own, with a line break before
    the first and after the last, so that a part of one name (which holds no line
    break) is never found across two."""
    creators = record.get("creators")
    names = [c["name"] for c in creators if isinstance(c, dict)
             and isinstance(c.get("name"), str)] if isinstance(creators, list) else []
    lines = [spelling for name in names for spelling in search_spellings(name) if spelling]
    return "\n" + "".join(f"{line}\n" for line in lines)


def collection_key(record: dict[str, Any]) -> str:
    """A record's collection as a search compares it (``search_fold``); the empty
    text for a record without one."""
    collection = record.get("collection")
    return search_fold(collection) if isinstance(collection, str) else ""


@dataclass(frozen=True)
class PackageHit:
    package_id: str
    identifier: str
    title: str
    latest_version: int
    date: str | None
    type: str | None
    collection: str | None
    #: when the latest version was committed
    updated_at: datetime | None = None


@dataclass(frozen=True)
class PackagePage:
    packages: list[PackageHit]
    #: opaque; pass it back as ``cursor`` for the next page; None on the last page
    next_cursor: str | None
    #: how many packages match the whole search, counted up to ``COUNT_LIMIT``
    matched: int = 0
    #: True when more than ``matched`` (then ``COUNT_LIMIT``) packages match
    matched_more: bool = False


class QueryInvalid(InputError):
    """A search whose fields cannot be used; ``problems`` says which and why (every
    problem at once, by field name)."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{name}: {text}" for name, text in problems.items()))
        self.problems = problems


_DATE_BOUND = re.compile(r"^[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?$")


def _in_the_calendar(day: str) -> bool:
    try:
        date.fromisoformat(day)
    except ValueError:
        return False
    return True


#: What one field of a package search may hold (the API refuses longer before
#: asking: a term of tens of thousands of characters was "catalog database
#: unavailable: LIKE or GLOB pattern too complex" at the command line).
MOST_SEARCH_TEXT = 1000
MOST_TITLE_WORDS = 50


def package_query(*, identifier: str = "", title: str = "", creator: str = "",
                  collection: str = "", type: str = "", date_from: str = "",
                  date_to: str = "") -> PackageQuery:
    """A search from what a person typed: blank fields ask for nothing, dates are a
    year, a month or a day (1951, 1951-06, 1951-06-21). Title words, creator and
    collection are compared folded (``search_fold``): without regard to case or
    accents. Raises QueryInvalid naming every field that cannot be used."""
    problems: dict[str, str] = {}
    for name, value in (("identifier", identifier), ("title", title), ("creator", creator),
                        ("collection", collection), ("type", type)):
        if len(value) > MOST_SEARCH_TEXT:
            problems[name] = (f"{len(value):,} characters is more than a search takes "
                              f"(at most {MOST_SEARCH_TEXT:,})")
        elif name == "title" and len(value.split()) > MOST_TITLE_WORDS:
            problems[name] = (f"{len(value.split()):,} words is more than a search takes "
                              f"(at most {MOST_TITLE_WORDS})")
    bounds: dict[str, str | None] = {}
    for name, value in (("date_from", date_from), ("date_to", date_to)):
        value = value.strip()
        if value and not _DATE_BOUND.match(value):
            problems[name] = (f"{value!r} is not a date: give a year, a month or a day, "
                              "as 1951, 1951-06 or 1951-06-21")
        elif len(value) == 10 and not _in_the_calendar(value):
            problems[name] = f"{value!r} is no day of the calendar (that month has fewer days)"
        bounds[name] = value or None
    start, end = bounds["date_from"], bounds["date_to"]
    if not problems and start and end and start > end + "~":
        problems["date_to"] = f"the range ends ({end}) before it starts ({start})"
    if problems:
        raise QueryInvalid(problems)
    return PackageQuery(identifier=identifier.strip() or None, title=title.strip() or None,
                        creator=creator.strip() or None,
                        collection=collection.strip() or None, type=type.strip() or None,
                        date_from=start, date_to=end)


class PackageSearch(Protocol):
    """The catalog's part a package search needs."""

    def search_packages(self, query: PackageQuery, *, sort: PackageSort = PackageSort.IDENTIFIER,
                        cursor: str | None = None, limit: int = 50) -> PackagePage:
        """Packages matching ``query`` in the order ``sort``, a page at a time."""


#: most packages one page may hold
MAX_PAGE = 500
#: a search counts the packages it matches up to this many, and says "more than"
#: beyond: a count of every package among a million would cost more than the page
COUNT_LIMIT = 1000


def find_packages(catalog: PackageSearch, query: PackageQuery, *, sort: str | None = None,
                  cursor: str | None = None, limit: int = 50) -> PackagePage:
    """Search packages (the API's ``GET /packages``, the console's Packages page and
    ``strongroom search``).

    ``sort`` names a ``PackageSort`` (identifier when None); ``cursor`` continues a
    page of the same query and sort. Raises InputError for an unknown sort, a
    limit outside 1..MAX_PAGE, or a cursor of another sort or another service;
    CatalogUnavailable."""
    order = PackageSort.named(sort)
    if not 1 <= limit <= MAX_PAGE:
        raise InputError(f"limit must be between 1 and {MAX_PAGE}, not {limit}")
    return catalog.search_packages(query, sort=order, cursor=cursor, limit=limit)


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
    "COUNT_LIMIT",
    "ROLES",
    "ROLE_PERMISSIONS",
    "PackageHit",
    "PackagePage",
    "PackageQuery",
    "PackageSort",
    "Permission",
    "QueryInvalid",
    "TokenInfo",
    "TokenNotFound",
    "collection_key",
    "creators_key",
    "date_end_key",
    "date_overlaps",
    "date_sort_key",
    "find_packages",
    "may",
    "package_query",
    "search_fold",
    "search_spellings",
    "title_key",
    "title_sort_key",
]
