"""`strongroom init` on a PostgreSQL server where the catalog's database does not exist yet.

A role that may create databases gets it created (and owns it) and migrated; a
role that may not gets one sentence naming the command a superuser runs, and
that command, run as said, is all it takes for the next `init` to succeed.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests.cli_runner import cli_env, run_cli
from tests.integration.services import (
    POSTGRES_HOST,
    POSTGRES_PORT,
    POSTGRES_USER,
    _admin_connection,
    dropdb,
    require_loopback,
)


@pytest.fixture
def database_name(postgres_server: None) -> Iterator[str]:
    """A database name nobody has created; whatever a test creates under it is dropped."""
    name = f"strongroom_init_{uuid.uuid4().hex[:16]}"
    yield name
    dropdb(name)


def _role(createdb: bool) -> Iterator[str]:
    name = f"strongroom_role_{uuid.uuid4().hex[:12]}"
    with _admin_connection() as connection:
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN {}").format(
            sql.Identifier(name), sql.SQL("CREATEDB" if createdb else "NOCREATEDB")))
    try:
        yield name
    finally:
        with _admin_connection() as connection:
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def role_that_may_create(postgres_server: None) -> Iterator[str]:
    yield from _role(createdb=True)


@pytest.fixture
def role_that_may_not_create(postgres_server: None) -> Iterator[str]:
    yield from _role(createdb=False)


def init(role: str, database: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    url = require_loopback(f"postgresql+psycopg://{role}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database}")
    env = cli_env(STRONGROOM_DATABASE_URL=url,
                  STRONGROOM_STORAGE_URL=(tmp_path / "objects").as_uri(),
                  STRONGROOM_DATA_DIR=str(tmp_path / "data"))
    return run_cli("init", "--json", env=env, cwd=tmp_path, timeout=120)


def database_owner(name: str) -> str | None:
    with _admin_connection() as connection:
        row = connection.execute("SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = %s",
                                 (name,)).fetchone()
    return None if row is None else str(row[0])


def catalog_revisions(name: str) -> list[str]:
    with psycopg.connect(host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER,
                         dbname=name) as connection:
        return [r[0] for r in connection.execute("SELECT version_num FROM alembic_version")]


def test_init_creates_the_missing_database_owned_by_its_role_and_migrates_it(
        role_that_may_create: str, database_name: str, tmp_path: Path) -> None:
    first = init(role_that_may_create, database_name, tmp_path)

    assert first.returncode == 0, first.stderr
    document = json.loads(first.stdout)
    assert document["database_created"] is True and document["migrated"] is True
    assert database_owner(database_name) == role_that_may_create
    assert catalog_revisions(database_name)  # the schema is there

    again = init(role_that_may_create, database_name, tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["database_created"] is False


def test_a_role_that_may_not_create_databases_is_told_in_one_sentence_what_to_run(
        role_that_may_not_create: str, database_name: str, tmp_path: Path) -> None:
    refused = init(role_that_may_not_create, database_name, tmp_path)

    assert refused.returncode != 0
    assert database_owner(database_name) is None  # nothing was created
    [line] = refused.stderr.strip().splitlines()  # one sentence, nothing else
    command = (f"createdb -h {POSTGRES_HOST} -p {POSTGRES_PORT} "
               f"-O {role_that_may_not_create} {database_name}")
    assert line == (f"strongroom: the catalog database '{database_name}' does not exist on "
                    f"{POSTGRES_HOST}:{POSTGRES_PORT} and the role '{role_that_may_not_create}' "
                    f"may not create it: as a PostgreSQL superuser, run `{command}`, "
                    "then `strongroom init` again")
    assert json.loads(refused.stdout)["error"]["kind"] == "CatalogMissing"

    # Doing what it says, as the server's superuser, is all the next init needs.
    subprocess.run([*shlex.split(command), "-U", POSTGRES_USER], check=True, timeout=30)
    assert database_owner(database_name) == role_that_may_not_create
    done = init(role_that_may_not_create, database_name, tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["database_created"] is False
    assert catalog_revisions(database_name)


def test_a_database_that_exists_but_refuses_the_role_is_reported_as_it_is_not_recreated(
        role_that_may_create: str, database_name: str, tmp_path: Path) -> None:
    with _admin_connection() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database_name)))
        connection.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(
            sql.Identifier(database_name)))

    refused = init(role_that_may_create, database_name, tmp_path)

    assert refused.returncode == 1, refused.stderr
    assert "permission denied for database" in refused.stderr
    assert "createdb" not in refused.stderr
    assert json.loads(refused.stdout)["error"]["kind"] == "CatalogUnavailable"
    assert database_owner(database_name) == POSTGRES_USER  # the same database, untouched


def test_a_command_against_a_database_never_made_says_there_is_no_catalog_and_exits_2(
        database_name: str, tmp_path: Path) -> None:
    # Before: "catalog database unavailable: (psycopg.OperationalError) …" with
    # SQLAlchemy's statement and web link, exit 1, as if the server were down.
    url = require_loopback(
        f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{database_name}")
    env = cli_env(STRONGROOM_DATABASE_URL=url,
                  STRONGROOM_STORAGE_URL=(tmp_path / "objects").as_uri(),
                  STRONGROOM_DATA_DIR=str(tmp_path / "data"))
    listed = run_cli("list", "--json", env=env, cwd=tmp_path, timeout=60)
    assert listed.returncode == 2, listed.stderr
    assert json.loads(listed.stdout)["error"]["kind"] == "CatalogMissing"
    assert "no catalog exists" in listed.stderr and "`strongroom init` creates one" in listed.stderr
    assert "sqlalche.me" not in listed.stderr and database_owner(database_name) is None
