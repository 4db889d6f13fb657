"""batch.json's collection, rights and source reach every record that lacks them.

Staff describe a whole delivery once, in batch.json (or in the console's submit
form): the collection it adds to, its rights and where the originals are. Each
stored record carries those fields unless it has its own, so a search by
collection finds every item of the batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.access import PackageQuery
from ingest.models import ItemStatus
from ingest.pipeline import ingest_item
from ingest.services import Services
from ingest.submission import submit_batch
from tests.fakes import MemoryObjectStore
from tests.sqlite_services import sqlite_services
from tests.unit.test_metadata_csv import stored_record
from tests.unit.test_pipeline import record, write_item

COLLECTION = "Korean War diplomatic correspondence (sample)"
RIGHTS = {"statement": "Reproduced for research.", "holder": "Wilson Center"}
SOURCE = {"repository": "Archive of the President of the Russian Federation"}


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with sqlite_services(tmp_path, MemoryObjectStore()) as services:
        yield services


def bare(identifier: str) -> dict[str, Any]:
    """A record with no collection, rights or source of its own."""
    metadata = record(identifier)
    del metadata["rights"]
    return metadata


def ingest_batch(services: Services, batch: Path, given: dict[str, str] | None = None) -> list[Any]:
    items = submit_batch(batch, services, given).items
    return [ingest_item(item.item_id, services) for item in items]


def test_a_search_by_the_batch_collection_finds_every_item_of_the_batch(
        tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "a", metadata=bare("letter-a"))
    write_item(batch, "b", metadata=bare("letter-b"))
    (batch / "batch.json").write_text(json.dumps({"collection": COLLECTION}), encoding="utf-8")

    results = ingest_batch(services, batch)

    assert [r.status for r in results] == [ItemStatus.STORED, ItemStatus.STORED]
    page = services.catalog.search_packages(PackageQuery(collection=COLLECTION))
    assert sorted(hit.identifier for hit in page.packages) == ["letter-a", "letter-b"]
    assert stored_record(services, "letter-a")["collection"] == COLLECTION


def test_a_records_own_collection_rights_and_source_win_over_the_batch(
        tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    own = {**record("letter-own"), "collection": "Own collection", "source": {"citation": "Own"}}
    write_item(batch, "own", metadata=own)
    write_item(batch, "bare", metadata=bare("letter-bare"))
    (batch / "batch.json").write_text(json.dumps(
        {"collection": COLLECTION, "rights": RIGHTS, "source": SOURCE}), encoding="utf-8")

    ingest_batch(services, batch)

    kept = stored_record(services, "letter-own")
    assert (kept["collection"], kept["rights"], kept["source"]) == (
        own["collection"], own["rights"], own["source"])
    taken = stored_record(services, "letter-bare")
    assert (taken["collection"], taken["rights"], taken["source"]) == (COLLECTION, RIGHTS, SOURCE)


def test_a_collection_typed_in_the_submit_form_reaches_the_records(
        tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "a", metadata=bare("letter-a"))
    (batch / "batch.json").write_text(json.dumps({"collection": "From the file"}), encoding="utf-8")

    ingest_batch(services, batch, {"collection": COLLECTION})

    assert stored_record(services, "letter-a")["collection"] == COLLECTION


def test_an_unusable_batch_json_refuses_the_items_that_were_to_take_its_fields(
        tmp_path: Path, services: Services) -> None:
    """batch.json's rights are checked as a record's are (a statement is
    required); refused, the file gives its items nothing. Before, an item that
    was to take its rights from there was stored without any, for good (a
    version never changes): it is refused now, BATCH_FIELDS_UNUSABLE; an item
    whose record has collection, rights and source of its own is stored."""
    batch = tmp_path / "batch"
    write_item(batch, "a", metadata=bare("letter-a"))
    whole = {**bare("letter-b"), "collection": "Telegrams", "source": {"repository": "Registry, box 4"},
             "rights": {"statement": "Public domain."}}
    write_item(batch, "b", metadata=whole)
    (batch / "batch.json").write_text(json.dumps({"rights": {"holder": "No statement"}}),
                                      encoding="utf-8")

    submitted = submit_batch(batch, services)

    assert [f.pointer for f in submitted.batch.findings] == ["/rights/statement"]
    results = {item.name: ingest_item(item.item_id, services) for item in submitted.items}
    assert results["a"].status is ItemStatus.REJECTED
    assert [(f.code, f.params["fields"]) for f in results["a"].findings] == [
        ("BATCH_FIELDS_UNUSABLE", "collection, rights, source")]
    assert results["b"].status is ItemStatus.STORED
    assert stored_record(services, "letter-b")["rights"] == {"statement": "Public domain."}
