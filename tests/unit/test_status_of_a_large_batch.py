"""``strongroom status`` of a batch of 10,000 items is answered by a few catalog
statements, whatever the batch's size: the items are read once (the status used
to read all of them twice, once for the report and again to mark stuck ones),
and nothing is asked per item."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy.engine import Engine

from ingest.models import BatchRecord
from storage.catalog import SqlCatalog
from strongroom.cli import main

ITEMS = 10_000


@pytest.fixture
def large_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    for name in ("STRONGROOM_DATABASE_URL", "STRONGROOM_STORAGE_URL", "STRONGROOM_REPLICAS",
                 "STRONGROOM_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(data))
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    catalog = SqlCatalog.from_url(f"sqlite:///{data / 'catalog.sqlite3'}", migrate=False)
    catalog.create_batch(BatchRecord("batch-10k", str(tmp_path / "batch"), datetime.now(UTC)),
                         [f"item-{index:05d}" for index in range(ITEMS)])
    catalog.create_batch(BatchRecord("batch-2", str(tmp_path / "small"), datetime.now(UTC)),
                         ["item-0", "item-1"])
    catalog.engine.dispose()
    return "batch-10k"


def statements_of(args: list[str]) -> tuple[Any, list[str]]:
    """Run the CLI in process; the SQL statements it sent to any catalog."""
    seen: list[str] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        seen.append(statement)

    event.listen(Engine, "before_cursor_execute", capture)
    try:
        result = CliRunner().invoke(main, args)
    finally:
        event.remove(Engine, "before_cursor_execute", capture)
    return result, seen


def test_status_of_10000_items_reads_the_items_once_in_a_bounded_number_of_queries(
        large_batch: str) -> None:
    result, statements = statements_of(["status", large_batch, "--json"])

    assert result.exit_code == 0, result.output
    assert result.output.count('"status": "accepted"') == ITEMS
    reads_of_items = [s for s in statements if "FROM items" in s]
    assert len(reads_of_items) == 1, reads_of_items
    # The batch, its items and the catalog's own checks: as many as for two items.
    _, of_two = statements_of(["status", "batch-2", "--json"])
    assert len(statements) == len(of_two) <= 12, statements


def test_human_status_of_10000_items_prints_every_item_once(large_batch: str) -> None:
    result, statements = statements_of(["status", large_batch])

    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert sum(1 for line in lines if line.strip().startswith("accepted ")) == ITEMS
    assert lines[-1] == f"{ITEMS} items: {ITEMS} accepted"
    assert len(statements) <= 12, statements


def test_a_batch_of_one_item_is_counted_as_one_item_not_one_items(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("STRONGROOM_DATABASE_URL", "STRONGROOM_STORAGE_URL", "STRONGROOM_REPLICAS",
                 "STRONGROOM_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    data = tmp_path / "data"
    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(data))
    assert CliRunner().invoke(main, ["init"]).exit_code == 0
    catalog = SqlCatalog.from_url(f"sqlite:///{data / 'catalog.sqlite3'}", migrate=False)
    catalog.create_batch(BatchRecord("batch-1", str(tmp_path / "one"), datetime.now(UTC)), ["letter"])
    catalog.engine.dispose()
    result = CliRunner().invoke(main, ["status", "batch-1"])
    assert result.stdout.splitlines()[-1] == "1 item: 1 accepted", result.output
