"""What every command pays before doing its work: opening the catalog.

A catalog already at the newest schema is opened without running Alembic and
without the write lock; one left behind by an earlier release is upgraded; one
migrated by a newer release is refused; processes starting together on a new
catalog end with one migrated catalog; and the embedded ``submit`` loads
neither Celery nor kombu (nor Alembic, once the catalog is up to date).
The tests not about SQLite itself run again on PostgreSQL in
``tests/integration/test_catalog_startup_postgres.py``.
"""

from __future__ import annotations

import json
import multiprocessing
import sqlite3
import traceback
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text

from ingest.errors import StorageError
from storage import database
from storage.catalog import SqlCatalog


@pytest.fixture
def catalog_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'catalog.db'}"


@pytest.fixture
def new_catalog_urls(tmp_path: Path) -> list[str]:
    """Catalogs that do not exist yet, one per round of a race."""
    return [f"sqlite:///{tmp_path / f'new-catalog-{n}.db'}" for n in range(12)]


def scripts() -> ScriptDirectory:
    return ScriptDirectory.from_config(database.alembic_config())


def revisions_of(url: str) -> set[str]:
    engine = database.create_engine_for(url)
    try:
        return set(database.catalog_revisions(engine) or ())
    finally:
        engine.dispose()


def schema_differences(url: str) -> list[Any]:
    engine = database.create_engine_for(url)
    try:
        with engine.connect() as connection:
            return database.schema_differences(connection)
    finally:
        engine.dispose()


def upgrade_with_alembic_to(url: str, targets: list[str]) -> None:
    config = database.alembic_config()
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    for target in targets:
        command.upgrade(config, target)


# --------------------------------------------------------------------------- the heads


def test_heads_read_from_the_scripts_are_alembics_heads() -> None:
    revisions, heads = database.known_revisions()
    assert heads == set(scripts().get_heads())
    assert revisions == {script.revision for script in scripts().walk_revisions()}


# --------------------------------------------------------------------------- shared with PostgreSQL


#: revisions that leave a SQLite catalog's schema as it was (PostgreSQL's only, or rows only)
SAME_SQLITE_SCHEMA = {"0017_title_search", "0027_unused_title_index", "0028_deep_check_last_look",
                      "0029_spelled_out_letters"}


def make_the_catalog_of_the_release_before(catalog_url: str, newest_name: str | None = None,
                                           ) -> set[str]:
    """Every migration but the newest that changes SQLite's schema (not one for
    PostgreSQL only), or but ``newest_name``, a head; returns the revisions the
    catalog is left at."""
    heads = database.known_revisions()[1]
    newest = scripts().get_revision(newest_name or max(heads - SAME_SQLITE_SCHEMA))
    down = newest.down_revision
    parents = {down} if isinstance(down, str) else set(down or ())
    upgrade_with_alembic_to(catalog_url, sorted((heads - {newest.revision}) | parents))
    older = revisions_of(catalog_url)
    assert newest.revision not in older
    return older


def test_a_catalog_one_revision_behind_is_upgraded_when_opened(catalog_url: str) -> None:
    """The catalog of the previous release (every migration but the newest), opened
    through the storage layer (``strongroom init`` opens it so)."""
    heads = database.known_revisions()[1]
    make_the_catalog_of_the_release_before(catalog_url)
    assert schema_differences(catalog_url) != []

    catalog = SqlCatalog.from_url(catalog_url)
    catalog.engine.dispose()

    assert revisions_of(catalog_url) == set(heads)
    assert schema_differences(catalog_url) == []


def _cli(tmp_path: Path, catalog_url: str, *args: str) -> tuple[int, str]:
    from click.testing import CliRunner

    from strongroom.cli import main

    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_DATABASE_URL": catalog_url}
    (tmp_path / "data").mkdir(exist_ok=True)
    result = CliRunner().invoke(main, list(args), env=env)
    return result.exit_code, result.output


EXAMPLE_BATCH = str(Path(__file__).resolve().parents[2] / "examples" / "batch")


@pytest.mark.parametrize("command", [["doctor"], ["list"], ["fixity", "report"], ["batches"],
                                     ["audit", "verify"], ["submit", EXAMPLE_BATCH],
                                     ["worker"], ["serve", "--port", "18399"]],
                         ids=lambda command: " ".join(command))
