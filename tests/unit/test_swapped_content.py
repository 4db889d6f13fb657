"""Files swapped between the scan and the read are refused, never followed.

The trial: an item is submitted, and while it is ingested ``b.txt`` is replaced
(``ln -s /some/secret b.new && mv -T b.new b.txt``), or by a named pipe, or by
other bytes. Every read of submitted content must refuse the link or special
file at the moment of reading (SYMLINK_REFUSED, FILE_TYPE_REFUSED), notice a
file that is not the one listed (FILE_CHANGED), store nothing of it, and not
hang. Each swap below happens right after the listing, before the read.
"""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import ingest.batch as batch_module
import ingest.batch_source as batch_source
import tests.unit.test_received_bag as received_bag_tests
from ingest.batch import read_batch, scan_item
from ingest.models import ItemStatus
from ingest.pipeline import ingest_item
from ingest.services import Services
from ingest.submission import submit_batch
from tests.fakes import MemoryObjectStore
from tests.unit.test_pipeline import PACKAGE, record, write_item

SECRET = b"the service account's secret\n"


#: the fixtures of tests/unit/test_received_bag.py: a store in memory, services on it
memory, services = received_bag_tests.memory, received_bag_tests.services


@pytest.fixture
def secret(tmp_path: Path) -> Path:
    path = tmp_path / "elsewhere" / "secret.txt"
    path.parent.mkdir()
    path.write_bytes(SECRET)
    return path


