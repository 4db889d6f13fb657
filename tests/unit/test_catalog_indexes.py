"""Questions asked of large catalogs are answered from an index, not a scan."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.dialects import sqlite

from storage.catalog import SqlCatalog
from storage.tables import Item


def test_finding_stuck_items_reads_the_status_index_not_every_item(tmp_path: Path) -> None:
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    try:
        query = (select(Item)
                 .where(Item.status == "accepted",
                        Item.updated_at < datetime(2026, 1, 1, tzinfo=UTC))
                 .order_by(Item.updated_at, Item.item_id).limit(1000))
        sql = str(query.compile(dialect=sqlite.dialect(),
                                compile_kwargs={"literal_binds": True}))
        with catalog.engine.connect() as connection:
            plan = " ".join(str(row[-1]) for row in
                            connection.execute(text("EXPLAIN QUERY PLAN " + sql)))
        assert "USING INDEX ix_items_status_updated_at" in plan, plan
        assert "SCAN items" not in plan.replace("SCAN items USING", ""), plan
    finally:
        catalog.engine.dispose()
