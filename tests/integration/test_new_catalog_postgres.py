"""A new catalog made from the models is the one the migrations make: the tests of
``tests/unit/test_new_catalog.py`` on throwaway PostgreSQL databases (where the
title-search indexes, their extension and the constraints' own text are compared
as the server reports them)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import tests.unit.test_new_catalog as on_sqlite
from tests.integration.services import createdb, dropdb, postgres_url, require_loopback

SHARED = (
    "test_a_catalog_made_from_the_models_is_the_catalog_the_migrations_make",
    "test_a_new_catalog_is_made_without_alembic",
    "test_a_database_holding_anything_of_a_catalog_is_left_to_the_migrations",
)
# Collected here, they resolve ``two_new_catalog_urls`` to the fixture below.
globals().update({name: getattr(on_sqlite, name) for name in SHARED})


@pytest.fixture
def two_new_catalog_urls(postgres_server: None) -> Iterator[tuple[str, str]]:
    names = [f"strongroom_test_{uuid.uuid4().hex[:16]}" for _ in range(2)]
    for name in names:
        createdb(name)
    try:
        yield require_loopback(postgres_url(names[0])), require_loopback(postgres_url(names[1]))
    finally:
        for name in names:
            dropdb(name)
