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


class _SharedBrowser:
    """One Chromium for the tests of a module, made as new before each test: its
    start cost about a CPU-second, once per test of seventy."""

    def __init__(self) -> None:
        self.driver: object | None = None

    def fresh(self) -> object:
        from selenium.common.exceptions import WebDriverException

        if self.driver is not None:
            try:
                _as_new(self.driver)
                return self.driver
            except WebDriverException:  # it broke in the last test: a new one
                self.close()
        self.driver = new_browser()
        return self.driver

    def close(self) -> None:
        driver, self.driver = self.driver, None
        if driver is not None:
            driver.quit()  # type: ignore[attr-defined]


def _as_new(driver) -> None:  # type: ignore[no-untyped-def]
    """No alert open, no page, no cookie or cached file of any site, no emulated
    screen, script switched on, no download folder, the window at the size
    new_browser gives: every setting a browser test changes (each change of
    another kind needs its undoing here)."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert.dismiss()
    except NoAlertPresentException:
        pass
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    driver.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": False})
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "default"})
    driver.set_window_size(1280, 900)


@pytest.fixture(scope="module")
def _module_browser() -> Iterator[_SharedBrowser]:
    shared = _SharedBrowser()
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture
def browser(_module_browser: _SharedBrowser) -> object:
    """A browser as if new (one Chromium per module, reset before each test)."""
    return _module_browser.fresh()


@pytest.fixture
def phone() -> Iterator[object]:
    """A browser 390 px wide, as a phone."""
    driver = new_browser(390, 844)
    try:
        yield driver
    finally:
        driver.quit()
