"""Versions share unchanged bytes (``ingest.layout``).

Defect: correcting one 19-byte file of a 5.4 MB item made version 2 a full
second copy of every file, in every location. Now a file the latest version
holds with the same path, size and digests is listed in the new version's
fetch.txt, and every rule reads the one layout: what leaves is a complete bag
(LOC ``bagit`` validates it), checks read a shared object where it is held
(the fixity cycle once), repair rewrites it once, a rebuild from the store alone
gives the same catalog, reconciliation finds nothing amiss, and a deaccession
spares what a later version references.

Runs the real pipeline on a SQLite catalog with a primary and a replica folder
(``tests.unit.test_replication.Archive``).
"""

from __future__ import annotations

import io
import subprocess
import sys
import tarfile
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from ingest.bag import parse_fetch
from ingest.fixity_audit import run_fixity_check, verify_version
from ingest.fixity_policy import DEEP
from ingest.local_targets import fetch_to_folder
from ingest.models import EventType
from ingest.ports import ObjectStore
from ingest.rebuild import rebuild_catalog
from ingest.reconciliation import reconcile
from ingest.repair import repair_version
from ingest.retrieval import write_tar
from ingest.verification import verify_bag
from tests.unit.test_replication import PACKAGE, Archive, make_services, open_archive, record

MiB = 1024 * 1024


@pytest.fixture(params=[1, 8], ids=["one-request-at-a-time", "small-objects-side-by-side"])
def archive(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Archive]:
    """An archive whose stores are read one request at a time (as local folders
    are), or as stores over a network are (``requests_in_flight``: a version's
    small objects, its own and those it shares, read side by side)."""
    for opened in open_archive(tmp_path):
        for store in opened.services.locations:
            store.requests_in_flight = request.param  # type: ignore[attr-defined]
        yield opened


def scans(count: int, size: int) -> dict[str, bytes]:
    """``count`` distinct page scans of ``size`` bytes each."""
    return {f"scan/page-{n:02}.tif": bytes([n]) * size for n in range(1, count + 1)}


def objects(store: ObjectStore, prefix: str) -> dict[str, int]:
    return {info.key[len(prefix):]: info.size for info in store.list(prefix)}


def loc_bagit_validates(folder: Path) -> None:
    valid = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(folder)],
                           capture_output=True, text=True)
    assert valid.returncode == 0, valid.stderr


def corrected(archive: Archive, payload: dict[str, bytes]) -> None:
    """Version 1 of ``payload``, then version 2 with only its title corrected."""
    archive.ingest("first", payload=payload)
    archive.ingest("corrected", payload=payload,
                   metadata=record(title="Telegram, 21 June 1951 (title corrected)"))


def test_a_metadata_only_correction_stores_no_payload_byte_again(archive: Archive) -> None:
    payload = scans(4, MiB)
    corrected(archive, payload)

    for store in (archive.primary, archive.replica):
        stored = objects(store, f"{PACKAGE}/v2/")
        assert not [path for path in stored if path.startswith("data/")]
        assert sum(stored.values()) < 64 * 1024  # the tag files alone
    version = archive.services.catalog.get_version(PACKAGE, 2)
    assert {f.path: f.held_by for f in version.payload} == {f"data/{p}": 1 for p in payload}
    fetch = archive.primary.open(f"{PACKAGE}/v2/fetch.txt").read()
    assert parse_fetch(fetch, 2) == ({f"data/{p}": (1, MiB) for p in payload}, [])
    assert b"../v1/data/scan/page-01.tif 1048576 data/scan/page-01.tif\n" in fetch


def test_a_resubmission_that_changes_one_file_of_twenty_writes_one_file(archive: Archive) -> None:
    payload = scans(20, 4096)
    archive.ingest("first", payload=payload)
    changed = {**payload, "scan/page-07.tif": b"\x00" * 4096}  # same size, other bytes
    archive.ingest("second", payload=changed)

    assert [p for p in objects(archive.primary, f"{PACKAGE}/v2/") if p.startswith("data/")] == [
        "data/scan/page-07.tif"]
    # A third version sharing a file first held by version 1 names version 1, not 2.
    archive.ingest("third", payload={**changed, "scan/page-08.tif": b"\x01" * 10})
    third = {f.path: f.held_by for f in archive.services.catalog.get_version(PACKAGE, 3).payload}
    assert third["data/scan/page-01.tif"] == 1
    assert third["data/scan/page-07.tif"] == 2
    assert third["data/scan/page-08.tif"] is None


