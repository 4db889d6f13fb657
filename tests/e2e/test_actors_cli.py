"""Every audit event of a command names who caused it: the operating-system user,
``--agent`` or STRONGROOM_AGENT, through the real ``strongroom`` command."""

from __future__ import annotations

import getpass
import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.cli_runner import EXAMPLES, Strongroom
from tests.unit.test_actors import SOFTWARE_AGENT


@pytest.fixture
def sr(tmp_path: Path) -> Strongroom:
    return Strongroom(tmp_path / "data")


@pytest.fixture
def batch_claiming_someone_else(tmp_path: Path) -> Path:
    """The example batch whose batch.json claims a submitter nobody checked."""
    batch = tmp_path / "batch_claiming_someone_else"
    shutil.copytree(EXAMPLES, batch)
    shutil.rmtree(batch / "bad-record-missing-title")
    doc = json.loads((batch / "batch.json").read_text())
    doc["submitter"] = "the director"
    (batch / "batch.json").write_text(json.dumps(doc))
    return batch


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


@pytest.mark.parametrize("name", ["   ", "night\nshift", "x" * 101])
def test_an_agent_name_that_names_nobody_is_refused_before_anything_is_done(
        sr: Strongroom, name: str) -> None:
    """Before, an agent of spaces (anonymous in the log), of 100 KB, or with a line
    break in it was taken as given and recorded in every event of the command."""
    got = sr.run("--agent", name, "submit", str(EXAMPLES), expect=2)
    assert "agent name" in got.stderr
    assert not (sr.data / "catalog.sqlite3").exists()  # refused before anything was opened
