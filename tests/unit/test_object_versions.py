"""A repair in a store that keeps object versions writes a new version, the catalog
notes it for that copy, and every later read of the copy (deep and shallow
checks, repair, delivery, presigned URLs) asks for it: a damaged version put on
top afterwards is neither read nor delivered.

The replica is a store in memory that keeps every version of each key, as a
versioned S3 bucket (with Object Lock, which keeps the damaged versions) does;
the primary is a folder; the catalog is SQLite.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from ingest.errors import ObjectNotFound
from ingest.fixity_audit import shallow_check, verify_version
from ingest.local_targets import fetch_to_folder
from ingest.object_versions import PinnedCopy, copy_view, open_object, presigned_object
from ingest.ports import ObjectInfo as StoreInfo
from ingest.repair import repair_version
from storage.filesystem import FilesystemObjectStore
from tests.fakes import MemoryObjectStore
from tests.unit.test_deaccession import two_versions
from tests.unit.test_replication import PACKAGE, Archive, bag_files, make_services

PAYLOAD_FILE = "data/transcription/telegram-en.txt"
KEY = f"{PACKAGE}/v1/{PAYLOAD_FILE}"


class VersionedStore(MemoryObjectStore):
    """Keeps every version written under a key (``history``); reads the newest
    unless asked for a version id (``key#n``)."""

    def __init__(self, location: str = "memory://versioned") -> None:
        super().__init__(location)
        self.history: dict[str, list[bytes]] = {}

    def _keep(self, key: str, data: bytes) -> str:
        self.history.setdefault(key, []).append(data)
        return f"{key}#{len(self.history[key])}"

    def put_over(self, key: str, data: bytes) -> str:
        """A write from outside (someone with the bucket's key): a new version."""
        self.objects[key] = data
        return self._keep(key, data)

    def writer(self, key: str) -> Any:
        inner = super().writer(key)
        store = self

        class Writer:
            write, abort = inner.write, inner.abort

            def commit(self, sha256: str) -> StoreInfo:
                info = inner.commit(sha256)
                return replace(info, version_id=store._keep(key, store.objects[key]))
        return Writer()

    def _version(self, key: str, version_id: str) -> bytes:
        name, _, number = version_id.rpartition("#")
        if name != key or not 1 <= int(number) <= len(self.history.get(key, [])):
            raise ObjectNotFound(f"{key} has no version {version_id}")
        return self.history[key][int(number) - 1]

    def open(self, key: str, version_id: str | None = None) -> BinaryIO:
        if version_id is None:
            return super().open(key)
        return io.BytesIO(self._version(key, version_id))

    def stat(self, key: str, version_id: str | None = None) -> StoreInfo:
        if version_id is None:
            return super().stat(key)
        return StoreInfo(key=key, size=len(self._version(key, version_id)), version_id=version_id)

    def presigned_get(self, key: str, expires_in: int, version_id: str | None = None) -> str:
        return f"https://s3.example/{key}" + (f"?versionId={version_id}" if version_id else "")


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    services = make_services(tmp_path, replicas=(VersionedStore(),),
                             store=FilesystemObjectStore(tmp_path / "primary"))
    yield Archive(tmp_path, services)
    services.catalog.engine.dispose()  # type: ignore[attr-defined]


def damage(data: bytes) -> bytes:
    return bytes([data[0] ^ 0x01]) + data[1:]


def test_a_repair_notes_the_version_it_wrote_and_later_checks_read_it(archive: Archive) -> None:
    archive.ingest()
    replica: VersionedStore = archive.replica  # type: ignore[assignment]
    good = replica.objects[KEY]
    replica.put_over(KEY, damage(good))

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired"
    assert replica.history[KEY] == [good, damage(good), good]  # nothing overwritten
    catalog = archive.services.catalog
    assert catalog.object_versions(PACKAGE, replica.location) == {KEY: f"{KEY}#3"}
    assert catalog.object_versions(PACKAGE, archive.primary.location) == {}

    replica.put_over(KEY, damage(good))  # damaged again, on top

    assert verify_version(archive.services, PACKAGE, 1, replica.location).findings == ()
    assert shallow_check(archive.services, PACKAGE, 1, replica.location).findings == ()
    assert repair_version(archive.services, PACKAGE, 1).status == "ok"
    assert len(replica.history[KEY]) == 4  # nothing rewritten: the noted version is good


def test_delivery_and_presigned_urls_of_the_primary_read_the_noted_version(
        tmp_path: Path) -> None:
    primary = VersionedStore("memory://primary")
    services = make_services(tmp_path, replicas=(FilesystemObjectStore(tmp_path / "replica"),),
                             store=primary)
    archive = Archive(tmp_path, services)
    try:
        archive.ingest()
        good = primary.objects[KEY]
        primary.put_over(KEY, damage(good))
        assert repair_version(services, PACKAGE, 1).status == "repaired"
        primary.put_over(KEY, damage(good))

        _, findings = fetch_to_folder(services, PACKAGE, 1, tmp_path / "out")

        assert findings == []
        assert bag_files(tmp_path / "out")[PAYLOAD_FILE] == good
        with open_object(services.catalog, primary, KEY) as stream:
            assert stream.read() == good
        assert presigned_object(services.catalog, primary, KEY, 60).endswith(f"?versionId={KEY}#3")
    finally:
        services.catalog.engine.dispose()  # type: ignore[attr-defined]


def test_a_copy_without_notes_is_read_as_the_store_reads_it(archive: Archive) -> None:
    archive.ingest()
    view = copy_view(archive.services.catalog, archive.replica, PACKAGE)

    assert isinstance(view, PinnedCopy) and view.pins == {}
    with view.open(KEY) as stream:
        assert stream.read() == archive.replica.open(KEY).read()
    with pytest.raises(ValueError, match="not the key of a file of a version"):
        open_object(archive.services.catalog, archive.replica, "_commits/x.json")


def test_an_object_a_later_version_shares_is_read_in_its_noted_version_by_that_version_too(
        archive: Archive) -> None:
    two_versions(archive)
    replica: VersionedStore = archive.replica  # type: ignore[assignment]
    shared = {f.path: f.held_by for f in archive.services.catalog.get_version(PACKAGE, 2).files}
    assert shared[PAYLOAD_FILE] == 1  # version 2 reads it under version 1's key
    good = replica.objects[KEY]
    replica.put_over(KEY, damage(good))

    assert repair_version(archive.services, PACKAGE, 2).status == "repaired"
    replica.put_over(KEY, damage(good))  # damaged again, on top

    assert archive.services.catalog.object_versions(PACKAGE, replica.location) == {
        KEY: f"{KEY}#3"}
    for number in (1, 2):
        assert verify_version(archive.services, PACKAGE, number, replica.location).findings == ()
