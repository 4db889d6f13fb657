"""Reading the audit log with filters, a page at a time (ingest.audit_query): what
``strongroom audit log`` and the console's audit page show."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingest.audit_query import EventQuery, audit_events, matching_events
from ingest.errors import InputError, PackageNotFound
from ingest.models import Actor, EventType, NewEvent, Outcome
from storage.catalog import SqlCatalog

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ALICE = Actor("alice", kind="person", role="auditor")
WORKER = Actor("worker-1", kind="worker").acting_for(Actor("bob", kind="token", role="submitter"))


def event(kind: EventType, at: datetime, actor: Actor | None = None, package_id: str | None = None) -> NewEvent:
    return NewEvent(event_type=kind, outcome=Outcome.SUCCESS, agent="strongroom/test", occurred_at=at,
                    package_id=package_id, detail={}, actor=actor)


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[SqlCatalog]:
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    catalog.append([
        event(EventType.VALIDATION, T0, WORKER),
        event(EventType.FIXITY_CHECK, T0 + timedelta(days=1), ALICE),
        event(EventType.FIXITY_CHECK, T0 + timedelta(days=2), WORKER),
        event(EventType.REPLICATION, T0 + timedelta(days=3), ALICE),
        event(EventType.FIXITY_CHECK, T0 + timedelta(days=4)),
    ])
    yield catalog
    catalog.engine.dispose()


def seqs(page: object) -> list[int]:
    return [e.seq for e in page.events]  # type: ignore[attr-defined]


def test_filters_by_event_type_agent_and_days(catalog: SqlCatalog) -> None:
    fixity = EventType.FIXITY_CHECK.value
    assert seqs(audit_events(catalog, EventQuery(event_type=fixity))) == [2, 3, 5]
    assert seqs(audit_events(catalog, EventQuery(agent="alice"))) == [2, 4]
    # the worker acted for bob: the events bob asked for are his too
    assert seqs(audit_events(catalog, EventQuery(agent="bob"))) == [1, 3]
    span = EventQuery(since=T0 + timedelta(days=1), until=T0 + timedelta(days=3))
    assert seqs(audit_events(catalog, span)) == [2, 3]
    assert seqs(audit_events(catalog, EventQuery(event_type=fixity, agent="alice"))) == [2]


def test_pages_continue_after_the_last_event_of_the_page_before(catalog: SqlCatalog) -> None:
    first = audit_events(catalog, EventQuery(limit=2))
    assert seqs(first) == [1, 2] and first.next_after == 2
    second = audit_events(catalog, EventQuery(limit=2, after=first.next_after or 0))
    assert seqs(second) == [3, 4] and second.next_after == 4
    last = audit_events(catalog, EventQuery(limit=2, after=4))
    assert seqs(last) == [5] and last.next_after is None
    assert [e.seq for e in matching_events(catalog, EventQuery(after=3))] == [4, 5]


def test_a_wrong_filter_is_said_in_words(catalog: SqlCatalog) -> None:
    with pytest.raises(InputError, match="not an event type"):
        audit_events(catalog, EventQuery(event_type="repair"))
    with pytest.raises(InputError, match="before its start"):
        audit_events(catalog, EventQuery(since=T0, until=T0))
    with pytest.raises(PackageNotFound):
        audit_events(catalog, EventQuery(package="no such package"))
