"""Creating the catalog's PostgreSQL database when it does not exist yet.

``strongroom init`` on a fresh PostgreSQL server should not need a person to
run ``createdb`` first when the catalog's role may create databases. So, when
the database the URL names cannot be opened, the same credentials open the
``postgres`` maintenance database (as ``createdb`` does), look the name up in
``pg_database`` and, if it is absent, ``CREATE DATABASE`` it: the role that ran
it owns it. A role without the CREATEDB privilege gets one sentence naming the
command a superuser runs instead. SQLite needs none of this: its file is
created on first use.
"""

from __future__ import annotations

import shlex

from sqlalchemy import create_engine, exc, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool

from ingest.errors import CatalogMissing, CatalogUnavailable

#: The database every PostgreSQL server has for tools to connect to.
MAINTENANCE_DATABASE = "postgres"

#: SQLSTATEs: the role lacks a privilege; the database was created meanwhile.
_INSUFFICIENT_PRIVILEGE = "42501"
_DUPLICATE_DATABASE = "42P04"


def create_database_if_missing(url: str) -> bool:
    """Create the PostgreSQL database ``url`` names unless it exists; return
    whether it was created (False for SQLite and for a database that exists).

    Raises CatalogMissing, whose message says in one sentence what to run, when
    the database does not exist and the role may not create it;
    CatalogUnavailable when the server cannot be reached or the database exists
    but cannot be opened (its error is the one given).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return False
    opened = _open_error(parsed)
    if opened is None:
        return False
    try:
        maintenance = create_engine(parsed.set(database=MAINTENANCE_DATABASE), poolclass=NullPool,
                                    isolation_level="AUTOCOMMIT")
        try:
            with maintenance.connect() as connection:
                known = connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                           {"name": parsed.database}).first()
                if known is not None:  # it exists: the first error was about something else
                    raise CatalogUnavailable(f"catalog database unavailable: {opened}") from opened
                quoted = connection.dialect.identifier_preparer.quote_identifier(parsed.database)
                connection.execute(text(f"CREATE DATABASE {quoted}"))
        finally:
            maintenance.dispose()
    except exc.DBAPIError as error:
        state = getattr(error.orig, "sqlstate", None)
        if state == _DUPLICATE_DATABASE:  # another `init` created it a moment ago
            return False
        if state == _INSUFFICIENT_PRIVILEGE:
            raise CatalogMissing(_what_to_run(parsed)) from error
        # The maintenance database is out of reach too: the first error says most.
        raise CatalogUnavailable(f"catalog database unavailable: {opened}") from opened
    return True


def database_is_missing(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database that its server says does not
    exist (asked in the maintenance database); False for SQLite, and whenever the
    server cannot say (out of reach, the role may not ask)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql" or not parsed.database:
        return False
    maintenance = create_engine(parsed.set(database=MAINTENANCE_DATABASE), poolclass=NullPool)
    try:
        with maintenance.connect() as connection:
            return connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                      {"name": parsed.database}).first() is None
    except exc.DBAPIError:
        return False
    finally:
        maintenance.dispose()


def _open_error(parsed: URL) -> exc.DBAPIError | None:
    """None when the database opens; else the error opening it gave."""
    engine = create_engine(parsed, poolclass=NullPool)
    try:
        with engine.connect():
            return None
    except exc.DBAPIError as error:
        return error
    finally:
        engine.dispose()


def _what_to_run(parsed: URL) -> str:
    """The one sentence for a role that may not create the database."""
    role = parsed.username or "the connecting user"
    where = f" on {parsed.host}:{parsed.port or 5432}" if parsed.host else ""
    command = ["createdb"]
    if parsed.host:
        command += ["-h", parsed.host, "-p", str(parsed.port or 5432)]
    if parsed.username:
        command += ["-O", parsed.username]
    command.append(str(parsed.database))
    return (f"the catalog database {parsed.database!r} does not exist{where} and the role "
            f"{role!r} may not create it: as a PostgreSQL superuser, run `{shlex.join(command)}`, "
            "then `strongroom init` again")
