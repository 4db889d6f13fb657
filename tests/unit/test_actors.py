"""Every audit event names who caused it (PREMIS linking agents with roles).

The software agent (``strongroom/<version>``) stays in ``agent``; ``actor`` says
who caused the event: the token of an HTTP call, the operating-system user (or
``--agent`` / STRONGROOM_AGENT) of a command, a worker host acting for the one
who asked. The actor is sealed into the hash chain; events recorded before
actors were kept still verify.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.audit import GENESIS, event_fields, event_hash, seal, verify_chain
from ingest.models import EventType, NewEvent, Outcome
from tests.unit.api_support import EXAMPLES, make_api, zip_of
from tests.unit.test_cli_embedded import Strongroom

AT = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
SOFTWARE_AGENT = "strongroom/0.1.0"


@pytest.fixture
def sr(tmp_path: Path) -> Strongroom:
    return Strongroom(tmp_path / "data")


@pytest.fixture
def batch_claiming_someone_else(tmp_path: Path) -> Path:
    """The example batch whose batch.json claims a submitter nobody checked."""
    import shutil

    batch = tmp_path / "batch_claiming_someone_else"
    shutil.copytree(EXAMPLES, batch)
    shutil.rmtree(batch / "bad-record-missing-title")
    doc = json.loads((batch / "batch.json").read_text())
    doc["submitter"] = "the director"
    (batch / "batch.json").write_text(json.dumps(doc))
    return batch


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


def test_cli_events_name_the_operating_system_user_and_the_software(
        sr: Strongroom, batch_claiming_someone_else: Path) -> None:
    report = sr.json("submit", str(batch_claiming_someone_else))
    user = getpass.getuser()
    assert report["submitted_by"] == {"name": user, "kind": "person"}
    assert report["claimed_submitter"] == "the director"
    events = sr.json("audit", "log")["events"]
    assert events and all(e["agent"] == SOFTWARE_AGENT for e in events)
    assert all(e["actor"] == {"name": user, "kind": "person"} for e in events)
    status = sr.run("status", report["batch_id"]).stdout
    assert f"submitted by {user} (person) (batch.json claims: the director)" in status


def test_agent_option_and_environment_name_a_service_account(
        sr: Strongroom, batch_claiming_someone_else: Path) -> None:
    first = sr.json("--agent", "ingest-robot", "submit", str(batch_claiming_someone_else))
    assert first["submitted_by"] == {"name": "ingest-robot", "kind": "service"}
    sr.env["STRONGROOM_AGENT"] = "nightly-verify"
    sr.run("verify", "--all", expect=None)
    events = sr.json("audit", "log")["events"]
    fixity = [e for e in events if e["event_type"] == "fixity check"]
    assert fixity and all(e["actor"]["name"] == "nightly-verify" for e in fixity)

    robots = sr.json("audit", "log", "--agent", "ingest-robot")["events"]
    assert robots and {e["actor"]["name"] for e in robots} == {"ingest-robot"}
    assert {e["event_type"] for e in robots} >= {"accession", "ingestion"}
    assert sr.json("audit", "log", "--agent", "nobody")["events"] == []
    human = sr.run("audit", "log", "--agent", "nightly-verify").stdout
    assert "by nightly-verify (service)" in human


def test_changing_the_recorded_actor_breaks_audit_verify(
        sr: Strongroom, batch_claiming_someone_else: Path) -> None:
    sr.json("--agent", "alice", "submit", str(batch_claiming_someone_else))
    assert sr.json("audit", "verify")["ok"]
    with sqlite3.connect(sr.data / "catalog.sqlite3") as db:
        db.execute("""UPDATE events SET actor = '{"name": "bob", "kind": "service"}'
                      WHERE seq = 2""")
    broken = sr.json("audit", "verify", expect=1)
    assert broken["ok"] is False and broken["first_bad_seq"] == 2


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
        catalog = SubmittedByAlice(accepted(), stuck=[accepted()])
        assert run_task(app, TASK_REQUEUE_STUCK, services=services_with(catalog)) == 1
    finally:
        app.close()
    requester = Actor.from_dict(sent[0]["requested_by"])
    assert requester == Actor("scheduler", kind="scheduler", on_behalf_of=alice)

    from workers.actors import worker_actor

    assert worker_actor(sent[0]["requested_by"]).names()[1:] == ("scheduler", "alice")


def test_a_rebuilt_catalogs_sealing_events_name_who_ran_the_rebuild(
        sr: Strongroom, batch_claiming_someone_else: Path, tmp_path: Path) -> None:
    sr.json("submit", str(batch_claiming_someone_else))
    sr.env["STRONGROOM_DATABASE_URL"] = f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}"
    sr.json("--agent", "recovery-operator", "catalog", "rebuild")
    events = sr.json("audit", "log")["events"]
    assert events and all(e["actor"] == {"name": "recovery-operator", "kind": "service"}
                          for e in events)


def test_a_refused_delivery_names_who_asked_for_the_bytes(
        sr: Strongroom, batch_claiming_someone_else: Path, tmp_path: Path) -> None:
    sr.json("submit", str(batch_claiming_someone_else))
    package = sr.json("list")["packages"][0]["package_id"]
    stored = max((p for p in (sr.objects / package / "v1" / "data").rglob("*") if p.is_file()),
                 key=lambda p: p.stat().st_size)
    damaged = bytearray(stored.read_bytes())
    damaged[0] ^= 0xFF
    stored.write_bytes(bytes(damaged))
    sr.run("--agent", "reading-room-desk", "fetch", package, "--to", str(tmp_path / "out"), expect=1)
    refused = [e for e in sr.json("audit", "log")["events"]
               if e["event_type"] == "fixity check" and e["outcome"] == "failure"]
    assert refused and all(e["actor"] == {"name": "reading-room-desk", "kind": "service"}
                           for e in refused)