def test_a_version_sharing_bytes_leaves_as_a_complete_bag_that_loc_bagit_validates(
        archive: Archive, tmp_path: Path) -> None:
    payload = scans(3, 100_000)
    corrected(archive, payload)

    _, findings = fetch_to_folder(archive.services, PACKAGE, 2, tmp_path / "fetched")
    assert findings == []
    bag = tmp_path / "fetched"
    assert not (bag / "fetch.txt").exists()
    assert {p: (bag / "data" / p).read_bytes() for p in payload} == payload
    loc_bagit_validates(bag)

    out = io.BytesIO()
    _, findings = write_tar(archive.services, PACKAGE, 2, out)
    assert findings == []
    out.seek(0)
    with tarfile.open(fileobj=out) as tar:
        tar.extractall(tmp_path / "from-tar", filter="data")
    [top] = (tmp_path / "from-tar").iterdir()
    assert not (top / "fetch.txt").exists()
    loc_bagit_validates(top)


def test_damage_to_a_shared_object_is_found_through_every_version_and_repaired_once(
        archive: Archive) -> None:
    payload = scans(2, 50_000)
    corrected(archive, payload)
    shared = archive.folder(archive.primary) / PACKAGE / "v1/data/scan/page-01.tif"
    shared.write_bytes(b"\xff" * 50_000)

    for number in (1, 2):
        check = verify_version(archive.services, PACKAGE, number)
        assert [(f.code, f.path) for f in check.findings if f.code == "FIXITY_MISMATCH"] == [
            ("FIXITY_MISMATCH", "data/scan/page-01.tif")]
    result = repair_version(archive.services, PACKAGE, 2)

    assert result.status == "repaired"
    [copy] = [c for c in result.copies if c.location == archive.primary.location]
    assert copy.rewritten == ["data/scan/page-01.tif"]
    assert shared.read_bytes() == payload["scan/page-01.tif"]
    assert not objects(archive.primary, f"{PACKAGE}/v2/data/")  # mended where it is held
    for number in (1, 2):
        assert verify_version(archive.services, PACKAGE, number).findings == ()


