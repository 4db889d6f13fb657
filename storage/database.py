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
  on the audit head row (see ``storage.audit_log``), and a writing transaction
  left idle by a paused process is ended by the server within a minute
  (``POSTGRES_IDLE_IN_WRITE_SECONDS``), its locks with it.

Every command opens the catalog, so opening one that is already up to date
must cost little: ``migrate`` first compares the ``alembic_version`` rows with
the heads read from the migration scripts' source (no Alembic import, no write
lock) and runs Alembic only when the two differ. A new catalog (an empty
database) is made from the models at the newest revision, without Alembic
(``storage.new_catalog``).
"""

from __future__ import annotations

import ast
import functools
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import StaticPool

from ingest.errors import CatalogDamaged, CatalogOutdated, CatalogUnavailable, StorageError

if TYPE_CHECKING:
    from alembic.config import Config

#: The Alembic scripts, inside this package (no alembic.ini needed anywhere).
MIGRATIONS = Path(__file__).parent / "migrations"

#: The table where Alembic records the catalog's revisions (one row per head).
VERSION_TABLE = "alembic_version"

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
        engine = create_engine(url, pool_pre_ping=True)
        event.listen(engine, "begin", postgresql_begin)
        return engine
    raise ValueError(f"unsupported catalog database {backend!r}: use sqlite or postgresql")


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite URL; None for another database or one in memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


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
                _use_wal(cursor)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={int(SQLITE_BUSY_SECONDS * 1000)}")
            # An archive's record of truth: every commit reaches the disk.
            cursor.execute("PRAGMA synchronous=FULL")
        finally:
            cursor.close()

    event.listen(engine, "begin", sqlite_begin)
    return engine


def _use_wal(cursor: Any) -> None:
    """Put the database file in WAL mode (it stays so: a no-op after the first time).

    Switching needs the file to itself, and SQLite does not wait for that: the
    busy timeout does not apply, so a process starting on a new catalog while
    another was migrating it failed at once with "database is locked" (or was
    left in the old mode). Try again until ``SQLITE_BUSY_SECONDS`` have passed.
    """
    deadline = time.monotonic() + SQLITE_BUSY_SECONDS
    while True:
        try:
            mode = cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() >= deadline:
                raise
        else:
            if str(mode).lower() == "wal":
                return
            if time.monotonic() >= deadline:
                raise sqlite3.OperationalError(f"the catalog stays in {mode} mode, not WAL")
        time.sleep(0.01)


def sqlite_begin(connection: Connection) -> None:
    """Begin a SQLite transaction: IMMEDIATE (write lock now) on a writing
    connection, DEFERRED otherwise."""
    writing = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")


#: A writing transaction left idle this long is ended by the server, and its
#: locks with it. Appends and commits hold a row lock for milliseconds; a worker
#: paused inside one (SIGSTOP, a frozen VM: its connection stays up, so nothing
#: else would end it) stalled every other worker's commit for as long as it was
#: paused. Its own transaction is rolled back; it finds that on waking, and its
#: item goes to whoever holds its lease by then.
POSTGRES_IDLE_IN_WRITE_SECONDS = 60.0


def postgresql_begin(connection: Connection) -> None:
    """Bound how long a writing transaction may sit idle (``POSTGRES_IDLE_IN_WRITE_SECONDS``).
    ``SET LOCAL``: it holds for this transaction alone, so it works through a
    pooler in transaction mode too."""
    if connection.get_execution_options().get(WRITE_OPTION, False):
        milliseconds = int(POSTGRES_IDLE_IN_WRITE_SECONDS * 1000)
        connection.exec_driver_sql(
            f"SET LOCAL idle_in_transaction_session_timeout = {milliseconds}")


def is_prepared(engine: Engine) -> bool:
    """Whether ``engine`` came from ``create_engine_for`` (SQLite needs its BEGIN)."""
    return engine.dialect.name != "sqlite" or event.contains(engine, "begin", sqlite_begin)


def writing(engine: Engine) -> Engine:
    """A view of ``engine`` whose transactions write (IMMEDIATE on SQLite)."""
    return engine.execution_options(**{WRITE_OPTION: True})


@contextmanager
def catalog_errors() -> Iterator[None]:
    """Turn connection-level database errors into CatalogUnavailable, and a
    SQLite file that is no database or a corrupt one into CatalogDamaged."""
    try:
        yield
    except exc.DBAPIError as error:
        code = getattr(error.orig, "sqlite_errorcode", None)
        if code in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
            raise CatalogDamaged(
                f"the catalog database is damaged ({error.orig}): restore it from a backup, "
                "or rebuild it from the store into a new, empty database with "
                "`strongroom catalog rebuild`") from error
        if code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED):
            raise CatalogUnavailable(
                f"the catalog database is busy: another process has been writing to it for "
                f"over {SQLITE_BUSY_SECONDS:g} s (a SQLite catalog takes one writer at a time); "
                "try again when it has finished, or give processes that write at once a "
                "PostgreSQL catalog (STRONGROOM_DATABASE_URL)") from error
        if isinstance(error, _CONNECTION_ERRORS):
            raise CatalogUnavailable(f"catalog database unavailable: {_said(error)}") from error
        if error.connection_invalidated:
            raise CatalogUnavailable(f"catalog connection lost: {_said(error)}") from error
        raise
    except _CONNECTION_ERRORS as error:  # the pool's own: no database error behind them
        raise CatalogUnavailable(f"catalog database unavailable: {error}") from error


def _said(error: exc.DBAPIError) -> str:
    """What the database driver said, without SQLAlchemy's additions (the statement
    and its parameters, a web link), which a person cannot act on."""
    return " ".join(str(error.orig if error.orig is not None else error).split())


def alembic_config() -> Config:
    """An Alembic configuration for the catalog's migrations, built in code."""
    from alembic.config import Config

    config = Config()
    # configparser treats '%' as interpolation: escape it in the path.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    return config


