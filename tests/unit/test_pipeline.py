"""The ingest use cases, driven in-process: what staff and readers see when things go wrong.

Every test runs ``submit_batch`` and ``ingest_item`` against a real SQLite
catalog and an in-memory (or filesystem) object store. Faults are injected by
wrapping the store; nothing in the pipeline is faked. The assertions are what
a person would notice: which versions a reader can see, the item's status and
finding codes, the objects in the store, the audit events.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import pytest

import ingest.batch_source as batch_source
from ingest.clock import FixedClock
from ingest.errors import PackageBusy, PackageNotFound, StorageUnavailable
from ingest.fixity_audit import verify_version
from ingest.models import EventType, ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.ports import ObjectInfo, ObjectStore, ObjectWriter
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.submission import submit_batch
from storage.catalog import SqlCatalog
from storage.filesystem import FilesystemObjectStore
from tests.fakes import MemoryObjectStore
from tests.sqlite_services import AT, sqlite_services
from workers.inprocess import ingest_with_retries, run_items

IDENTIFIER = "letter-1952-03-sample"
PACKAGE = package_id_for(IDENTIFIER)

PAYLOAD = {
    "scan/page-01.txt": b"Dear Sir,\nwe acknowledge receipt of your letter.\n",
    "scan/page-02.txt": b"Yours faithfully,\nA. N. Example\n",
}


def record(identifier: str = IDENTIFIER, title: str = "Sample letter") -> dict[str, Any]:
    return {
        "identifier": identifier,
        "title": title,
        "date": "1952-03",
        "type": "letter",
        "language": "en-GB",
        "rights": {"statement": "May be copied freely.", "holder": "Strongroom contributors"},
    }


def write_item(batch: Path, name: str, payload: dict[str, bytes] = PAYLOAD,
               metadata: dict[str, Any] | None = None) -> Path:
    """An item folder: metadata.json plus ``payload`` (paths relative to the item)."""
    item = batch / name
    item.mkdir(parents=True)
    (item / "metadata.json").write_text(json.dumps(metadata or record()), encoding="utf-8")
    for path, data in payload.items():
        target = item / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return item


class FaultyStore:
    """Passes every call to ``inner``; counts object writes and can break one of them.

    An object write is one ``writer()`` or ``put_bytes()`` call. ``on_write(n, key)``
    runs before the n-th (1-based) write and may raise, standing for a crash or
    an outage at that moment, or may run other work there (a duplicate task).
    """

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.location = inner.location
        self.writes = 0
        self.on_write: Callable[[int, str], None] | None = None

    def _before_write(self, key: str) -> None:
        self.writes += 1
        if self.on_write is not None:
            self.on_write(self.writes, key)

    def writer(self, key: str) -> ObjectWriter:
        self._before_write(key)
        return self.inner.writer(key)

    def put_bytes(self, key: str, data: bytes, sha256: str) -> ObjectInfo:
        self._before_write(key)
        return self.inner.put_bytes(key, data, sha256)

    def sync(self, prefix: str) -> None:
        self.inner.sync(prefix)

    def open(self, key: str) -> BinaryIO:
        return self.inner.open(key)

    def stat(self, key: str) -> ObjectInfo:
        return self.inner.stat(key)

    def list(self, prefix: str) -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def delete(self, key: str) -> None:
        self.inner.delete(key)


def fail_at(n: int, error: Exception) -> Callable[[int, str], None]:
    def hook(count: int, key: str) -> None:
        if count == n:
            raise error
    return hook


@pytest.fixture
def memory() -> MemoryObjectStore:
    return MemoryObjectStore()


@pytest.fixture
def store(memory: MemoryObjectStore) -> FaultyStore:
    return FaultyStore(memory)


@pytest.fixture
def services(tmp_path: Path, store: FaultyStore) -> Iterator[Services]:
    with sqlite_services(tmp_path, store) as services:
        yield services


def submit(services: Services, batch: Path) -> list[str]:
    return [item.item_id for item in submit_batch(batch, services).items]


def submit_one(services: Services, batch: Path) -> str:
    (item_id,) = submit(services, batch)
    return item_id


def events_of(services: Services, event_type: EventType) -> list[Any]:
    return [e for e in services.catalog.events() if e.event_type == event_type.value]


def stored_objects(memory: MemoryObjectStore) -> dict[str, bytes]:
    return dict(memory.objects)


def assert_nothing_visible(services: Services) -> None:
    assert services.catalog.latest_version(PACKAGE) is None
    assert services.catalog.list_packages() == []
    with pytest.raises(PackageNotFound):
        services.catalog.resolve_package(IDENTIFIER)


def assert_sound(services: Services, number: int) -> None:
    """The version is committed and its stored bag passes a deep fixity check."""
    check = verify_version(services, PACKAGE, number)
    assert check.findings == (), [f.to_dict() for f in check.findings]


# --------------------------------------------------------------------------- crash and retry

# Two payload files and seven tag files: nine object writes per version.
WRITES_PER_VERSION = len(PAYLOAD) + 7


@pytest.mark.parametrize("broken_write", range(1, WRITES_PER_VERSION + 1))
def test_store_outage_before_commit_leaves_nothing_visible_and_a_retry_completes_it(
        tmp_path: Path, services: Services, store: FaultyStore, broken_write: int) -> None:
    write_item(tmp_path / "batch", "letter")
    item_id = submit_one(services, tmp_path / "batch")
    store.on_write = fail_at(broken_write, StorageUnavailable("connection reset"))

    result = ingest_item(item_id, services)

    assert result.outcome == "retry"
    assert "StorageUnavailable" in result.reason
    assert services.catalog.get_item(item_id).status is ItemStatus.ACCEPTED
    assert_nothing_visible(services)

    store.on_write = None
    again = ingest_item(item_id, services)

    assert (again.outcome, again.status) == ("done", ItemStatus.STORED)
    assert [v.number for v in services.catalog.list_versions(PACKAGE)] == [1]
    assert len(events_of(services, EventType.INGESTION)) == 1
    assert_sound(services, 1)


def test_each_retry_of_an_item_is_logged_once_with_its_attempt_and_wait(
        tmp_path: Path, services: Services, store: FaultyStore,
        caplog: pytest.LogCaptureFixture) -> None:
    write_item(tmp_path / "batch", "letter")
    item_id = submit_one(services, tmp_path / "batch")
    store.on_write = fail_at(1, StorageUnavailable("connection reset"))
    waits: list[float] = []

    def sleep_then_mend(seconds: float) -> None:
        waits.append(seconds)
        store.on_write = None

    with caplog.at_level(logging.DEBUG):
        result = ingest_with_retries(item_id, services, max_attempts=5, backoff=1.5,
                                     sleep=sleep_then_mend)

    assert result.outcome == "done" and waits == [1.5]
    about_retry = [r.getMessage() for r in caplog.records
                   if "again" in r.getMessage() or "retry" in r.getMessage().lower()]
    assert about_retry == [f"item {item_id}: attempt 1 of 5 failed, tried again in 1.5 s: "
                           "StorageUnavailable: connection reset"]


def test_final_attempt_fails_the_item_with_storage_unavailable_and_a_resubmission_stores_it(
        tmp_path: Path, services: Services, store: FaultyStore) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    item_id = submit_one(services, batch)
    store.on_write = fail_at(3, StorageUnavailable("throttled"))

    result = ingest_item(item_id, services, final_attempt=True)

    assert (result.outcome, result.status) == ("failed", ItemStatus.FAILED)
    assert [f.code for f in result.findings] == ["STORAGE_UNAVAILABLE"]
    item = services.catalog.get_item(item_id)
    assert item.status is ItemStatus.FAILED
    assert [f.code for f in item.findings] == ["STORAGE_UNAVAILABLE"]
    assert_nothing_visible(services)

    store.on_write = None
    resubmitted = submit_one(services, batch)
    later = ingest_item(resubmitted, services)

    assert (later.outcome, later.status) == ("done", ItemStatus.STORED)
    assert services.catalog.get_item(item_id).status is ItemStatus.FAILED  # history kept
    assert [v.number for v in services.catalog.list_versions(PACKAGE)] == [1]
    assert_sound(services, 1)


def test_objects_of_a_failed_attempt_do_not_linger_in_the_version_stored_later(
        tmp_path: Path, services: Services, store: FaultyStore, memory: MemoryObjectStore) -> None:
    """Staff fix a failed item (drop a file) and resubmit: the new bag holds only what they sent."""
    batch = tmp_path / "batch"
    item = write_item(batch, "letter")
    item_id = submit_one(services, batch)
    store.on_write = fail_at(len(PAYLOAD) + 1, StorageUnavailable("disk full"))  # payload written
    assert ingest_item(item_id, services, final_attempt=True).outcome == "failed"

    store.on_write = None
    (item / "scan" / "page-02.txt").unlink()
    result = ingest_item(submit_one(services, batch), services)

    assert result.status is ItemStatus.STORED
    version = services.catalog.get_version(PACKAGE, 1)
    assert [f.path for f in version.payload] == ["data/scan/page-01.txt"]
    assert sorted(k for k in memory.objects if k.startswith(f"{PACKAGE}/v1/")) == sorted(
        f"{PACKAGE}/v1/{f.path}" for f in version.files)
    assert_sound(services, 1)


# --------------------------------------------------------------------------- duplicates


def test_a_second_call_on_a_stored_item_changes_nothing(
        tmp_path: Path, services: Services, store: FaultyStore, memory: MemoryObjectStore) -> None:
    write_item(tmp_path / "batch", "letter")
    item_id = submit_one(services, tmp_path / "batch")
    assert ingest_item(item_id, services).status is ItemStatus.STORED
    before, writes = stored_objects(memory), store.writes
    events = len(list(services.catalog.events()))

    again = ingest_item(item_id, services)

    assert (again.outcome, again.status) == ("done", ItemStatus.STORED)
    assert [v.number for v in services.catalog.list_versions(PACKAGE)] == [1]
    assert len(events_of(services, EventType.INGESTION)) == 1
    assert len(list(services.catalog.events())) == events
    assert (stored_objects(memory), store.writes) == (before, writes)


def test_a_duplicate_task_arriving_mid_write_commits_one_version(
        tmp_path: Path, services: Services, store: FaultyStore) -> None:
    """A broker redelivers the task while the first delivery is still uploading:
    the first holds the item's lease, so the duplicate leaves it alone."""
    write_item(tmp_path / "batch", "letter")
    item_id = submit_one(services, tmp_path / "batch")
    duplicate: list[Any] = []

    def redeliver(count: int, key: str) -> None:
        if count == 2 and not duplicate:
            duplicate.append(ingest_item(item_id, services))
    store.on_write = redeliver

    first = ingest_item(item_id, services)

    assert (duplicate[0].outcome, duplicate[0].status) == ("held", ItemStatus.ACCEPTED)
    assert (first.outcome, first.status) == ("done", ItemStatus.STORED)
    assert services.catalog.get_item(item_id).status is ItemStatus.STORED
    assert [v.number for v in services.catalog.list_versions(PACKAGE)] == [1]
    assert len(events_of(services, EventType.INGESTION)) == 1
    assert_sound(services, 1)


