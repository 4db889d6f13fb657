"""Replication at ingest: every version written to the primary and every replica,
each copy checked on its own before the version is committed.

Runs the pipeline in-process on a SQLite catalog with two filesystem stores (a
primary and a replica folder); a replica that goes down is a wrapped store.
The helpers here (``Archive``, ``write_item``) are shared by the repair,
anchoring and rebuild tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import ingest.batch_source as batch_source
from ingest.clock import FixedClock
from ingest.errors import PackageNotFound, StorageUnavailable
from ingest.models import EventType, ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.ports import ObjectInfo, ObjectStore, ObjectWriter
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.submission import submit_batch
from storage.catalog import SqlCatalog
from storage.filesystem import FilesystemObjectStore

IDENTIFIER = "telegram-1951-06-21-sample"
PACKAGE = package_id_for(IDENTIFIER)
AT = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
PAYLOAD = {
    "transcription/telegram-en.txt": b"ARRIVED SAFELY STOP LETTER FOLLOWS STOP\n",
    "scan/page-01.txt": b"page one of the telegram form\n" * 50,
}


def record(identifier: str = IDENTIFIER, title: str = "Telegram, 21 June 1951") -> dict[str, Any]:
    return {"identifier": identifier, "title": title, "date": "1951-06-21", "type": "telegram",
            "language": "en", "rights": {"statement": "May be copied freely."}}


def write_item(batch: Path, name: str, payload: dict[str, bytes] = PAYLOAD,
               metadata: dict[str, Any] | None = None) -> Path:
    item = batch / name
    item.mkdir(parents=True)
    (item / "metadata.json").write_text(json.dumps(metadata or record()), encoding="utf-8")
    for path, data in payload.items():
        (item / path).parent.mkdir(parents=True, exist_ok=True)
        (item / path).write_bytes(data)
    return item


@dataclass
class Archive:
    """A catalog, a primary folder and a replica folder, and ways to ingest into them."""

    root: Path
    services: Services

    @property
    def primary(self) -> ObjectStore:
        return self.services.store

    @property
    def replica(self) -> ObjectStore:
        return self.services.replicas[0]

    def folder(self, store: ObjectStore) -> Path:
        return Path(store.root)  # type: ignore[attr-defined]

    def ingest(self, name: str = "telegram", **item: Any) -> list[str]:
        """Submit a one-item batch and ingest it; returns the item ids."""
        batch = self.root / f"batch-{name}"
        write_item(batch, name, **item)
        submitted = submit_batch(batch, self.services)
        for i in submitted.items:
            assert ingest_item(i.item_id, self.services).outcome == "done"
        return [i.item_id for i in submitted.items]

    def bag(self, store: ObjectStore, number: int = 1) -> Path:
        return self.folder(store) / PACKAGE / f"v{number}"


def make_services(root: Path, replicas: tuple[ObjectStore, ...] | None = None,
                  store: ObjectStore | None = None) -> Services:
    root.mkdir(parents=True, exist_ok=True)
    catalog = SqlCatalog.from_url(f"sqlite:///{root / 'catalog.sqlite3'}")
    return Services(
        catalog=catalog,
        store=store or FilesystemObjectStore(root / "primary"),
        clock=FixedClock(AT),
        schemas=SchemaSet.default(),
        replicas=replicas if replicas is not None else (FilesystemObjectStore(root / "replica"),),
    )


def open_archive(root: Path) -> Iterator[Archive]:
    """An ``Archive`` under ``root`` with a primary and one replica folder (for fixtures)."""
    services = make_services(root)
    yield Archive(root, services)
    services.catalog.engine.dispose()  # type: ignore[attr-defined]


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def bag_files(bag: Path) -> dict[str, bytes]:
    return {p.relative_to(bag).as_posix(): p.read_bytes() for p in sorted(bag.rglob("*"))
            if p.is_file()}


# --------------------------------------------------------------------------- tests


def test_every_object_of_a_version_is_in_the_primary_and_the_replica(archive: Archive) -> None:
    archive.ingest()
    primary, replica = bag_files(archive.bag(archive.primary)), bag_files(archive.bag(archive.replica))
    assert "data/transcription/telegram-en.txt" in primary
    assert "manifest-sha512.txt" in primary and "metadata/record.json" in primary
    assert primary == replica


def test_each_copy_is_noted_verified_and_each_replica_copy_has_a_replication_event(
        archive: Archive) -> None:
    archive.ingest()
    copies = archive.services.catalog.list_copies(PACKAGE, 1)
    assert sorted(c.location for c in copies) == sorted([archive.primary.location,
                                                        archive.replica.location])
    assert {c.state for c in copies} == {"verified"}
    events = list(archive.services.catalog.events(PACKAGE))
    replications = [e for e in events if e.event_type == EventType.REPLICATION.value]
    assert len(replications) == 1
    detail = replications[0].detail
    assert (detail["location"], detail["source"]) == (archive.replica.location,
                                                      archive.primary.location)
    assert detail["files"] == len(archive.services.catalog.get_version(PACKAGE, 1).files)
    # committed with the version, in the same transaction: right after ingestion
    kinds = [e.event_type for e in events]
    assert kinds.index("replication") == kinds.index("ingestion") + 1


def test_each_payload_file_is_read_once_for_every_copy(
        archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[str] = []
    real_open = batch_source.open_submitted

    def counting_open(base: Any, rel: str, *args: Any, **kwargs: Any) -> Any:
        if rel.endswith("telegram-en.txt") and "batch-" in str(base):
            opened.append(rel)
        return real_open(base, rel, *args, **kwargs)

    monkeypatch.setattr(batch_source, "open_submitted", counting_open)
    archive.ingest()
    assert len(opened) == 1


class DownStore:
    """A store that refuses every write while ``down`` (an outage of one location)."""

    def __init__(self, inner: ObjectStore) -> None:
        self.inner = inner
        self.location = inner.location
        self.root = inner.root  # type: ignore[attr-defined]
        self.down = True

    def _check(self) -> None:
        if self.down:
            raise StorageUnavailable(f"{self.location} is down")

    def writer(self, key: str) -> ObjectWriter:
        self._check()
        return self.inner.writer(key)

    def put_bytes(self, key: str, data: bytes, sha256: str) -> ObjectInfo:
        self._check()
        return self.inner.put_bytes(key, data, sha256)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def test_a_replica_that_is_down_makes_the_item_retry_and_commits_nothing(tmp_path: Path) -> None:
    replica = DownStore(FilesystemObjectStore(tmp_path / "replica"))
    services = make_services(tmp_path, replicas=(replica,))  # type: ignore[arg-type]
    write_item(tmp_path / "batch", "telegram")
    [item] = submit_batch(tmp_path / "batch", services).items

    result = ingest_item(item.item_id, services)
    assert result.outcome == "retry" and "is down" in result.reason
    with pytest.raises(PackageNotFound):
        services.catalog.get_version(PACKAGE)
    assert not (tmp_path / "primary" / PACKAGE / "v1").exists() or not any(
        (tmp_path / "primary" / PACKAGE / "v1").rglob("*.txt"))

    replica.down = False
    assert ingest_item(item.item_id, services).status is ItemStatus.STORED
    assert bag_files(tmp_path / "primary" / PACKAGE / "v1") == bag_files(
        tmp_path / "replica" / PACKAGE / "v1")
    assert {c.state for c in services.catalog.list_copies(PACKAGE, 1)} == {"verified"}


def test_a_replica_down_on_the_last_attempt_fails_the_item_with_storage_unavailable(
        tmp_path: Path) -> None:
    replica = DownStore(FilesystemObjectStore(tmp_path / "replica"))
    services = make_services(tmp_path, replicas=(replica,))  # type: ignore[arg-type]
    write_item(tmp_path / "batch", "telegram")
    [item] = submit_batch(tmp_path / "batch", services).items
    result = ingest_item(item.item_id, services, final_attempt=True)
    assert result.outcome == "failed"
    assert [f.code for f in result.findings] == ["STORAGE_UNAVAILABLE"]


class ShortReplica(DownStore):
    """Takes writes but loses the last byte of one object (a store that lies)."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.down = False

    def stat(self, key: str) -> ObjectInfo:
        info = self.inner.stat(key)
        if key.endswith("telegram-en.txt"):
            return ObjectInfo(info.key, info.size - 1, info.sha256)
        return info


def test_a_replica_copy_that_does_not_check_back_is_not_committed(tmp_path: Path) -> None:
    replica = ShortReplica(FilesystemObjectStore(tmp_path / "replica"))
    services = make_services(tmp_path, replicas=(replica,))  # type: ignore[arg-type]
    write_item(tmp_path / "batch", "telegram")
    [item] = submit_batch(tmp_path / "batch", services).items
    result = ingest_item(item.item_id, services)
    assert result.outcome == "retry"
    assert replica.location in result.reason
    with pytest.raises(PackageNotFound):
        services.catalog.get_version(PACKAGE)


def test_without_replicas_only_the_primary_copy_is_noted(tmp_path: Path) -> None:
    services = make_services(tmp_path, replicas=())
    write_item(tmp_path / "batch", "telegram")
    [item] = submit_batch(tmp_path / "batch", services).items
    ingest_item(item.item_id, services)
    assert [c.location for c in services.catalog.list_copies(PACKAGE, 1)] == [
        services.store.location]
    assert not [e for e in services.catalog.events(PACKAGE) if e.event_type == "replication"]
