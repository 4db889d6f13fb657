"""A new catalog is made from the models with Alembic's stamp, not by running
every migration (``storage.new_catalog``); it must be the catalog the
migrations make, to the last index and seeded row, or the next migration would
run on a schema it was not written for. The comparison runs again on
PostgreSQL in ``tests/integration/test_new_catalog_postgres.py``.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, inspect, text

from storage import database
from storage.catalog import SqlCatalog
from tests.unit.test_catalog_startup import revisions_of, upgrade_with_alembic_to


@pytest.fixture
def two_new_catalog_urls(tmp_path: Path) -> tuple[str, str]:
    """Two databases that do not exist yet: one for each way of making a catalog."""
    return f"sqlite:///{tmp_path / 'migrated.db'}", f"sqlite:///{tmp_path / 'from-models.db'}"


def _words(sql: str | None) -> str | None:
    return None if sql is None else " ".join(sql.replace("(", " ( ").replace(")", " ) ").split())


def _schema(connection: Connection) -> dict[str, Any]:
    """Everything a migration could have made, as the database itself reports it."""
    found = inspect(connection)
    tables: dict[str, Any] = {}
    for table in sorted(found.get_table_names()):
        columns = found.get_columns(table)
        tables[table] = {
            # By name: the order of a table's columns is not the schema's to say. Later
            # migrations append what the models declare between others, and which of
            # two branches' migrations ran first (so which column came first) depends
            # on the releases a catalog was upgraded through. Nothing reads a column
            # by its position.
            "columns": sorted((c["name"], str(c["type"]), c["nullable"], _words(c["default"]),
                               c.get("autoincrement")) for c in columns),
            "primary key": found.get_pk_constraint(table),
            "foreign keys": sorted((fk["name"] or "", fk["constrained_columns"],
                                    fk["referred_table"], fk["referred_columns"],
                                    sorted(fk["options"].items()))
                                   for fk in found.get_foreign_keys(table)),
            "unique": sorted((u["name"] or "", u["column_names"])
                             for u in found.get_unique_constraints(table)),
            "checks": sorted((c["name"] or "", _words(c["sqltext"]))
                             for c in found.get_check_constraints(table)),
            "indexes": sorted((i["name"] or "", [str(c) for c in i["column_names"]],
                               i["unique"], sorted((k, str(v)) for k, v in
                                                   i.get("dialect_options", {}).items()),
                               [str(e) for e in i.get("expressions", []) or []])
                              for i in found.get_indexes(table)),
        }
    if connection.dialect.name == "sqlite":
        # the statements SQLite keeps: an index's WHERE (a partial index) is in it
        objects = connection.execute(text(
            "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE type != 'table' "
            "ORDER BY type, name")).all()
        native = {"objects": [(kind, name, table, _words(sql)) for kind, name, table, sql in objects]}
    else:
        native = {
            "indexes": connection.execute(text(
                "SELECT tablename, indexname, indexdef FROM pg_indexes "
                "WHERE schemaname = current_schema() ORDER BY tablename, indexname")).all(),
            "constraints": connection.execute(text(
                "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) "
                "FROM pg_constraint WHERE connamespace = current_schema()::regnamespace "
                "ORDER BY 1, 2")).all(),
            "columns": connection.execute(text(
                "SELECT table_name, column_name, data_type, character_maximum_length, "
                "is_nullable, column_default, is_identity FROM information_schema.columns "
                "WHERE table_schema = current_schema() ORDER BY table_name, column_name")).all(),
            "sequences": connection.execute(text(
                "SELECT sequence_name, data_type FROM information_schema.sequences "
                "WHERE sequence_schema = current_schema() ORDER BY 1")).all(),
            "extensions": connection.execute(text(
                "SELECT extname FROM pg_extension ORDER BY 1")).scalars().all(),
        }
    return {"tables": tables, "native": native}


def _rows(connection: Connection) -> dict[str, Any]:
    """Every row of every table, as stored; the audit log's identity (made new for
    each catalog) stands in as what it must be: a fresh UUID and a time of now."""
    rows: dict[str, Any] = {}
    for table in sorted(inspect(connection).get_table_names()):
        found = connection.execute(text(f"SELECT * FROM {table}")).mappings().all()
        rows[table] = sorted((dict(row) for row in found), key=repr)
    identities = rows["audit_log"]
    for row in identities:
        assert uuid.UUID(row["log_id"]).version == 4
        made = row["created_at"]
        made = made if isinstance(made, datetime) else datetime.fromisoformat(made)
        made = made if made.tzinfo else made.replace(tzinfo=UTC)
        assert abs(datetime.now(UTC) - made) < timedelta(minutes=5), made
        row.update(log_id="a new UUID", created_at=type(row["created_at"]).__name__)
    return rows


def _catalog(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    engine = database.create_engine_for(url)
    try:
        with engine.connect() as connection:
            return _schema(connection), _rows(connection)
    finally:
        engine.dispose()


def test_a_catalog_made_from_the_models_is_the_catalog_the_migrations_make(
        two_new_catalog_urls: tuple[str, str]) -> None:
    migrated_url, from_models_url = two_new_catalog_urls
    upgrade_with_alembic_to(migrated_url, ["heads"])
    assert database.migrate(from_models_url, upgrade=False) == "created"

    migrated, from_models = _catalog(migrated_url), _catalog(from_models_url)
    assert revisions_of(from_models_url) == revisions_of(migrated_url) \
        == database.known_revisions()[1]
    assert from_models[0]["tables"].keys() == migrated[0]["tables"].keys()
    for table, made in migrated[0]["tables"].items():
        assert from_models[0]["tables"][table] == made, table
    assert from_models[0]["native"] == migrated[0]["native"]
    assert from_models[1] == migrated[1]
    assert migrated[1]["audit_head"] != []


def test_a_new_catalog_is_made_without_alembic(two_new_catalog_urls: tuple[str, str]) -> None:
    from tests.fresh_process import modules_loaded

    url = two_new_catalog_urls[1]
    probe = (f"from storage.catalog import SqlCatalog\n"
             f"SqlCatalog.from_url({url!r}, migrate=True).engine.dispose()\n")
    assert modules_loaded(probe, ("alembic", "mako")) == []
    assert revisions_of(url) == database.known_revisions()[1]


def test_a_database_holding_anything_of_a_catalog_is_left_to_the_migrations(
        two_new_catalog_urls: tuple[str, str]) -> None:
    url = two_new_catalog_urls[0]
    upgrade_with_alembic_to(url, ["0001"])  # the first release's catalog
    SqlCatalog.from_url(url, migrate=True, upgrade=True).engine.dispose()
    assert revisions_of(url) == database.known_revisions()[1]
    engine = database.create_engine_for(url)
    try:
        with engine.connect() as connection:
            assert database.schema_differences(connection) == []
            assert re.fullmatch(r"[0-9a-f-]{36}", connection.execute(
                text("SELECT log_id FROM audit_log")).scalar_one())
    finally:
        engine.dispose()
