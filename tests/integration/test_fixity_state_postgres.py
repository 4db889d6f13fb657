"""The catalog's fixity state of every copy on PostgreSQL: the same behaviour as on SQLite.

Every test of ``tests/unit/test_fixity_state.py`` that takes the ``catalog`` or
``catalog_url`` fixture runs here again on a throwaway PostgreSQL database
(keyset pages over ``timestamptz``, the advisory locks, ``GREATEST`` and the
epoch arithmetic of the migration are PostgreSQL's own).
"""

from __future__ import annotations

import inspect

import pytest

import tests.unit.test_fixity_state as on_sqlite

_SHARED = sorted(
    name for name, test in vars(on_sqlite).items()
    if name.startswith("test_")
    and {"catalog", "catalog_url"} & set(inspect.signature(test).parameters))
assert len(_SHARED) >= 6, _SHARED

# Collected here, they resolve ``catalog_url`` to the fixture of this module (and
# ``catalog`` to the one of tests/conftest.py on it).
globals().update({name: getattr(on_sqlite, name) for name in _SHARED})
small_pages = on_sqlite.small_pages


@pytest.fixture
def catalog_url(pg_url: str) -> str:
    return pg_url


def test_the_migration_relabels_deliveries_recorded_as_deep_checks_on_postgres(
        pg_url: str) -> None:
    from tests.unit.test_delivery_checks import deliveries_recorded_as_deep_are_relabelled

    deliveries_recorded_as_deep_are_relabelled(pg_url)
