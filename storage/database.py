"""Connecting to the catalog database and bringing its schema up to date.

Two databases are supported: SQLite (embedded) and PostgreSQL through psycopg 3
(``postgresql+psycopg://…``). The same catalog code runs on both; what differs
is set up here:

- SQLite runs in WAL mode (readers never wait for the writer), with foreign
  keys enforced and a busy timeout. Every write transaction starts with
  ``BEGIN IMMEDIATE``, taking the write lock up front: concurrent writers then
  queue instead of failing half-way, and audit appends are serialized.
- PostgreSQL connections are pinged before use, so a restarted server costs a
  reconnect, not an error; appends are serialized by ``SELECT … FOR UPDATE``
  on the audit head row (see ``storage.audit_log``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from ingest.errors import CatalogUnavailable

#: The Alembic scripts, inside this package (no alembic.ini needed anywhere).
MIGRATIONS = Path(__file__).parent / "migrations"

#: Execution option marking a connection whose transactions will write.
WRITE_OPTION = "strongroom_write"

#: How long a SQLite writer waits for the lock before giving up, in seconds.
SQLITE_BUSY_SECONDS: float = 30

#: Errors that mean the database could not be reached or used: worth a retry.
_CONNECTION_ERRORS = (
    exc.OperationalError,
    exc.InterfaceError,
    exc.DisconnectionError,
    exc.TimeoutError,
)


def create_engine_for(url: str) -> Engine:
    """An engine for a SQLite or PostgreSQL URL, set up as the module docstring says.

    Raises ValueError for another kind of database.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        return _sqlite_engine(url)
    if backend == "postgresql":
        return create_engine(url, pool_pre_ping=True)
    raise ValueError(f"unsupported catalog database {backend!r}: use sqlite or postgresql")


def _sqlite_engine(url: str) -> Engine:
    parsed = make_url(url)
    in_memory = parsed.database in (None, "", ":memory:")
    options: dict[str, Any] = {
        "connect_args": {"timeout": SQLITE_BUSY_SECONDS, "check_same_thread": False},
    }
    if in_memory:
        # One shared connection, or every checkout would see a different database.
        options["poolclass"] = StaticPool
    engine = create_engine(url, **options)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Stop the sqlite3 module from issuing its own BEGINs; _on_begin does it.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not in_memory:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
            # An archive's record of truth: every commit reaches the disk.
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    event.listen(engine, "begin", sqlite_begin)
    return engine


def sqlite_begin(connection: Connection) -> None:
    """Begin a SQLite transaction: IMMEDIATE (write lock now) on a writing
    connection, DEFERRED otherwise."""
    writing = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


def is_prepared(engine: Engine) -> bool:
    """Whether ``engine`` came from ``create_engine_for`` (SQLite needs its BEGIN)."""
    return engine.dialect.name != "sqlite" or event.contains(engine, "begin", sqlite_begin)


def writing(engine: Engine) -> Engine:
    """A view of ``engine`` whose transactions write (IMMEDIATE on SQLite)."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextmanager
def catalog_errors() -> Iterator[None]:
    """Turn connection-level database errors into CatalogUnavailable."""
    try:
        yield
    except _CONNECTION_ERRORS as error:
        raise CatalogUnavailable(f"catalog database unavailable: {error}") from error
    except exc.DBAPIError as error:
        if error.connection_invalidated:
            raise CatalogUnavailable(f"catalog connection lost: {error}") from error
        raise


def alembic_config() -> Config:
    """An Alembic configuration for the catalog's migrations, built in code."""
    config = Config()
    # configparser treats '%' as interpolation: escape it in the path.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def migrate(target: Engine | str) -> None:
    """Bring the catalog schema to the newest migration (``alembic upgrade heads``).

    ``target`` is an engine or a database URL. Safe to run from several processes
    at once: migrations run under the database's write lock (SQLite) or an
    advisory lock (PostgreSQL). Raises CatalogUnavailable when the database
    cannot be reached.
    """
    engine = create_engine_for(target) if isinstance(target, str) else target
    try:
        with catalog_errors(), writing(engine).connect() as connection:
            config = alembic_config()
            config.attributes["connection"] = connection
            # "heads": features add their tables on their own branches from 0001.
            command.upgrade(config, "heads")
            connection.commit()
    finally:
        if isinstance(target, str):
            engine.dispose()


def lock_for_migration(connection: Connection) -> None:
    """Hold off other migrators until this transaction ends (PostgreSQL; SQLite's
    IMMEDIATE transaction already does)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('strongroom-migrate'))"))
