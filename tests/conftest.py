"""Markers by folder: tests/unit needs nothing running; tests/integration needs real services;
tests/e2e runs the real ``strongroom`` command in a subprocess (helpers: tests/cli_runner.py);
tests/browser drives the web console in headless Chromium (helpers: tests/browser/console.py)."""

from __future__ import annotations

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
