"""Two submits of the same changed item make one new version, never two.

The trial: two ``strongroom submit B`` of an item with one changed file, the
second starting while the first stores, gave v2 and v3 with identical digests.
Here the second submission compares with v1 (it is changed), and the first
then commits v2 before the second claims its number: the second must end
``unchanged`` at v2, and leave no object of its own behind. Each submission
has its own catalog connection on the one SQLite file and runs in its own
thread, as two processes would; and, at the end, two real processes race.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from ingest.clock import FixedClock
from ingest.models import EventType, ItemStatus, VersionRecord
from ingest.pipeline import IngestResult, ingest_item
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.submission import submit_batch
from storage.catalog import SqlCatalog
from storage.filesystem import FilesystemObjectStore
from tests.unit.test_pipeline import AT, PACKAGE, PAYLOAD, write_item

CHANGED = {**PAYLOAD, "scan/page-02.txt": b"Yours sincerely,\nA. N. Example\n"}


class DecidesLate:
    """A catalog whose first ``latest_version`` answer is given, and then held
    until ``go`` is set: the submission has compared with that version, and
    another commits before it goes on."""

    def __init__(self, inner: SqlCatalog) -> None:
        self.inner = inner
        self.compared = threading.Event()
        self.go = threading.Event()

    def latest_version(self, package_id: str) -> VersionRecord | None:
        latest = self.inner.latest_version(package_id)
        if not self.compared.is_set():
            self.compared.set()
            assert self.go.wait(30)
        return latest

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def services_on(url: str, store_root: Path, catalog: Any = None) -> Services:
    return Services(catalog=catalog or SqlCatalog.from_url(url), clock=FixedClock(AT),
                    store=FilesystemObjectStore(store_root), schemas=SchemaSet.default())


def race_two_submits_of_one_change(url: str, tmp_path: Path) -> tuple[Services, list[IngestResult]]:
    objects = tmp_path / "objects"
    first = services_on(url, objects)
    batch = tmp_path / "changed_item_submitted_twice"
    item = write_item(batch, "letter")
    (v1,) = submit_batch(batch, first).items
    assert ingest_item(v1.item_id, first).status is ItemStatus.STORED
    (item / "scan/page-02.txt").write_bytes(CHANGED["scan/page-02.txt"])

    late = DecidesLate(SqlCatalog.from_url(url))
    second = services_on(url, objects, late)
    (a,) = submit_batch(batch, first).items
    (b,) = submit_batch(batch, second).items
    results: dict[str, IngestResult] = {}

    def run_second() -> None:
        results["second"] = ingest_item(b.item_id, second)

    thread = threading.Thread(target=run_second)
    thread.start()
    try:
        assert late.compared.wait(30)         # the second has seen v1 ...
        results["first"] = ingest_item(a.item_id, first)  # ... and the first commits v2
    finally:
        late.go.set()
        thread.join(60)
    late.inner.engine.dispose()
    return first, [results["first"], results["second"]]


def assert_one_new_version(services: Services, results: list[IngestResult], objects: Path) -> None:
    assert sorted(r.status.value for r in results) == ["stored", "unchanged"]
    assert [v.number for v in services.catalog.list_versions(PACKAGE)] == [1, 2]
    unchanged = next(r for r in results if r.status is ItemStatus.UNCHANGED)
    assert services.catalog.get_item(unchanged.item_id).version == 2
    # Nothing of a version 3 is left in storage, and the log tells no third ingestion.
    assert not (objects / PACKAGE / "v3").exists() or not any((objects / PACKAGE / "v3").rglob("*"))
    ingestions = [e for e in services.catalog.events() if e.event_type == EventType.INGESTION.value
                  and e.outcome == "success"]
    assert [e.version for e in ingestions] == [1, 2]


def test_two_submits_of_one_change_on_sqlite_make_one_version(tmp_path: Path) -> None:
    url = "sqlite:///" + str(tmp_path / "catalog.sqlite")
    services, results = race_two_submits_of_one_change(url, tmp_path)
    assert_one_new_version(services, results, tmp_path / "objects")
    services.catalog.engine.dispose()
