"""What the Package page tells a person beyond the catalog's rows: each copy's
fixity history, a file's format from its name, a record's date in words, and
links only where following them is safe."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest.file_formats import format_by_name
from ingest.fixity_history import copy_histories
from ingest.models import Actor, AuditEvent, EventType
from strongroom.web.record_text import agent_text, paragraphs, record_date, web_link

T0 = datetime(2026, 3, 1, tzinfo=UTC)


def event(seq: int, kind: EventType, version: int | None, outcome: str = "success",
          **detail: object) -> AuditEvent:
    return AuditEvent(seq=seq, event_id=f"e{seq}", event_type=kind.value, outcome=outcome,
                      agent="strongroom/test", occurred_at=T0 + timedelta(days=seq), batch_id=None,
                      item_id=None, package_id="p", version=version, detail=dict(detail),
                      prev_hash="0" * 64, hash=f"{seq:064d}",
                      actor=Actor(kind="person", name="Avery Auditor", role="auditor"))


def test_each_copy_has_its_checks_newest_first_and_other_events_are_left_out() -> None:
    events = [
        event(1, EventType.INGESTION, 1),
        event(2, EventType.FIXITY_CHECK, 1, location="s3://a", tier="deep"),
        event(3, EventType.FIXITY_CHECK, 1, location="s3://b", tier="shallow"),
        event(4, EventType.FIXITY_CHECK, 1, "failure", location="s3://a", tier="deep",
              findings=[{"code": "FIXITY_MISMATCH", "path": "data/a.txt", "message": "differs"}]),
        event(5, EventType.FIXITY_CHECK, 2, location="s3://a", tier="deep"),
        event(6, EventType.FIXITY_CHECK, 2, "failure"),  # damage found while delivering
    ]
    histories = copy_histories(events)
    assert [(h.version, h.location, [c.seq for c in h.checks]) for h in histories] == [
        (2, None, [6]), (2, "s3://a", [5]), (1, "s3://a", [4, 2]), (1, "s3://b", [3])]
    damaged = histories[2]
    assert damaged.failed == 1 and damaged.last.findings[0]["code"] == "FIXITY_MISMATCH"
    assert damaged.last.tier == "deep" and damaged.last.actor is not None
    assert damaged.last.actor["name"] == "Avery Auditor"


def test_a_format_is_told_by_the_name_only_and_said_as_such() -> None:
    tif = format_by_name("data/scan/PAGE-01.TIF")
    assert tif is not None and (tif.media_type, tif.name, tif.basis) == ("image/tiff", "TIFF image", "name")
    assert format_by_name("data/README") is None
    assert format_by_name("data/file.unknown-extension") is None


def test_record_dates_read_in_words() -> None:
    assert record_date("1951-06-21") == "21 June 1951"
    assert record_date("1951-06") == "June 1951"
    assert record_date("1951") == "1951"
    assert record_date("1951-06/1951-08") == "June 1951 to August 1951"
    assert record_date("sometime in 1951") == "sometime in 1951"
    assert record_date(None) == "—"


def test_agents_read_with_the_name_as_written_and_their_part() -> None:
    assert agent_text({"name": "I. V. Stalin", "name_as_written": "Filippov", "role": "addressee"}) == \
        "I. V. Stalin (written as “Filippov”), addressee"
    assert agent_text({"name": "Mao Zedong"}) == "Mao Zedong"


def test_only_web_addresses_become_links() -> None:
    assert web_link("https://digitalarchive.example/document/1") == "https://digitalarchive.example/document/1"
    assert web_link("javascript:alert(1)") is None
    assert web_link("data:text/html,<script>alert(1)</script>") is None
    assert web_link("//elsewhere.example/") is None


def test_prose_splits_at_blank_lines() -> None:
    assert paragraphs("First.\nstill first.\n\n  Second.\n") == ["First.\nstill first.", "Second."]
