"""The progress port and the cooperative stop, driven in-process: a progress bar hears of
every byte as the one read goes (not at the end), and a stop leaves the item accepted with
nothing of it visible, to be finished by the next run."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import tests.unit.test_received_bag as received_bag_tests
from ingest.fixity import CHUNK_SIZE, FIRST_CHUNK
from ingest.handover import payload_octets
from ingest.models import ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.progress import StopFlag
from ingest.services import Services
from ingest.submission import submit_batch
from tests.fakes import MemoryObjectStore
from workers.inprocess import run_items

BIG = 5 * CHUNK_SIZE + 123


class Recorder:
    """A progress that remembers what it was told."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []
        self.octets = 0
        self.on_bytes = lambda: None

    def plan(self, items: int, octets: int | None) -> None:
        self.calls.append(("plan", str(items), str(octets)))

    def item_started(self, key: str, label: str, octets: int | None) -> None:
        self.calls.append(("started", label, str(octets)))

    def bytes_done(self, key: str, octets: int) -> None:
        self.octets += octets
        self.calls.append(("bytes", str(octets)))
        self.on_bytes()

    def item_finished(self, key: str) -> None:
        self.calls.append(("finished",))


#: the fixtures of tests/unit/test_received_bag.py: a store in memory, services on it
memory, services = received_bag_tests.memory, received_bag_tests.services


def make_batch(root: Path, names: list[str]) -> Path:
    batch = root / "batch"
    for name in names:
        item = batch / name
        item.mkdir(parents=True)
        (item / "metadata.json").write_text(json.dumps(
            {"identifier": name, "title": f"Reel {name}", "date": "1951"}))
        (item / "reel.bin").write_bytes(bytes(range(256)) * (BIG // 256) + b"x" * (BIG % 256))
    return batch


def test_a_large_file_reports_its_bytes_chunk_by_chunk_as_it_is_stored(
        services: Services, tmp_path: Path) -> None:
    (item_id,) = [i.item_id for i in submit_batch(make_batch(tmp_path, ["a"]), services).items]
    progress = Recorder()
    result = ingest_item(item_id, replace(services, progress=progress))
    assert result.status is ItemStatus.STORED
    assert progress.calls[0] == ("started", "a", str(BIG))
    assert progress.calls[-1] == ("finished",)
    chunks = [c for c in progress.calls if c[0] == "bytes"]
    assert len(chunks) == 6 and progress.octets == BIG  # each byte once, as it was read


def test_the_whole_is_planned_from_a_listing(services: Services, tmp_path: Path) -> None:
    ids = [i.item_id for i in submit_batch(make_batch(tmp_path, ["a", "b"]), services).items]
    assert payload_octets(services, ids) == 2 * BIG


def test_a_stop_mid_file_leaves_the_item_accepted_and_nothing_visible_then_it_resumes(
        services: Services, tmp_path: Path, memory: MemoryObjectStore) -> None:
    ids = [i.item_id for i in submit_batch(make_batch(tmp_path, ["a", "b"]), services).items]
    stop = StopFlag()
    progress = Recorder()
    progress.on_bytes = stop.request  # Ctrl-C while the first chunk is being stored
    stopping = replace(services, progress=progress, stop=stop)

    results = run_items(ids, stopping, concurrency=1)

    assert {r.outcome for r in results} == {"stopped"}
    assert {services.catalog.get_item(i).status for i in ids} == {ItemStatus.ACCEPTED}
    assert services.catalog.list_packages() == []
    assert list(memory.list("")) == []  # the abandoned version's objects are gone
    assert progress.octets == FIRST_CHUNK  # stopped at the next chunk, not at the end

    results = run_items(ids, services, concurrency=1)  # what `strongroom requeue` does
    assert {r.status for r in results} == {ItemStatus.STORED}
    assert sorted(p.identifier for p in services.catalog.list_packages()) == ["a", "b"]
    assert package_id_for("a") in {p.package_id for p in services.catalog.list_packages()}


def test_a_stop_ends_the_wait_for_the_workers_without_waiting_out_the_timeout(
        services: Services, tmp_path: Path) -> None:
    from ingest.handover import wait_until_final

    batch = submit_batch(make_batch(tmp_path, ["a"]), services)
    stop = StopFlag()
    stop.request()
    slept: list[float] = []
    finished = wait_until_final(services.catalog, batch.batch.batch_id, None, timeout=3600,
                                sleep=slept.append, stop=stop)
    assert finished is False and slept == []  # the item is still accepted: nothing waited for
