"""Audit anchoring: the chain's head written to every storage location, so that a
log cut off at its end or rewritten whole is caught by ``audit verify``.

The log is tampered with directly in the SQLite file, as someone with access
to the database (and not to the object store) could.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.anchoring import (
    ANCHOR_PREFIX,
    anchor_audit_head,
    anchor_key,
    check_anchors,
    read_anchors,
)
from ingest.audit import GENESIS, seal
from ingest.models import EventType, NewEvent, Outcome
from tests.unit.test_replication import AT, Archive, open_archive

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def database(archive: Archive) -> sqlite3.Connection:
    return sqlite3.connect(archive.root / "catalog.sqlite3")


def truncate_log(db: sqlite3.Connection, keep: int) -> None:
    """Cut the log after event ``keep`` and move the head there: still a valid chain."""
    head = db.execute("SELECT hash FROM events WHERE seq = ?", (keep,)).fetchone()[0]
    db.execute("DELETE FROM events WHERE seq > ?", (keep,))
    db.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (keep, head))
    db.commit()


def report(archive: Archive):  # type: ignore[no-untyped-def]
    anchors, problems = read_anchors(archive.services.locations)
    return check_anchors(archive.services.catalog.events(), anchors, problems)


def test_the_head_is_written_to_the_primary_and_every_replica(archive: Archive) -> None:
    archive.ingest()
    seq, head = archive.services.catalog.audit_head()
    anchor = anchor_audit_head(archive.services)
    assert anchor is not None and (anchor.seq, anchor.hash) == (seq, head)
    for store in archive.services.locations:
        with store.open(anchor_key(seq, head)) as stream:
            body = json.loads(stream.read())
        assert body == {"seq": seq, "hash": head, "anchored_at": "2024-05-01T12:00:00.000000Z"}
    assert anchor_key(seq, head).startswith("_audit/anchors/")


def test_an_unchanged_head_is_not_anchored_again(archive: Archive) -> None:
    archive.ingest()
    assert anchor_audit_head(archive.services) is not None
    assert anchor_audit_head(archive.services) is None
    assert len(list(archive.primary.list(ANCHOR_PREFIX))) == 1


def test_an_empty_log_has_nothing_to_anchor(archive: Archive) -> None:
    assert anchor_audit_head(archive.services) is None


def test_a_whole_log_agrees_with_its_anchors(archive: Archive) -> None:
    archive.ingest()
    anchor_audit_head(archive.services)
    archive.ingest("second", metadata=None, payload={"a.txt": b"a changed payload\n"})
    anchor_audit_head(archive.services)
    result = report(archive)
    assert result.ok and result.anchors == 2 and result.findings == []


def test_a_truncated_log_is_caught_naming_the_missing_anchored_event(archive: Archive) -> None:
    archive.ingest()
    anchored_seq, _ = archive.services.catalog.audit_head()
    anchor_audit_head(archive.services)
    with database(archive) as db:
        truncate_log(db, anchored_seq - 2)

    result = report(archive)

    assert result.chain.ok  # the hash chain alone cannot see it
    assert not result.ok
    [finding] = result.findings
    assert finding.code == "ANCHORED_EVENT_MISSING"
    assert finding.params == {"seq": anchored_seq, "last_seq": anchored_seq - 2}
    assert "truncated" in finding.message


def test_a_log_rewritten_whole_with_a_fresh_chain_is_caught(archive: Archive) -> None:
    archive.ingest()
    anchored_seq, anchored_hash = archive.services.catalog.audit_head()
    anchor_audit_head(archive.services)
    with database(archive) as db:
        rewrite_with_a_fresh_chain(db)

    result = report(archive)

    assert result.chain.ok
    codes = [f.code for f in result.findings]
    assert codes == ["ANCHORED_EVENT_CHANGED"]
    assert result.findings[0].params == {"seq": anchored_seq}
    assert result.findings[0].expected == anchored_hash


def rewrite_with_a_fresh_chain(db: sqlite3.Connection) -> None:
    """Replace every event by a forged one (a different agent), chained correctly."""
    rows = db.execute("SELECT seq, event_id, event_type, outcome, occurred_at, batch_id, item_id,"
                      " package_id, version FROM events ORDER BY seq").fetchall()
    db.execute("DELETE FROM events")
    prev = GENESIS
    for seq, event_id, event_type, outcome, _, batch_id, item_id, package_id, version in rows:
        forged = seal(NewEvent(EventType(event_type), Outcome(outcome), "forger/1.0", AT,
                               batch_id=batch_id, item_id=item_id, package_id=package_id,
                               version=version, detail={}),
                      seq=seq, event_id=event_id, prev_hash=prev)
        db.execute(
            "INSERT INTO events (seq, event_id, event_type, outcome, agent, occurred_at, batch_id,"
            " item_id, package_id, version, detail, prev_hash, hash)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, event_id, forged.event_type, forged.outcome, forged.agent,
             AT.strftime("%Y-%m-%d %H:%M:%S.%f"), batch_id, item_id, package_id, version,
             json.dumps({}), forged.prev_hash, forged.hash))
        prev = forged.hash
    db.execute("UPDATE audit_head SET hash = ? WHERE id = 1", (prev,))
    db.commit()


def test_an_anchor_deleted_from_the_primary_still_counts_from_the_replica(
        archive: Archive) -> None:
    archive.ingest()
    seq, head = archive.services.catalog.audit_head()
    anchor_audit_head(archive.services)
    archive.primary.delete(anchor_key(seq, head))
    with database(archive) as db:
        truncate_log(db, seq - 1)
    assert [f.code for f in report(archive).findings] == ["ANCHORED_EVENT_MISSING"]


def test_an_object_under_the_anchor_prefix_that_is_no_anchor_is_reported(
        archive: Archive) -> None:
    archive.primary.put_bytes(ANCHOR_PREFIX + "junk.json", b"{}",
                              "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    result = report(archive)
    assert [(f.code, f.path) for f in result.findings] == [
        ("ANCHOR_INVALID", ANCHOR_PREFIX + "junk.json")]


# --------------------------------------------------------------------------- the command


def cli(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env.update(STRONGROOM_DATA_DIR=str(data), STRONGROOM_RETRY_BACKOFF="0")
    return subprocess.run([sys.executable, "-m", "strongroom.cli", *args], env=env,
                          capture_output=True, text=True, cwd=data.parent)


def test_submit_anchors_the_head_and_audit_verify_catches_a_truncated_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    submitted = cli(data, "submit", str(ROOT / "examples" / "batch"), "--json")
    assert submitted.returncode == 1  # the example's bad item
    anchors = sorted((data / "objects" / "_audit" / "anchors").iterdir())
    assert len(anchors) == 1
    anchored = json.loads(anchors[0].read_text())

    fine = cli(data, "audit", "verify", "--json")
    assert fine.returncode == 0, fine.stdout
    document = json.loads(fine.stdout)
    assert {"ok", "count", "head", "first_bad_seq", "reason"} <= set(document)
    assert document["anchors"]["count"] == 1 and document["anchors"]["findings"] == []

    with sqlite3.connect(data / "catalog.sqlite3") as db:
        truncate_log(db, anchored["seq"] - 1)
    broken = cli(data, "audit", "verify", "--json")

    assert broken.returncode == 1
    document = json.loads(broken.stdout)
    assert document["ok"] is False and document["first_bad_seq"] is None  # the chain is whole
    [finding] = document["anchors"]["findings"]
    assert finding["code"] == "ANCHORED_EVENT_MISSING"
    assert finding["params"]["seq"] == anchored["seq"]
    human = cli(data, "audit", "verify")
    assert f"audit event {anchored['seq']} was anchored" in human.stdout
