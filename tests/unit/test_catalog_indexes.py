"""Questions asked of large catalogs are answered from an index, not a scan.

The plan is asked of the very statement the catalog method sends to the database
(captured on the engine), so a change to the method's query is held to the index.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from storage.catalog import SqlCatalog
from tests.query_plans import statements_run_by


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[SqlCatalog]:
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    yield catalog
    catalog.engine.dispose()


def query_plan(catalog: SqlCatalog, statement: str, parameters: Any) -> str:
    with catalog.engine.connect() as connection:
        rows = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
        return " | ".join(str(row[-1]) for row in rows)


def test_finding_stuck_items_reads_the_status_index_not_every_item(catalog: SqlCatalog) -> None:
    idle_before = datetime(2026, 1, 1, tzinfo=UTC)
    ran = statements_run_by(catalog, lambda: catalog.stuck_items(idle_before))
    on_items = [(sql, params) for sql, params in ran if "FROM items" in sql]
    assert len(on_items) == 1, ran
    [(sql, params)] = on_items

    plan = query_plan(catalog, sql, params)

    assert "USING INDEX ix_items_status_updated_at" in plan, (sql, plan)
    assert "SCAN items" not in plan.replace("SCAN items USING", ""), (sql, plan)


def test_listing_batches_reads_the_submitted_at_index_not_every_batch(catalog: SqlCatalog) -> None:
    since = datetime(2026, 1, 1, tzinfo=UTC)
    ran = statements_run_by(catalog, lambda: catalog.list_batches(since=since, limit=10))
    on_batches = [(sql, params) for sql, params in ran if "FROM batches" in sql]
    assert len(on_batches) == 1, ran
    [(sql, params)] = on_batches

    plan = query_plan(catalog, sql, params)

    assert "ix_batches_submitted_at" in plan, (sql, plan)
    assert "USE TEMP B-TREE FOR ORDER BY" not in plan, (sql, plan)


def test_finding_objects_with_the_same_digests_reads_the_digest_index_not_every_file(
        catalog: SqlCatalog) -> None:
    """Repair asks for every stored object with a damaged file's digests
    (``ingest.repair_sources``): at a million packages, tens of millions of rows."""
    ran = statements_run_by(catalog, lambda: catalog.objects_with_digests(
        1234, "a" * 64, "b" * 128, package_id="p-1", limit=8))
    on_files = [(sql, params) for sql, params in ran if "FROM files" in sql]
    assert len(on_files) == 2, ran  # the package's own objects, then others'
    for sql, params in on_files:
        plan = query_plan(catalog, sql, params)
        assert "ix_files_sha256" in plan or "sqlite_autoindex_files_1" in plan, (sql, plan)
        assert "SCAN files" not in plan, (sql, plan)
    [(others, params)] = [(sql, p) for sql, p in on_files if "!=" in sql]
    assert "ix_files_sha256" in query_plan(catalog, others, params), others


def test_finding_a_locations_failing_copies_reads_the_partial_failing_index(
        catalog: SqlCatalog) -> None:
    """A deep check of the schedule asks which copies of its location fail
    (``failing_copies``); the partial index holds only those, and is built from
    the very condition the query uses (``tables_fixity.FAILING``)."""
    catalog.fixity_failures(["file:///archive"])  # the schedule covers the location
    ran = statements_run_by(catalog, lambda: catalog.failing_copies("file:///archive"))
    on_state = [(sql, params) for sql, params in ran if "FROM fixity_state" in sql]
    assert len(on_state) == 1, ran
    [(sql, params)] = on_state

    plan = query_plan(catalog, sql, params)

    assert "USING INDEX ix_fixity_state_failing" in plan, (sql, plan)
