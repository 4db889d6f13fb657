"""The audit chain vouches for the bags: each version's ingestion event seals the
SHA-256 of its manifest and tag manifest, and ``verify`` (and the scheduled deep
check) holds every stored copy to them.

The attack is done for real, as someone with write access to the store and the
catalog database (but not to the chain's anchors) could: a payload file is
replaced and everything that describes it rewritten to match — both manifests,
bag-info.txt's Payload-Oxum, both tag manifests and the catalog's ``files``
rows. LOC ``bagit`` then finds the bag valid and the catalog agrees with every
byte; only the digests sealed in the chain still say what was stored.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest

from ingest.fixity_audit import run_fixity_check
from ingest.fixity_policy import DEEP
from ingest.models import EventType
from ingest.rebuild import rebuild_catalog
from tests.unit.test_replication import PACKAGE, Archive, make_services, open_archive

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD_FILE = "data/transcription/telegram-en.txt"
FORGED = b"A different text, put in its place after ingest.\n"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path / "archive")


def _rewrite_manifest(manifest: Path, digests: dict[str, str]) -> None:
    lines = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        digest, path = line.split(maxsplit=1)
        lines.append(f"{digests.get(path, digest)}  {path}")
    manifest.write_text("".join(line + "\n" for line in lines), encoding="utf-8")


def rewrite_consistently(bag: Path, catalog: Path, package_id: str, number: int,
                         path: str, data: bytes) -> None:
    """Replace ``path`` in the stored bag and rewrite every description of it: the
    manifests, Payload-Oxum, the tag manifests and the catalog's file rows."""
    (bag / path).write_bytes(data)
    for algorithm in ("sha256", "sha512"):
        _rewrite_manifest(bag / f"manifest-{algorithm}.txt",
                          {path: hashlib.new(algorithm, data).hexdigest()})
    payload = [p for p in (bag / "data").rglob("*") if p.is_file()]
    oxum = f"{sum(p.stat().st_size for p in payload)}.{len(payload)}"
    info = bag / "bag-info.txt"
    info.write_text(re.sub(r"^Payload-Oxum: .*$", f"Payload-Oxum: {oxum}",
                           info.read_text(encoding="utf-8"), flags=re.M), encoding="utf-8")
    for algorithm in ("sha256", "sha512"):
        tagmanifest = bag / f"tagmanifest-{algorithm}.txt"
        listed = [line.split(maxsplit=1)[1]
                  for line in tagmanifest.read_text(encoding="utf-8").splitlines()]
        _rewrite_manifest(tagmanifest, {p: hashlib.new(algorithm, (bag / p).read_bytes())
                                        .hexdigest() for p in listed})
    with sqlite3.connect(catalog) as db:
        for file in [p for p in bag.rglob("*") if p.is_file()]:
            content = file.read_bytes()
            db.execute("UPDATE files SET size = ?, sha256 = ?, sha512 = ?"
                       " WHERE package_id = ? AND number = ? AND path = ?",
                       (len(content), hashlib.sha256(content).hexdigest(),
                        hashlib.sha512(content).hexdigest(), package_id, number,
                        file.relative_to(bag).as_posix()))
        db.commit()


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_ingestion_event_seals_the_manifest_and_the_tag_manifest(archive: Archive) -> None:
    archive.ingest()
    [ingestion] = [e for e in archive.services.catalog.events(PACKAGE)
                   if e.event_type == EventType.INGESTION.value]
    bag = archive.bag(archive.primary)
    assert ingestion.detail["manifest_sha256"] == sha256_of(bag / "manifest-sha256.txt")
    assert ingestion.detail["tagmanifest_sha256"] == sha256_of(bag / "tagmanifest-sha256.txt")
    assert archive.services.catalog.sealing_event(PACKAGE, 1) == ingestion


def test_the_scheduled_deep_check_finds_every_rewritten_copy_not_as_sealed(
        archive: Archive) -> None:
    archive.ingest()
    for store in archive.services.locations:
        rewrite_consistently(archive.bag(store), archive.root / "catalog.sqlite3", PACKAGE, 1,
                             PAYLOAD_FILE, FORGED)
        bagit.Bag(str(archive.bag(store))).validate()

    for store in archive.services.locations:
        check = run_fixity_check(archive.services, PACKAGE, 1, store.location, DEEP)
        assert {f.code for f in check.findings} == {"MANIFEST_NOT_AS_SEALED"}
        assert all(f.location == store.location for f in check.findings)


