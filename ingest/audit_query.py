"""Reading the audit log a page at a time, with filters: package, event type, agent, dates.

What ``strongroom audit log`` prints and the console's audit page shows: events
in chain order, those of one package (by id or identifier), of one PREMIS event
type, caused by one agent (itself or on its behalf: ``ingest.audit.caused_by``)
and inside a span of time; a page at a time, each page continuing after the
last event of the one before (``after``, a seq).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Protocol

from ingest.audit import caused_by
from ingest.errors import InputError
from ingest.models import AuditEvent, EventType

#: events a page holds unless asked otherwise, and at most
PAGE_EVENTS = 50
MAX_PAGE_EVENTS = 1000


class EventSource(Protocol):
    def events(self, package_id: str | None = None, after: int = 0) -> Iterator[AuditEvent]: ...

    def resolve_package(self, ref: str) -> str: ...


@dataclass(frozen=True)
class EventQuery:
    """Which events: every field left None lets every event through."""

    #: a package id or identifier
    package: str | None = None
    #: a PREMIS event type (``EventType`` value)
    event_type: str | None = None
    #: an agent's name: a person, a token's name, a worker host, the scheduler
    agent: str | None = None
    #: events at or after this moment
    since: datetime | None = None
    #: events before this moment
    until: datetime | None = None
    #: only events after this seq (the page before's ``next_after``)
    after: int = 0
    limit: int = PAGE_EVENTS


@dataclass(frozen=True)
class EventPage:
    events: tuple[AuditEvent, ...]
    #: the ``after`` of the next page; None on the last page
    next_after: int | None
    #: the package the query named, resolved to its id
    package_id: str | None = None


def _check(query: EventQuery) -> None:
    if query.event_type is not None and query.event_type not in {t.value for t in EventType}:
        known = ", ".join(t.value for t in EventType)
        raise InputError(f"{query.event_type!r} is not an event type (one of: {known})")
    if query.since is not None and query.until is not None and query.until <= query.since:
        raise InputError("the end of the span of time comes before its start")
    if not 1 <= query.limit <= MAX_PAGE_EVENTS:
        raise InputError(f"a page holds from 1 to {MAX_PAGE_EVENTS} events")
    if query.after < 0:
        raise InputError("'after' is an event's number, 0 or more")


def matching_events(catalog: EventSource, query: EventQuery) -> Iterator[AuditEvent]:
    """Every event the query lets through, in chain order, ignoring ``limit``.
    Raises InputError (an unknown event type, a span that ends before it starts),
    PackageNotFound, CatalogUnavailable (also while iterating)."""
    _check(query)
    package_id = catalog.resolve_package(query.package) if query.package else None
    return _filtered(catalog, query, package_id)


def _filtered(catalog: EventSource, query: EventQuery, package_id: str | None) -> Iterator[AuditEvent]:
    for event in catalog.events(package_id, after=query.after):  # a later page starts where it is
        if query.until is not None and event.occurred_at >= query.until:
            continue
        if query.since is not None and event.occurred_at < query.since:
            continue
        if query.event_type is not None and event.event_type != query.event_type:
            continue
        if query.agent is not None and not caused_by(event, query.agent):
            continue
        yield event


def audit_events(catalog: EventSource, query: EventQuery) -> EventPage:
    """One page of the events the query lets through, in chain order. Raises
    InputError, PackageNotFound, CatalogUnavailable."""
    _check(query)
    package_id = catalog.resolve_package(query.package) if query.package else None
    page = list(islice(_filtered(catalog, query, package_id), query.limit + 1))
    more = len(page) > query.limit
    page = page[:query.limit]
    return EventPage(tuple(page), page[-1].seq if more else None, package_id)


__all__ = ["MAX_PAGE_EVENTS", "PAGE_EVENTS", "EventPage", "EventQuery", "audit_events",
           "matching_events"]
