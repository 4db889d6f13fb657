"""Ready-made bags handed in as items: checked as received, their payload stored, the round trip.

Fixtures are named after their defect and made by LOC ``bagit`` (bagit-python)
where it can make them; every bag Strongroom writes from a received bag is
fetched and validated by LOC ``bagit`` as well as by our own deep check.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import bagit
import bagit_profile
import pytest

from ingest.archive_intake import unpack_archive
from ingest.fixity_audit import verify_version
from ingest.local_targets import fetch_to_folder
from ingest.models import EventType, ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.received_bag import RECEIVED_BAG_INFO, read_received_bag, record_from_bag_info
from ingest.services import Services
from ingest.submission import submit_batch
from tests.fakes import MemoryObjectStore
from tests.sqlite_services import sqlite_services

PROFILE = json.loads((Path(__file__).resolve().parents[2] / "schemas" / "bagit-profile.json")
                     .read_text(encoding="utf-8"))
IDENTIFIER = "deposit-2024-017"
PACKAGE = package_id_for(IDENTIFIER)
PAYLOAD = {
    "scan/page-01.txt": b"Dear Sir,\nwe acknowledge receipt of your letter.\n",
    "scan/page-02.txt": b"Yours faithfully,\nA. N. Example\n",
}
BAG_INFO = {
    "Source-Organization": "Example Depositor",
    "External-Identifier": IDENTIFIER,
    "Title": "Letters of the depositor",
    "Bagging-Date": "2024-04-30",
}


@pytest.fixture
def memory() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def services(tmp_path: Path, memory: MemoryObjectStore) -> Iterator[Services]:
    with sqlite_services(tmp_path, memory) as services:
        yield services


def received_bag(batch: Path, name: str = "deposit", *, checksums: tuple[str, ...] = ("sha256", "sha512"),
                 payload: dict[str, bytes] = PAYLOAD, info: dict[str, str] | None = None) -> Path:
    """An item folder made into a bag by LOC bagit (BagIt 0.97, as bagit-python writes)."""
    item = batch / name
    for path, data in payload.items():
        target = item / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    bagit.make_bag(str(item), bag_info=dict(info or BAG_INFO), checksums=list(checksums))
    return item


def ingest_batch(services: Services, batch: Path) -> list[Any]:
    items = submit_batch(batch, services).items
    for item in items:
        ingest_item(item.item_id, services)
    return [services.catalog.get_item(item.item_id) for item in items]


def codes(item: Any) -> list[str]:
    return sorted(f.code for f in item.findings)


def fetched_and_validated(services: Services, tmp_path: Path, name: str = "fetched") -> Path:
    """The stored bag, fetched, passes our deep check and LOC bagit's full validation."""
    check = verify_version(services, PACKAGE, 1)
    assert check.findings == (), [f.to_dict() for f in check.findings]
    target = tmp_path / name
    fetch_to_folder(services, PACKAGE, 1, target)
    bag = bagit.Bag(str(target))
    bag.validate()
    profile = bagit_profile.Profile(PROFILE["BagIt-Profile-Info"]["BagIt-Profile-Identifier"],
                                    profile=PROFILE)
    assert profile.validate(bag), profile.report
    return target


def assert_nothing_stored(services: Services, memory: MemoryObjectStore) -> None:
    assert services.catalog.latest_version(PACKAGE) is None
    assert not any(key.startswith(PACKAGE) or "data/" in key for key in memory.objects)


# --------------------------------------------------------------------------- accepted


