"""Title words are found through the trigram index on PostgreSQL, not by reading
every title: the plan is asked of the very statement the catalog sends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from ingest.access import package_query
from storage.catalog import SqlCatalog


def test_a_title_word_search_can_use_the_trigram_index(pg_url: str) -> None:
    catalog = SqlCatalog.from_url(pg_url)
    try:
        seen: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
            seen.append((statement, parameters))

        event.listen(catalog.engine, "before_cursor_execute", capture)
        try:
            catalog.search_packages(package_query(title="filippov"))
        finally:
            event.remove(catalog.engine, "before_cursor_execute", capture)
        (statement, parameters), = [(s, p) for s, p in seen if "packages.title ILIKE" in s]
        with catalog.engine.connect() as connection:
            # An empty table is scanned whatever the indexes: ask whether the index can serve.
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(row[0] for row in
                             connection.exec_driver_sql("EXPLAIN " + statement, parameters))
        assert "ix_packages_title_trgm" in plan, plan
    finally:
        catalog.engine.dispose()
