"""Every audit event names who caused it (PREMIS linking agents with roles).

The software agent (``strongroom/<version>``) stays in ``agent``; ``actor`` says
who caused the event: the token of an HTTP call, the operating-system user (or
``--agent`` / STRONGROOM_AGENT) of a command, a worker host acting for the one
who asked. The actor is sealed into the hash chain; events recorded before
actors were kept still verify.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.audit import GENESIS, event_fields, event_hash, seal, verify_chain
from ingest.models import EventType, NewEvent, Outcome
from tests.unit.api_support import EXAMPLES, make_api, zip_of

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SOFTWARE_AGENT = "strongroom/0.1.0"


# --------------------------------------------------------------------------- the chain


def test_the_actor_is_sealed_in_the_hash_chain() -> None:
    from ingest.models import Actor

    alice = Actor("alice", kind="token", role="submitter", token_id="t-1")
    event = seal(NewEvent(EventType.ACCESSION, Outcome.SUCCESS, SOFTWARE_AGENT, AT, actor=alice),
                 seq=1, event_id="e-1", prev_hash=GENESIS)
    assert verify_chain([event]).ok
    forged = dataclasses.replace(event, actor=Actor("mallory", kind="token", role="submitter"))
    report = verify_chain([forged])
    assert not report.ok and report.first_bad_seq == 1
    dropped = dataclasses.replace(event, actor=None)
    assert not verify_chain([dropped]).ok


def test_events_recorded_before_actors_still_verify() -> None:
    """An event without an actor hashes exactly as it did before actors were kept."""
    old = seal(NewEvent(EventType.ACCESSION, Outcome.SUCCESS, SOFTWARE_AGENT, AT),
               seq=1, event_id="e-1", prev_hash=GENESIS)
    fields = event_fields(old)
    del fields["actor"]
    assert old.actor is None and event_hash(fields) == old.hash
    assert verify_chain([old]).ok


# --------------------------------------------------------------------------- the command line


# --------------------------------------------------------------------------- HTTP


def test_http_events_name_the_token_and_its_role(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    api.services.catalog.create_token("alice", "submitter")  # type: ignore[attr-defined]
    batch = api.upload(zip_of(EXAMPLES), "application/zip")
    token = next(t for t in api.services.catalog.list_tokens()  # type: ignore[attr-defined]
                 if t.name == "test submitter")
    expected = {"name": "test submitter", "kind": "token", "role": "submitter",
                "token_id": token.token_id}
    assert {k: v for k, v in batch["submitted_by"].items() if v is not None} == expected
    assert batch["claimed_submitter"] == "Reading Room, sample submissions"
    events = [e for e in api.services.catalog.events() if e.batch_id == batch["batch_id"]]
    assert {e.event_type for e in events} >= {"accession", "validation", "ingestion"}
    assert all(e.actor is not None and e.actor.to_dict() == expected for e in events)
    assert all(e.agent == SOFTWARE_AGENT for e in events)


# --------------------------------------------------------------------------- the scheduler


def test_the_stuck_item_sweep_resends_on_behalf_of_the_batchs_submitter(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Beat's sweep sends a stuck item again as the scheduler acting for whoever
    submitted its batch, so the worker's events still lead to the original requester."""
    from ingest.models import Actor, BatchRecord
    from tests.unit.test_celery_config import (
        NOW,
        SETTINGS,
        FakeCatalog,
        accepted,
        no_services,
        run_task,
        services_with,
    )
    from workers.celery_app import create_app
    from workers.reliability import TASK_REQUEUE_STUCK

    alice = Actor("alice", kind="token", role="submitter", token_id="t-1")

    class SubmittedByAlice(FakeCatalog):
        def get_batch(self, batch_id: str) -> BatchRecord:
            return BatchRecord(batch_id=batch_id, source="/b", submitted_at=NOW,
                               submitted_by=alice)

    app = create_app(SETTINGS, services_factory=no_services)
    try:
        sent: list[dict] = []
        monkeypatch.setattr(app, "send_task", lambda name, args, queue, kwargs=None, **_:
                            sent.append(kwargs or {}))
        catalog = SubmittedByAlice(accepted(), stuck=[accepted(attempts=1)])
        assert run_task(app, TASK_REQUEUE_STUCK, services=services_with(catalog)) == 1
    finally:
        app.close()
    requester = Actor.from_dict(sent[0]["requested_by"])
    assert requester == Actor("scheduler", kind="scheduler", on_behalf_of=alice)

    from workers.actors import worker_actor

    assert worker_actor(sent[0]["requested_by"]).names()[1:] == ("scheduler", "alice")