def test_md5_only_bag_is_accepted_its_payload_stored_and_its_bag_info_kept(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch", checksums=("md5",))
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.STORED, codes(done)
    version = services.catalog.latest_version(PACKAGE)
    assert version is not None
    assert sorted(f.path for f in version.payload) == ["data/" + p for p in sorted(PAYLOAD)]
    # Described from bag-info.txt: External-Identifier, Title, Bagging-Date.
    assert version.record == {"identifier": IDENTIFIER, "title": "Letters of the depositor",
                              "date": "2024-04-30"}
    bag = fetched_and_validated(services, tmp_path)
    assert (bag / RECEIVED_BAG_INFO).read_bytes() == (item / "bag-info.txt").read_bytes()
    assert RECEIVED_BAG_INFO in (bag / "tagmanifest-sha256.txt").read_text()
    for path, data in PAYLOAD.items():
        assert (bag / "data" / path).read_bytes() == data
    (event,) = [e for e in services.catalog.events()
                if e.event_type == EventType.INGESTION.value and e.outcome == "success"]
    assert event.detail["received_bag"]["bagit_version"] == "0.97"
    assert ["External-Identifier", IDENTIFIER] in event.detail["received_bag"]["bag_info"]


def test_bagit_097_bag_with_metadata_json_beside_bagit_txt_is_accepted(
        services: Services, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch")
    assert (item / "bagit.txt").read_text().startswith("BagIt-Version: 0.97")
    record = {"identifier": IDENTIFIER, "title": "From metadata.json", "date": "1952-03"}
    (item / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.STORED, codes(done)
    version = services.catalog.latest_version(PACKAGE)
    assert version is not None and version.record["title"] == "From metadata.json"
    # The bag's payload is the package's payload: no bag inside the bag.
    assert sorted(f.path for f in version.payload) == ["data/" + p for p in sorted(PAYLOAD)]
    fetched_and_validated(services, tmp_path)


def test_bagit_python_bag_with_unencoded_percent_is_accepted_with_a_warning(
        services: Services, tmp_path: Path) -> None:
    # bagit-python writes "%" as it stands (its issue 157): RFC 8493 would read
    # "100%25 sure.txt" in its manifest as "100% sure.txt", which is not there.
    payload = {"100%25 sure.txt": b"percent\n", "plain.txt": b"plain\n"}
    received_bag(tmp_path / "batch", payload=payload)
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.STORED, codes(done)
    assert codes(done) == ["RECEIVED_BAG_PATH_UNENCODED"] * 2  # sha256 and sha512 manifests
    assert all(f.severity == "warning" for f in done.findings)
    version = services.catalog.latest_version(PACKAGE)
    assert version is not None
    assert "data/100%25 sure.txt" in {f.path for f in version.payload}
    # Our bag encodes it as RFC 8493 says, which bagit-python cannot read back: our own check only.
    check = verify_version(services, PACKAGE, 1)
    assert check.findings == (), [f.to_dict() for f in check.findings]


def test_bag_fetched_from_strongroom_and_resubmitted_is_unchanged(
        services: Services, tmp_path: Path) -> None:
    received_bag(tmp_path / "batch", checksums=("md5", "sha1"))
    (first,) = ingest_batch(services, tmp_path / "batch")
    assert first.status is ItemStatus.STORED, codes(first)
    fetched_and_validated(services, tmp_path, name="again/deposit")
    (again,) = ingest_batch(services, tmp_path / "again")
    assert again.status is ItemStatus.UNCHANGED, codes(again)
    assert services.catalog.latest_version(PACKAGE).number == 1  # type: ignore[union-attr]


def test_plain_item_fetched_and_resubmitted_as_a_bag_is_unchanged(
        services: Services, tmp_path: Path) -> None:
    item = tmp_path / "batch" / "letter"
    for path, data in PAYLOAD.items():
        (item / path).parent.mkdir(parents=True, exist_ok=True)
        (item / path).write_bytes(data)
    record = {"identifier": IDENTIFIER, "title": "A letter", "date": "1952-03"}
    (item / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    (first,) = ingest_batch(services, tmp_path / "batch")
    assert first.status is ItemStatus.STORED, codes(first)
    fetched_and_validated(services, tmp_path, name="again/letter")
    (again,) = ingest_batch(services, tmp_path / "again")
    assert again.status is ItemStatus.UNCHANGED, codes(again)


def test_a_fetched_bag_whose_record_was_edited_in_place_says_how_to_correct_a_record(
        services: Services, tmp_path: Path) -> None:
    """An archivist corrected a title in the downloaded bag's metadata/record.json
    and got two digest mismatches with 64- and 128-character digests, and nothing
    saying that a metadata.json beside bagit.txt is the way."""
    received_bag(tmp_path / "batch")
    (first,) = ingest_batch(services, tmp_path / "batch")
    assert first.status is ItemStatus.STORED, codes(first)
    fetched_and_validated(services, tmp_path, name="again/deposit")
    edited = tmp_path / "again" / "deposit" / "metadata" / "record.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace('"title": "', '"title": "Corrected: '),
                      encoding="utf-8")

    (again,) = ingest_batch(services, tmp_path / "again")

    assert again.status is ItemStatus.REJECTED
    hints = {f.hint for f in again.findings if f.path == "metadata/record.json"}
    assert hints and all(h and "metadata.json beside bagit.txt" in h for h in hints)


# --------------------------------------------------------------------------- refused, by defect


def test_bad_checksum_bag_is_rejected_naming_the_file_and_both_manifests(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch", checksums=("md5", "sha256"))
    (item / "data/scan/page-02.txt").write_bytes(b"Yours faithfully,\nA. N. Exampl!\n")  # same size
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    mismatches = [f for f in done.findings if f.code == "RECEIVED_BAG_DIGEST_MISMATCH"]
    assert codes(done) == ["RECEIVED_BAG_DIGEST_MISMATCH"] * 2
    assert {f.path for f in mismatches} == {"data/scan/page-02.txt"}
    assert {f.params["manifest"] for f in mismatches} == {"manifest-md5.txt", "manifest-sha256.txt"}
    assert_nothing_stored(services, memory)


def test_missing_file_bag_is_rejected_as_incomplete(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch")
    (item / "data/scan/page-02.txt").unlink()
    (item / "data/scan/unlisted.txt").write_bytes(b"not in any manifest\n")
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    incomplete = {(f.path, f.params["detail"]) for f in done.findings
                  if f.code == "RECEIVED_BAG_INCOMPLETE"}
    assert ("data/scan/page-02.txt", "is listed in manifest-sha256.txt but is not in the bag") in incomplete
    assert ("data/scan/unlisted.txt",
            "is in the payload but not listed in manifest-sha512.txt") in incomplete
    assert_nothing_stored(services, memory)


def bag_with_oxum(batch: Path, written: str) -> Path:
    """A received bag whose bag-info.txt says ``Payload-Oxum: written`` (``{octets}``
    standing for the payload's bytes), without tag manifests (which would differ)."""
    item = received_bag(batch)
    info = (item / "bag-info.txt").read_text()
    octets = sum(len(d) for d in PAYLOAD.values())
    (item / "bag-info.txt").write_text(info.replace(
        f"Payload-Oxum: {octets}.2", "Payload-Oxum: " + written.replace("{octets}", str(octets))))
    for manifest in item.glob("tagmanifest-*.txt"):
        manifest.unlink()
    return item


@pytest.mark.parametrize("written", ["0{octets}.02", "{octets}.2 ", "0" * 5000 + "{octets}.2"])
def test_a_payload_oxum_written_with_leading_zeros_is_the_same_number_not_a_mismatch(
        services: Services, memory: MemoryObjectStore, tmp_path: Path, written: str) -> None:
    # Compared as text, "0128.02" against 128.2 refused a whole, good bag.
    bag_with_oxum(tmp_path / "batch", written)
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.STORED, done.findings


def test_a_payload_oxum_that_is_no_count_is_named_as_such(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    bag_with_oxum(tmp_path / "batch", "about 2 kB")
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    (finding,) = done.findings
    assert (finding.code, finding.path) == ("RECEIVED_BAG_INVALID", "bag-info.txt")
    assert "'about 2 kB'" in finding.params["detail"] and "OCTETS.FILES" in finding.params["detail"]


@pytest.mark.parametrize("oxum", ["9" * 5000 + ".1", "1." + "7" * 5000])
def test_a_payload_oxum_of_five_thousand_digits_is_a_finding_not_a_crash(
        services: Services, memory: MemoryObjectStore, tmp_path: Path, oxum: str) -> None:
    # Python refuses to read an integer of over 4,300 digits: the check ended in a
    # ValueError, the item "failed" (a fault of the archive's, for requeue) and the
    # dry run and the API's check answered a traceback and a 500.
    bag_with_oxum(tmp_path / "batch", oxum)
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    (finding,) = done.findings
    assert (finding.code, finding.path) == ("RECEIVED_BAG_INVALID", "bag-info.txt")
    assert "more than any payload holds" in finding.params["detail"]
    assert len(finding.params["detail"]) < 300  # the value is not quoted whole
    assert_nothing_stored(services, memory)


def test_oxum_mismatch_bag_is_rejected(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    bag_with_oxum(tmp_path / "batch", "5.1")
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    (finding,) = done.findings
    assert (finding.code, finding.expected, finding.found) == (
        "RECEIVED_BAG_OXUM_MISMATCH", "5.1", f"{sum(len(d) for d in PAYLOAD.values())}.2")
    assert_nothing_stored(services, memory)


def test_fetch_txt_bag_is_refused_and_nothing_is_fetched(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch")
    (item / "fetch.txt").write_text("http://127.0.0.1:9/secret 12 data/secret.txt\n")
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    assert [(f.code, f.path) for f in done.findings] == [("RECEIVED_BAG_FETCH_REFUSED", "fetch.txt")]
    assert_nothing_stored(services, memory)


def test_bag_of_an_unknown_bagit_version_is_refused(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch")
    (item / "bagit.txt").write_text("BagIt-Version: 0.96\nTag-File-Character-Encoding: UTF-8\n")
    for manifest in item.glob("tagmanifest-*.txt"):
        manifest.unlink()
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    assert [(f.code, f.path, f.found) for f in done.findings] == [
        ("RECEIVED_BAG_INVALID", "bagit.txt", "0.96")]
    assert_nothing_stored(services, memory)


def test_tag_file_that_differs_from_the_tag_manifest_is_a_digest_mismatch(tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch")
    (item / "bag-info.txt").write_text((item / "bag-info.txt").read_text() + "Contact-Name: X\n")
    tags = {p.relative_to(item).as_posix(): p.read_bytes() for p in item.iterdir() if p.is_file()}
    bag = read_received_bag(tags, {p: len(d) for p, d in PAYLOAD.items()})
    assert sorted((f.code, f.path) for f in bag.findings) == [
        ("RECEIVED_BAG_DIGEST_MISMATCH", "bag-info.txt")] * 2


# --------------------------------------------------------------------------- the pure parts


def test_manifest_paths_are_decoded_as_rfc_8493_says() -> None:
    manifest = "".join(f"{'0' * 32}  {p}\n" for p in ("data/a%0Ab", "data/c%25d", "data/e%0Df"))
    tags = {"bagit.txt": b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n",
            "manifest-md5.txt": manifest.encode()}
    bag = read_received_bag(tags, {"a\nb": 0, "c%d": 0, "e\rf": 0})
    assert bag.findings == ()
    assert sorted(bag.manifests["md5"]) == ["a\nb", "c%d", "e\rf"]


def test_bag_info_mapping_takes_the_first_field_present() -> None:
    info = [("External-Identifier", "x-1"), ("External-Description", "Described"),
            ("Date", "1999"), ("Title", "Titled")]
    assert record_from_bag_info(info) == {"identifier": "x-1", "title": "Titled", "date": "1999"}
    assert record_from_bag_info([("Contact-Name", "Someone")]) == {}


def test_zip_holding_one_received_bag_is_a_batch_of_that_bag_not_a_wrapper(
        services: Services, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "made", checksums=("sha1",))
    archive = shutil.make_archive(str(tmp_path / "upload"), "zip", root_dir=item.parent)
    batch = unpack_archive(archive, "zip", tmp_path / "staging")
    (done,) = ingest_batch(services, batch)
    assert (done.name, done.status) == ("deposit", ItemStatus.STORED), codes(done)
    fetched_and_validated(services, tmp_path)


def test_other_tag_files_of_a_received_bag_are_kept_in_the_new_bag(
        services: Services, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch")
    (item / "aptrust-info.txt").write_text("Title: Letters\nAccess: Institution\n")
    (item / "notes").mkdir()
    (item / "notes" / "transfer.txt").write_text("Received on paper first.\n")
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.STORED, codes(done)
    bag = fetched_and_validated(services, tmp_path)
    assert (bag / "aptrust-info.txt").read_bytes() == (item / "aptrust-info.txt").read_bytes()
    assert (bag / "notes" / "transfer.txt").read_text() == "Received on paper first.\n"
    listed = (bag / "tagmanifest-sha512.txt").read_text()
    assert "aptrust-info.txt" in listed and "notes/transfer.txt" in listed


def test_tag_files_named_as_the_new_bags_own_in_other_letters_are_refused_not_carried(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    # Before: FETCH.TXT (a depositor's URL list) and MANIFEST-SHA256.TXT (other
    # digests) were carried into the stored bag beside its own manifest-sha256.txt;
    # restored on Windows or macOS, one of each pair is lost, and a bag tool there
    # reads FETCH.TXT as the bag's fetch.txt (what RECEIVED_BAG_FETCH_REFUSED stops).
    item = received_bag(tmp_path / "batch", checksums=("md5",))
    (item / "FETCH.TXT").write_text("https://attacker.example/x.exe 10 data/scan/page-01.txt\n")
    (item / "MANIFEST-SHA256.TXT").write_text("0" * 64 + "  data/scan/page-01.txt\n")
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    clashes = {(f.path, f.params["other"]) for f in done.findings if f.code == "NAME_COLLISION"}
    assert clashes == {("FETCH.TXT", "fetch.txt"), ("MANIFEST-SHA256.TXT", "manifest-sha256.txt")}
    assert_nothing_stored(services, memory)


def test_two_carried_tag_files_one_on_a_case_insensitive_disk_are_refused(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch")
    (item / "Notes.txt").write_text("first\n")
    (item / "notes.txt").write_text("second\n")
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    assert [(f.code, f.path) for f in done.findings] == [("NAME_COLLISION", "notes.txt")]
    assert_nothing_stored(services, memory)


def test_bag_described_by_nothing_says_where_a_bag_can_be_described(
        services: Services, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch")
    (item / "bag-info.txt").write_text("Contact-Name: Someone\n")  # no date, no identifier
    for manifest in item.glob("tagmanifest-*.txt"):
        manifest.unlink()
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    (finding,) = done.findings
    assert finding.code == "METADATA_MISSING"
    assert finding.hint is not None and "bag-info.txt" in finding.hint


def test_bag_info_mapping_without_a_title_is_judged_by_the_schema(
        services: Services, tmp_path: Path) -> None:
    received_bag(tmp_path / "batch", info={"External-Identifier": IDENTIFIER})
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    assert {(f.code, f.pointer) for f in done.findings} == {("METADATA_INVALID", "/title")}


def test_a_manifest_listing_a_file_twice_with_two_digests_is_refused_not_read_by_its_last_line(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    item = received_bag(tmp_path / "batch")
    manifest = item / "manifest-sha256.txt"
    lines = manifest.read_text().splitlines(keepends=True)
    # the bag says page 2 has a digest its bytes do not have, then the one they have
    manifest.write_text(f"{'0' * 64}  data/scan/page-02.txt\n" + "".join(lines))
    for tag_manifest in item.glob("tagmanifest-*.txt"):
        tag_manifest.unlink()  # optional; otherwise it would disagree with the manifest too
    with pytest.raises(bagit.BagError):  # LOC bagit refuses it too
        bagit.Bag(str(item))
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    (finding,) = done.findings
    assert (finding.code, finding.path) == ("RECEIVED_BAG_INVALID", "manifest-sha256.txt")
    assert "data/scan/page-02.txt" in finding.params["detail"]
    assert "line 1" in finding.params["detail"]
    assert_nothing_stored(services, memory)


def test_a_bag_info_giving_two_external_identifiers_is_refused_not_filed_under_the_first(
        services: Services, memory: MemoryObjectStore, tmp_path: Path) -> None:
    # Before: the record made from bag-info.txt took the first External-Identifier
    # without a word, and the package was filed under it.
    item = received_bag(tmp_path / "batch", info={**BAG_INFO})
    info = (item / "bag-info.txt").read_text()
    (item / "bag-info.txt").write_text(info + "External-Identifier: other-0002\n")
    for manifest in item.glob("tagmanifest-*.txt"):
        manifest.unlink()
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.REJECTED
    (finding,) = done.findings
    assert (finding.code, finding.path) == ("RECEIVED_BAG_INVALID", "bag-info.txt")
    assert "External-Identifier 2 times" in finding.params["detail"]
    assert "'other-0002'" in finding.params["detail"]
    assert_nothing_stored(services, memory)


def test_a_record_naming_another_identifier_than_its_bag_info_is_stored_with_a_warning(
        services: Services, tmp_path: Path) -> None:
    # Before: a metadata.json put in the wrong bag filed the package under the
    # record's identifier, and the bag's own External-Identifier went unsaid.
    item = received_bag(tmp_path / "batch")
    (item / "metadata.json").write_text(json.dumps(
        {"identifier": IDENTIFIER, "title": "Letters", "date": "2024-04-30"}))
    info = (item / "bag-info.txt").read_text()
    (item / "bag-info.txt").write_text(info.replace(f"External-Identifier: {IDENTIFIER}",
                                                    "External-Identifier: another-bag-0007"))
    for manifest in item.glob("tagmanifest-*.txt"):
        manifest.unlink()
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.STORED, codes(done)
    (warning,) = [f for f in done.findings if f.code == "RECEIVED_BAG_IDENTIFIERS_DIFFER"]
    assert (warning.expected, warning.found) == (IDENTIFIER, "another-bag-0007")
    assert "filed under the record's" in warning.message


def test_a_bag_fetched_from_the_archive_tells_no_identifiers_differ(
        services: Services, tmp_path: Path) -> None:
    received_bag(tmp_path / "batch")
    (done,) = ingest_batch(services, tmp_path / "batch")
    assert done.status is ItemStatus.STORED
    fetch_to_folder(services, PACKAGE, 1, tmp_path / "again" / "deposit")
    (again,) = ingest_batch(services, tmp_path / "again")
    assert "RECEIVED_BAG_IDENTIFIERS_DIFFER" not in codes(again)