class CountingStore:
    """A store that counts how often each object is opened for reading."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.location = inner.location
        self.opened: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def open(self, key: str) -> BinaryIO:
        self.opened[key] += 1
        return self.inner.open(key)


def test_the_fixity_cycle_reads_each_shared_object_once(archive: Archive) -> None:
    payload = scans(2, 50_000)
    corrected(archive, payload)
    counting = CountingStore(archive.primary)
    services = archive.services
    services = type(services)(**{**services.__dict__, "store": counting})

    for number in (1, 2):
        assert run_fixity_check(services, PACKAGE, number, None, DEEP).findings == ()

    payload_reads = {k: n for k, n in counting.opened.items() if "/data/" in k}
    assert payload_reads == {f"{PACKAGE}/v1/data/{p}": 1 for p in payload}
    # and the check of v2 says so: its event claims no digest it did not compare
    (cycle,) = [e for e in services.catalog.events(PACKAGE)
                if e.event_type == EventType.FIXITY_CHECK.value and e.version == 2]
    files = services.catalog.get_version(PACKAGE, 2).files
    assert cycle.detail["digests"]["files_compared"] == len(files) - len(payload)
    # On demand, a version is checked whole: its shared objects are read too.
    counting.opened.clear()
    assert verify_version(services, PACKAGE, 2).findings == ()
    assert {k for k in counting.opened if "/data/" in k} == {f"{PACKAGE}/v1/data/{p}" for p in payload}


def test_a_rebuild_from_the_store_alone_gives_the_same_catalog(archive: Archive,
                                                               tmp_path: Path) -> None:
    payload = scans(3, 10_000)
    corrected(archive, payload)
    archive.ingest("third", payload={**payload, "scan/page-09.tif": b"late addition"})
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)

    report = rebuild_catalog(fresh)

    assert [v["findings"] for v in report.versions] == [[], [], []]
    for number in (1, 2, 3):
        before = archive.services.catalog.get_version(PACKAGE, number).files
        after = fresh.catalog.get_version(PACKAGE, number).files
        assert [(f.path, f.size, f.sha256, f.sha512, f.held_by) for f in after] == [
            (f.path, f.size, f.sha256, f.sha512, f.held_by) for f in before]
        assert verify_version(fresh, PACKAGE, number).findings == ()


def test_reconciliation_counts_shared_objects_as_the_versions_own(archive: Archive) -> None:
    payload = scans(2, 10_000)
    corrected(archive, payload)

    for report in reconcile(archive.services.catalog, archive.services.locations):
        assert report.findings == () and report.leftovers == ()
    (archive.folder(archive.primary) / PACKAGE / "v1/data/scan/page-02.tif").unlink()
    [primary, _] = reconcile(archive.services.catalog, archive.services.locations)
    assert [(f.code, f.path) for f in primary.findings] == [
        ("FILE_MISSING", f"{PACKAGE}/v1/data/scan/page-02.tif")]


def test_a_fetch_txt_that_points_outside_the_package_is_refused(archive: Archive) -> None:
    payload = scans(1, 1000)
    corrected(archive, payload)
    elsewhere = "../../00000000-0000-0000-0000-000000000000/v1/data/scan/page-01.tif"
    fetch = archive.folder(archive.primary) / PACKAGE / "v2/fetch.txt"
    fetch.write_text(f"{elsewhere} 1000 data/scan/page-01.tif\n")

    findings = verify_bag(archive.primary, f"{PACKAGE}/v2/")

    assert ("TAG_MISMATCH", "fetch.txt") in {(f.code, f.path) for f in findings}
    assert ("FILE_MISSING", "data/scan/page-01.tif") in {(f.code, f.path) for f in findings}


def test_after_version_1_is_deaccessioned_version_2_stays_whole_and_a_rebuild_agrees(
        archive: Archive, tmp_path: Path) -> None:
    from ingest.deaccession import approve_deaccession, request_deaccession
    from tests.unit.test_deaccession import ALICE, BOB, as_

    payload = scans(2, 10_000)
    corrected(archive, payload)
    request = request_deaccession(as_(archive.services, ALICE), PACKAGE, 1, "wrong title")
    approve_deaccession(as_(archive.services, BOB), request.request_id)

    assert set(objects(archive.primary, f"{PACKAGE}/v1/")) == {f"data/{p}" for p in payload}
    assert verify_version(archive.services, PACKAGE, 2).findings == ()
    for report in reconcile(archive.services.catalog, archive.services.locations):
        assert report.findings == () and report.leftovers == ()
    # In the fixity cycle, version 2 now reads the objects itself: their holder has no check.
    counting = CountingStore(archive.primary)
    services = type(archive.services)(**{**archive.services.__dict__, "store": counting})
    assert run_fixity_check(services, PACKAGE, 2, None, DEEP).findings == ()
    assert {k for k in counting.opened if "/data/" in k} == {f"{PACKAGE}/v1/data/{p}" for p in payload}

    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)
    report = rebuild_catalog(fresh)
    assert [(v["version"], v["findings"]) for v in report.versions] == [(2, [])]
    assert [f.code for f in report.skipped] == []
    assert [v.number for v in fresh.catalog.list_versions(PACKAGE)] == [2]


def test_a_version_sharing_a_file_of_a_version_withdrawn_meanwhile_is_not_committed(
        archive: Archive) -> None:
    """Defect guarded: the pipeline chose to share version 1's objects, then a
    deaccession withdrew version 1 (and deletes what no remaining version
    references) before the commit: committed, version 2 would point at objects
    being deleted. The commit refuses (a retry stores the files again)."""
    from dataclasses import replace

    from ingest.deaccession import approve_deaccession, request_deaccession
    from ingest.errors import PackageBusy
    from tests.unit.test_deaccession import ALICE, BOB, as_

    archive.ingest("first", payload=scans(1, 1000))
    catalog = archive.services.catalog
    v1 = catalog.get_version(PACKAGE, 1)
    number = catalog.reserve_version(PACKAGE, v1.identifier, "item-2")
    sharing = replace(v1, number=number, item_id="item-2", files=tuple(
        replace(f, held_by=1) if f.is_payload else f for f in v1.files))
    request = request_deaccession(as_(archive.services, ALICE), PACKAGE, 1, "withdrawn")
    approve_deaccession(as_(archive.services, BOB), request.request_id)

    with pytest.raises(PackageBusy, match="withdrawn meanwhile"):
        catalog.commit_version(sharing)
    assert catalog.latest_version(PACKAGE) is None


def test_a_fetch_txt_rewritten_in_the_store_is_not_as_sealed(archive: Archive) -> None:
    """fetch.txt is in no tag manifest: the catalog's digests and the SHA-256
    sealed in the version's ingestion event hold it instead."""
    payload = scans(1, 1000)
    corrected(archive, payload)
    fetch = archive.folder(archive.primary) / PACKAGE / "v2/fetch.txt"
    fetch.write_bytes(fetch.read_bytes() + b"\n")  # still a well-formed fetch.txt

    check = verify_version(archive.services, PACKAGE, 2)

    assert {(f.code, f.path) for f in check.findings} >= {
        ("MANIFEST_NOT_AS_SEALED", "fetch.txt"), ("TAG_MISMATCH", "fetch.txt")}


def test_damage_to_a_shared_object_found_on_delivery_is_the_holders_failure_too(
        archive: Archive) -> None:
    # Before: fetching v2 charged the damage to v2 alone; v1, whose object it is,
    # still read "last fixity ok" and counted as covered.
    import io

    from ingest.retrieval import write_tar

    payload = scans(2, 50_000)
    corrected(archive, payload)
    shared = archive.folder(archive.primary) / PACKAGE / "v1/data/scan/page-01.tif"
    shared.write_bytes(b"\xff" * 50_000)
    _, findings = write_tar(archive.services, PACKAGE, 2, io.BytesIO())
    assert [f.code for f in findings] == ["FIXITY_MISMATCH"]
    for number in (1, 2):
        assert archive.services.catalog.get_version(PACKAGE, number).last_fixity_outcome == "failed"
    assert archive.services.catalog.failing_copies(archive.primary.location) == {
        (PACKAGE, 1), (PACKAGE, 2)}


