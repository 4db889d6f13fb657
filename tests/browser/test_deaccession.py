"""Deaccession in a real browser: an admin asks, the same admin is refused as
approver, a second admin approves, and the package page then says it was
deaccessioned, when and why (410). Other roles do not get the page."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.browser.console import Console, sign_in, start_console, wait_for
from tests.browser.test_preservation import says
from tests.cli_runner import EXAMPLES

SECOND = ("Bea Second", "second admin password")
REASON = "The depositor withdrew the deposit agreement"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    root = Path(tmp_path_factory.mktemp("deaccession"))
    running = start_console(root, STRONGROOM_REPLICAS=(root / "replica").as_uri())
    try:
        running.cli("submit", str(EXAMPLES), expect=None)  # one item is bad on purpose
        running.cli("user", "create", SECOND[0], "--role", "admin", "--password-stdin",
                    stdin=SECOND[1] + "\n")
        yield running
    finally:
        running.stop()


def a_package(console: Console) -> tuple[str, str]:
    listed = json.loads(console.cli("list", "--json").stdout)["packages"]
    telegram = next(p for p in listed if "telegram" in p["identifier"])
    return telegram["identifier"], telegram["package_id"]


def test_one_admin_asks_is_refused_as_approver_and_a_second_admin_approves(
        console: Console, browser) -> None:  # type: ignore[no-untyped-def]
    identifier, package_id = a_package(console)
    sign_in(browser, console, "admin", "/console/deaccessions")
    browser.find_element(By.ID, "deaccession-package").send_keys(identifier)
    browser.find_element(By.ID, "deaccession-reason").send_keys(REASON)
    browser.find_element(By.XPATH, "//button[text()='Ask for the deaccession']").click()
    says(browser, "Another admin must approve it")

    # Its asker is offered no Approve button, only told that another admin approves it …
    assert not browser.find_elements(By.CSS_SELECTOR, "form[action='/console/deaccessions/approve']")
    says(browser, "You asked for it, or your credential comes from whoever did")
    # … and an approval posted all the same is refused by the server.
    browser.execute_script("""
        const form = document.createElement('form');
        form.method = 'post'; form.action = '/console/deaccessions/approve';
        for (const [name, value] of [['csrf', document.querySelector('input[name=csrf]').value],
                                     ['request_id', arguments[0]]]) {
          const input = document.createElement('input');
          input.type = 'hidden'; input.name = name; input.value = value; form.append(input);
        }
        document.body.append(form); form.submit();""",
        browser.find_element(By.CSS_SELECTOR, "tr[id^='request-']").get_attribute("id")
        .removeprefix("request-"))
    text = says(browser, "DEACCESSION_SAME_PERSON")
    assert "two people" in text and "Ada Admin" in text
    assert (console.data / "objects" / package_id / "v1").is_dir()

    browser.delete_all_cookies()
    browser.get(console.url + "/console/sign-in?next=/console/deaccessions")
    browser.find_element(By.ID, "name").send_keys(SECOND[0])
    browser.find_element(By.ID, "password").send_keys(SECOND[1])
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(lambda: "/sign-in" not in browser.current_url, what="the second admin signed in")
    approve = browser.find_element(By.CSS_SELECTOR, "form[action='/console/deaccessions/approve'] button")
    # One click deletes for good: the page asks once more, and "Cancel" keeps everything.
    approve.click()
    question = browser.switch_to.alert
    assert "cannot be undone" in question.text and identifier in question.text
    question.dismiss()
    assert (console.data / "objects" / package_id / "v1").is_dir()
    approve.click()
    browser.switch_to.alert.accept()
    text = says(browser, "objects are gone from every location")
    assert "deaccessioned by Bea Second" in text
    assert not (console.data / "objects" / package_id).exists()
    assert not (console.root / "replica" / package_id).exists()

    browser.get(console.url + f"/console/packages/{identifier}")
    page = says(browser, "was deaccessioned on")
    assert REASON in page


def test_a_version_only_deaccession_is_told_on_the_package_page(
        console: Console, browser, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES / "letter-1952-03-sample", batch / "letter-1952-03-sample")
    metadata = batch / "letter-1952-03-sample" / "metadata.json"
    record = json.loads(metadata.read_text(encoding="utf-8"))
    metadata.write_text(json.dumps({**record, "title": record["title"] + " (corrected)"}),
                        encoding="utf-8")
    console.cli("submit", str(batch))
    # Asked in the console by its admin account, approved by a second admin whose
    # account the first did not make: two people. (The operating-system account
    # that made both accounts at the terminal is neither's second person: it
    # chose their first passwords.)
    admin = console.client("admin")
    page = admin.get("/console/deaccessions").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = admin.post("/console/deaccessions/request", headers={"Origin": console.url},
                        data={"csrf": csrf, "package": "letter-1952-03-sample", "version": "1",
                              "reason": "superseded by a corrected record"})
    assert answer.status_code == 303, answer.text
    [asked] = [r for r in json.loads(console.cli("deaccession", "list", "--json").stdout)["requests"]
               if r["reason"] == "superseded by a corrected record"]
    refused = console.cli("deaccession", "approve", asked["request_id"], expect=1)
    assert "DEACCESSION_SAME_PERSON" in refused.stderr
    second = httpx.Client(base_url=console.url, follow_redirects=False, timeout=30)
    token = second.get("/console/sign-in").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert second.post("/console/sign-in", headers={"Origin": console.url},
                       data={"name": SECOND[0], "password": SECOND[1], "csrf": token,
                             "next": "/console/"}).status_code == 303
    csrf = second.get("/console/deaccessions").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    approved = second.post("/console/deaccessions/approve", headers={"Origin": console.url},
                           data={"csrf": csrf, "request_id": asked["request_id"]})
    assert approved.status_code == 303, approved.text
    approver = SECOND[0]

    sign_in(browser, console, "reader", "/console/packages/letter-1952-03-sample")
    text = says(browser, "Version 1 was deaccessioned")
    assert "superseded by a corrected record" in text and f"approved by {approver}" in text
    assert "(corrected)" in text


@pytest.mark.parametrize("role", ["submitter", "reader", "auditor"])
def test_other_roles_cannot_ask_for_a_deaccession(console: Console, role: str) -> None:
    client = console.client(role)
    page = client.get("/console/account").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post("/console/deaccessions/request", headers={"Origin": console.url},
                         data={"csrf": csrf, "package": "anything", "reason": "no"})
    assert answer.status_code == 403
    assert isinstance(answer, httpx.Response)


def test_the_approver_sees_the_title_of_what_a_deaccession_request_would_delete(
        console: Console, tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES / "letter-1952-03-sample", batch / "minutes")
    metadata = batch / "minutes" / "metadata.json"
    record = json.loads(metadata.read_text(encoding="utf-8"))
    metadata.write_text(json.dumps({**record, "identifier": "minutes-1953-to-withdraw",
                                    "title": "Minutes of the harbour board, 1953"}), encoding="utf-8")
    console.cli("submit", str(batch))
    admin = console.client("admin")
    page = admin.get("/console/deaccessions").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert admin.post("/console/deaccessions/request", headers={"Origin": console.url},
                      data={"csrf": csrf, "package": "minutes-1953-to-withdraw",
                            "reason": "asked twice by mistake"}).status_code == 303
    second = httpx.Client(base_url=console.url, follow_redirects=False, timeout=30)
    csrf = second.get("/console/sign-in").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert second.post("/console/sign-in", headers={"Origin": console.url},
                       data={"name": SECOND[0], "password": SECOND[1], "csrf": csrf,
                             "next": "/console/"}).status_code == 303
    page = second.get("/console/deaccessions").text
    row = page.split("Minutes of the harbour board, 1953", 1)
    assert len(row) == 2, "the request's row does not name the package's title"
    assert 'href="/console/packages/' in row[0].rsplit("<tr", 1)[1], "the title does not link to the package"
    confirm = row[1].split("data-confirm=", 1)[1].split(">", 1)[0]
    assert "Minutes of the harbour board, 1953" in confirm and "minutes-1953-to-withdraw" in confirm


def test_a_refused_deaccession_request_names_the_identifier_typed_not_a_uuid(console: Console) -> None:
    listed = json.loads(console.cli("list", "--json").stdout)["packages"]
    identifier, package_id = next((p["identifier"], p["package_id"]) for p in listed)
    admin = console.client("admin")
    page = admin.get("/console/deaccessions").text
    csrf = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = admin.post("/console/deaccessions/request", headers={"Origin": console.url},
                        data={"csrf": csrf, "package": identifier, "version": "7", "reason": "a test"})
    problem = answer.text.split('class="problem"', 1)[1].split("</div>", 1)[0]
    assert f"{identifier} has no version 7" in problem and package_id not in problem, problem