def _literal(module: ast.Module, name: str) -> Any:
    """The literal value a migration script assigns to ``name`` at its top level."""
    for node in module.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(value)
    raise ValueError(f"no literal {name!r} assignment")


@functools.lru_cache(maxsize=1)
def known_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """(every revision, the heads) of the migration scripts, read from their source.

    Importing Alembic's script machinery to ask costs about 0.1 s and loads
    every script; parsing the few files costs milliseconds. Heads are the
    revisions no other revision names as its ``down_revision`` (a test checks
    that Alembic agrees).
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in sorted((MIGRATIONS / "versions").glob("*.py")):
        module = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
        try:
            revision, down = _literal(module, "revision"), _literal(module, "down_revision")
        except ValueError as error:
            raise ValueError(f"migration script {script.name}: {error}") from error
        revisions.add(revision)
        if isinstance(down, str):
            parents.add(down)
        elif down is not None:
            parents.update(down)
    return frozenset(revisions), frozenset(revisions - parents)


def catalog_revisions(engine: Engine) -> frozenset[str] | None:
    """The revisions the catalog at ``engine`` is at, or None when it has never
    been migrated (no version table). Reads only; takes no write lock. Raises
    CatalogUnavailable when the database cannot be reached."""
    with catalog_errors(), engine.connect() as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()
        return frozenset(rows)


def needs_migration(engine: Engine) -> bool:
    """Whether the catalog at ``engine`` is behind the migration scripts (or was
    never migrated).

    Raises StorageError when the catalog is at a revision these scripts do not
    know: a newer Strongroom migrated it, and this one must not write to it.
    Raises CatalogUnavailable when the database cannot be reached.
    """
    current = catalog_revisions(engine)
    if current is None:
        return True
    revisions, heads = known_revisions()
    unknown = current - revisions
    if unknown:
        raise StorageError(
            f"the catalog is at schema revision {', '.join(sorted(unknown))}, which this "
            f"Strongroom does not know (its migrations end at {', '.join(sorted(heads))}): a newer "
            "Strongroom has migrated it; run that version, or restore a backup of the catalog"
        )
    return current != heads


def migrate(target: Engine | str, upgrade: bool = True) -> str:
    """Bring the catalog schema to the newest migration (``alembic upgrade heads``;
    a new catalog is made from the models at the newest revision instead).

    ``target`` is an engine or a database URL. A catalog already at the heads
    is left alone without importing Alembic or taking the write lock. Safe to
    run from several processes at once: every migration runs in one
    transaction under the database's write lock (SQLite) or an advisory lock
    (PostgreSQL), and Alembic upgrades from what it finds under that lock.

    With ``upgrade`` False only a new catalog (never migrated) is made: one an
    earlier release made is left as it is and refused (CatalogOutdated), for the
    processes of that release may still be working on it; ``strongroom init``
    upgrades it. Returns what was done: "created" (a new catalog), "upgraded"
    or "current" (nothing to do). Raises StorageError for a catalog migrated by a
    newer Strongroom, CatalogUnavailable when the database cannot be reached.
    """
    engine = create_engine_for(target) if isinstance(target, str) else target
    try:
        if not needs_migration(engine):
            return "current"
        current = catalog_revisions(engine)
        if current is not None and not upgrade:
            _, heads = known_revisions()
            raise CatalogOutdated(
                "the catalog's schema is older than this Strongroom's (it has not had "
                f"migration {', '.join(sorted(heads - current))}): `strongroom init` upgrades "
                "it. Stop the workers, API and beat of the older release first, and start "
                "them again on this release once it has run")
        _upgrade(engine)
        return "created" if current is None else "upgraded"
    finally:
        if isinstance(target, str):
            engine.dispose()


def _upgrade(engine: Engine) -> None:
    """Make a new catalog from the models (``storage.new_catalog``) when the
    database is empty; else ``_run_migrations``. Both hold the migration lock:
    a second process starting on a new catalog waits, then finds it made."""
    from storage.new_catalog import create_from_models

    with catalog_errors(), writing(engine).connect() as connection:
        with connection.begin():
            lock_for_migration(connection)
            if create_from_models(connection, known_revisions()[1]):
                return
    _run_migrations(engine)


def _run_migrations(engine: Engine) -> None:
    """``alembic upgrade heads`` in one transaction that holds the lock throughout.

    On PostgreSQL Alembic runs every migration in one transaction of its own,
    which takes the advisory lock first (``env.py``). On SQLite it commits
    after each migration (it does not count SQLite's DDL as transactional),
    which released the write lock between them: a second process starting on
    a new catalog then planned its upgrade from a half-migrated catalog and
    created a table the first had already made. So on SQLite the transaction
    is begun here (BEGIN IMMEDIATE: the write lock, before Alembic reads the
    catalog's revisions), and Alembic runs every migration inside it.
    """
    from alembic import command

    with catalog_errors(), writing(engine).connect() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        held = connection.begin() if connection.dialect.name == "sqlite" else nullcontext()
        with held:
            # "heads": features add their tables on their own branches from 0001.
            command.upgrade(config, "heads")
        connection.commit()


def lock_for_migration(connection: Connection) -> None:
    """Hold off other migrators until this transaction ends (PostgreSQL; SQLite's
    IMMEDIATE transaction already does)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('strongroom-migrate'))"))


def schema_differences(connection: Connection) -> list[Any]:
    """How the schema the migrations made differs from the models (alembic's
    comparison, types included); empty when they agree. An index declared for
    one dialect only (``Index.ddl_if``) is expected on that dialect only."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.tables import Base

    dialect = connection.dialect.name

    def on_this_dialect(obj: Any, name: Any, type_: Any, reflected: Any, compare_to: Any) -> bool:
        only = getattr(obj, "_ddl_if", None)
        return only is None or only.dialect in (None, dialect)

    context = MigrationContext.configure(
        connection, opts={"compare_type": True, "include_object": on_this_dialect})
    return list(compare_metadata(context, Base.metadata))
