"""Opening the catalog on PostgreSQL: the tests of ``tests/unit/test_catalog_startup.py``
that are not about SQLite, on throwaway PostgreSQL databases.

Here the upgrade is serialized by an advisory lock rather than SQLite's write
lock, and a catalog that is up to date is still opened without Alembic.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import tests.unit.test_catalog_startup as on_sqlite
from storage import database
from storage.catalog import SqlCatalog
from tests.integration.services import createdb, dropdb, postgres_url, require_loopback

SHARED = (
    "test_a_catalog_one_revision_behind_is_upgraded_when_opened",
    "test_a_catalog_migrated_by_a_newer_release_is_refused",
    "test_catalog_before_actors_upgrades_with_its_chain_intact_and_one_live_token_per_name",
    "test_processes_starting_together_on_a_new_catalog_end_with_one_migrated_catalog",
    "test_a_command_other_than_init_leaves_an_earlier_releases_catalog_as_it_is_and_says_to_run_init",
    "test_init_upgrades_an_earlier_releases_catalog_and_says_whether_it_did",
    "test_an_admin_made_before_the_upgrade_still_cannot_second_its_makers_deaccession",
)
# Collected here, they resolve ``catalog_url``/``new_catalog_urls`` to the fixtures below.
globals().update({name: getattr(on_sqlite, name) for name in SHARED})


@pytest.fixture
def catalog_url(pg_url: str) -> str:
    return pg_url


@pytest.fixture
def new_catalog_urls(postgres_server: None) -> Iterator[list[str]]:
    names = [f"strongroom_test_{uuid.uuid4().hex[:16]}" for _ in range(4)]
    for name in names:
        createdb(name)
    try:
        yield [require_loopback(postgres_url(name)) for name in names]
    finally:
        for name in names:
            dropdb(name)


def test_an_up_to_date_postgres_catalog_is_opened_by_reading_its_revisions(
        catalog_url: str) -> None:
    SqlCatalog.from_url(catalog_url).engine.dispose()
    engine = database.create_engine_for(catalog_url)
    try:
        assert database.catalog_revisions(engine) == database.known_revisions()[1]
        assert database.needs_migration(engine) is False
    finally:
        engine.dispose()
