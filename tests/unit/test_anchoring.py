"""Audit anchoring: the chain's head written to every storage location, so that a
log cut off at its end or rewritten whole is caught by ``audit verify``.

The log is tampered with directly in the SQLite file, as someone with access
to the database (and not to the object store) could.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.anchoring import (
    anchor_audit_head,
    anchor_key,
    log_anchor_prefix,
    verify_audit_log,
)
from ingest.audit import GENESIS, seal
from ingest.models import EventType, NewEvent, Outcome
from ingest.rebuild import rebuild_catalog
from tests.unit.test_replication import AT, PACKAGE, Archive, make_services, open_archive


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
    return verify_audit_log(archive.services).anchored


def log_id(archive: Archive) -> str:
    return archive.services.catalog.log_identity()[0]


def test_the_head_is_written_to_the_primary_and_every_replica(archive: Archive) -> None:
    archive.ingest()
    seq, head = archive.services.catalog.audit_head()
    anchor = anchor_audit_head(archive.services)
    assert anchor is not None and (anchor.seq, anchor.hash) == (seq, head)
    for store in archive.services.locations:
        with store.open(anchor_key(seq, head, log_id(archive))) as stream:
            body = json.loads(stream.read())
        first = next(iter(archive.services.catalog.events())).hash
        assert archive.services.catalog.first_event_hash() == first
        assert body == {"seq": seq, "hash": head, "anchored_at": "2024-05-01T12:00:00.000000Z",
                        "first": first}
    assert anchor_key(seq, head, log_id(archive)).startswith(
        f"_audit/logs/{log_id(archive)}/anchors/")


def test_an_unchanged_head_is_not_anchored_again(archive: Archive) -> None:
    archive.ingest()
    assert anchor_audit_head(archive.services) is not None
    assert anchor_audit_head(archive.services) is None
    assert len(list(archive.primary.list(log_anchor_prefix(log_id(archive))))) == 1


def test_an_empty_log_has_nothing_to_anchor(archive: Archive) -> None:
    assert archive.services.catalog.first_event_hash() is None
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
    archive.primary.delete(anchor_key(seq, head, log_id(archive)))
    with database(archive) as db:
        truncate_log(db, seq - 1)
    assert [f.code for f in report(archive).findings] == ["ANCHORED_EVENT_MISSING"]


def test_an_object_under_the_anchor_prefix_that_is_no_anchor_is_reported(
        archive: Archive) -> None:
    junk = log_anchor_prefix(log_id(archive)) + "junk.json"
    archive.primary.put_bytes(junk, b"{}",
                              "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    result = report(archive)
    assert [(f.code, f.path) for f in result.findings] == [("ANCHOR_INVALID", junk)]


# --------------------------------------------------------------------------- one log, its anchors


def test_a_second_catalog_on_the_same_store_is_held_to_its_own_anchors_only(
        archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    anchor_audit_head(archive.services)
    second = make_services(tmp_path / "second", replicas=archive.services.replicas,
                           store=archive.primary)
    second.catalog.append([NewEvent(EventType.VALIDATION, Outcome.SUCCESS, "test/1", AT)])
    anchor_audit_head(second)
    seq, _ = archive.services.catalog.audit_head()
    with database(archive) as db:
        truncate_log(db, seq - 1)

    mine, theirs = report(archive), verify_audit_log(second)

    assert [f.code for f in mine.findings] == ["ANCHORED_EVENT_MISSING"]
    assert theirs.ok and theirs.anchored.anchors == 1
    assert [(o["log_id"], o["lineage"]) for o in theirs.anchored.other_logs] == [
        (log_id(archive), False)]
    second.catalog.engine.dispose()  # type: ignore[attr-defined]


def test_a_log_cut_short_and_given_a_new_log_id_is_still_held_to_its_anchors(
        archive: Archive) -> None:
    """Before, one SQL statement — cut the log, move its head, forget its anchors
    and give the log a new id — left ``audit verify`` saying "chain ok": the
    anchors of the old id were nobody's business any more. They name the log's
    first event, so a log of the same lineage is held to them."""
    archive.ingest()
    seq, _ = archive.services.catalog.audit_head()
    anchor_audit_head(archive.services)
    old_id = log_id(archive)
    with database(archive) as db:
        truncate_log(db, 2)  # below every anchor
        db.execute("DELETE FROM audit_anchors")
        db.execute("UPDATE audit_log SET log_id = ?", ("forged-" + old_id[7:],))
        db.commit()

    result = report(archive)

    assert result.chain.ok
    assert not result.ok
    assert [(f.code, f.params["seq"], f.params["log_id"]) for f in result.findings] == [
        ("ANCHORED_EVENT_MISSING", seq, old_id)]
    assert result.other_logs == [{"log_id": old_id, "anchors": 1, "latest_seq": seq,
                                  "lineage": True}]


def test_anchors_written_before_logs_had_an_identity_stay_their_catalogs(
        tmp_path: Path) -> None:
    """A catalog that anchored under the shared ``_audit/anchors/`` keeps those anchors
    as its own after the upgrade (legacy_anchors); a new catalog does not read them."""
    from storage.catalog import SqlCatalog
    from tests.unit.test_catalog_startup import upgrade_with_alembic_to

    old = tmp_path / "old"
    old.mkdir()
    url = f"sqlite:///{old / 'catalog.sqlite3'}"
    upgrade_with_alembic_to(url, ["0004", "0005", "0006"])  # the schema before log ids
    with sqlite3.connect(old / "catalog.sqlite3") as db:
        db.execute("INSERT INTO audit_anchors (seq, hash, anchored_at) VALUES (1, ?, ?)",
                   ("a" * 64, "2024-05-01 12:00:00.000000"))
    legacy = SqlCatalog.from_url(url)
    log, owns_legacy = legacy.log_identity()
    assert owns_legacy is True and len(log) == 36
    fresh = SqlCatalog.from_url(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert fresh.log_identity()[1] is False and fresh.log_identity()[0] != log
    legacy.engine.dispose()
    fresh.engine.dispose()


def test_legacy_anchors_are_checked_for_the_log_that_owns_them(archive: Archive,
                                                                 tmp_path: Path) -> None:
    archive.ingest()
    seq, head = archive.services.catalog.audit_head()
    body = json.dumps({"seq": seq, "hash": head}).encode()
    for store in archive.services.locations:  # as a release before log ids wrote it
        store.put_bytes(anchor_key(seq, head, None), body, hashlib.sha256(body).hexdigest())
    with database(archive) as db:
        db.execute("UPDATE audit_log SET legacy_anchors = 1")
        db.commit()
    other = make_services(tmp_path / "other", replicas=archive.services.replicas,
                          store=archive.primary)
    assert report(archive).anchors == 1 and report(archive).ok
    assert verify_audit_log(other).anchored.anchors == 0  # not its anchors

    with database(archive) as db:
        truncate_log(db, seq - 1)
    assert [f.code for f in report(archive).findings] == ["ANCHORED_EVENT_MISSING"]
    other.catalog.engine.dispose()  # type: ignore[attr-defined]


def test_a_rebuild_seals_the_versions_it_takes_in_and_anchors_its_new_log(
        archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    anchor_audit_head(archive.services)
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)
    report_ = rebuild_catalog(fresh)

    assert [(a.seq, a.log_id) for a in report_.anchors] == [
        (archive.services.catalog.audit_head()[0], log_id(archive))]
    sealed = fresh.catalog.sealing_event(PACKAGE, 1)
    assert sealed is not None and sealed.detail["reason"] == "catalog rebuild"
    original = archive.services.catalog.sealing_event(PACKAGE, 1)
    assert original is not None
    for key in ("manifest_sha256", "tagmanifest_sha256"):
        assert sealed.detail[key] == original.detail[key]
    assert fresh.catalog.last_anchor() == fresh.catalog.audit_head()
    fresh.catalog.engine.dispose()  # type: ignore[attr-defined]
