"""Preservation officers and administrators in a real browser: coverage, a damaged
copy found by "check now" and repaired from the page, the audit log, accounts and
tokens, and what other roles are refused.

The console here keeps every package in two file locations (``STRONGROOM_REPLICAS``),
so that a good copy exists to repair a damaged one from.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import bagit
import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.browser.console import Console, sign_in, start_console, wait_for
from tests.cli_runner import EXAMPLES, run_cli


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    root = Path(tmp_path_factory.mktemp("preserved"))
    running = start_console(root, STRONGROOM_REPLICAS=(root / "replica").as_uri())
    try:
        running.cli("submit", str(EXAMPLES), expect=None)  # one item is bad on purpose
        yield running
    finally:
        running.stop()


def packages(console: Console) -> dict[str, str]:
    """identifier -> package id of what the example batch stored."""
    listed = json.loads(console.cli("list", "--json").stdout)
    return {p["identifier"]: p["package_id"] for p in listed["packages"]}


def package_named(console: Console, word: str) -> str:
    return next(pid for identifier, pid in packages(console).items() if word in identifier.lower())


def identifier_of(console: Console, package_id: str) -> str:
    return next(identifier for identifier, pid in packages(console).items() if pid == package_id)


def damage(console: Console, package_id: str) -> Path:
    """Flip one byte of a payload file of version 1 in the primary location,
    behind the service's back."""
    files = (console.data / "objects" / package_id / "v1" / "data").rglob("*")
    payload = sorted(f for f in files if f.is_file() and f.stat().st_size)[0]
    content = bytearray(payload.read_bytes())
    content[0] ^= 0x01
    payload.write_bytes(bytes(content))
    return payload


def csrf_of(page: str) -> str:
    return page.split('name="csrf" value="', 1)[1].split('"', 1)[0]


def says(driver, text: str) -> str:  # type: ignore[no-untyped-def]
    """Wait until the page's main part says ``text`` (the page answering a form
    has replaced the one that sent it); its text."""
    from selenium.common.exceptions import WebDriverException

    def main_text() -> str:
        try:
            return str(driver.find_element(By.TAG_NAME, "main").text)
        except WebDriverException:  # the old page went away while being read
            return ""

    wait_for(lambda: text in main_text(), what=repr(text))
    return main_text()


def failures_text(driver) -> str:  # type: ignore[no-untyped-def]
    return str(driver.find_element(By.ID, "failures-h").find_element(By.XPATH, "..").text)


def test_an_auditor_sees_coverage_per_location_and_the_checks_per_day(console: Console, browser) -> None:
    sign_in(browser, console, "auditor", "/console/preservation")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Preservation"
    coverage = browser.find_element(By.ID, "coverage-h").find_element(By.XPATH, "..").text
    assert (console.data / "objects").as_uri() in coverage
    assert (console.root / "replica").as_uri() in coverage
    assert "of 2 versions" in coverage
    # every storage location with its role, copies and the versions it lacks
    rows = [[cell.text for cell in row.find_elements(By.TAG_NAME, "td")]
            for row in browser.find_elements(By.CSS_SELECTOR, "#locations-h + table tbody tr")]
    assert rows == [[(console.data / "objects").as_uri(), "primary", "2", "0", "0"],
                    [(console.root / "replica").as_uri(), "replica", "2", "0", "0"]]
    chart = browser.find_element(By.CSS_SELECTOR, "figure.chart svg")
    assert chart.get_attribute("role") == "img"
    assert "Fixity checks per day" in browser.find_element(By.ID, "chart-title").get_attribute("textContent")
    # the table beside the chart has every day of the window
    rows = browser.find_elements(By.CSS_SELECTOR, "table.per-day tbody tr")
    assert len(rows) == 90
    assert "Repair" not in [b.text for b in browser.find_elements(By.TAG_NAME, "button")]


def test_a_damaged_copy_is_found_by_check_now_and_shown_as_a_failure(console: Console, browser) -> None:
    telegram = package_named(console, "telegram")
    identifier = identifier_of(console, telegram)
    damaged = damage(console, telegram)
    sign_in(browser, console, "auditor", "/console/preservation")
    assert identifier not in failures_text(browser)  # nobody has looked yet
    browser.find_element(By.ID, "check-package").send_keys(telegram)
    browser.find_element(By.ID, "check-version").send_keys("1")
    browser.find_element(By.XPATH, "//button[text()='Deep-check this package now']").click()
    says(browser, f"A deep check of {telegram} v1 has started")

    def failure_shown() -> bool:
        browser.get(console.url + "/console/preservation")
        return identifier in failures_text(browser)

    wait_for(failure_shown, what="the failed check on the page")
    # the copy is named by its record's title and identifier, not by a UUID
    row = browser.find_element(By.XPATH, f"//table[contains(@class,'failures')]//tr[contains(., '{identifier}')]").text
    assert "Telegram" in row and telegram not in row
    assert (console.data / "objects").as_uri() in row  # the damaged copy: the primary location
    assert damaged.relative_to(console.data / "objects" / telegram / "v1").as_posix() in row
    assert "FIXITY" in row or "MISMATCH" in row or "CHECKSUM" in row, row


