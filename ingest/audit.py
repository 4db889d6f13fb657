"""The audit chain: how events are sealed into a hash chain and how it is checked.

Every event carries ``prev_hash``, the hash of the event before it (``GENESIS``
for the first), and ``hash``, the SHA-256 of its own canonical form, which
covers its place (``seq``), its content and ``prev_hash``. Editing an event
changes its hash; deleting, inserting or reordering one breaks the link or the
numbering of the next. Cutting events off the *end* leaves a shorter chain
that is still valid: only a head recorded elsewhere (an anchor) can show that,
and ``verify_chain`` reports the head it reached so that it can be compared
with one.

An event that names who caused it (``actor``: see ``ingest.models.Actor``) has
its actor sealed too, under the key ``actor``; an event without one is hashed
exactly as before actors were recorded, so older chains still verify.

The canonical form is JSON with sorted keys, no whitespace, UTF-8 text, and
datetimes written as ISO 8601 UTC with microseconds and a ``Z``
(``2024-05-01T12:00:00.000000Z``). Storage adapters store the values the hash
was computed on (see ``seal``), so reading an event back reproduces its hash.
"""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from ingest.models import Actor, AuditEvent, NewEvent

#: ``prev_hash`` of the first event of every chain.
GENESIS = "0" * 64

#: The fields an event hash covers, in the order they are documented.
CHAINED_FIELDS: tuple[str, ...] = (
    "seq",
    "event_id",
    "event_type",
    "outcome",
    "agent",
    "occurred_at",
    "batch_id",
    "item_id",
    "package_id",
    "version",
    "detail",
    "prev_hash",
)
#: Also covered by the hash, when the event has one.
ACTOR_FIELD = "actor"


def utc_text(moment: datetime) -> str:
    """A timezone-aware datetime as ISO 8601 UTC with microseconds and 'Z'.

    Raises ValueError for a naive datetime: its instant is unknown, so it
    cannot be sealed into the chain.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime {moment!r} has no timezone; audit times must be aware")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_value(value: Any) -> Any:
    # json.dumps calls this only for values it cannot write itself.
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} {value!r} cannot be written into an audit event")


def _enum_text(value: Any) -> Any:
    return value.value if isinstance(value, enum.Enum) else value


def _dumps(value: Any, sort_keys: bool = True) -> str:
    return json.dumps(
        value,
        sort_keys=sort_keys,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
        default=_json_value,
    )


def canonical_event(fields: dict[str, Any]) -> bytes:
    """The bytes an event hash is computed over.

    ``fields`` must hold every name in ``CHAINED_FIELDS`` (others are ignored).
    Enum values are written as their value, datetimes as ``utc_text``.
    Raises ValueError when a field is missing, a datetime is naive or a value
    (NaN, an arbitrary object) has no JSON form.
    """
    missing = [name for name in CHAINED_FIELDS if name not in fields]
    if missing:
        raise ValueError(f"audit event lacks {', '.join(missing)}")
    chained = {name: fields[name] for name in CHAINED_FIELDS}
    actor = fields.get(ACTOR_FIELD)
    if actor is not None:  # sealed only when present: older events hash as they did
        chained[ACTOR_FIELD] = actor.to_dict() if isinstance(actor, Actor) else actor
    try:
        text = _dumps(chained)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc
    return text.encode("utf-8")


def event_hash(fields: dict[str, Any]) -> str:
    """SHA-256 (hex) of ``canonical_event(fields)``. Raises ValueError as it does."""
    return hashlib.sha256(canonical_event(fields)).hexdigest()


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """The chained fields of a stored event, as ``canonical_event`` takes them."""
    fields = {name: getattr(event, name) for name in CHAINED_FIELDS}
    fields[ACTOR_FIELD] = event.actor
    return fields


def json_detail(detail: dict[str, Any]) -> dict[str, Any]:
    """``detail`` as it reads back from JSON storage (datetimes as text, enums as
    values, keys as strings). Raises ValueError when a value has no JSON form."""
    try:
        # Unsorted: keys of mixed types (7 and "a") cannot be compared before
        # they become text.
        loaded: dict[str, Any] = json.loads(_dumps(detail, sort_keys=False))
        return loaded
    except TypeError as exc:
        raise ValueError(str(exc)) from exc


def seal(event: NewEvent, seq: int, event_id: str, prev_hash: str) -> AuditEvent:
    """Give a new event its place after ``prev_hash`` and its hash.

    The returned event holds exactly what was hashed, in the form storage gives
    back: type and outcome as text, ``occurred_at`` in UTC, ``detail`` as JSON
    data. Raises ValueError for a naive ``occurred_at`` or a detail value with no
    JSON form.
    """
    utc_text(event.occurred_at)  # refuse a naive time before anything else
    fields: dict[str, Any] = {
        "seq": seq,
        "event_id": event_id,
        "event_type": _enum_text(event.event_type),
        "outcome": _enum_text(event.outcome),
        "agent": event.agent,
        "occurred_at": event.occurred_at.astimezone(UTC),
        "batch_id": event.batch_id,
        "item_id": event.item_id,
        "package_id": event.package_id,
        "version": event.version,
        "detail": json_detail(event.detail),
        "prev_hash": prev_hash,
    }
    return AuditEvent(**fields, hash=event_hash({**fields, ACTOR_FIELD: event.actor}),
                      actor=event.actor)


def caused_by(event: AuditEvent, name: str) -> bool:
    """True when ``name`` caused ``event``, itself or through someone acting on
    its behalf (a worker host ingesting alice's batch was caused by both)."""
    return event.actor is not None and name in event.actor.names()


@dataclass
class ChainReport:
    """What ``verify_chain`` found.

    ``count`` is the number of events that verified (all of them when ``ok``);
    ``head`` is the hash of the last of those (``GENESIS`` for none). When the
    chain is broken, ``first_bad_seq`` is the seq of the first event that fails
    and ``reason`` says how.
    """

    ok: bool
    count: int
    head: str
    first_bad_seq: int | None = None
    reason: str | None = None


def verify_chain(events: Iterable[AuditEvent]) -> ChainReport:
    """Walk a whole chain from its first event and check every link.

    The events must be given in seq order, starting at seq 1. The walk stops at
    the first event that is out of place (its seq is not the next number: one
    before it is missing, or the order is changed), does not link to the one
    before (``prev_hash``) or does not match its own hash (it was edited).
    Raises nothing: a broken chain is a report with ``ok`` False.
    """
    head = GENESIS
    count = 0
    for event in events:
        expected_seq = count + 1
        bad: str | None = None
        if event.seq != expected_seq:
            bad = (f"seq {event.seq} where {expected_seq} was expected: "
                   "an event is missing or out of order")
        elif event.prev_hash != head:
            bad = "prev_hash does not match the hash of the event before it"
        else:
            try:
                recomputed = event_hash(event_fields(event))
            except ValueError as exc:
                bad = f"event cannot be hashed: {exc}"
            else:
                if recomputed != event.hash:
                    bad = "hash does not match the event's content: it was changed"
        if bad is not None:
            return ChainReport(ok=False, count=count, head=head,
                               first_bad_seq=event.seq, reason=bad)
        head = event.hash
        count += 1
    return ChainReport(ok=True, count=count, head=head)
