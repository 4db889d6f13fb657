"""`verify` checks copies side by side, and says the same as checking them in turn.

One stream of SHA-512 holds one core; checking copies at once is what lets a
verify use the machine. These tests hold it to the same results, in the same
order, with every check recorded, and to stopping cleanly when a store fails.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import pytest

from ingest.clock import FixedClock
from ingest.errors import StorageUnavailable
from ingest.fixity_audit import verify_packages
from ingest.models import package_id_for
from ingest.pipeline import ingest_item
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.submission import submit_batch
from storage.catalog import SqlCatalog
from storage.filesystem import FilesystemObjectStore

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
IDENTIFIERS = tuple(f"letter-{n}" for n in range(4))


class RendezvousStore(FilesystemObjectStore):
    """Opens nothing until two threads are opening at once (or the wait times out)."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.barrier = threading.Barrier(2, timeout=10)
        self.met = False

    def open(self, key: str) -> BinaryIO:
        if not self.met:
            self.barrier.wait()
            self.met = True
        return super().open(key)


class UnreachableForOne(FilesystemObjectStore):
    """A store whose objects of one package cannot be read: the server went away."""

    def __init__(self, root: Path, package_id: str) -> None:
        super().__init__(root)
        self.package_id = package_id

    def open(self, key: str) -> BinaryIO:
        if key.startswith(self.package_id + "/"):
            raise StorageUnavailable("connection refused")
        return super().open(key)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[tuple[Services, Path]]:
    """Four packages, each in a primary and a replica folder."""
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    services = Services(
        catalog=catalog, store=FilesystemObjectStore(tmp_path / "primary"),
        replicas=(FilesystemObjectStore(tmp_path / "replica"),),
        clock=FixedClock(AT), schemas=SchemaSet.default())
    batch = tmp_path / "batch"
    for n, identifier in enumerate(IDENTIFIERS):
        item = batch / identifier
        (item / "scan").mkdir(parents=True)
        (item / "metadata.json").write_text(json.dumps(
            {"identifier": identifier, "title": f"Letter {n}", "date": "1952-03"}))
        (item / "scan" / "page-01.txt").write_bytes(f"Dear Sir, number {n}.\n".encode() * 4000)
    for item in submit_batch(batch, services).items:
        assert ingest_item(item.item_id, services).outcome == "done"
    yield services, tmp_path
    catalog.engine.dispose()


def flip_a_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[7] ^= 0x20
    path.write_bytes(bytes(data))


def summary(results: list) -> list[tuple[str, int, str, str, tuple[str, ...]]]:
    return [(r.package_id, r.version, r.location, r.status,
             tuple(sorted(f.code for f in r.findings))) for r in results]


def test_checking_copies_at_once_finds_the_same_damage_in_the_same_order(
        archive: tuple[Services, Path]) -> None:
    services, root = archive
    damaged = package_id_for(IDENTIFIERS[2])
    flip_a_byte(root / "replica" / damaged / "v1" / "data" / "scan" / "page-01.txt")

    in_turn = verify_packages(services)
    at_once = verify_packages(services, concurrency=2)

    assert summary(at_once) == summary(in_turn)
    assert len(at_once) == 8  # 4 packages x 2 copies, primary then replica
    failed = [(r.package_id, r.location) for r in at_once if r.status == "failed"]
    assert failed == [(damaged, services.replicas[0].location)]
    # every check of both runs is on record: 2 runs x 8 copies
    assert len(services.catalog.fixity_checks()) == 16
    assert len(services.catalog.fixity_checks(failed_only=True)) == 2


def test_copies_are_really_checked_side_by_side(archive: tuple[Services, Path]) -> None:
    services, root = archive
    rendezvous = RendezvousStore(root / "primary")
    side_by_side = Services(catalog=services.catalog, store=rendezvous,
                            clock=services.clock, schemas=services.schemas)
    # Two threads must be reading at the same moment, or the store's barrier breaks.
    results = verify_packages(side_by_side, concurrency=2)
    assert [r.status for r in results] == ["ok"] * 4

    one_at_a_time = Services(catalog=services.catalog, store=RendezvousStore(root / "primary"),
                             clock=services.clock, schemas=services.schemas)
    one_at_a_time.store.barrier = threading.Barrier(2, timeout=0.5)  # type: ignore[attr-defined]
    with pytest.raises(threading.BrokenBarrierError):
        verify_packages(one_at_a_time, concurrency=1)


def test_an_unreachable_store_stops_the_run_and_records_no_verdict_for_it(
        archive: tuple[Services, Path]) -> None:
    services, root = archive
    unreachable = package_id_for(IDENTIFIERS[1])
    flaky = Services(catalog=services.catalog,
                     store=UnreachableForOne(root / "primary", unreachable),
                     clock=services.clock, schemas=services.schemas)
    with pytest.raises(StorageUnavailable):
        verify_packages(flaky, concurrency=2)
    # nothing is said about the copy that could not be read
    recorded = {c.package_id for c in services.catalog.fixity_checks()}
    assert unreachable not in recorded


def test_concurrency_below_one_is_refused(archive: tuple[Services, Path]) -> None:
    services, _ = archive
    with pytest.raises(ValueError, match="at least 1"):
        verify_packages(services, concurrency=0)


class CountingStore(FilesystemObjectStore):
    """Counts every object opened, by key."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.opened: dict[str, int] = {}
        self._lock = threading.Lock()

    def open(self, key: str) -> BinaryIO:
        with self._lock:
            self.opened[key] = self.opened.get(key, 0) + 1
        return super().open(key)


@pytest.mark.parametrize("in_flight", [1, 8])
def test_a_deep_check_reads_each_object_once_the_sealed_manifests_not_again(
        archive: tuple[Services, Path], in_flight: int) -> None:
    services, root = archive
    counting = CountingStore(root / "primary")
    counting.requests_in_flight = in_flight  # type: ignore[attr-defined]
    services = replace(services, store=counting, replicas=())
    package_id = package_id_for(IDENTIFIERS[1])
    (check,) = verify_packages(services, [package_id])
    assert check.status == "ok"
    stored = [info.key for info in counting.list(f"{package_id}/v1/")]
    assert "manifest-sha256.txt" in {key.rsplit("/", 1)[-1] for key in stored}
    assert counting.opened == {key: 1 for key in stored}


def test_a_manifest_rewritten_after_ingest_is_still_found_not_as_sealed_when_read_once(
        archive: tuple[Services, Path]) -> None:
    services, root = archive
    package_id = package_id_for(IDENTIFIERS[3])
    manifest = root / "primary" / package_id / "v1" / "manifest-sha256.txt"
    manifest.write_bytes(manifest.read_bytes() + b"\n")
    primary, _replica = verify_packages(services, [package_id])
    assert "MANIFEST_NOT_AS_SEALED" in {f.code for f in primary.findings}