def _second_while_first_writes(tmp_path: Path, services: Services, store: FaultyStore
                               ) -> tuple[Any, Any, str]:
    """Submit batch-1 and batch-2 (one item each), ingest batch-1's item, and batch-2's
    while the first writes its first object: (the first's result, the second's
    result then, the second's item id)."""
    (first_id,) = submit(services, tmp_path / "batch-1")
    (second_id,) = submit(services, tmp_path / "batch-2")
    while_first_writes: list[Any] = []

    def second_worker(count: int, key: str) -> None:
        if count == 1:
            while_first_writes.append(ingest_item(second_id, services))
    store.on_write = second_worker
    first = ingest_item(first_id, services)
    store.on_write = None
    (busy,) = while_first_writes
    return first, busy, second_id


@pytest.mark.parametrize("same_payload", [True, False], ids=["identical", "changed"])
def test_two_items_with_one_identifier_in_two_batches_take_turns(
        tmp_path: Path, services: Services, store: FaultyStore, same_payload: bool) -> None:
    """Two batches sent at once whose items give one identifier: the second waits
    for the first's version (within one batch, both are refused instead:
    tests/unit/test_batch_identifiers.py)."""
    write_item(tmp_path / "batch-1", "a-first")
    second_payload = PAYLOAD if same_payload else {**PAYLOAD, "scan/page-03.txt": b"P.S.\n"}
    write_item(tmp_path / "batch-2", "b-second", second_payload)
    first, busy, second_id = _second_while_first_writes(tmp_path, services, store)
    assert busy.outcome == "retry"
    assert PackageBusy.__name__ in busy.reason
    assert services.catalog.get_item(second_id).status is ItemStatus.ACCEPTED
    assert first.status is ItemStatus.STORED

    second = ingest_item(second_id, services)

    item = services.catalog.get_item(second_id)
    if same_payload:
        assert second.status is ItemStatus.UNCHANGED
        assert (item.status, item.version) == (ItemStatus.UNCHANGED, 1)
        assert [v.number for v in services.catalog.list_versions(PACKAGE)] == [1]
    else:
        assert second.status is ItemStatus.STORED
        assert (item.status, item.version) == (ItemStatus.STORED, 2)
        assert [v.number for v in services.catalog.list_versions(PACKAGE)] == [1, 2]
        assert_sound(services, 2)
    assert_sound(services, 1)