def test_a_rebuilt_catalog_holds_the_bags_to_the_seals_it_made(archive: Archive,
                                                                tmp_path: Path) -> None:
    archive.ingest()
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)
    rebuild_catalog(fresh)
    assert run_fixity_check(fresh, PACKAGE, 1, None, DEEP).findings == ()

    rewrite_consistently(archive.bag(archive.primary), tmp_path / "fresh" / "catalog.sqlite3",
                         PACKAGE, 1, PAYLOAD_FILE, FORGED)

    assert {f.code for f in run_fixity_check(fresh, PACKAGE, 1, None, DEEP).findings} == {
        "MANIFEST_NOT_AS_SEALED"}
    fresh.catalog.engine.dispose()  # type: ignore[attr-defined]


def test_repair_takes_no_copy_that_is_not_as_sealed_for_a_source(archive: Archive) -> None:
    from ingest.repair import repair_version

    archive.ingest()
    rewrite_consistently(archive.bag(archive.primary), archive.root / "catalog.sqlite3",
                         PACKAGE, 1, PAYLOAD_FILE, FORGED)

    result = repair_version(archive.services, PACKAGE, 1)

    # the rewritten primary is not as sealed; the replica no longer matches the
    # rewritten catalog: no copy is good, and nothing is overwritten
    assert result.status != "repaired" and result.has_problems
    assert (archive.bag(archive.primary) / PAYLOAD_FILE).read_bytes() == FORGED
    assert {f["code"] for c in result.to_dict()["copies"] for f in c["findings"]
            if c["location"] == archive.primary.location} >= {"MANIFEST_NOT_AS_SEALED"}


def test_a_bag_rewritten_with_the_catalog_to_match_is_not_delivered_as_whole(
        archive: Archive, tmp_path: Path) -> None:
    # Before: `verify` said MANIFEST_NOT_AS_SEALED while `fetch` (folder, tar) and a
    # file download delivered the forged bytes as whole, exit 0.
    import io

    from ingest.errors import DeliveryRefused
    from ingest.local_targets import fetch_to_folder
    from ingest.retrieval import file_range, write_tar, write_zip

    archive.ingest()
    for store in archive.services.locations:
        rewrite_consistently(archive.bag(store), archive.root / "catalog.sqlite3", PACKAGE, 1,
                             PAYLOAD_FILE, FORGED)
    services = archive.services
    for write in (write_tar, write_zip):
        out = io.BytesIO()
        _, findings = write(services, PACKAGE, None, out)
        assert {f.code for f in findings} == {"MANIFEST_NOT_AS_SEALED"}
        assert out.getvalue() == b""  # not a byte left
    _, findings = fetch_to_folder(services, PACKAGE, None, tmp_path / "out")
    assert {f.code for f in findings} == {"MANIFEST_NOT_AS_SEALED"}
    assert not (tmp_path / "out").exists()
    version = services.catalog.get_version(PACKAGE)
    [forged] = [f for f in version.files if f.path == PAYLOAD_FILE]
    with pytest.raises(DeliveryRefused):
        b"".join(file_range(services, version, forged, 0, forged.size - 1))
    # each refusal is a failed check of the copy, as any damage found on the way out
    assert services.catalog.get_version(PACKAGE).last_fixity_outcome == "failed"


def test_a_payload_file_rewritten_with_its_catalog_row_alone_is_not_delivered(
        archive: Archive, tmp_path: Path) -> None:
    # The manifests left as they were: the catalog's row agreed with the forged
    # bytes, so every delivery passed them as whole (`fetch` exit 0, HTTP 200).
    import io

    from ingest.errors import DeliveryRefused
    from ingest.local_targets import fetch_to_folder
    from ingest.retrieval import file_range, write_tar

    archive.ingest()
    forged = archive.bag(archive.primary) / PAYLOAD_FILE
    forged.write_bytes(FORGED)
    with sqlite3.connect(archive.root / "catalog.sqlite3") as db:
        db.execute("UPDATE files SET size = ?, sha256 = ?, sha512 = ? WHERE path = ?",
                   (len(FORGED), hashlib.sha256(FORGED).hexdigest(),
                    hashlib.sha512(FORGED).hexdigest(), PAYLOAD_FILE))
    services = archive.services
    out = io.BytesIO()
    _, findings = write_tar(services, PACKAGE, None, out)
    assert [(f.code, f.path) for f in findings] == [("FIXITY_MISMATCH", PAYLOAD_FILE)]
    assert out.getvalue() == b""
    _, findings = fetch_to_folder(services, PACKAGE, None, tmp_path / "out")
    assert findings and not (tmp_path / "out").exists()
    version = services.catalog.get_version(PACKAGE)
    [row] = [f for f in version.files if f.path == PAYLOAD_FILE]
    with pytest.raises(DeliveryRefused):
        b"".join(file_range(services, version, row, 0, row.size - 1))
    # Nor any other file of that version: its catalog rows no longer agree with
    # what was sealed, so none of them can vouch for the bytes.
    [other] = [f for f in version.files if f.path.startswith("data/") and f.path != PAYLOAD_FILE]
    with pytest.raises(DeliveryRefused):
        b"".join(file_range(services, version, other, 0, other.size - 1))


