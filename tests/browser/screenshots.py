"""Screenshots of every console page at 1280 px and 390 px, into docs/screenshots/.

    python -m tests.browser.screenshots

Starts a console on a new embedded archive of its own (as the browser tests
do), submits the example batch (two good records, one bad on purpose), damages
one stored copy behind the service's back and has a deep check find it,
corrects the telegram's title (version 2, sharing its files with version 1) and
asks for the letter's deaccession, so
that every page shows what it shows in use; then signs in as an administrator
(the submit page also as a submitter) and saves each page at both widths.
Needs Chromium and chromedriver (Debian: chromium, chromium-driver).
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

from tests.browser.console import Console, new_browser, sign_in, start_console
from tests.cli_runner import EXAMPLES, ROOT

OUT = ROOT / "docs" / "screenshots"
WIDTHS = {"wide": (1280, 900), "narrow": (390, 844)}


def _prepare(console: Console) -> dict[str, str]:
    """Ingest the example batch, then damage one copy and deep-check it."""
    submitted = json.loads(console.cli("submit", str(EXAMPLES), "--json", expect=None).stdout)
    batch_id = submitted["batch_id"]
    packages = json.loads(console.cli("list", "--json").stdout)["packages"]
    telegram = next(p for p in packages if p["identifier"].startswith("telegram-"))
    letter = next(p for p in packages if p["identifier"].startswith("letter-"))
    # flip one byte of a stored file of the letter, behind the service's back
    stored = sorted((console.data / "objects").rglob("page-01.txt"))
    damaged = [p for p in stored if letter["package_id"] in str(p)] or stored
    data = bytearray(damaged[0].read_bytes())
    data[0] ^= 0x01
    damaged[0].write_bytes(bytes(data))
    console.cli("verify", letter["identifier"], expect=None)
    # the telegram's title corrected: version 2 shares its unchanged files with version 1
    corrected = Path(tempfile.mkdtemp(prefix="strongroom-corrected-"))
    item = next(p for p in EXAMPLES.iterdir() if p.name.startswith("telegram-"))
    shutil.copytree(item, corrected / item.name)
    record_file = corrected / item.name / "metadata.json"
    record = json.loads(record_file.read_text(encoding="utf-8"))
    record_file.write_text(json.dumps({**record, "title": record["title"] + " (title corrected)"}),
                           encoding="utf-8")
    console.cli("submit", str(corrected), expect=None)
    shutil.rmtree(corrected, ignore_errors=True)
    # a deaccession asked at the terminal, waiting for another admin in the console
    console.cli("deaccession", "request", letter["identifier"], "--reason",
                "the depositor withdrew the letter under the deposit agreement", expect=None)
    return {"batch": batch_id, "telegram": telegram["package_id"], "letter": letter["package_id"]}


def _pages(ids: dict[str, str]) -> list[tuple[str, str, str]]:
    """(file name, path, role) of every page."""
    return [
        ("sign-in", "/console/sign-in", ""),
        ("home", "/console/", "admin"),
        ("submit", "/console/submit", "submitter"),
        ("batch", f"/console/batches/{ids['batch']}", "admin"),
        ("packages", "/console/packages", "admin"),
        ("package-telegram", f"/console/packages/{ids['telegram']}", "admin"),
        ("preservation", "/console/preservation", "admin"),
        ("deaccessions", "/console/deaccessions", "admin"),
        ("audit", "/console/audit", "admin"),
        ("admin", "/console/admin", "admin"),
        ("account", "/console/account", "admin"),
        ("api-explorer", "/docs", ""),
    ]


def _full_page(driver, path: Path) -> None:  # type: ignore[no-untyped-def]
    """The whole page, not only the window (Chromium's own full-page capture)."""
    import base64

    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="strongroom-screens-"))
    console = start_console(root)
    try:
        ids = _prepare(console)
        OUT.mkdir(parents=True, exist_ok=True)
        made = []
        for label, (width, height) in WIDTHS.items():
            signed_in_as = None
            driver = new_browser(width, height)
            try:
                for name, path, role in _pages(ids):
                    if role and role != signed_in_as:
                        driver.delete_all_cookies()
                        sign_in(driver, console, role)
                        signed_in_as = role
                    if not role and signed_in_as:
                        driver.delete_all_cookies()
                        signed_in_as = None
                    driver.get(console.url + path)
                    time.sleep(1.5 if path == "/docs" else 0.4)
                    target = OUT / f"{name}-{label}.png"
                    _full_page(driver, target)
                    made.append(target)
            finally:
                driver.quit()
        for target in made:
            print(target.relative_to(ROOT))
        return 0
    finally:
        console.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