@pytest.fixture(autouse=True)
def no_hang() -> Iterator[None]:
    """A read that blocks on a named pipe fails the test instead of hanging it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def hung(signum: int, frame: Any) -> None:
        raise TimeoutError("the ingest hung on a swapped file")
    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(20)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def swap_for_link(target: Path) -> Callable[[Path], None]:
    def swap(path: Path) -> None:
        new = path.with_name(path.name + ".new")
        os.symlink(target, new)
        os.replace(new, path)  # mv -T: the name now stands for the link
    return swap


def swap_for_fifo(path: Path) -> None:
    new = path.with_name(path.name + ".new")
    os.mkfifo(new)
    os.replace(new, path)


def swap_for_other_bytes(path: Path) -> None:
    new = path.with_name(path.name + ".new")
    new.write_bytes(b"X" * path.stat().st_size)  # same size, another file
    os.replace(new, path)


def rewrite_in_place_and_put_the_mtime_back(path: Path) -> None:
    """Other bytes written into the same file, at the same size, and its mtime set
    back, as ``rsync --inplace -t`` does: before, the file looked unchanged and a
    torn mix of old and new bytes could be stored."""
    before = path.stat()
    with open(path, "r+b") as f:
        f.write(b"Y" * before.st_size)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def grow(path: Path) -> None:
    with open(path, "ab") as out:
        out.write(b" and more")


def swap_after_scan(monkeypatch: pytest.MonkeyPatch, swap: Callable[[], None]) -> None:
    real_scan = batch_source.scan_item

    def scan_then_swap(folder: Path, **options: Any) -> Any:
        scan = real_scan(folder, **options)
        swap()
        return scan
    monkeypatch.setattr(batch_source, "scan_item", scan_then_swap)


def ingest_swapped(tmp_path: Path, services: Services, monkeypatch: pytest.MonkeyPatch,
                   swap: Callable[[Path], None], which: str = "scan/page-02.txt"):
    batch = tmp_path / "batch"
    item = write_item(batch, "letter")
    (item_id,) = [i.item_id for i in submit_batch(batch, services).items]
    swap_after_scan(monkeypatch, lambda: swap(item / which))
    return ingest_item(item_id, services)


def assert_nothing_of_it_stored(services: Services, memory: MemoryObjectStore) -> None:
    assert services.catalog.latest_version(PACKAGE) is None
    assert not any(SECRET in data for data in memory.objects.values())
    assert memory.objects == {}


@pytest.mark.parametrize(("swap_name", "code"), [
    ("link", "SYMLINK_REFUSED"),
    ("fifo", "FILE_TYPE_REFUSED"),
    ("other_bytes", "FILE_CHANGED"),
    ("grown", "FILE_CHANGED"),
    ("rewritten_in_place_mtime_put_back", "FILE_CHANGED"),
])
def test_payload_swapped_after_the_scan_is_refused_and_nothing_is_stored(
        tmp_path: Path, services: Services, memory: MemoryObjectStore, secret: Path,
        monkeypatch: pytest.MonkeyPatch, swap_name: str, code: str) -> None:
    swap = {"link": swap_for_link(secret), "fifo": swap_for_fifo,
            "other_bytes": swap_for_other_bytes, "grown": grow,
            "rewritten_in_place_mtime_put_back": rewrite_in_place_and_put_the_mtime_back}[swap_name]

    result = ingest_swapped(tmp_path, services, monkeypatch, swap)

    assert (result.outcome, result.status) == ("done", ItemStatus.REJECTED)
    assert [(f.code, f.path) for f in result.findings] == [(code, "scan/page-02.txt")]
    assert_nothing_of_it_stored(services, memory)


def test_payload_folder_swapped_for_a_link_is_refused(
        tmp_path: Path, services: Services, memory: MemoryObjectStore, secret: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    os.rename(secret, secret.with_name("page-02.txt"))
    result = ingest_swapped(tmp_path, services, monkeypatch, _swap_tree(secret.parent), which="scan")

    assert result.status is ItemStatus.REJECTED
    assert ("SYMLINK_REFUSED", "scan") in [(f.code, f.path) for f in result.findings]
    assert_nothing_of_it_stored(services, memory)


def test_item_folder_swapped_for_a_link_is_refused(
        tmp_path: Path, services: Services, memory: MemoryObjectStore, secret: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    elsewhere = tmp_path / "elsewhere-item"
    write_item(elsewhere, "letter")
    batch = tmp_path / "batch"
    item = write_item(batch, "letter")
    (item_id,) = [i.item_id for i in submit_batch(batch, services).items]
    _swap_tree(elsewhere / "letter")(item)  # before the worker even scans it

    result = ingest_item(item_id, services)

    assert result.status is ItemStatus.REJECTED
    assert "SYMLINK_REFUSED" in [f.code for f in result.findings]
    assert memory.objects == {}


def test_identical_resubmission_swapped_for_a_link_is_refused(
        tmp_path: Path, services: Services, memory: MemoryObjectStore,
        monkeypatch: pytest.MonkeyPatch) -> None:
    batch = tmp_path / "batch"
    item = write_item(batch, "letter")
    (first,) = submit_batch(batch, services).items
    assert ingest_item(first.item_id, services).status is ItemStatus.STORED
    # A link to a file with the same bytes: "unchanged" would still be a lie about what was read.
    twin = tmp_path / "twin.txt"
    twin.write_bytes((item / "scan/page-02.txt").read_bytes())
    (again,) = submit_batch(batch, services).items
    swap_after_scan(monkeypatch, lambda: swap_for_link(twin)(item / "scan/page-02.txt"))

    result = ingest_item(again.item_id, services)

    assert result.status is ItemStatus.REJECTED
    assert [(f.code, f.path) for f in result.findings] == [("SYMLINK_REFUSED", "scan/page-02.txt")]


def _swap_tree(target: Path) -> Callable[[Path], None]:
    def swap(path: Path) -> None:
        aside = path.with_name(path.name + ".old")
        os.rename(path, aside)
        os.symlink(target, path)
    return swap


@pytest.mark.parametrize(("swap_name", "code"), [("link", "SYMLINK_REFUSED"),
                                                  ("fifo", "FILE_TYPE_REFUSED")])
def test_metadata_swapped_after_the_listing_is_refused(
        tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch,
        swap_name: str, code: str) -> None:
    item = write_item(tmp_path / "batch", "letter")
    secret.write_text(json.dumps(record()), encoding="utf-8")
    swap = swap_for_link(secret) if swap_name == "link" else swap_for_fifo
    swap_when_listed(monkeypatch, "metadata.json", swap)

    scan = scan_item(item)

    assert scan.metadata is None
    assert [(f.code, f.path) for f in scan.findings] == [(code, "metadata.json")]


@pytest.mark.parametrize(("swap_name", "code"), [("link", "SYMLINK_REFUSED"),
                                                  ("fifo", "FILE_TYPE_REFUSED")])
def test_batch_json_swapped_after_the_listing_is_refused(
        tmp_path: Path, secret: Path, monkeypatch: pytest.MonkeyPatch,
        swap_name: str, code: str) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    (batch / "batch.json").write_text(json.dumps({"submitter": "A. Archivist"}), encoding="utf-8")
    secret.write_text(json.dumps({"submitter": "someone else"}), encoding="utf-8")
    swap = swap_for_link(secret) if swap_name == "link" else swap_for_fifo
    swap_when_listed(monkeypatch, "batch.json", swap)

    layout = read_batch(batch)

    assert layout.fields == {}
    assert [(f.code, f.path) for f in layout.findings] == [(code, "batch.json")]


def swap_when_listed(monkeypatch: pytest.MonkeyPatch, name: str,
                     swap: Callable[[Path], None]) -> None:
    """Swap the named file right after the listing has said what it is."""
    real_kind = batch_module._kind

    def kind_then_swap(entry: os.DirEntry[str]) -> str:
        kind = real_kind(entry)
        if entry.name == name:
            swap(Path(entry.path))
        return kind
    monkeypatch.setattr(batch_module, "_kind", kind_then_swap)
