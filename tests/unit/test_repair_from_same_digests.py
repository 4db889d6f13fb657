"""Repair mends a damaged object from any stored object with the same bytes.

Defect: an object damaged with its size kept (bytes flipped in place) could not
be mended when no copy of THAT version was whole, although the archive held the
very same bytes elsewhere: a later version of the package that stored them again
(the earlier version was not held whole when it was made), or another package's
object. Repair refused ("no copy verified good"). Now, after the copies of the
version itself, repair tries every stored object whose recorded size, SHA-256
and SHA-512 are the damaged file's (a catalog lookup by digest), reads its
bytes, hashes them on the way and writes them only if both digests match; the
replication event names the object each file was mended from.

Damage is done behind the service's back on the filesystem stores, as a failing
disk would; the real pipeline runs on a SQLite catalog with a primary and a
replica folder (``tests.unit.test_replication.Archive``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.fixity_audit import verify_version
from ingest.fixity_policy import FixityPolicy
from ingest.fixity_report import fixity_report
from ingest.models import Actor, EventType, package_id_for
from ingest.repair import repair_version
from tests.unit.test_replication import PACKAGE, Archive, open_archive, record

SCAN = "data/scan/page-01.tif"
PAYLOAD = {"scan/page-01.tif": bytes(range(256)) * 200, "scan/page-02.tif": b"\x02" * 40_000}
OFFICER = Actor("preservation-officer", kind="person", role="admin")


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    for opened in open_archive(tmp_path):
        yield Archive(opened.root, dataclasses.replace(opened.services, actor=OFFICER))


def flip_in_place(path: Path) -> None:
    """Damage that keeps the size: one byte changed where it lies."""
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))


def repair_events(archive: Archive, package_id: str = PACKAGE) -> list[dict]:
    return [e.detail | {"actor": e.actor.to_dict() if e.actor else None, "outcome": e.outcome}
            for e in archive.services.catalog.events(package_id)
            if e.event_type == EventType.REPLICATION.value and e.detail.get("reason") == "repair"]


def test_repair_mends_from_another_object_with_the_same_digests(archive: Archive) -> None:
    """Version 1's scan was damaged in the primary before a correction came in, so
    version 2 stored the good bytes again (HELD_COPY_NOT_WHOLE); then the replica's
    copy of version 1 rotted too. No copy of version 1 is whole: version 2's object
    is the only source of those bytes."""
    archive.ingest("first", payload=PAYLOAD)
    flip_in_place(archive.bag(archive.primary) / SCAN)
    assert verify_version(archive.services, PACKAGE, 1).findings
    archive.ingest("corrected", payload=PAYLOAD,
                   metadata=record(title="Telegram, 21 June 1951 (title corrected)"))
    assert {f.path: f.held_by for f in archive.services.catalog.get_version(PACKAGE, 2).payload
            }[SCAN] is None  # stored again, not shared
    flip_in_place(archive.bag(archive.replica) / SCAN)
    assert verify_version(archive.services, PACKAGE, 1, archive.replica.location).findings
    before = fixity_report(archive.services, FixityPolicy(), reconcile_stores=False).to_dict()
    assert before["failures_total"] == 2 and before["coverage"]["covered"] == 0

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired", result.to_dict()
    for store in (archive.primary, archive.replica):
        assert (archive.bag(store) / SCAN).read_bytes() == PAYLOAD["scan/page-01.tif"]
    primary, replica = (next(c for c in result.copies if c.location == store.location)
                        for store in (archive.primary, archive.replica))
    for copy in (primary, replica):
        assert copy.status == "repaired" and copy.rewritten == [SCAN]
        assert copy.findings_after == ()
    # each from version 2's object, in its own location
    for store, copy in ((archive.primary, primary), (archive.replica, replica)):
        assert copy.mended_from == {SCAN: {"location": store.location,
                                           "key": f"{PACKAGE}/v2/{SCAN}"}}
    # the audit log says where the bytes came from, and who had it done
    events = repair_events(archive)
    assert [(e["location"], e["mended_from"], e["outcome"]) for e in events] == [
        (archive.primary.location, primary.mended_from, "success"),
        (archive.replica.location, replica.mended_from, "success")]
    assert {e["actor"]["name"] for e in events} == {OFFICER.name}
    # verify finds every copy whole again; the fixity report has no failure left,
    # and counts version 1 covered (version 2 has had no deep check yet)
    for store in (archive.primary, archive.replica):
        assert verify_version(archive.services, PACKAGE, 1, store.location).findings == ()
    report = fixity_report(archive.services, FixityPolicy(), reconcile_stores=False).to_dict()
    assert report["failures"] == [] and report["failures_total"] == 0
    assert (report["coverage"]["covered"], report["coverage"]["versions"]) == (1, 2)
    assert {c.state for c in archive.services.catalog.list_copies(PACKAGE, 1)} == {"verified"}


def test_repair_checks_each_other_object_as_it_copies_and_skips_one_that_is_damaged_too(
        archive: Archive) -> None:
    """Another package holds the same scan; its primary object is damaged as well
    (same size, so its record still matches): repair reads it, finds the digests
    wrong, writes nothing from it, and mends from that package's replica."""
    archive.ingest("first", payload=PAYLOAD)
    other = package_id_for("telegram-copy")
    archive.ingest("other", payload=PAYLOAD, metadata=record(identifier="telegram-copy"))
    for store in (archive.primary, archive.replica):
        flip_in_place(archive.bag(store) / SCAN)
    flip_in_place(archive.folder(archive.primary) / other / "v1" / SCAN)

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired", result.to_dict()
    for store in (archive.primary, archive.replica):
        assert (archive.bag(store) / SCAN).read_bytes() == PAYLOAD["scan/page-01.tif"]
    primary, replica = (next(c for c in result.copies if c.location == store.location)
                        for store in (archive.primary, archive.replica))
    assert primary.mended_from == {SCAN: {"location": archive.replica.location,
                                          "key": f"{other}/v1/{SCAN}"}}
    assert replica.mended_from == {SCAN: {"location": archive.primary.location,
                                          "key": f"{PACKAGE}/v1/{SCAN}"}}
    # the other package's damaged object was read, not trusted, and left as it was
    assert (archive.folder(archive.primary) / other / "v1" / SCAN).read_bytes() != \
        PAYLOAD["scan/page-01.tif"]