def test_an_admin_repairs_a_damaged_copy_from_the_page_and_the_failure_clears(console: Console, browser) -> None:
    letter = package_named(console, "1952")
    damaged = damage(console, letter)
    # an auditor has it checked (check now, as the page's form sends it)
    auditor = console.client("auditor")
    token = csrf_of(auditor.get("/console/preservation").text)
    started = auditor.post("/console/preservation/check", data={"csrf": token, "package": letter, "version": "1"},
                           headers={"Origin": console.url})
    assert started.status_code == 303
    wait_for(lambda: letter in auditor.get("/console/preservation").text.split('id="failures-h"', 1)[1]
             .split('id="overdue-h"', 1)[0], what="the failed check")

    sign_in(browser, console, "admin", "/console/preservation")
    browser.find_element(By.CSS_SELECTOR,
                         f"button[aria-label='Repair {identifier_of(console, letter)} version 1']").click()
    says(browser, f"{letter} v1: repaired")
    result = browser.find_element(By.ID, "repaired-h").find_element(By.XPATH, "..").text
    assert f"{letter} v1: repaired" in result
    assert "rebuilt from " + (console.root / "replica").as_uri() in result
    assert identifier_of(console, letter) not in failures_text(browser)
    # the bytes are whole again: the same as the good copy's, and a new check passes
    good = console.root / "replica" / damaged.relative_to(console.data / "objects")
    assert damaged.read_bytes() == good.read_bytes()
    assert console.cli("verify", letter).returncode == 0
    # the audit log names the person who repaired it
    browser.get(console.url + f"/console/audit?event_type=replication&agent=Ada+Admin&package={letter}")
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")]
    assert rows and all("Ada Admin (person, admin)" in r for r in rows)


def test_an_admin_fills_a_location_that_lacks_versions_from_the_page(tmp_path: Path, browser) -> None:
    """Before, the page said a location that lacks versions is filled at the
    terminal, and stopped there."""
    new = tmp_path / "new-replica"
    running = start_console(tmp_path, STRONGROOM_REPLICAS=new.as_uri())
    try:
        # Stored before the new location was named: it lacks both versions.
        before = {k: v for k, v in running.env.items() if k != "STRONGROOM_REPLICAS"}
        run_cli("submit", str(EXAMPLES), env=before, cwd=running.root)
        auditor = running.client("auditor")
        assert "Fill</button>" not in auditor.get("/console/preservation").text  # an admin's action
        # A link cannot make the page say a fill started that did not.
        for spoof in ({"filling": "file:///srv/not-ours", "sent": "99"},
                      {"started": "every package; your copies are safe, no need to look"}):
            assert "has started" not in auditor.get("/console/preservation", params=spoof).text

        sign_in(browser, running, "admin", "/console/preservation")

        def row() -> list[str]:
            cells = browser.find_elements(
                By.XPATH, f"//section[h2[@id='locations-h']]/table//tr[td/code='{new.as_uri()}']/td")
            return [cell.text for cell in cells]
        assert row()[:5] == [new.as_uri(), "replica", "0", "0", "2"]
        browser.find_element(By.CSS_SELECTOR, f"button[aria-label='Fill {new.as_uri()}']").click()
        says(browser, f"The fill of {new.as_uri()} has started (on this server)")

        def filled() -> bool:
            browser.get(running.url + "/console/preservation")
            return row()[:5] == [new.as_uri(), "replica", "2", "0", "0"]
        wait_for(filled, timeout=120, what="the new location filled")
        assert browser.find_elements(By.CSS_SELECTOR, f"button[aria-label='Fill {new.as_uri()}']") == []
        bags = sorted(p.parent for p in new.glob("*/v*/bagit.txt"))
        assert len(bags) == 2
        for bag in bags:
            bagit.Bag(str(bag)).validate()  # whole to LOC bagit too
        # each copy written names the person who asked for it
        browser.get(running.url + "/console/audit?event_type=replication&agent=Ada+Admin")
        rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")]
        assert len(rows) >= 2 and all("Ada Admin (person, admin)" in r for r in rows)
    finally:
        running.stop()


