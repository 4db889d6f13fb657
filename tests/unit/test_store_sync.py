"""Durability in batches: ``ObjectStore.sync(prefix)`` before the catalog relies on objects.

A power cut cannot be staged in a unit test, so what is checked is what a cut
would find: which files and folders were fsynced, and when. The filesystem
store's fsyncs are counted by wrapping ``os.fsync`` (each call is mapped to the
path it flushed through ``/proc/self/fd``); everything else runs for real on
filesystem stores and a SQLite catalog.
"""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.anchoring import anchor_audit_head
from ingest.commit_records import COMMIT_PREFIX, commit_record_key
from ingest.errors import PackageNotFound, StorageUnavailable
from ingest.models import ItemStatus
from ingest.pipeline import ingest_item
from ingest.ports import ObjectInfo, ObjectStore, ObjectWriter
from ingest.rebuild import rebuild_catalog
from ingest.repair import repair_version
from ingest.submission import submit_batch
from ingest.verification import verify_bag
from storage.filesystem import FilesystemObjectStore
from storage.filesystem_paths import STAGING
from tests.contract_object_store import put, read
from tests.unit.test_replication import (
    PACKAGE,
    Archive,
    make_services,
    open_archive,
    record,
    write_item,
)
from workers.inprocess import run_items

pytestmark = pytest.mark.skipif(not Path("/proc/self/fd").is_dir(),
                                reason="maps file descriptors to paths through /proc")

PREFIX = f"{PACKAGE}/v1/"


