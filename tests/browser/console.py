"""A real console for the browser tests: ``strongroom serve`` in a subprocess on an
embedded archive of its own, with one account per role, and headless Chromium
driven through its driver (Selenium), both from the system's packages.

Where no browser is installed the browser tests skip, saying so; with
``STRONGROOM_REQUIRE_BROWSER=1`` (set by ``.ci/run``, which installs Chromium)
they fail instead, so that CI never passes without having run them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.cli_runner import CLI, cli_env, run_cli

#: role -> (name, password) of the accounts every console starts with
PEOPLE = {
    "admin": ("Ada Admin", "admin password of Ada"),
    "submitter": ("Sam Submitter", "submitter password of Sam"),
    "auditor": ("Avery Auditor", "auditor password of Avery"),
    "reader": ("Rene Reader", "reader password of Rene"),
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Console:
    """A running ``strongroom serve`` and what it was made with."""

    root: Path
    port: int
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.root / "serve.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def data(self) -> Path:
        return self.root / "data"

    def cli(self, *args: str, stdin: str | None = None, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        result = run_cli(*args, env=self.env, cwd=self.root, stdin=stdin, timeout=300)
        if expect is not None:
            assert result.returncode == expect, (args, result.returncode, result.stdout, result.stderr)
        return result

    def start(self) -> None:
        self.cli("init")
        for role, (name, password) in PEOPLE.items():
            self.cli("user", "create", name, "--role", role, "--password-stdin", stdin=password + "\n")
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([*CLI, "serve", "--port", str(self.port)], env=self.env,
                                            cwd=self.root, stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("strongroom serve did not start:\n" + self.log.read_text())
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def client(self, role: str) -> httpx.Client:
        """An HTTP client signed in to the console as the account of ``role`` (no browser)."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        page = client.get("/console/sign-in")
        token = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        name, password = PEOPLE[role]
        answer = client.post("/console/sign-in", data={"name": name, "password": password, "csrf": token,
                                                       "next": "/console/"},
                             headers={"Origin": self.url})
        assert answer.status_code == 303, answer.text
        return client


def start_console(root: Path, **settings: str) -> Console:
    env = cli_env(STRONGROOM_DATA_DIR=str(root / "data"), STRONGROOM_RETRY_BACKOFF="0",
                  STRONGROOM_AGENT="", **settings)
    env.pop("STRONGROOM_AGENT")
    console = Console(root=root, port=free_port(), env=env)
    console.start()
    return console


def chromium_paths() -> tuple[str, str] | None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


def new_browser(width: int = 1280, height: int = 900):  # type: ignore[no-untyped-def]
    """Headless Chromium from the system's packages, driven by its own chromedriver."""
    paths = chromium_paths()
    if paths is None:
        message = ("no Chromium and chromedriver on this machine: install them "
                   "(Debian: apt-get install chromium chromium-driver) to run the browser tests")
        if os.environ.get("STRONGROOM_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = paths[0]
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-extensions",
                 f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=paths[1]), options=options)
    driver.set_page_load_timeout(60)
    if width < 500:  # headless Chromium keeps windows at least 500 px wide: emulate a phone's viewport
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": True})
    return driver


def sign_in(driver, console: Console, role: str, next_path: str = "/console/") -> None:  # type: ignore[no-untyped-def]
    from selenium.webdriver.common.by import By

    name, password = PEOPLE[role]
    driver.get(console.url + "/console/sign-in?next=" + next_path)
    driver.find_element(By.ID, "name").send_keys(name)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(lambda: "/sign-in" not in driver.current_url, what=f"{role} signed in")


def wait_for(condition, timeout: float = 30, what: str = "the page") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout} s for {what}")
        time.sleep(0.1)
