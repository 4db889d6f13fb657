"""Repair: a damaged or missing copy is rebuilt from a copy deep-verified good just
before (other stored objects with the same digests: ``test_repair_from_same_digests``);
with nothing that holds the bytes, nothing is written.

Damage is done behind the service's back on the filesystem stores (flip a
byte, truncate, delete, add a stray object), as a failing disk or a careless
hand would.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from ingest.models import EventType
from ingest.repair import repair_package, repair_version
from storage.filesystem import FilesystemObjectStore
from tests.unit.test_replication import (
    PACKAGE,
    Archive,
    bag_files,
    make_services,
    open_archive,
)

PAYLOAD_FILE = "data/transcription/telegram-en.txt"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[5] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_flipped_byte_in_the_replica_is_repaired_from_the_primary(archive: Archive) -> None:
    archive.ingest()
    good = bag_files(archive.bag(archive.primary))
    flip_a_byte(archive.bag(archive.replica) / PAYLOAD_FILE)

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired"
    by_location = {c.location: c for c in result.copies}
    replica = by_location[archive.replica.location]
    assert {f.code for f in replica.findings} == {"FIXITY_MISMATCH"}
    assert all(f.location == archive.replica.location for f in replica.findings)
    assert replica.source == archive.primary.location
    assert replica.rewritten == [PAYLOAD_FILE]          # only the damaged object
    assert replica.findings_after == ()
    assert by_location[archive.primary.location].status == "ok"
    assert bag_files(archive.bag(archive.replica)) == good


def test_repair_records_a_deep_check_per_copy_and_a_replication_event_for_the_repair(
        archive: Archive) -> None:
    archive.ingest()
    (archive.bag(archive.replica) / PAYLOAD_FILE).unlink()
    before = len(list(archive.services.catalog.events(PACKAGE)))

    repair_version(archive.services, PACKAGE, 1)

    new = list(archive.services.catalog.events(PACKAGE))[before:]
    checks = [e for e in new if e.event_type == EventType.FIXITY_CHECK.value]
    # the first check of each copy, and the re-check of the rewritten one
    assert sorted((e.detail["location"], e.outcome) for e in checks) == sorted([
        (archive.primary.location, "success"), (archive.replica.location, "failure"),
        (archive.replica.location, "success")])
    assert all(e.detail["tier"] == "deep" for e in checks)
    [repaired] = [e for e in new if e.event_type == EventType.REPLICATION.value]
    assert repaired.outcome == "success"
    assert repaired.detail["reason"] == "repair"
    assert repaired.detail["rewritten"] == [PAYLOAD_FILE]
    assert (repaired.detail["source"], repaired.detail["location"]) == (
        archive.primary.location, archive.replica.location)
    assert {c.state for c in archive.services.catalog.list_copies(PACKAGE, 1)} == {"verified"}


def test_a_truncated_file_and_a_stray_object_are_repaired(archive: Archive) -> None:
    archive.ingest()
    good = bag_files(archive.bag(archive.primary))
    target = archive.bag(archive.replica) / "data/scan/page-01.txt"
    target.write_bytes(target.read_bytes()[:10])
    (archive.bag(archive.replica) / "data/stray.txt").write_bytes(b"not ours")

    result = repair_version(archive.services, PACKAGE, 1)

    replica = next(c for c in result.copies if c.location == archive.replica.location)
    assert {f.code for f in replica.findings} >= {"SIZE_MISMATCH", "UNEXPECTED_FILE"}
    assert replica.deleted == ["data/stray.txt"]
    assert result.status == "repaired"
    assert bag_files(archive.bag(archive.replica)) == good


def test_a_replica_that_lost_the_whole_version_gets_it_back(archive: Archive) -> None:
    archive.ingest()
    good = bag_files(archive.bag(archive.primary))
    shutil.rmtree(archive.bag(archive.replica))

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired"
    assert bag_files(archive.bag(archive.replica)) == good


def test_damage_in_the_primary_is_repaired_from_the_verified_replica(archive: Archive) -> None:
    archive.ingest()
    good = bag_files(archive.bag(archive.replica))
    flip_a_byte(archive.bag(archive.primary) / PAYLOAD_FILE)
    (archive.bag(archive.primary) / "manifest-sha512.txt").unlink()

    result = repair_version(archive.services, PACKAGE, 1)

    primary = next(c for c in result.copies if c.location == archive.primary.location)
    assert primary.source == archive.replica.location
    assert result.status == "repaired"
    assert bag_files(archive.bag(archive.primary)) == good


@pytest.mark.parametrize("linked", ["file", "folder"])
def test_a_stored_file_or_folder_replaced_by_a_link_is_repaired_not_a_crash(
        archive: Archive, tmp_path: Path, linked: str) -> None:
    """Before, repair crashed ("resolves outside the store") on a link in the
    primary, with a good replica at hand: the damage could never be mended."""
    archive.ingest()
    good = bag_files(archive.bag(archive.replica))
    stored = archive.bag(archive.primary) / PAYLOAD_FILE
    target = stored if linked == "file" else stored.parent
    outside = tmp_path / f"outside-{linked}"
    if linked == "file":
        shutil.copyfile(target, outside)
        target.unlink()
    else:
        shutil.copytree(target, outside)
        shutil.rmtree(target)
    target.symlink_to(outside, target_is_directory=linked == "folder")

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired"
    assert not target.is_symlink()
    assert bag_files(archive.bag(archive.primary)) == good
    assert outside.exists()  # what the link pointed to is not the store's to touch


def test_with_every_copy_damaged_repair_refuses_writes_nothing_and_says_what_each_copy_had(archive: Archive) -> None:
    """The same file damaged in every copy, and no other object holds its bytes
    (copies damaged in different files mend each other:
    ``tests.unit.test_repair_from_same_digests``)."""
    archive.ingest()
    flip_a_byte(archive.bag(archive.primary) / PAYLOAD_FILE)
    (archive.bag(archive.replica) / PAYLOAD_FILE).unlink()
    primary_before = bag_files(archive.bag(archive.primary))
    replica_before = bag_files(archive.bag(archive.replica))

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "refused" and result.has_problems
    assert all(c.status == "damaged" and c.source is None for c in result.copies)
    assert result.detail == (
        "no copy verified good and no other stored object has the recorded digests of the "
        "damaged files with its bytes intact, so there is nothing to repair from and nothing "
        f"was rewritten; 2 copies checked: {archive.primary.location} (damaged), "
        f"{archive.replica.location} (damaged)")
    files = len(archive.services.catalog.get_version(PACKAGE, 1).files)
    assert [(c.location, c.had) for c in result.copies] == [
        (archive.primary.location, f"{files - 1} of {files} files as recorded; not as recorded: {PAYLOAD_FILE}"),
        (archive.replica.location, f"{files - 1} of {files} files as recorded; missing: {PAYLOAD_FILE}")]
    assert result.to_dict()["copies"][1]["had"] == result.copies[1].had
    assert bag_files(archive.bag(archive.primary)) == primary_before
    assert bag_files(archive.bag(archive.replica)) == replica_before
    assert {c.state for c in archive.services.catalog.list_copies(PACKAGE, 1)} == {"damaged"}
    assert not [e for e in archive.services.catalog.events(PACKAGE)
                if e.event_type == "replication" and e.detail.get("reason") == "repair"]


class RotsAfterTheCheck:
    """A store whose bytes of one object change after they were read once: the
    copy verified good, then went bad before repair read it again."""

    def __init__(self, inner: FilesystemObjectStore) -> None:
        self.inner = inner
        self.location = inner.location
        self.root = inner.root
        self.reads = 0

    def open(self, key: str) -> BinaryIO:
        stream = self.inner.open(key)
        if key.endswith(PAYLOAD_FILE):
            self.reads += 1
            if self.reads > 1:
                data = bytearray(stream.read())
                stream.close()
                data[0] ^= 0xFF
                return io.BytesIO(bytes(data))
        return stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_repair_never_copies_bytes_that_changed_since_their_check(tmp_path: Path) -> None:
    primary = RotsAfterTheCheck(FilesystemObjectStore(tmp_path / "primary"))
    services = make_services(tmp_path, store=primary)  # type: ignore[arg-type]
    archive = Archive(tmp_path, services)
    archive.ingest()
    primary.reads = 0
    (archive.bag(archive.replica) / PAYLOAD_FILE).unlink()

    result = repair_version(services, PACKAGE, 1)

    assert result.status == "failed"
    replica = next(c for c in result.copies if c.location == archive.replica.location)
    assert replica.status == "damaged"
    assert "changed since it was verified" in (replica.detail or "")
    assert not (archive.bag(archive.replica) / PAYLOAD_FILE).exists()


def test_nothing_to_repair_is_ok_and_writes_nothing(archive: Archive) -> None:
    archive.ingest()
    [result] = repair_package(archive.services, PACKAGE)
    assert result.status == "ok" and not result.has_problems
    assert all(c.rewritten == [] and c.source is None for c in result.copies)