@pytest.mark.parametrize("tamper", ["manifest rows dropped", "a payload row removed",
                                    "a payload row added"])
def test_a_catalog_whose_rows_are_not_the_sealed_manifests_files_delivers_nothing(
        archive: Archive, tmp_path: Path, tamper: str) -> None:
    # Before: with the manifests' own rows deleted nothing was held to the seal;
    # a row added or removed was not looked for: `fetch` said ok, exit 0.
    import io

    from ingest.retrieval import write_tar

    archive.ingest()
    db_path = archive.root / "catalog.sqlite3"
    with sqlite3.connect(db_path) as db:
        if tamper == "manifest rows dropped":
            (archive.bag(archive.primary) / PAYLOAD_FILE).write_bytes(FORGED)
            db.execute("UPDATE files SET size = ?, sha256 = ?, sha512 = ? WHERE path = ?",
                       (len(FORGED), hashlib.sha256(FORGED).hexdigest(),
                        hashlib.sha512(FORGED).hexdigest(), PAYLOAD_FILE))
            db.execute("DELETE FROM files WHERE path IN "
                       "('manifest-sha256.txt', 'tagmanifest-sha256.txt')")
        elif tamper == "a payload row removed":
            db.execute("DELETE FROM files WHERE path = ?", (PAYLOAD_FILE,))
        else:
            extra = b"an extra page\n"
            (archive.bag(archive.primary) / "data" / "extra.txt").write_bytes(extra)
            db.execute("INSERT INTO files (package_id, number, path, size, sha256, sha512) "
                       "SELECT package_id, number, 'data/extra.txt', ?, ?, ? FROM files "
                       "WHERE path = ?", (len(extra), hashlib.sha256(extra).hexdigest(),
                                          hashlib.sha512(extra).hexdigest(), PAYLOAD_FILE))
    out = io.BytesIO()
    _, findings = write_tar(archive.services, PACKAGE, None, out)
    assert findings and out.getvalue() == b"", tamper
    assert {f.code for f in findings} <= {"MANIFEST_NOT_AS_SEALED", "FILE_MISSING",
                                          "UNEXPECTED_FILE", "FIXITY_MISMATCH"}


def test_a_manifest_damaged_in_the_primary_is_read_from_a_replica_that_holds_it_as_sealed(
        archive: Archive) -> None:
    # A bit flipped in the primary's manifest says nothing against the catalog: the
    # delivery of another file reads the replica's manifest, and whether it is
    # served no longer depends on what the process read before.
    from ingest.retrieval import file_range

    archive.ingest()
    manifest = archive.bag(archive.primary) / "manifest-sha256.txt"
    data = bytearray(manifest.read_bytes())
    data[5] ^= 1
    manifest.write_bytes(bytes(data))
    version = archive.services.catalog.get_version(PACKAGE)
    [page] = [f for f in version.files if f.path == PAYLOAD_FILE]
    assert len(b"".join(file_range(archive.services, version, page, 0, page.size - 1))) == page.size


def test_no_presigned_url_is_handed_out_beside_digests_the_seal_does_not_vouch_for(
        archive: Archive) -> None:
    # A presigned download bypasses the check on the way out: the client checks the
    # bytes against the digests given beside the URL, which came from the catalog.
    from ingest.errors import DeliveryRefused, PresignUnsupported
    from ingest.retrieval import presigned_checked

    archive.ingest()
    version = archive.services.catalog.get_version(PACKAGE)
    [page] = [f for f in version.files if f.path == PAYLOAD_FILE]
    with pytest.raises(PresignUnsupported):  # as sealed: on to the store (a folder cannot)
        presigned_checked(archive.services, version, page, 60)
    rewrite_consistently(archive.bag(archive.primary), archive.root / "catalog.sqlite3",
                         PACKAGE, 1, PAYLOAD_FILE, FORGED)
    version = archive.services.catalog.get_version(PACKAGE)
    [page] = [f for f in version.files if f.path == PAYLOAD_FILE]
    with pytest.raises(DeliveryRefused):
        presigned_checked(archive.services, version, page, 60)
