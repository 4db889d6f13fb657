"""The audit chain rules: canonical form, sealing, and what verification catches."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.audit import (
    GENESIS,
    canonical_event,
    event_fields,
    event_hash,
    seal,
    verify_chain,
)
from ingest.models import AuditEvent, EventType, NewEvent, Outcome

T0 = datetime(1951, 3, 14, 9, 30, 0, 123456, tzinfo=UTC)


def fields(**changes: object) -> dict[str, object]:
    base: dict[str, object] = {
        "seq": 1,
        "event_id": "e1",
        "event_type": "validation",
        "outcome": "success",
        "agent": "strongroom/0.1",
        "occurred_at": T0,
        "batch_id": "b1",
        "item_id": None,
        "package_id": None,
        "version": None,
        "detail": {"schema": "archival-record/v1"},
        "prev_hash": GENESIS,
    }
    base.update(changes)
    return base


def new_event(n: int, **detail: object) -> NewEvent:
    return NewEvent(
        event_type=EventType.FIXITY_CHECK,
        outcome=Outcome.SUCCESS,
        agent="strongroom/0.1",
        occurred_at=T0 + timedelta(seconds=n),
        package_id="p1",
        version=1,
        detail={"n": n, **detail},
    )


def chain(length: int) -> list[AuditEvent]:
    events: list[AuditEvent] = []
    prev = GENESIS
    for n in range(1, length + 1):
        event = seal(new_event(n), seq=n, event_id=f"e{n}", prev_hash=prev)
        events.append(event)
        prev = event.hash
    return events


# ------------------------------------------------------------------ canonical form


def test_canonical_form_is_sorted_compact_utf8_json() -> None:
    data = canonical_event(fields(agent="Ärchivist", detail={"b": 1, "a": [1, "ж"]}))
    expected = (
        '{"agent":"Ärchivist","batch_id":"b1","detail":{"a":[1,"ж"],"b":1},'
        '"event_id":"e1","event_type":"validation","item_id":null,'
        '"occurred_at":"1951-03-14T09:30:00.123456Z","outcome":"success",'
        '"package_id":null,"prev_hash":"' + GENESIS + '","seq":1,"version":null}'
    ).encode("utf-8")
    assert data == expected
    assert event_hash(fields(agent="Ärchivist", detail={"b": 1, "a": [1, "ж"]})) == \
        hashlib.sha256(expected).hexdigest()


def test_times_are_written_in_utc_with_microseconds() -> None:
    moscow = timezone(timedelta(hours=3))
    same_instant = T0.astimezone(moscow)
    assert event_hash(fields(occurred_at=same_instant)) == event_hash(fields())
    whole_second = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert b'"occurred_at":"2024-05-01T12:00:00.000000Z"' in canonical_event(
        fields(occurred_at=whole_second))


def test_enum_values_hash_like_their_text() -> None:
    assert event_hash(fields(event_type=EventType.VALIDATION, outcome=Outcome.SUCCESS)) == \
        event_hash(fields(event_type="validation", outcome="success"))


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError):
        canonical_event(fields(occurred_at=datetime(2024, 5, 1, 12, 0)))


def test_missing_field_is_refused() -> None:
    incomplete = fields()
    del incomplete["prev_hash"]
    with pytest.raises(ValueError):
        canonical_event(incomplete)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), object()])
def test_detail_without_a_json_form_is_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        canonical_event(fields(detail={"x": bad}))


def test_every_chained_field_changes_the_hash() -> None:
    original = event_hash(fields())
    changes = {
        "seq": 2, "event_id": "e2", "event_type": "ingestion", "outcome": "failure",
        "agent": "someone else", "occurred_at": T0 + timedelta(microseconds=1),
        "batch_id": "b2", "item_id": "i1", "package_id": "p1", "version": 1,
        "detail": {"schema": "archival-record/v2"}, "prev_hash": "f" * 64,
    }
    for name, value in changes.items():
        assert event_hash(fields(**{name: value})) != original, name


# ------------------------------------------------------------------ sealing


def test_sealed_event_holds_what_storage_gives_back() -> None:
    event = seal(
        NewEvent(event_type=EventType.INGESTION, outcome=Outcome.SUCCESS, agent="a",
                 occurred_at=T0.astimezone(timezone(timedelta(hours=-5))),
                 detail={"checked_at": T0, "outcome": Outcome.FAILURE, 7: "int key"}),
        seq=1, event_id="e1", prev_hash=GENESIS,
    )
    assert event.event_type == "ingestion" and type(event.event_type) is str
    assert event.outcome == "success" and type(event.outcome) is str
    assert event.occurred_at.utcoffset() == timedelta(0)
    assert event.detail == {"checked_at": "1951-03-14T09:30:00.123456Z",
                            "outcome": "failure", "7": "int key"}
    assert event.hash == event_hash(event_fields(event))


def test_sealing_a_naive_time_is_refused() -> None:
    naive = dataclasses.replace(new_event(1), occurred_at=datetime(2024, 5, 1))
    with pytest.raises(ValueError):
        seal(naive, seq=1, event_id="e1", prev_hash=GENESIS)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(detail=st.dictionaries(st.text(), json_values, max_size=6))
def test_any_json_detail_keeps_its_hash_through_json_storage(detail: dict[str, object]) -> None:
    event = seal(dataclasses.replace(new_event(1), detail=detail), seq=1, event_id="e1",
                 prev_hash=GENESIS)
    stored = dataclasses.replace(event, detail=json.loads(json.dumps(event.detail)))
    assert verify_chain([stored]).ok


# ------------------------------------------------------------------ verification


def test_intact_chain_verifies_to_its_head() -> None:
    events = chain(5)
    report = verify_chain(events)
    assert (report.ok, report.count, report.head) == (True, 5, events[-1].hash)
    assert report.first_bad_seq is None and report.reason is None


def test_empty_chain_verifies_to_genesis() -> None:
    report = verify_chain([])
    assert (report.ok, report.count, report.head) == (True, 0, GENESIS)


def test_edited_event_is_named() -> None:
    events = chain(5)
    events[2] = dataclasses.replace(events[2], detail={"n": 999})
    report = verify_chain(events)
    assert (report.ok, report.first_bad_seq, report.count) == (False, 3, 2)
    assert report.head == events[1].hash
    assert "changed" in (report.reason or "")


def test_edited_and_rehashed_event_breaks_the_next_link() -> None:
    events = chain(5)
    forged = dataclasses.replace(events[2], agent="forger")
    events[2] = dataclasses.replace(forged, hash=event_hash(event_fields(forged)))
    report = verify_chain(events)
    assert (report.ok, report.first_bad_seq) == (False, 4)
    assert "prev_hash" in (report.reason or "")


def test_deleted_event_is_named_by_the_one_after_the_gap() -> None:
    events = chain(5)
    del events[2]
    report = verify_chain(events)
    assert (report.ok, report.first_bad_seq, report.count) == (False, 4, 2)
    assert "missing" in (report.reason or "")


def test_deleted_and_renumbered_event_breaks_the_link() -> None:
    events = chain(5)
    del events[2]
    events[2:] = [dataclasses.replace(e, seq=e.seq - 1) for e in events[2:]]
    report = verify_chain(events)
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_reordered_events_are_caught() -> None:
    events = chain(5)
    events[1], events[2] = events[2], events[1]
    report = verify_chain(events)
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_swapped_seqs_are_caught_at_the_first_swapped_place() -> None:
    events = chain(5)
    third, fourth = events[2], events[3]
    events[2] = dataclasses.replace(fourth, seq=3)
    events[3] = dataclasses.replace(third, seq=4)
    report = verify_chain(events)
    assert (report.ok, report.first_bad_seq) == (False, 3)


def test_chain_not_starting_at_genesis_is_caught() -> None:
    events = chain(3)
    report = verify_chain(events[1:])
    assert (report.ok, report.first_bad_seq) == (False, 2)
    forged_start = dataclasses.replace(events[0], prev_hash="1" * 64)
    assert verify_chain([forged_start]).first_bad_seq == 1


def test_truncated_tail_is_not_caught_by_the_chain_alone() -> None:
    # Cutting events off the end leaves a valid, shorter chain. Only comparing the
    # head with one recorded elsewhere (an anchor) reveals it.
    events = chain(5)
    report = verify_chain(events[:3])
    assert report.ok and report.count == 3
    assert report.head != events[-1].hash
