"""The SQL catalog and audit log, on SQLite files: what the pipeline relies on.

The contract every database of the catalog holds to (tests/contract_sql_catalog.py)
runs here on SQLite files; the tests below are about SQLite itself (pragmas, files,
locks, in-memory databases, times read as SQLite's text).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from ingest.audit import verify_chain
from ingest.errors import CatalogUnavailable
from storage import database
from storage.catalog import SqlCatalog, create_engine_for
from tests.contract_sql_catalog import (  # noqa: F401 (re-exported for other test modules)
    IDENTIFIER,
    PACKAGE,
    T0,
    SqlCatalogContract,
    event,
    item_ids,
    raw,
)


@pytest.fixture
def catalog_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"


@pytest.fixture
def logged(catalog: SqlCatalog) -> SqlCatalog:
    catalog.append([event(n=n) for n in range(1, 7)])
    return catalog


class TestSqlCatalogOnSqlite(SqlCatalogContract):
    """The contract, on the SQLite file of ``catalog_url`` above."""


# ------------------------------------------------------------------ SQLite itself


def test_sqlite_catalog_runs_in_wal_mode_with_foreign_keys(catalog: SqlCatalog) -> None:
    with catalog.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_in_memory_catalog_works() -> None:
    catalog = SqlCatalog.from_url("sqlite://")
    item_ids(catalog, "a", "b")
    assert [item.name for item in catalog.list_items("b1")] == ["a", "b"]


def test_engine_without_the_sqlite_setup_is_refused(tmp_path: Path) -> None:
    plain = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    with pytest.raises(ValueError):
        SqlCatalog(plain)


def test_unreachable_database_is_catalog_unavailable(tmp_path: Path) -> None:
    with pytest.raises(CatalogUnavailable) as caught:
        SqlCatalog.from_url(f"sqlite:///{tmp_path / 'no such folder' / 'catalog.db'}")
    assert caught.value.__cause__ is not None


def test_database_locked_too_long_is_catalog_unavailable_said_in_words_not_sql(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(database, "SQLITE_BUSY_SECONDS", 0.2)
    path = tmp_path / "catalog.db"
    catalog = SqlCatalog.from_url(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        with pytest.raises(CatalogUnavailable) as caught:
            catalog.append([event()])
        said = str(caught.value)
        # What a person can act on, not SQLAlchemy's statement and its web link.
        assert "another process" in said and "PostgreSQL" in said, said
        for internal in ("[SQL:", "sqlalche.me", "BEGIN IMMEDIATE", "OperationalError"):
            assert internal not in said, said
        assert catalog.list_packages() == []  # readers are not blocked (WAL)
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert len(catalog.append([event()])) == 1


def test_other_databases_are_refused() -> None:
    with pytest.raises(ValueError):
        create_engine_for("mysql://localhost/strongroom")


def test_edited_event_time_is_named(logged: SqlCatalog) -> None:
    [(moment,)] = _rows(logged, "SELECT occurred_at FROM events WHERE seq = 5")
    raw(logged, "UPDATE events SET occurred_at = :t WHERE seq = 5",
        t=moment.replace("12:00:00", "11:00:00"))
    assert verify_chain(logged.events()).first_bad_seq == 5


def _rows(catalog: SqlCatalog, sql: str) -> list[tuple[object, ...]]:
    with catalog.engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql))]
