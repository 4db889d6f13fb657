"""A package deaccessioned while a repair (or ``locations fill``) writes a copy of it.

Two admins withdrew the package and its objects were deleted from every
location; a repair that had verified the good copy and was copying its bytes
into the other location published its write after the deletion, then wrote
the version's commit record there too and noted the copy as verified. The
withdrawn files stayed in that location, under the deaccession marked
complete. A fill running over the whole archive stopped at the first version
withdrawn since it listed its page. Now a repair asks, once everything is
written, whether the version is still committed: if not, what it wrote goes as
the deaccession's deletion would take it, and it raises Deaccessioned; a fill
counts such a version as withdrawn and goes on.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import ingest.repair_sources as repair_sources
from ingest.commit_records import commit_record_key
from ingest.deaccession import approve_deaccession, request_deaccession
from ingest.errors import Deaccessioned
from ingest.models import Actor
from ingest.repair import repair_version
from ingest.storage_locations import fill_location
from storage.filesystem import FilesystemObjectStore
from tests.unit.test_replication import PACKAGE, Archive, open_archive

ALICE = Actor("alice", kind="person", role="admin")
BOB = Actor("bob", kind="person", role="admin")


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def _decided_while_copying(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The admins decide once the repair has read a file's good bytes and before
    its write is published."""
    real = repair_sources.digest_stream
    decided: list[str] = []

    def read_then_decided(*args: Any, **kwargs: Any) -> Any:
        digests = real(*args, **kwargs)
        if not decided:
            asked = request_deaccession(replace(archive.services, actor=ALICE), PACKAGE, None,
                                        "the depositor withdrew the deposit")
            approve_deaccession(replace(archive.services, actor=BOB), asked.request_id)
            decided.append(asked.request_id)
        return digests

    monkeypatch.setattr(repair_sources, "digest_stream", read_then_decided)
    return decided


def _nothing_of_it_left(archive: Archive) -> None:
    for store in archive.services.locations:
        assert [o.key for o in store.list(f"{PACKAGE}/")] == [], store.location
        assert not _exists(store, commit_record_key(PACKAGE, 1)), store.location
    with pytest.raises(Deaccessioned):
        archive.services.catalog.get_version(PACKAGE, 1)


def _exists(store: Any, key: str) -> bool:
    return any(o.key == key for o in store.list(key))


def test_a_package_deaccessioned_while_a_repair_copies_it_leaves_no_file_behind(
        archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    archive.ingest()
    shutil.rmtree(archive.bag(archive.replica))  # the replica lost its copy
    decided = _decided_while_copying(archive, monkeypatch)
    with pytest.raises(Deaccessioned):
        repair_version(archive.services, PACKAGE, 1)
    assert decided
    _nothing_of_it_left(archive)


def test_a_package_deaccessioned_while_a_location_is_filled_leaves_no_file_there_and_the_fill_goes_on(
        archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    archive.ingest()
    new = FilesystemObjectStore(archive.root / "new")  # named in the settings after the ingest
    archive.services = replace(archive.services, replicas=(archive.replica, new))
    decided = _decided_while_copying(archive, monkeypatch)
    result = fill_location(archive.services, new.location)
    assert decided
    assert result.withdrawn == [(PACKAGE, 1)]
    assert (result.made, result.failed, result.has_problems) == ([], [], False)
    assert result.to_dict()["withdrawn"] == [{"package_id": PACKAGE, "version": 1}]
    _nothing_of_it_left(archive)