def test_in_the_fixity_cycle_a_holder_found_damaged_vouches_for_nothing(archive: Archive) -> None:
    # Before: v1's copy failed its deep check, and v2's check in the same run only
    # looked at the shared object v1 holds (present, at its size): "ok".
    payload = scans(2, 50_000)
    corrected(archive, payload)
    shared = archive.folder(archive.primary) / PACKAGE / "v1/data/scan/page-01.tif"
    shared.write_bytes(b"\xff" * 50_000)
    assert run_fixity_check(archive.services, PACKAGE, 1, None, DEEP).findings != ()
    later = run_fixity_check(archive.services, PACKAGE, 2, None, DEEP)
    assert [(f.code, f.path) for f in later.findings] == [
        ("FIXITY_MISMATCH", "data/scan/page-01.tif")]


# --------------------------------------------------------------------------- what is not held whole


def item_findings(archive: Archive, item_id: str) -> list[tuple[str, Any]]:
    item = archive.services.catalog.get_item(item_id)
    return [(f.code, f.params.get("version")) for f in item.findings]


def test_a_correction_keeps_the_bytes_it_brings_when_the_archives_copy_of_them_failed_its_check(
        archive: Archive) -> None:
    """The new version shared the damaged object and the good bytes just received
    were thrown away: no whole copy was left anywhere, and repair had nothing to
    mend from."""
    payload = scans(2, 50_000)
    archive.ingest("first", payload=payload)
    held = archive.bag(archive.primary) / "data/scan/page-01.tif"
    held.write_bytes(b"\xff" * 50_000)
    assert verify_version(archive.services, PACKAGE, 1).findings  # the failure is on record

    [item] = archive.ingest("corrected", payload=payload,
                            metadata=record(title="Telegram, 21 June 1951 (title corrected)"))

    stored = objects(archive.primary, f"{PACKAGE}/v2/")
    assert {"data/scan/page-01.tif", "data/scan/page-02.tif"} <= set(stored)
    version = archive.services.catalog.get_version(PACKAGE, 2)
    assert {f.path: f.held_by for f in version.payload} == {
        "data/scan/page-01.tif": None, "data/scan/page-02.tif": None}
    assert (archive.bag(archive.primary, 2) / "data/scan/page-01.tif").read_bytes() == \
        payload["scan/page-01.tif"]
    assert verify_version(archive.services, PACKAGE, 2).findings == ()
    assert ("HELD_COPY_NOT_WHOLE", 1) in item_findings(archive, item)


def test_the_same_item_sent_again_over_a_damaged_version_is_stored_not_called_unchanged(
        archive: Archive) -> None:
    """It was `unchanged`, over a version whose only copy of a file was damaged."""
    payload = scans(2, 50_000)
    archive.ingest("first", payload=payload)
    (archive.bag(archive.replica) / "data/scan/page-02.tif").write_bytes(b"\x00" * 50_000)
    assert verify_version(archive.services, PACKAGE, 1, archive.replica.location).findings

    [item] = archive.ingest("again", payload=payload)

    assert archive.services.catalog.get_item(item).status.value == "stored"
    assert archive.services.catalog.latest_version(PACKAGE).number == 2
    assert verify_version(archive.services, PACKAGE, 2).findings == ()
    assert ("HELD_COPY_NOT_WHOLE", 1) in item_findings(archive, item)


def test_a_correction_over_a_file_gone_from_the_store_stores_it_again_not_storage_unreachable(
        archive: Archive) -> None:
    """The new version failed as STORAGE_UNAVAILABLE after five 'attempts' in 15 ms and
    left its bag behind; the submission held the missing file's bytes."""
    payload = scans(2, 50_000)
    archive.ingest("first", payload=payload)
    (archive.bag(archive.primary) / "data/scan/page-01.tif").unlink()

    [item] = archive.ingest("corrected", payload=payload,
                            metadata=record(title="Telegram, 21 June 1951 (title corrected)"))

    assert archive.services.catalog.get_item(item).status.value == "stored"
    version = archive.services.catalog.get_version(PACKAGE, 2)
    assert {f.path: f.held_by for f in version.payload} == {
        "data/scan/page-01.tif": None, "data/scan/page-02.tif": None}  # nothing leans on v1
    assert verify_version(archive.services, PACKAGE, 2).findings == ()
    assert ("HELD_COPY_NOT_WHOLE", 1) in item_findings(archive, item)
