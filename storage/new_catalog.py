"""A new catalog made from the models, instead of by running every migration.

Run on an empty database, the migrations end where the models are (a test
holds them together: ``storage.database.schema_differences``), but getting
there costs Alembic's import (with Mako, and Pygments where it is installed)
and every step's DDL, SQLite's table copies included: about 0.4 s of the first
command on a new catalog (an embedded ``submit``). So an empty database gets
instead, in one transaction under the migration lock:

- the tables, indexes and constraints of the models (``create_all``);
- the rows the migrations seed: the head of the empty audit chain, and the
  identity of the audit log (a new ``log_id``, not anchored before);
- Alembic's version table holding the heads, as ``alembic stamp heads`` writes
  it, so that later migrations run from there.

A test makes a catalog both ways and compares them, on SQLite and on
PostgreSQL: tables, columns and their types and defaults, indexes (partial ones
with their conditions), constraints, the extension, and the seeded rows.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import Column, Connection, MetaData, PrimaryKeyConstraint, String, Table, exc, text
from sqlalchemy import inspect as inspect_database

from ingest.audit import GENESIS
from storage.tables import AuditHead, Base
from storage.tables_replicas import AuditLogIdentity

#: Alembic's version table as Alembic defines it (``DefaultImpl.version_table_impl``).
ALEMBIC_VERSION = Table("alembic_version", MetaData(),
                        Column("version_num", String(32), nullable=False),
                        PrimaryKeyConstraint("version_num", name="alembic_version_pkc"))


def create_from_models(connection: Connection, heads: frozenset[str]) -> bool:
    """Make the catalog at ``heads`` in the database ``connection`` is open on,
    inside the transaction (and lock) the caller holds; return True.

    Makes nothing and returns False when the database is not empty (one of the
    catalog's tables, or the version table, is there: the migrations take it
    from where it is), or when PostgreSQL's ``pg_trgm`` extension cannot be
    created (the migrations then make the catalog without the title-search
    indexes, and say what a superuser can run).
    """
    present = set(inspect_database(connection).get_table_names())
    if present & {*Base.metadata.tables, ALEMBIC_VERSION.name}:
        return False
    if connection.dialect.name == "postgresql" and not _trigram_extension(connection):
        return False
    Base.metadata.create_all(connection, checkfirst=False)
    connection.execute(cast(Table, AuditHead.__table__).insert(), {"id": 1, "seq": 0, "hash": GENESIS})
    connection.execute(cast(Table, AuditLogIdentity.__table__).insert(),
                       {"id": 1, "log_id": str(uuid.uuid4()), "created_at": datetime.now(UTC),
                        "legacy_anchors": False})
    ALEMBIC_VERSION.create(connection)
    connection.execute(ALEMBIC_VERSION.insert(), [{"version_num": head} for head in sorted(heads)])
    return True


def _trigram_extension(connection: Connection) -> bool:
    """Whether ``pg_trgm`` is there or could be created (in a savepoint, so that a
    refusal leaves the transaction usable)."""
    savepoint = connection.begin_nested()
    try:
        connection.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except exc.DBAPIError:
        savepoint.rollback()
        return False
    savepoint.commit()
    return True