class Fsyncs:
    """Every ``os.fsync`` from now on, as the path it flushed (thread-safe)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[Path] = []
        self.failing_under: Path | None = None
        self._lock = threading.Lock()
        self._real = os.fsync
        monkeypatch.setattr(os, "fsync", self._fsync)

    def _fsync(self, fd: int) -> None:
        path = Path(os.readlink(f"/proc/self/fd/{fd}"))
        if self.failing_under is not None and self.failing_under in [path, *path.parents]:
            raise OSError(errno.EIO, "Input/output error")
        self._real(fd)
        with self._lock:
            self.paths.append(path)

    def files(self) -> list[Path]:
        return sorted(p for p in self.paths if not p.is_dir())

    def folders(self) -> list[Path]:
        return sorted(p for p in self.paths if p.is_dir())

    def clear(self) -> None:
        with self._lock:
            self.paths.clear()


@pytest.fixture
def fsyncs(monkeypatch: pytest.MonkeyPatch) -> Fsyncs:
    return Fsyncs(monkeypatch)


@pytest.fixture
def store(tmp_path: Path) -> FilesystemObjectStore:
    return FilesystemObjectStore(tmp_path / "objects")


def write_bag(store: ObjectStore, prefix: str, files: int = 20) -> list[str]:
    keys = [f"{prefix}data/pages/page-{n:02d}.bin" for n in range(files)]
    keys += [prefix + "bagit.txt", prefix + "metadata/record.json"]
    for key in keys:
        put(store, key, key.encode() * 300)
    return keys


# --------------------------------------------------------------------------- the store


def test_a_new_object_is_fsynced_by_the_sync_of_its_prefix_not_at_commit(
        store: FilesystemObjectStore, fsyncs: Fsyncs) -> None:
    keys = write_bag(store, "p/v1/")
    assert fsyncs.paths == []                # nothing flushed one object at a time
    assert store.unsynced() == sorted(keys)
    assert [read(store, key) for key in keys] == [key.encode() * 300 for key in keys]

    store.sync("p/v1/")

    root = store.root
    assert fsyncs.files() == sorted(root / key for key in keys)
    # each folder between the objects and the root, once
    assert fsyncs.folders() == sorted([root, root / "p", root / "p/v1", root / "p/v1/data",
                                       root / "p/v1/data/pages", root / "p/v1/metadata"])
    assert store.unsynced() == []
    fsyncs.clear()
    store.sync("p/v1/")                      # nothing left to do
    assert fsyncs.paths == []


def test_objects_written_by_two_threads_are_synced_each_by_its_own_prefix(
        store: FilesystemObjectStore, fsyncs: Fsyncs) -> None:
    written: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def write(prefix: str) -> None:
        start.wait()
        written[prefix] = write_bag(store, prefix)

    threads = [threading.Thread(target=write, args=(p,)) for p in ("a/v1/", "b/v1/")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    store.sync("a/v1/")
    assert fsyncs.files() == sorted(store.root / key for key in written["a/v1/"])
    assert store.unsynced() == sorted(written["b/v1/"])
    fsyncs.clear()
    store.sync("b/v1/")
    assert fsyncs.files() == sorted(store.root / key for key in written["b/v1/"])
    assert store.unsynced() == []


def test_two_threads_writing_and_syncing_at_once_fsync_every_file_exactly_once(
        store: FilesystemObjectStore, fsyncs: Fsyncs) -> None:
    written: dict[str, list[str]] = {}
    start = threading.Barrier(2)

    def ingest(prefix: str) -> None:
        start.wait()
        written[prefix] = write_bag(store, prefix, files=40)
        store.sync(prefix)

    threads = [threading.Thread(target=ingest, args=(p,)) for p in ("a/v1/", "b/v1/")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    every = written["a/v1/"] + written["b/v1/"]
    assert fsyncs.files() == sorted(store.root / key for key in every)
    assert store.unsynced() == []


def test_an_existing_object_is_replaced_only_by_bytes_already_on_disk(
        store: FilesystemObjectStore, fsyncs: Fsyncs) -> None:
    put(store, "p/v1/bagit.txt", b"old bytes")
    store.sync("p/v1/")
    fsyncs.clear()

    put(store, "p/v1/bagit.txt", b"new bytes")

    # fsynced at commit, while still in the staging folder: a power cut after
    # the rename finds the new bytes whole, never an empty file
    [flushed] = fsyncs.paths
    assert flushed.parent == store.root / STAGING
    assert read(store, "p/v1/bagit.txt") == b"new bytes"
    fsyncs.clear()
    store.sync("p/v1/")
    assert fsyncs.files() == []              # only the folder entries were left to flush
    assert store.root / "p/v1" in fsyncs.folders()


def test_a_sync_that_failed_keeps_failing_until_the_objects_are_written_again(
        store: FilesystemObjectStore, fsyncs: Fsyncs) -> None:
    keys = write_bag(store, "p/v1/", files=2)
    put(store, "q/v1/bagit.txt", b"elsewhere")
    fsyncs.failing_under = store.root / "p"

    with pytest.raises(StorageUnavailable, match="Input/output error"):
        store.sync("p/v1/")
    fsyncs.failing_under = None
    # The kernel may have dropped the dirty pages with the error: a second
    # fsync would succeed and prove nothing.
    with pytest.raises(StorageUnavailable, match="write them again"):
        store.sync("p/v1/")
    store.sync("q/v1/")                      # another prefix is not held up

    for key in keys:
        put(store, key, b"written again")
    store.sync("p/v1/")
    assert store.unsynced() == []


def test_one_failing_fsync_still_lets_every_other_file_of_the_sync_be_flushed(
        store: FilesystemObjectStore, fsyncs: Fsyncs) -> None:
    # The files of a sync are shared among a few threads, each taking the next
    # file: one that fails must not leave the rest of its share unflushed.
    keys = write_bag(store, "p/v1/", files=30)
    fsyncs.failing_under = store.root / "p" / "v1" / "data" / "pages" / "page-00.bin"
    with pytest.raises(StorageUnavailable, match="Input/output error"):
        store.sync("p/v1/")
    flushed = {path.name for path in fsyncs.files()}
    assert flushed == {store.root.joinpath(key).name for key in keys} - {"page-00.bin"}


def test_a_deleted_object_is_no_longer_pending(store: FilesystemObjectStore,
                                                fsyncs: Fsyncs) -> None:
    put(store, "p/v1/a.txt", b"a")
    put(store, "p/v1/b.txt", b"b")
    store.delete("p/v1/a.txt")
    assert store.unsynced() == ["p/v1/b.txt"]
    fsyncs.clear()
    store.sync("p/v1/")
    assert fsyncs.files() == [store.root / "p/v1/b.txt"]


# --------------------------------------------------------------------------- the pipeline


class RecordingStore:
    """A real store that notes every object write, sync and stat in a shared log."""

    def __init__(self, inner: FilesystemObjectStore, log: list[tuple[Any, ...]]) -> None:
        self.inner = inner
        self.location = inner.location
        self.log = log

    def writer(self, key: str) -> ObjectWriter:
        self.log.append(("write", self.location, key))
        return self.inner.writer(key)

    def put_bytes(self, key: str, data: bytes, sha256: str) -> ObjectInfo:
        self.log.append(("write", self.location, key))
        return self.inner.put_bytes(key, data, sha256)

    def sync(self, prefix: str) -> None:
        self.log.append(("sync", self.location, prefix))
        self.inner.sync(prefix)

    def stat(self, key: str) -> ObjectInfo:
        self.log.append(("stat", self.location, key))
        return self.inner.stat(key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


class RecordingCatalog:
    """A real catalog that notes, in the same log, when versions are committed."""

    def __init__(self, inner: Any, log: list[tuple[Any, ...]]) -> None:
        self.inner = inner
        self.log = log

    def commit_version(self, version: Any, *args: Any, **kwargs: Any) -> Any:
        self.log.append(("commit_version", version.package_id, version.number))
        return self.inner.commit_version(version, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Any, list[tuple[Any, ...]]]]:
    log: list[tuple[Any, ...]] = []
    primary = RecordingStore(FilesystemObjectStore(tmp_path / "primary"), log)
    replica = RecordingStore(FilesystemObjectStore(tmp_path / "replica"), log)
    services = make_services(tmp_path, store=primary, replicas=(replica,))  # type: ignore[arg-type]
    services = dataclasses.replace(services, catalog=RecordingCatalog(services.catalog, log))
    yield services, log
    services.catalog.engine.dispose()


def test_every_location_is_synced_for_the_version_before_its_read_back_and_commit(
        tmp_path: Path, recorded: tuple[Any, list[tuple[Any, ...]]]) -> None:
    services, log = recorded
    write_item(tmp_path / "batch", "telegram")
    [item] = submit_batch(tmp_path / "batch", services).items

    assert ingest_item(item.item_id, services).status == ItemStatus.STORED

    committed = log.index(("commit_version", PACKAGE, 1))
    for store in services.locations:
        last_write = max(i for i, entry in enumerate(log)
                         if entry[:2] == ("write", store.location) and entry[2].startswith(PREFIX))
        synced = log.index(("sync", store.location, PREFIX))
        read_back = min(i for i, entry in enumerate(log)
                        if entry[:2] == ("stat", store.location) and i > last_write)
        assert last_write < synced < read_back < committed
        # the commit record follows the commit, durable like the version
        record = commit_record_key(PACKAGE, 1)
        assert committed < log.index(("write", store.location, record)) \
            < log.index(("sync", store.location, record))
        assert store.inner.unsynced() == []


def test_a_sync_that_fails_leaves_the_item_to_retry_with_nothing_committed(
        tmp_path: Path, recorded: tuple[Any, list[tuple[Any, ...]]], fsyncs: Fsyncs) -> None:
    services, _ = recorded
    replica = services.replicas[0]
    write_item(tmp_path / "batch", "telegram")
    [item] = submit_batch(tmp_path / "batch", services).items
    fsyncs.failing_under = replica.inner.root          # the replica's disk fails to flush

    result = ingest_item(item.item_id, services)

    assert result.outcome == "retry"
    assert "Input/output error" in result.reason and replica.location in result.reason
    assert services.catalog.get_item(item.item_id).status == ItemStatus.ACCEPTED
    with pytest.raises(PackageNotFound):
        services.catalog.get_version(PACKAGE)

    fsyncs.failing_under = None                        # the disk recovers
    assert ingest_item(item.item_id, services).status == ItemStatus.STORED
    version = services.catalog.get_version(PACKAGE, 1)
    for store in services.locations:
        assert verify_bag(store, PREFIX, expected=version.files) == []
        assert store.inner.unsynced() == []


def test_the_embedded_runner_syncs_the_commit_records_of_many_items_at_once_before_it_returns(
        tmp_path: Path, recorded: tuple[Any, list[tuple[Any, ...]]], fsyncs: Fsyncs) -> None:
    # Each record synced on its own held up the next item for its fsyncs; the
    # runner syncs those of the items finished so far together, and all of them
    # before it returns.
    services, log = recorded
    for name in ("telegram", "letter", "minutes"):
        write_item(tmp_path / "batch", name, metadata=record(f"record-{name}"))
    items = submit_batch(tmp_path / "batch", services).items

    results = run_items([i.item_id for i in items], services, concurrency=1, backoff=0)

    assert [r.status for r in results] == [ItemStatus.STORED] * 3
    for store in services.locations:
        records = [entry[2] for entry in log
                   if entry[:2] == ("write", store.location) and entry[2].startswith(COMMIT_PREFIX)]
        assert len(records) == 3
        record_syncs = [entry for entry in log if entry[:2] == ("sync", store.location)
                        and entry[2].startswith(COMMIT_PREFIX)]
        assert record_syncs and all(entry[2] == COMMIT_PREFIX for entry in record_syncs)
        assert store.inner.unsynced() == []                # every record durable on return
        for key in records:
            assert store.inner.root / key in fsyncs.files()


def test_the_records_of_items_finished_are_synced_when_the_runner_is_stopped(
        tmp_path: Path, recorded: tuple[Any, list[tuple[Any, ...]]]) -> None:
    services, _ = recorded
    write_item(tmp_path / "batch", "telegram")
    write_item(tmp_path / "batch", "letter", metadata=record("record-letter"))
    items = submit_batch(tmp_path / "batch", services).items
    finished: list[Any] = []

    def stop_after_first(result: Any) -> None:
        finished.append(result)
        raise KeyboardInterrupt  # Ctrl-C while the runner reports the first item

    with pytest.raises(KeyboardInterrupt):
        run_items([i.item_id for i in items], services, concurrency=1, backoff=0,
                  on_result=stop_after_first)

    assert finished and finished[0].status == ItemStatus.STORED
    for store in services.locations:
        assert [key for key in store.inner.unsynced() if key.startswith(COMMIT_PREFIX)] == []


def test_records_a_location_cannot_sync_leave_the_items_stored_and_say_so_in_the_log(
        tmp_path: Path, recorded: tuple[Any, list[tuple[Any, ...]]], fsyncs: Fsyncs,
        caplog: pytest.LogCaptureFixture) -> None:
    services, _ = recorded
    replica = services.replicas[0]
    write_item(tmp_path / "batch", "telegram")
    items = submit_batch(tmp_path / "batch", services).items
    fsyncs.failing_under = replica.inner.root / COMMIT_PREFIX  # only the records' folder fails

    results = run_items([i.item_id for i in items], services, concurrency=1, backoff=0)

    assert [r.status for r in results] == [ItemStatus.STORED]  # the version is committed
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(replica.location in m and "fixity reconcile" in m for m in warned), warned


# --------------------------------------------------------------------------- other writers


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path / "archive")


def unsynced(archive: Archive) -> list[str]:
    return [key for store in archive.services.locations
            for key in store.unsynced()]  # type: ignore[attr-defined]


def test_an_audit_anchor_is_synced_before_the_catalog_notes_it(archive: Archive) -> None:
    archive.ingest()
    assert anchor_audit_head(archive.services) is not None
    assert unsynced(archive) == []


def test_a_repaired_copy_is_synced_before_its_state_is_recorded(archive: Archive) -> None:
    archive.ingest()
    damaged = archive.bag(archive.replica) / "data/transcription/telegram-en.txt"
    damaged.write_bytes(b"rot")

    assert repair_version(archive.services, PACKAGE, 1).status == "repaired"
    assert unsynced(archive) == []


def test_the_record_of_a_lost_log_is_synced_before_the_rebuilt_catalog_notes_it(
        archive: Archive, tmp_path: Path) -> None:
    archive.ingest()
    anchor_audit_head(archive.services)
    fresh = make_services(tmp_path / "fresh", replicas=archive.services.replicas,
                          store=archive.primary)
    assert rebuild_catalog(fresh).rebuild_id is not None
    assert unsynced(archive) == []
    fresh.catalog.engine.dispose()  # type: ignore[attr-defined]


def test_a_forked_worker_process_syncs_after_its_parent_did(tmp_path: Path) -> None:
    """The fsync threads are one pool per process: a prefork worker forked from a
    process that had synced (and so had the pool's threads, which a fork does not
    copy) must make its own, not wait for threads that are not there."""
    import os
    import signal

    from storage.filesystem import FilesystemObjectStore

    store = FilesystemObjectStore(tmp_path / "store")
    for n in range(4):
        store.put_bytes(f"p/v1/f{n}", b"x", hashlib.sha256(b"x").hexdigest())
    store.sync("p/v1/")
    pid = os.fork()
    if pid == 0:  # the child: sync again, within ten seconds or be killed
        signal.alarm(10)
        for n in range(4):
            store.put_bytes(f"p/v2/f{n}", b"y", hashlib.sha256(b"y").hexdigest())
        store.sync("p/v2/")
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