def test_look_alike_identifiers_in_two_batches_at_once_make_one_package_not_two(
        tmp_path: Path, services: Services, store: FaultyStore) -> None:
    """Each item found no stored twin before either committed, and each made a
    package of its own: two records reading alike (``LETTER-1952-03-SAMPLE`` and
    ``letter-1952-03-sample``). The second now waits for the first's version, then
    is refused by it."""
    write_item(tmp_path / "batch-1", "a-first")
    write_item(tmp_path / "batch-2", "b-second",
               metadata=record(identifier=IDENTIFIER.upper()))
    first, busy, second_id = _second_while_first_writes(tmp_path, services, store)
    assert (busy.outcome, first.status) == ("retry", ItemStatus.STORED)
    assert "reads like" in busy.reason
    second = ingest_item(second_id, services)
    assert second.status is ItemStatus.REJECTED
    assert [f.code for f in second.findings] == ["IDENTIFIER_READS_LIKE_ANOTHER"]
    assert [p.identifier for p in services.catalog.list_packages()] == [IDENTIFIER]
    assert_sound(services, 1)


def test_an_item_whose_package_stays_claimed_fails_naming_the_claim_not_the_storage(
        tmp_path: Path, services: Services, store: FaultyStore) -> None:
    """Before, the last attempt of an item kept waiting for another item's claim
    failed with STORAGE_UNAVAILABLE ("storage could not be reached"), though the
    storage was fine: a submit stopped by a signal had left the claim behind."""
    write_item(tmp_path / "batch-1", "a-first")
    write_item(tmp_path / "batch-2", "b-second", {**PAYLOAD, "scan/page-03.txt": b"P.S.\n"})
    (first_id,) = submit(services, tmp_path / "batch-1")
    (second_id,) = submit(services, tmp_path / "batch-2")
    last: list[Any] = []

    def second_worker(count: int, key: str) -> None:
        if count == 1:
            last.append(ingest_item(second_id, services, final_attempt=True))
    store.on_write = second_worker
    ingest_item(first_id, services)

    (failed,) = last
    assert failed.status is ItemStatus.FAILED
    [finding] = failed.findings
    assert finding.code == "PACKAGE_BUSY"
    assert "requeue --failed" in finding.message and "storage could not" not in finding.message