def test_an_auditor_runs_the_checks_due_now_from_the_page(console: Console, browser) -> None:
    sign_in(browser, console, "auditor", "/console/preservation")
    browser.find_element(By.XPATH, "//button[text()='Run the checks due now']").click()
    says(browser, "The checks due now have started")


def test_the_report_downloads_as_csv_with_what_the_cli_reports(console: Console) -> None:
    answer = console.client("auditor").get("/console/preservation/report.csv")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    assert answer.headers["content-disposition"].startswith("attachment;")
    printed = console.cli("fixity", "report", "--csv", expect=None).stdout

    def facts(text: str) -> list[dict[str, str]]:  # the moment of the report aside
        rows = list(csv.DictReader(io.StringIO(text)))
        return [{k: v for k, v in row.items() if not (k == "at" and row["kind"] in ("coverage", "reconciliation"))}
                for row in rows]

    assert facts(answer.text) == facts(printed)
    assert facts(answer.text)[0]["kind"] == "coverage"


def test_a_reader_cannot_reach_the_preservation_audit_or_admin_pages(console: Console, browser) -> None:
    sign_in(browser, console, "reader")
    menu = browser.find_element(By.CSS_SELECTOR, "nav[aria-label=Main]").text
    for page in ("Preservation", "Audit", "Admin"):
        assert page not in menu
    browser.get(console.url + "/console/preservation")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Not for your role"
    reader = console.client("reader")
    for path in ("/console/preservation", "/console/preservation/report.csv", "/console/audit",
                 "/console/audit/verify", "/console/admin"):
        assert reader.get(path).status_code == 403, path


def test_an_auditor_cannot_repair_or_administer_even_with_a_valid_csrf_token(console: Console) -> None:
    auditor = console.client("auditor")
    page = auditor.get("/console/preservation").text
    assert "/console/preservation/repair" not in page  # no repair form or button shown
    token = csrf_of(page)
    some_package = sorted(packages(console).values())[0]
    origin = {"Origin": console.url}
    for path, data in [
        ("/console/preservation/repair", {"package": some_package, "version": "1"}),
        ("/console/admin/accounts", {"name": "Mallory", "role": "admin", "password": "x" * 16,
                                     "repeat": "x" * 16}),
        ("/console/admin/accounts/disable", {"name": "Ada Admin"}),
        ("/console/admin/tokens", {"name": "sneaky", "role": "admin"}),
    ]:
        answer = auditor.post(path, data={"csrf": token, **data}, headers=origin)
        assert answer.status_code == 403 and "Not for your role" in answer.text, path
    accounts = json.loads(console.cli("user", "list", "--json").stdout)["accounts"]
    assert "Mallory" not in [a["name"] for a in accounts]
    assert next(a for a in accounts if a["name"] == "Ada Admin")["disabled_at"] is None


