"""Fixtures of the browser tests: one console per module, one browser per test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.console import Console, new_browser, start_console


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    running = start_console(Path(tmp_path_factory.mktemp("console")))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def browser() -> Iterator[object]:
    driver = new_browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def phone() -> Iterator[object]:
    """A browser 390 px wide, as a phone."""
    driver = new_browser(390, 844)
    try:
        yield driver
    finally:
        driver.quit()
