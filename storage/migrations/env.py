"""Alembic's entry point for the catalog schema.

``storage.database.migrate`` runs it with an open connection handed over in
``config.attributes["connection"]``. Without one (writing a new revision with
``alembic revision --autogenerate`` and a ``sqlalchemy.url`` option on the
config from ``storage.database.alembic_config()``), it connects by itself.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from storage.database import create_engine_for, lock_for_migration, writing
from storage.tables import Base

config = context.config


def run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things: later migrations copy tables instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        lock_for_migration(connection)
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run(connection)
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no connection and no sqlalchemy.url to migrate")
    engine = create_engine_for(url)
    try:
        with writing(engine).connect() as own_connection:
            run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("the catalog migrations run against a live database only")
run_online()
