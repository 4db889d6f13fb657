"""Objects holding the same bytes are found by digest through an index on
PostgreSQL (``ix_files_sha256``), not by reading every file row: the plan is
asked of the very statements the catalog sends (``objects_with_digests``, which
``strongroom repair`` asks for each damaged file)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from storage.catalog import SqlCatalog


def test_objects_with_the_same_digests_are_found_through_the_digest_index(pg_url: str) -> None:
    catalog = SqlCatalog.from_url(pg_url)
    try:
        seen: list[tuple[str, Any]] = []

        def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                    executemany: bool) -> None:
            seen.append((statement, parameters))

        event.listen(catalog.engine, "before_cursor_execute", capture)
        try:
            catalog.objects_with_digests(1234, "a" * 64, "b" * 128, package_id="p-1")
        finally:
            event.remove(catalog.engine, "before_cursor_execute", capture)
        asked = [(sql, params) for sql, params in seen if "FROM files" in sql]
        assert len(asked) == 2, seen
        with catalog.engine.connect() as connection:
            # An empty table is scanned whatever the indexes: ask whether the index can serve.
            connection.exec_driver_sql("SET enable_seqscan = off")
            [others] = ["\n".join(row[0] for row in connection.exec_driver_sql(
                "EXPLAIN " + sql, params)) for sql, params in asked if "!=" in sql]
    finally:
        catalog.engine.dispose()
    assert "ix_files_sha256" in others, others
    assert "Seq Scan on files" not in others, others
