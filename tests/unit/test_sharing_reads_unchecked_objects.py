"""A correction shares no object that no deep check has vouched for lately.

Defect: a correction (a new version) shares the objects of unchanged files with
the earlier version. An object damaged with its size kept before any check
(bytes flipped where they lie) looked whole to the sharing rule, which only
knew of failed checks and of missing or resized objects: the new version
silently shared the damaged bytes, and the good bytes the depositor had just
sent were thrown away. Now, when the copy holding a shared object has had no
deep check since it was written (or its last is older than the fixity window),
the object is read once in that location and its digests compared to the
submission's before it is shared; if they differ, the bytes in hand are stored
again with a HELD_COPY_NOT_WHOLE warning. A copy deep-verified whole within the
window is not read again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.clock import FixedClock
from ingest.fixity_audit import verify_version
from ingest.repair import repair_version
from storage.filesystem import FilesystemObjectStore
from tests.unit.test_replication import AT, PACKAGE, Archive, open_archive, record

SCANS = {"scan/page-01.tif": bytes(range(256)) * 200, "scan/page-02.tif": b"\x02" * 40_000}
TITLE = "Telegram, 21 June 1951 (title corrected)"


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def flip_in_place(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[100] ^= 0xFF
    path.write_bytes(bytes(data))


def held_by(archive: Archive, number: int) -> dict[str, int | None]:
    return {f.path: f.held_by for f in archive.services.catalog.get_version(PACKAGE, number).payload}


def warnings(archive: Archive, item_id: str) -> list[tuple[str, Any]]:
    return [(f.code, f.params.get("version"))
            for f in archive.services.catalog.get_item(item_id).findings]


def test_a_correction_does_not_share_an_object_damaged_before_any_check(archive: Archive) -> None:
    archive.ingest("first", payload=SCANS)
    flip_in_place(archive.bag(archive.replica) / "data/scan/page-01.tif")  # no check since

    [item] = archive.ingest("corrected", payload=SCANS, metadata=record(title=TITLE))

    assert held_by(archive, 2) == {"data/scan/page-01.tif": None, "data/scan/page-02.tif": None}
    for store in (archive.primary, archive.replica):
        assert (archive.bag(store, 2) / "data/scan/page-01.tif").read_bytes() == \
            SCANS["scan/page-01.tif"]
        assert verify_version(archive.services, PACKAGE, 2, store.location).findings == ()
    assert ("HELD_COPY_NOT_WHOLE", 1) in warnings(archive, item)
    [finding] = [f for f in archive.services.catalog.get_item(item).findings
                 if f.path == "data/scan/page-01.tif"]
    assert archive.replica.location in finding.params["detail"]
    # and the version whose copy was damaged is mended from the bytes stored again
    assert repair_version(archive.services, PACKAGE, 1).status == "repaired"


def test_an_object_deep_verified_within_the_window_is_shared_without_a_read(
        archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    archive.ingest("first", payload=SCANS)
    for store in (archive.primary, archive.replica):
        assert verify_version(archive.services, PACKAGE, 1, store.location).findings == ()
    reads: list[str] = []
    real_open = FilesystemObjectStore.open

    def counting_open(store: FilesystemObjectStore, key: str, *args: Any, **kwargs: Any) -> Any:
        if key.startswith(f"{PACKAGE}/v1/data/"):
            reads.append(key)
        return real_open(store, key, *args, **kwargs)

    monkeypatch.setattr(FilesystemObjectStore, "open", counting_open)
    archive.ingest("corrected", payload=SCANS, metadata=record(title=TITLE))

    assert held_by(archive, 2) == {"data/scan/page-01.tif": 1, "data/scan/page-02.tif": 1}
    assert reads == []


def test_an_object_whose_last_deep_check_is_older_than_the_window_is_read_before_sharing(
        archive: Archive) -> None:
    archive.ingest("first", payload=SCANS)
    for store in (archive.primary, archive.replica):
        assert verify_version(archive.services, PACKAGE, 1, store.location).findings == ()
    flip_in_place(archive.bag(archive.primary) / "data/scan/page-02.tif")
    later = dataclasses.replace(archive.services, clock=FixedClock(AT + timedelta(days=91)))

    Archive(archive.root, later).ingest("corrected", payload=SCANS, metadata=record(title=TITLE))

    assert held_by(archive, 2)["data/scan/page-02.tif"] is None
    assert (archive.bag(archive.primary, 2) / "data/scan/page-02.tif").read_bytes() == \
        SCANS["scan/page-02.tif"]
