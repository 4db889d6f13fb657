"""Markers by folder: tests/unit needs nothing running; tests/integration needs real services;
tests/e2e runs the real ``strongroom`` command in a subprocess (helpers: tests/cli_runner.py);
tests/browser drives the web console in headless Chromium (helpers: tests/browser/console.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
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
