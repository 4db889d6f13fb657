"""Markers by folder: tests/unit needs nothing running; tests/integration needs real services;
tests/e2e runs the real ``strongroom`` command in a subprocess (helpers: tests/cli_runner.py);
tests/browser drives the web console in headless Chromium (helpers: tests/browser/console.py).

A module that gives a ``catalog_url`` fixture (a fresh SQLite file, a throwaway
PostgreSQL database) gets ``catalog``, the SQL catalog on it, from here."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.catalog import SqlCatalog

HERE = Path(__file__).parent


#: Folders in the order their tests start: the long ones first, so that when the
#: suite is spread over processes (``.ci/run``: ``-n 3 --dist loadfile``) the last
#: files to start are short and no process is left running alone at the end.
_FIRST = ("integration", "browser", "e2e", "unit")


def _rank(item: pytest.Item) -> int:
    path = Path(str(item.fspath))
    folder = next((name for name in _FIRST if HERE / name in path.parents), None)
    return _FIRST.index(folder) if folder else len(_FIRST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=_rank)  # stable: within a folder, the order collected
    for item in items:
        path = Path(str(item.fspath))
        if HERE / "integration" in path.parents:
            item.add_marker(pytest.mark.integration)
        elif HERE / "e2e" in path.parents:
            item.add_marker(pytest.mark.e2e)
        elif HERE / "unit" in path.parents:
            item.add_marker(pytest.mark.unit)
        elif HERE / "browser" in path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[SqlCatalog]:
    """The SQL catalog, migrated to the newest schema, on the database of the
    test module's ``catalog_url`` fixture; its engine is disposed after."""
    catalog = SqlCatalog.from_url(catalog_url)
    yield catalog
    catalog.engine.dispose()


@pytest.fixture(autouse=True)
def root_logger_as_it_was() -> Iterator[None]:
    """A test that runs a command in process (``configure_logging`` at DEBUG, say)
    leaves the root logger's level and handlers as it found them: a later test
    that measures memory must not pay for botocore's debug lines, which repeat
    every byte of a request body."""
    root = logging.getLogger()
    level, handlers, last_resort = root.level, list(root.handlers), logging.lastResort
    yield
    root.setLevel(level)
    logging.lastResort = last_resort
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    for handler in handlers:
        if handler not in root.handlers:
            root.addHandler(handler)
