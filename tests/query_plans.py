"""The plans a database makes for the very statements the catalog sends: a test
captures what a call sends (``statements_run_by``), then asks the plan of each
(``postgres_plan``; SQLite's ``EXPLAIN QUERY PLAN`` in tests/unit/test_catalog_indexes.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import event

from storage.catalog import SqlCatalog


def statements_run_by(catalog: SqlCatalog, call: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The SQL statements (with their parameters) that ``call`` sends to the database."""
    seen: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
                executemany: bool) -> None:
        seen.append((statement, parameters))

    event.listen(catalog.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(catalog.engine, "before_cursor_execute", capture)
    return seen


def postgres_plans(catalog: SqlCatalog, statements: list[tuple[str, Any]]) -> list[str]:
    """PostgreSQL's plan of each statement (with its parameters), in order, asked
    with sequential scans off: an empty table is scanned whatever the indexes, so
    this asks whether an index can serve."""
    with catalog.engine.connect() as connection:
        connection.exec_driver_sql("SET enable_seqscan = off")
        return ["\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + statement, parameters))
                for statement, parameters in statements]