# --------------------------------------------------------------------------- resubmission


def test_identical_resubmission_is_unchanged_and_writes_no_object(
        tmp_path: Path, services: Services, store: FaultyStore, memory: MemoryObjectStore) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    assert ingest_item(submit_one(services, batch), services).status is ItemStatus.STORED
    before, writes = stored_objects(memory), store.writes

    result = ingest_item(submit_one(services, batch), services)

    assert (result.outcome, result.status) == ("done", ItemStatus.UNCHANGED)
    assert store.writes == writes
    assert stored_objects(memory) == before
    assert [v.number for v in services.catalog.list_versions(PACKAGE)] == [1]
    assert len(events_of(services, EventType.INGESTION)) == 1


@pytest.mark.parametrize("change", [
    pytest.param(b"Yours sincerely,\nA. N. Example\n", id="other-size"),
    pytest.param(b"Yours faithfully,\nA. N. Exampl3\n", id="same-size"),
])
def test_changed_payload_becomes_version_2_and_leaves_version_1_untouched(
        tmp_path: Path, services: Services, memory: MemoryObjectStore, change: bytes) -> None:
    batch = tmp_path / "batch"
    item = write_item(batch, "letter")
    assert ingest_item(submit_one(services, batch), services).status is ItemStatus.STORED
    v1_objects = {k: v for k, v in memory.objects.items() if k.startswith(f"{PACKAGE}/v1/")}
    v1_record = services.catalog.get_version(PACKAGE, 1)

    (item / "scan" / "page-02.txt").write_bytes(change)
    result = ingest_item(submit_one(services, batch), services)

    assert result.status is ItemStatus.STORED
    assert [v.number for v in services.catalog.list_versions(PACKAGE)] == [1, 2]
    assert {k: v for k, v in memory.objects.items() if k.startswith(f"{PACKAGE}/v1/")} == v1_objects
    assert services.catalog.get_version(PACKAGE, 1) == v1_record
    assert memory.objects[f"{PACKAGE}/v2/data/scan/page-02.txt"] == change
    assert_sound(services, 1)
    assert_sound(services, 2)