def test_a_command_other_than_init_leaves_an_earlier_releases_catalog_as_it_is_and_says_to_run_init(
        tmp_path: Path, catalog_url: str, command: list[str]) -> None:
    """A new release's `doctor` or cron `fixity report` on one host upgraded the shared
    schema under the workers, API and beat of the old release."""
    older = make_the_catalog_of_the_release_before(catalog_url)

    code, output = _cli(tmp_path, catalog_url, *command)

    assert revisions_of(catalog_url) == older
    assert code in (1, 2), output
    assert "older than this Strongroom's" in output and "`strongroom init` upgrades it" in output
    assert "Traceback" not in output and "answered with an error" not in output


def test_init_upgrades_an_earlier_releases_catalog_and_says_whether_it_did(
        tmp_path: Path, catalog_url: str) -> None:
    """`init --json` said "migrated": true whether or not it had changed anything."""
    make_the_catalog_of_the_release_before(catalog_url)

    code, output = _cli(tmp_path, catalog_url, "init", "--json")
    assert code == 0, output
    document = json.loads(output)
    assert (document["schema"], document["migrated"]) == ("upgraded", True)
    assert revisions_of(catalog_url) == set(database.known_revisions()[1])
    assert schema_differences(catalog_url) == []

    code, output = _cli(tmp_path, catalog_url, "init", "--json")
    assert code == 0, output
    assert (json.loads(output)["schema"], json.loads(output)["migrated"]) == ("current", False)
    code, output = _cli(tmp_path, catalog_url, "init")
    assert "schema up to date" in output

    code, output = _cli(tmp_path, catalog_url, "list")
    assert code == 0, output


def test_catalog_before_actors_upgrades_with_its_chain_intact_and_one_live_token_per_name(
        catalog_url: str) -> None:
    """Migration 0007 on a catalog of the release before it: events recorded without
    an actor still verify beside new ones that have one, and two live tokens that
    shared a name both keep working under names of their own."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from ingest.audit import GENESIS, seal, verify_chain
    from ingest.errors import InputError
    from ingest.models import Actor, EventType, NewEvent, Outcome

    upgrade_with_alembic_to(catalog_url, ["0004", "0005", "0006"])
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    old = seal(NewEvent(EventType.ACCESSION, Outcome.SUCCESS, "strongroom/0.1.0", at,
                        batch_id="b-1"), seq=1, event_id="e-1", prev_hash=GENESIS)
    engine = database.create_engine_for(catalog_url)
    try:
        stored_at = at if engine.dialect.name == "postgresql" else at.replace(tzinfo=None)
        tables = sa.MetaData()
        events = sa.Table("events", tables, autoload_with=engine)
        tokens = sa.Table("api_tokens", tables, autoload_with=engine)
        with engine.begin() as connection:
            connection.execute(events.insert().values(
                seq=1, event_id=old.event_id, event_type=old.event_type, outcome=old.outcome,
                agent=old.agent, occurred_at=stored_at, batch_id=old.batch_id, detail=old.detail,
                prev_hash=old.prev_hash, hash=old.hash))
            connection.execute(text("UPDATE audit_head SET seq = 1, hash = :hash"),
                               {"hash": old.hash})
            for n, token_id in enumerate(("aaaaaaaa-0001", "bbbbbbbb-0002")):
                connection.execute(tokens.insert().values(
                    token_id=token_id, name="alice", role="submitter", secret_sha256=f"{n}" * 64,
                    created_at=stored_at.replace(minute=n)))
    finally:
        engine.dispose()

    catalog = SqlCatalog.from_url(catalog_url)
    try:
        bob = Actor("bob", kind="person")
        catalog.append([NewEvent(EventType.VALIDATION, Outcome.SUCCESS, "strongroom/0.1.0", at,
                                 batch_id="b-1", actor=bob)])
        chain = list(catalog.events())
        assert verify_chain(chain).ok
        assert [e.actor for e in chain] == [None, bob]
        names = {t.token_id: t.name for t in catalog.list_tokens()}
        assert names == {"aaaaaaaa-0001": "alice", "bbbbbbbb-0002": "alice~bbbbbbbb"}
        with pytest.raises(InputError):
            catalog.create_token("alice", "reader")
    finally:
        catalog.engine.dispose()


def test_a_catalog_migrated_by_a_newer_release_is_refused(catalog_url: str) -> None:
    SqlCatalog.from_url(catalog_url).engine.dispose()
    engine = database.create_engine_for(catalog_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9001')"))
    engine.dispose()

    with pytest.raises(StorageError, match="revision 9001, which this Strongroom does not know"):
        SqlCatalog.from_url(catalog_url)
    assert revisions_of(catalog_url) == set(database.known_revisions()[1]) | {"9001"}


def test_a_worker_does_not_start_on_a_catalog_a_newer_release_migrated(
        tmp_path: Path, catalog_url: str) -> None:
    """It said "ready", took each item and acknowledged it undone ('error'), the
    items left accepted, while every CLI command refused the same catalog."""
    SqlCatalog.from_url(catalog_url).engine.dispose()
    engine = database.create_engine_for(catalog_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO alembic_version (version_num) VALUES ('9001')"))
    engine.dispose()

    code, output = _cli(tmp_path, catalog_url, "worker")

    assert code == 1 and "revision 9001, which this Strongroom does not know" in output


def _open_in_rounds(urls: list[str], barrier: Any, results: Any) -> None:
    """One process: open the catalog of round ``n`` in round ``n``, all at the barrier."""
    for n, url in enumerate(urls):
        barrier.wait(timeout=60)
        try:
            SqlCatalog.from_url(url).engine.dispose()
            results.put((n, "opened"))
        except Exception:  # noqa: BLE001 - reported to the test, which fails on it
            results.put((n, traceback.format_exc()))


def test_processes_starting_together_on_a_new_catalog_end_with_one_migrated_catalog(
        new_catalog_urls: list[str]) -> None:
    """Several rounds, each on a new catalog: the race is in the timing."""
    urls, processes = new_catalog_urls, 3
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes)
    results = context.Queue()
    starters = [context.Process(target=_open_in_rounds, args=(urls, barrier, results))
                for _ in range(processes)]
    for starter in starters:
        starter.start()
    outcomes = [results.get(timeout=120) for _ in range(len(urls) * processes)]
    for starter in starters:
        starter.join(timeout=60)
        assert starter.exitcode == 0
    assert [outcome for _, outcome in outcomes if outcome != "opened"] == []
    for url in urls:
        assert revisions_of(url) == set(database.known_revisions()[1])
        assert schema_differences(url) == []


# --------------------------------------------------------------------------- SQLite


def test_an_up_to_date_catalog_opens_while_another_process_holds_the_write_lock(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A command must not queue behind a long writer (an ingest) just to start."""
    path = tmp_path / "catalog.db"
    SqlCatalog.from_url(f"sqlite:///{path}").engine.dispose()
    monkeypatch.setattr(database, "SQLITE_BUSY_SECONDS", 0.2)
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        catalog = SqlCatalog.from_url(f"sqlite:///{path}")
        assert catalog.list_packages() == []
        catalog.engine.dispose()
    finally:
        other.execute("ROLLBACK")
        other.close()


