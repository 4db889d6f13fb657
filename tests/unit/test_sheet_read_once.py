"""A batch described by one metadata.csv: every item asks for its row, and the
sheet was parsed again for each (and, staged, fetched from the store again for
each): N items of an N-row sheet cost time growing with N² — 800 items took
three times as long as the same items with metadata.json, and 10,000 would
have spent most of an hour re-reading the sheet.

Now a sheet is parsed once per process for the same bytes, and a staged one is
read from the store once per process for its sealed listing; a sheet edited
between two items (a folder batch) is still read as it is now.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

import ingest.batch_files as batch_files
import ingest.staged_source as staged_source
import tests.unit.test_staged_batch as staged_tests
from ingest.models import ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.services import Services
from ingest.submission import submit_batch

ITEMS = 30
COLUMNS = ["folder", "identifier", "title", "date", "type", "language", "rights.statement"]


#: the fixtures of tests/unit/test_staged_batch.py: a folder store, services on it
store, services = staged_tests.store, staged_tests.services


def sheet_batch(folder: Path, titles: dict[int, str] | None = None) -> Path:
    """ITEMS folders of one page each, described by one metadata.csv."""
    folder.mkdir(exist_ok=True)
    rows = []
    for n in range(ITEMS):
        item = folder / f"letter-{n:03d}"
        item.mkdir(exist_ok=True)
        (item / "page.txt").write_text(f"Dear committee, letter {n}.\n", encoding="utf-8")
        rows.append({"folder": item.name, "identifier": f"sheet-letter-{n:03d}",
                     "title": (titles or {}).get(n, f"Letter {n} to the committee"),
                     "date": "1952-03-01", "type": "letter", "language": "en",
                     "rights.statement": "May be copied freely."})
    with open(folder / "metadata.csv", "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return folder


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many times a sheet was parsed."""
    seen: list[int] = []
    real = batch_files.parse_sheet

    def counting(raw: bytes, schema: Any) -> Any:
        seen.append(len(raw))
        return real(raw, schema)

    monkeypatch.setattr(batch_files, "parse_sheet", counting)
    return seen


def test_a_metadata_csv_is_parsed_once_for_the_whole_batch_not_once_per_item(
        services: Services, tmp_path: Path, parses: list[int]) -> None:
    submitted = submit_batch(sheet_batch(tmp_path / "batch"), services)
    results = [ingest_item(item.item_id, services) for item in submitted.items]
    assert {r.status for r in results} == {ItemStatus.STORED}
    # at most twice for the whole batch: its folder column when it is submitted,
    # and the records its items read, shaped by the batch's schema
    assert len(parses) <= 2, f"the sheet was parsed {len(parses)} times for {ITEMS} items"


def test_a_metadata_csv_edited_between_two_items_is_read_as_it_is_now(
        services: Services, tmp_path: Path, parses: list[int]) -> None:
    batch = sheet_batch(tmp_path / "batch")
    submitted = submit_batch(batch, services)
    first, second = submitted.items[0], submitted.items[1]
    ingest_item(first.item_id, services)
    sheet_batch(batch, titles={1: "Letter 1, its title corrected before it was read"})
    ingest_item(second.item_id, services)
    stored = services.catalog.get_version(package_id_for("sheet-letter-001"))
    assert stored.record["title"] == "Letter 1, its title corrected before it was read"


def test_a_staged_metadata_csv_is_read_from_the_store_once_for_the_whole_batch(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    submitted = submit_batch(sheet_batch(tmp_path / "batch"), services, stage=True)
    reads: list[str] = []
    real = staged_source._read_all

    def counting(store: Any, key: str, most: int) -> bytes:
        reads.append(key)
        return real(store, key, most)

    monkeypatch.setattr(staged_source, "_read_all", counting)
    results = [ingest_item(item.item_id, services) for item in submitted.items]
    assert {r.status for r in results} == {ItemStatus.STORED}
    sheet_reads = [key for key in reads if key.endswith("batch/metadata.csv")]
    assert len(sheet_reads) == 1, f"the staged sheet was fetched {len(sheet_reads)} times"