# --------------------------------------------------------------------------- reading the source


class CountingFile:
    """A real file object that counts the bytes read through it."""

    def __init__(self, raw: BinaryIO, tally: Counter[str], name: str) -> None:
        self._raw, self._tally, self._name = raw, tally, name

    def readinto(self, buffer: Any) -> int | None:
        count = self._raw.readinto(buffer)
        self._tally[self._name] += count or 0
        return count

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._tally[self._name] += len(data)
        return data

    def close(self) -> None:
        self._raw.close()

    def __enter__(self) -> CountingFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self._raw.close()


def test_each_payload_byte_is_read_from_the_source_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    services = Services(catalog=catalog, store=FilesystemObjectStore(tmp_path / "objects"),
                        clock=FixedClock(AT), schemas=SchemaSet.default())
    big = bytes(range(256)) * 12_000  # 3 MB: several read chunks
    payload = {**PAYLOAD, "scan/page-03.tif": big, "blank.txt": b""}
    item = write_item(tmp_path / "batch", "letter", payload)
    opened: Counter[str] = Counter()
    read: Counter[str] = Counter()

    real_open = batch_source.open_submitted

    @contextmanager
    def counting_open(base: Any, rel: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with real_open(base, rel, *args, **kwargs) as raw:
            name = (Path(base) / rel).relative_to(item).as_posix()
            opened[name] += 1
            yield CountingFile(raw, read, name)

    monkeypatch.setattr(batch_source, "open_submitted", counting_open)

    for expected in (ItemStatus.STORED, ItemStatus.UNCHANGED):
        opened.clear()
        read.clear()
        result = ingest_item(submit_one(services, tmp_path / "batch"), services)
        assert result.status is expected
        assert opened == Counter({path: 1 for path in payload})
        assert +read == +Counter({path: len(data) for path, data in payload.items()})
    catalog.engine.dispose()


@pytest.mark.parametrize("first_ingest", [True, False], ids=["new-package", "resubmission"])
def test_payload_file_gone_between_scan_and_read_is_rejected_and_leaves_nothing_behind(
        tmp_path: Path, services: Services, memory: MemoryObjectStore,
        monkeypatch: pytest.MonkeyPatch, first_ingest: bool) -> None:
    batch = tmp_path / "batch"
    item = write_item(batch, "letter")
    if not first_ingest:
        assert ingest_item(submit_one(services, batch), services).status is ItemStatus.STORED
    before = stored_objects(memory)
    vanishing = item / "scan" / "page-02.txt"
    real_scan = batch_source.scan_item

    def scan_then_lose_a_file(folder: Path, **options: Any) -> Any:
        scan = real_scan(folder, **options)
        vanishing.unlink()  # moved away by someone else after the listing
        return scan

    monkeypatch.setattr(batch_source, "scan_item", scan_then_lose_a_file)
    item_id = submit_one(services, batch)

    result = ingest_item(item_id, services)

    assert (result.outcome, result.status) == ("done", ItemStatus.REJECTED)
    assert [(f.code, f.path) for f in result.findings] == [("FILE_UNREADABLE", "scan/page-02.txt")]
    assert [f.code for f in services.catalog.get_item(item_id).findings] == ["FILE_UNREADABLE"]
    assert stored_objects(memory) == before
    if first_ingest:
        assert_nothing_visible(services)

    # No claim is left behind: the restored item goes in on the first try.
    monkeypatch.setattr(batch_source, "scan_item", real_scan)
    vanishing.write_bytes(b"Yours truly,\nA. N. Example\n")
    later = ingest_item(submit_one(services, batch), services)
    assert later.status is ItemStatus.STORED
    assert services.catalog.latest_version(PACKAGE).number == (1 if first_ingest else 2)


# --------------------------------------------------------------------------- our own defects


def test_unexpected_error_fails_only_its_item_and_the_rest_of_the_batch_goes_on(
        tmp_path: Path, services: Services, store: FaultyStore) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "broken", metadata=record("broken-record", "Broken"))
    write_item(batch, "letter")
    broken = package_id_for("broken-record")

    def defect(count: int, key: str) -> None:
        if key.startswith(broken):
            raise RuntimeError("a bug in the store adapter")
    store.on_write = defect

    results = run_items(submit(services, batch), services, concurrency=2, backoff=0)

    by_status = {r.status: r for r in results}
    assert set(by_status) == {ItemStatus.FAILED, ItemStatus.STORED}
    failed = by_status[ItemStatus.FAILED]
    assert failed.outcome == "failed"
    assert [f.code for f in failed.findings] == ["INGEST_FAILED"]
    assert "RuntimeError: a bug in the store adapter" in failed.findings[0].params["detail"]
    assert [f.code for f in services.catalog.get_item(failed.item_id).findings] == ["INGEST_FAILED"]
    assert [p.identifier for p in services.catalog.list_packages()] == [IDENTIFIER]
    assert_sound(services, 1)

    # Once the defect is gone, the same folder goes in.
    store.on_write = None
    shutil.rmtree(batch / "letter")
    retried = ingest_item(submit_one(services, batch), services)
    assert retried.status is ItemStatus.STORED
    assert verify_version(services, broken, 1).findings == ()