def test_an_admin_made_before_the_upgrade_still_cannot_second_its_makers_deaccession(
        catalog_url: str) -> None:
    """Migration 0022 fills who set each account's password from the audit log: an
    account whose maker's say was lost when its "owner" changed the password (the
    only note was the last setter) gets its maker back."""
    import json as json_text
    from datetime import UTC, datetime

    make_the_catalog_of_the_release_before(catalog_url, "0022_password_setters")
    ada = {"name": "ada", "kind": "person", "role": "admin", "account_id": "a-ada"}
    bob = {"name": "bob", "kind": "person", "role": "admin", "account_id": "a-bob"}
    at = datetime(2026, 12, 1, tzinfo=UTC)
    engine = database.create_engine_for(catalog_url)
    with engine.begin() as connection:
        for account, set_by in ((ada, None), (bob, bob)):  # bob "changed his own" password
            connection.execute(text(
                "INSERT INTO accounts (account_id, name, role, password_hash, created_at, "
                "password_changed_at, password_set_by) VALUES (:id, :name, 'admin', 'x', :at, :at, "
                ":set_by)"), {"id": account["account_id"], "name": account["name"], "at": at,
                             "set_by": json_text.dumps(set_by) if set_by else None})
        for seq, (action, actor) in enumerate((("account created", ada),
                                               ("password changed", bob)), start=1):
            connection.execute(text(
                "INSERT INTO events (seq, event_id, event_type, outcome, agent, occurred_at, "
                "detail, prev_hash, hash, actor) VALUES (:seq, :id, 'policy assignment', "
                "'success', 'strongroom', :at, :detail, :prev, :hash, :actor)"),
                {"seq": seq, "id": f"e{seq}", "at": at, "prev": "0" * 64, "hash": f"{seq:064}",
                 "detail": json_text.dumps({"action": action, "account": {
                     "account_id": "a-bob", "name": "bob", "role": "admin"}}),
                 "actor": json_text.dumps(actor)})
    engine.dispose()

    catalog = SqlCatalog.from_url(catalog_url)
    try:
        account = catalog.get_account("a-bob")
        assert account is not None
        assert [a.name for a in account.password_setters] == ["ada"]
        assert catalog.get_account("a-ada").password_setters == ()  # type: ignore[union-attr]
    finally:
        catalog.engine.dispose()