def test_an_auditor_filters_the_audit_log_and_verifies_the_chain(console: Console, browser) -> None:
    # the log names each package by its identifier, its id as text beside it (a
    # link's title reaches neither a keyboard nor a screen reader), and each batch
    # by where it came from and when, linked to its page
    identifier, some_package = min(packages(console).items(), key=lambda named: named[1])
    auditor = console.client("auditor")
    auditor.post("/console/preservation/check",
                 data={"csrf": csrf_of(auditor.get("/console/preservation").text), "package": some_package,
                       "version": "1"}, headers={"Origin": console.url})
    sign_in(browser, console, "auditor", "/console/audit")

    def checks_by_avery() -> list[str]:
        browser.get(console.url + "/console/audit?event_type=fixity+check&agent=Avery+Auditor")
        return [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")]

    wait_for(lambda: any(identifier in r for r in checks_by_avery()), what="the check Avery asked for")
    rows = checks_by_avery()
    assert all("fixity check" in r and "Avery Auditor" in r for r in rows)
    assert browser.find_element(By.ID, "f-type").get_attribute("value") == "fixity check"

    browser.get(console.url + "/console/audit?event_type=ingestion&package=" + some_package)
    rows = [r.text for r in browser.find_elements(By.CSS_SELECTOR, "table.events tbody tr")]
    assert rows and all("ingestion" in r and identifier in r for r in rows)
    assert all(f"package id {some_package}" in r for r in rows)

    browser.get(console.url + "/console/audit?event_type=accession")
    batch_link = browser.find_element(By.CSS_SELECTOR, "table.events tbody tr a[href^='/console/batches/']")
    batch_id = batch_link.get_attribute("href").rsplit("/", 1)[1]
    assert "submitted" in batch_link.text and batch_id not in batch_link.text
    batch_link.click()
    wait_for(lambda: batch_id in browser.current_url, what="the batch's page")

    browser.get(console.url + "/console/audit?from=2999-01-01")
    assert "No event matches these filters." in browser.page_source
    browser.get(console.url + "/console/audit?from=yesterday")
    assert "2024-05-31" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text  # how to write a day

    browser.find_element(By.LINK_TEXT, "Verify the whole chain and its anchors").click()
    says(browser, "The chain holds")


def test_the_admin_creates_an_account_that_person_signs_in_and_disabling_it_ends_the_session(
        console: Console, browser) -> None:
    sign_in(browser, console, "admin", "/console/admin")
    browser.find_element(By.ID, "account-name").send_keys("Nell Newcomer")
    browser.find_element(By.CSS_SELECTOR, "#account-role option[value=reader]").click()
    browser.find_element(By.ID, "account-password").send_keys("Nell's first password")
    browser.find_element(By.ID, "account-repeat").send_keys("Nell's first password")
    browser.find_element(By.XPATH, "//button[text()='Create the account']").click()
    says(browser, "The account was created")
    assert "Nell Newcomer" in browser.find_element(By.CSS_SELECTOR, "table.accounts").text

    nell = httpx.Client(base_url=console.url, follow_redirects=False, timeout=30)
    signed = nell.post("/console/sign-in", data={"name": "Nell Newcomer", "password": "Nell's first password",
                                                 "csrf": csrf_of(nell.get("/console/sign-in").text),
                                                 "next": "/console/"}, headers={"Origin": console.url})
    assert signed.status_code == 303
    assert "Welcome, Nell Newcomer" in nell.get("/console/").text

    browser.get(console.url + "/console/admin")
    browser.find_element(By.CSS_SELECTOR, "button[aria-label='Disable the account Nell Newcomer']").click()
    says(browser, "The account was disabled")
    ended = nell.get("/console/")
    assert ended.status_code == 303 and "/console/sign-in" in ended.headers["location"]


def test_a_token_secret_is_shown_once_and_revoking_it_stops_it(console: Console, browser) -> None:
    sign_in(browser, console, "admin", "/console/admin")
    browser.find_element(By.ID, "token-name").send_keys("catalogue-sync")
    browser.find_element(By.CSS_SELECTOR, "#token-role option[value=reader]").click()
    browser.find_element(By.XPATH, "//button[text()='Create the token']").click()
    says(browser, "Copy it now")
    secret = browser.find_element(By.ID, "new-secret").get_attribute("value")
    assert secret and len(secret) > 30
    copy = browser.find_element(By.CSS_SELECTOR, "button[data-copy='new-secret']")
    assert copy.is_displayed()
    copy.click()  # headless: the clipboard may be refused; either way it says what happened
    wait_for(lambda: browser.find_element(By.CSS_SELECTOR, "[data-copied]").text,
             what="the copy's outcome")
    assert browser.execute_script(
        "const f = document.getElementById('new-secret');"
        " return f.value.slice(f.selectionStart, f.selectionEnd)") == secret  # selected at least
    api = httpx.Client(base_url=console.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30)
    assert api.get("/packages").status_code == 200
    browser.get(console.url + "/console/admin")
    assert secret not in browser.page_source  # shown once
    row = browser.find_element(By.XPATH, "//table[contains(@class,'tokens')]//tr[contains(., 'catalogue-sync')]")
    row.find_element(By.TAG_NAME, "button").click()
    says(browser, "The token was revoked")
    assert api.get("/packages").status_code == 401


def test_names_from_anywhere_show_as_text(console: Console, browser) -> None:
    console.cli("user", "create", "<script>alert(1)</script>", "--role", "reader", "--password-stdin",
                stdin="a password long enough\n")
    sign_in(browser, console, "admin", "/console/admin")
    assert "<script>alert(1)</script>" in browser.find_element(By.CSS_SELECTOR, "table.accounts").text


@pytest.mark.parametrize("path", ["/console/preservation", "/console/audit", "/console/admin"])
def test_the_pages_fit_a_phone(console: Console, phone, path: str) -> None:
    sign_in(phone, console, "admin", path)
    time.sleep(0.2)
    overflow = phone.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{path} is {overflow} px wider than a 390 px phone"