def test_a_name_at_the_255_byte_limit_can_be_fetched_back(services: Services, tmp_path: Path) -> None:
    from ingest.local_targets import fetch_to_folder

    long_name = "é" * 120 + "-scan.txt"  # 249 UTF-8 bytes: legal, close to the limit
    assert len(long_name.encode()) <= 255
    write_item(tmp_path / "batch", "item", payload={long_name: b"page one"})
    (item_id,) = submit(services, tmp_path / "batch")
    assert ingest_item(item_id, services).status is ItemStatus.STORED
    _version, findings = fetch_to_folder(services, package_id_for(IDENTIFIER), None, tmp_path / "out")
    assert findings == []
    assert (tmp_path / "out" / "data" / long_name).read_bytes() == b"page one"


# --------------------------------------------------------------------------- system files


SYSTEM_FILES = {".DS_Store": b"finder", "scan/Thumbs.db": b"explorer", "scan/._page-01.txt": b"AppleDouble"}


def test_system_files_are_skipped_with_a_warning_and_the_item_is_still_stored(
        tmp_path: Path, services: Services, memory: MemoryObjectStore) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter", {**PAYLOAD, **SYSTEM_FILES})
    (batch / ".DS_Store").write_bytes(b"finder, at the batch root")
    submitted = submit_batch(batch, services)
    assert [(f.code, f.path, f.severity) for f in submitted.batch.findings] == [
        ("SYSTEM_FILE_SKIPPED", ".DS_Store", "warning")]
    [accession] = events_of(services, EventType.ACCESSION)
    assert accession.outcome == "success"

    result = ingest_item(submitted.items[0].item_id, services)

    assert result.status is ItemStatus.STORED
    version = services.catalog.get_version(PACKAGE)
    assert [f.path for f in version.payload] == ["data/scan/page-01.txt", "data/scan/page-02.txt"]
    assert not any("Thumbs" in key or "DS_Store" in key or "._" in key for key in memory.objects)
    item = services.catalog.get_item(submitted.items[0].item_id)
    skipped = [".DS_Store", "scan/._page-01.txt", "scan/Thumbs.db"]
    assert sorted(f.path for f in item.findings if f.code == "SYSTEM_FILE_SKIPPED") == skipped
    [ingestion] = events_of(services, EventType.INGESTION)
    assert ingestion.outcome == "success"
    assert sorted(f["path"] for f in ingestion.detail["findings"]) == skipped
    assert {f["severity"] for f in ingestion.detail["findings"]} == {"warning"}
    assert_sound(services, 1)


