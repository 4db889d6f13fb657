"""The audit log in the catalog database: appending to the chain and reading it.

Appends happen inside the caller's transaction, so an event is written if and
only if the change it records is. The ``audit_head`` row names the last event;
each append locks it first (``SELECT … FOR UPDATE`` on PostgreSQL; on SQLite
the write transaction already holds the database's write lock), so two
transactions can never link to the same predecessor. The rules of the chain
itself are in ``ingest.audit``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from ingest.audit import seal
from ingest.models import Actor, AuditEvent, NewEvent
from storage.catalog_base import cast_table
from storage.tables import AuditHead, Event

# Built once (see storage.catalog_batches): every ingest appends events.
_HEAD = (select(cast_table(AuditHead).c.seq, cast_table(AuditHead).c.hash)
         .where(cast_table(AuditHead).c.id == 1).with_for_update())
_INSERT_EVENTS = insert(cast_table(Event))
_MOVE_HEAD = update(cast_table(AuditHead)).where(cast_table(AuditHead).c.id == 1)

#: Events read per query when walking the log.
PAGE_SIZE = 1000

#: Reads one page of events: (after_seq, package_id) -> events.
PageReader = Callable[[int, "str | None", int], list[AuditEvent]]
#: the first page a walk reads: a reader of one screenful reads little; the pages grow to PAGE_SIZE
FIRST_PAGE_SIZE = 100


def append_events(session: Session, events: Sequence[NewEvent]) -> list[AuditEvent]:
    """Chain ``events`` after the current head, in order, in ``session``'s
    transaction, and move the head. Raises ValueError for an event that cannot
    be sealed (naive time, detail with no JSON form)."""
    if not events:
        return []
    # Core statements, one INSERT of every row: an ingest appends several events
    # per item, and the ORM's unit of work cost more than the writing.
    head = session.execute(_HEAD).one()
    sealed: list[AuditEvent] = []
    rows: list[dict[str, object]] = []
    seq, prev_hash = head.seq, head.hash
    for new in events:
        seq += 1
        event = seal(new, seq=seq, event_id=str(uuid.uuid4()), prev_hash=prev_hash)
        rows.append({
            "seq": event.seq,
            "event_id": event.event_id,
            "event_type": event.event_type,
            "outcome": event.outcome,
            "agent": event.agent,
            "occurred_at": event.occurred_at,
            "batch_id": event.batch_id,
            "item_id": event.item_id,
            "package_id": event.package_id,
            "version": event.version,
            "detail": event.detail,
            "prev_hash": event.prev_hash,
            "hash": event.hash,
            "actor": event.actor.to_dict() if event.actor else None,
        })
        sealed.append(event)
        prev_hash = event.hash
    session.execute(_INSERT_EVENTS, rows)
    session.execute(_MOVE_HEAD, {"seq": seq, "hash": prev_hash})
    return sealed


def read_events(session: Session, after_seq: int, package_id: str | None,
                limit: int = PAGE_SIZE) -> list[AuditEvent]:
    """Up to ``limit`` events with seq above ``after_seq``, in seq order, all or
    those of one package."""
    query = select(Event).where(Event.seq > after_seq)
    if package_id is not None:
        query = query.where(Event.package_id == package_id)
    rows = session.execute(query.order_by(Event.seq).limit(limit)).scalars()
    return [audit_event(row) for row in rows]


def walk_events(read_page: PageReader, package_id: str | None, after: int = 0) -> Iterator[AuditEvent]:
    """Every event in seq order after ``after``, fetched a page at a time through
    ``read_page`` (each page in its own short transaction: a long walk holds no
    lock). Pages start small and grow, so that reading the first few costs little."""
    size = FIRST_PAGE_SIZE
    while True:
        page = read_page(after, package_id, size)
        yield from page
        if len(page) < size:
            return
        after = page[-1].seq
        size = min(size * 4, PAGE_SIZE)


def audit_event(row: Event) -> AuditEvent:
    return AuditEvent(
        seq=row.seq,
        event_id=row.event_id,
        event_type=row.event_type,
        outcome=row.outcome,
        agent=row.agent,
        occurred_at=row.occurred_at,
        batch_id=row.batch_id,
        item_id=row.item_id,
        package_id=row.package_id,
        version=row.version,
        detail=row.detail,
        prev_hash=row.prev_hash,
        hash=row.hash,
        actor=Actor.from_dict(row.actor),
    )