def test_with_no_object_holding_the_bytes_anywhere_repair_still_refuses(archive: Archive) -> None:
    archive.ingest("first", payload=PAYLOAD)
    for store in (archive.primary, archive.replica):
        flip_in_place(archive.bag(store) / SCAN)
    before = {store.location: (archive.bag(store) / SCAN).read_bytes()
              for store in (archive.primary, archive.replica)}

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "refused"
    assert result.detail is not None and result.detail.startswith("no copy verified good")
    assert "no other stored object has the recorded digests" in result.detail
    assert {store.location: (archive.bag(store) / SCAN).read_bytes()
            for store in (archive.primary, archive.replica)} == before
    assert repair_events(archive) == []


def test_two_copies_damaged_in_different_files_mend_each_other(archive: Archive) -> None:
    """Neither copy is whole, but each holds whole the file the other lost: each
    object is read from the other location, checked on the way, and written."""
    archive.ingest("first", payload=PAYLOAD)
    flip_in_place(archive.bag(archive.primary) / SCAN)
    (archive.bag(archive.replica) / "data/scan/page-02.tif").unlink()

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired", result.to_dict()
    by_location = {c.location: c for c in result.copies}
    assert by_location[archive.primary.location].mended_from == {
        SCAN: {"location": archive.replica.location, "key": f"{PACKAGE}/v1/{SCAN}"}}
    assert by_location[archive.replica.location].mended_from == {
        "data/scan/page-02.tif": {"location": archive.primary.location,
                                  "key": f"{PACKAGE}/v1/data/scan/page-02.tif"}}
    for store in (archive.primary, archive.replica):
        assert verify_version(archive.services, PACKAGE, 1, store.location).findings == ()


def test_the_console_repair_says_which_object_each_file_was_mended_from(tmp_path: Path) -> None:
    """The archive's only copy of the telegram's transcription is damaged in place;
    another package holds the same bytes. An admin repairs from the console, which
    names the object the bytes came from, as the CLI does."""
    import html
    import json
    import shutil

    from ingest.accounts import create_account
    from ingest.pipeline import ingest_item
    from ingest.submission import submit_batch
    from tests.unit.api_support import EXAMPLES, make_api, zip_of
    from tests.unit.test_identities import PASSWORD, _post, _signed_in

    api = make_api(tmp_path / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    telegram = package_id_for("telegram-1951-06-21-mao-to-filippov")
    copy = tmp_path / "copies" / "telegram-copy"
    shutil.copytree(EXAMPLES / "telegram-1951-06-21-mao-to-filippov", copy)
    metadata = json.loads((copy / "metadata.json").read_text(encoding="utf-8"))
    metadata["identifier"] = "telegram-copy-for-the-reading-room"
    (copy / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    for item in submit_batch(copy.parent, api.services).items:
        assert ingest_item(item.item_id, api.services).outcome == "done"
    other = package_id_for("telegram-copy-for-the-reading-room")
    path = "data/transcription/telegram-en.txt"
    flip_in_place(tmp_path / "data" / "objects" / telegram / "v1" / path)
    create_account(api.services.catalog, "ada", "admin", PASSWORD, api.services.clock.now())

    answer = _post(_signed_in(api, "ada"), "/console/preservation/repair", package=telegram)

    text = html.unescape(answer.text)  # type: ignore[attr-defined]
    assert answer.status_code == 200, text  # type: ignore[attr-defined]
    assert f"{telegram} v1: repaired" in text
    assert f"{path}: bytes from {other}/v1/{path} at {(tmp_path / 'data' / 'objects').as_uri()}" \
        in text