def test_a_resubmission_that_differs_only_by_system_files_is_unchanged_and_keeps_the_warning(
        tmp_path: Path, services: Services) -> None:
    write_item(tmp_path / "first", "letter")
    assert ingest_item(submit_one(services, tmp_path / "first"), services).status is ItemStatus.STORED
    write_item(tmp_path / "again", "letter", {**PAYLOAD, ".DS_Store": b"finder"})
    item_id = submit_one(services, tmp_path / "again")
    assert ingest_item(item_id, services).status is ItemStatus.UNCHANGED
    assert [f.code for f in services.catalog.get_item(item_id).findings] == ["SYSTEM_FILE_SKIPPED"]


def test_a_warning_does_not_hide_an_error_and_both_are_kept(tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter", {**PAYLOAD, ".DS_Store": b"finder"}, metadata=record() | {"date": "21/06/1951"})
    result = ingest_item(submit_one(services, batch), services)
    assert result.status is ItemStatus.REJECTED
    assert sorted((f.code, f.severity) for f in result.findings) == [
        ("METADATA_INVALID", "error"), ("SYSTEM_FILE_SKIPPED", "warning")]


def test_with_no_patterns_every_file_is_payload(tmp_path: Path, services: Services) -> None:
    from dataclasses import replace

    batch = tmp_path / "batch"
    write_item(batch, "letter", {**PAYLOAD, ".DS_Store": b"finder"})
    everything = replace(services, skip_system_files=())
    assert ingest_item(submit_one(everything, batch), everything).status is ItemStatus.STORED
    assert "data/.DS_Store" in [f.path for f in services.catalog.get_version(PACKAGE).payload]


def test_an_object_an_earlier_attempt_left_under_the_claimed_prefix_is_not_in_the_bag(
        tmp_path: Path, services: Services, memory: MemoryObjectStore) -> None:
    """An attempt that crashed after writing a file the item no longer has left it
    under the version's prefix; the next attempt, reusing the claim, drops it
    before the commit, so the bag holds exactly its files."""
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    item_id = submit_one(services, batch)
    number = services.catalog.reserve_version(PACKAGE, IDENTIFIER, item_id)
    memory.objects[f"{PACKAGE}/v{number}/data/scan/page-99.txt"] = b"from a crashed attempt\n"

    assert ingest_item(item_id, services).status is ItemStatus.STORED

    assert f"{PACKAGE}/v1/data/scan/page-99.txt" not in memory.objects
    assert_sound(services, 1)


def test_a_commit_record_the_store_cannot_take_is_said_at_once_not_when_a_rebuild_misses_it(
        services: Services, store: FaultyStore, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    # Before: skipped without a word; the first to notice was the next verify, or a
    # rebuild that left the version out as uncommitted.
    def refuse_records(_: int, key: str) -> None:
        if key.startswith("_commits/"):
            raise StorageUnavailable("the store is down")
    store.on_write = refuse_records
    write_item(tmp_path / "batch", "letter")
    with caplog.at_level(logging.WARNING, logger="strongroom.ingest"):
        [item_id] = submit(services, tmp_path / "batch")
        result = ingest_item(item_id, services)
    assert result.status is ItemStatus.STORED  # committed all the same
    said = [r.getMessage() for r in caplog.records if "commit record" in r.getMessage()]
    assert said and "could not be written" in said[0] and store.location in said[0]


def test_an_item_given_up_on_is_a_warning_in_the_log_with_its_reason(
        tmp_path: Path, services: Services, store: FaultyStore,
        caplog: pytest.LogCaptureFixture) -> None:
    # Before: "item letter failed in 0.016 s" at INFO, which level-based alerting misses.
    write_item(tmp_path / "batch", "letter")
    item_id = submit_one(services, tmp_path / "batch")
    store.on_write = fail_at(3, StorageUnavailable("throttled"))
    with caplog.at_level(logging.INFO, logger="strongroom.ingest"):
        ingest_item(item_id, services, final_attempt=True)
    [said] = [r for r in caplog.records if "failed in" in r.getMessage()]
    assert said.levelno == logging.WARNING and "throttled" in said.getMessage()
    caplog.clear()
    store.on_write = None
    write_item(tmp_path / "again", "letter")
    with caplog.at_level(logging.INFO, logger="strongroom.ingest"):
        ingest_item(submit_one(services, tmp_path / "again"), services)
    [stored] = [r for r in caplog.records if "stored in" in r.getMessage()]
    assert stored.levelno == logging.INFO
