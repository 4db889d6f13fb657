"""A submitter sends a batch from the browser, follows it live, reads what is wrong
with an item in words, downloads the findings, fixes the item and sends it again.

The console here has a work queue that cannot be reached (a broker on a closed
port), so an upload's items wait, ``in progress``, until the test sends them
with ``strongroom requeue`` from the command line (no broker there: it ingests
them itself). That makes "the page follows the batch without reloading"
something the test watches happen, not a race.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By

from tests.browser.console import PEOPLE, Console, free_port, sign_in, start_console, wait_for
from tests.cli_runner import CLI

#: a port nothing listens on: the console's broker, so that uploads wait to be requeued
DEAD_BROKER = f"redis://127.0.0.1:{free_port()}/{os.environ.get('STRONGROOM_TEST_REDIS_DB', '14')}"


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    running = start_console(Path(tmp_path_factory.mktemp("console")), STRONGROOM_BROKER_URL=DEAD_BROKER)
    try:
        yield running
    finally:
        running.stop()


def requeue(console: Console, batch_id: str) -> None:
    """Ingest the batch's waiting items, as staff would once the queue is back."""
    env = {k: v for k, v in console.env.items() if k != "STRONGROOM_BROKER_URL"}
    done = subprocess.run([*CLI, "requeue", batch_id], env=env, cwd=console.root, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode in (0, 1), done.stderr  # 1: an item was rejected, as intended


def record(identifier: str, **fields: object) -> dict[str, object]:
    return {"identifier": identifier, "title": f"Letter {identifier}", "date": "1952-03",
            "type": "letter", **fields}


def item(parent: Path, name: str, metadata: dict[str, object], text: str = "page one") -> Path:
    folder = parent / name
    (folder / "scan").mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps(metadata, indent=2), encoding="utf-8")
    (folder / "scan" / "page-01.txt").write_text(text, encoding="utf-8")
    return folder


def batch_id_of(url: str) -> str:
    found = re.search(r"/console/batches/([0-9a-f-]{36})", url)
    assert found, url
    return found.group(1)


def upload_folder(browser, console: Console, folder: Path, collection: str = "") -> str:  # type: ignore[no-untyped-def]
    browser.get(console.url + "/console/submit")
    browser.find_element(By.ID, "folder").send_keys(str(folder))
    if collection:
        browser.find_element(By.ID, "collection").send_keys(collection)
    browser.find_element(By.CSS_SELECTOR, "form[data-upload] button[type=submit]").click()
    wait_for(lambda: "/console/batches/" in browser.current_url, what="the batch page")
    return batch_id_of(browser.current_url)


def state_line(browser) -> str:  # type: ignore[no-untyped-def]
    return str(browser.find_element(By.ID, "batch-state").text)


def row_of(browser, name: str):  # type: ignore[no-untyped-def]
    for row in browser.find_elements(By.CSS_SELECTOR, "table.items tbody tr"):
        if row.find_element(By.CSS_SELECTOR, "th").text == name:
            return row
    raise AssertionError(f"no row for {name}")


def test_a_submitter_sends_a_folder_fixes_the_bad_item_and_sees_version_2(
        console: Console, browser, tmp_path: Path) -> None:
    # Version 1 of a letter is already in the archive.
    first = tmp_path / "first"
    item(first, "letter-0001", record("letter-0001"))
    sent = subprocess.run([*CLI, "submit", str(first)], cwd=console.root, capture_output=True, text=True,
                          env={k: v for k, v in console.env.items() if k != "STRONGROOM_BROKER_URL"},
                          timeout=300, check=False)
    assert sent.returncode == 0, sent.stderr

    # A folder of corrections: the letter with a mistyped language tag, and two new letters.
    corrections = tmp_path / "corrections"
    item(corrections, "letter-0001", record("letter-0001", language="en_US"))
    item(corrections, "letter-0002", record("letter-0002"))
    item(corrections, "letter-0003", record("letter-0003", language="ru"))

    sign_in(browser, console, "submitter")
    batch_id = upload_folder(browser, console, corrections, collection="Corrections, March")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Batch Corrections, March"
    assert "In progress" in state_line(browser) and "3 in progress" in state_line(browser)
    assert browser.find_element(By.LINK_TEXT, "Refresh")  # without script, a reload shows the same

    # The page follows the batch without reloading.
    browser.execute_script("window.stillTheSamePage = true;")
    requeue(console, batch_id)
    wait_for(lambda: state_line(browser).startswith("Finished"), what="the batch to finish on the page")
    assert browser.execute_script("return window.stillTheSamePage === true;")
    assert "2 stored" in state_line(browser) and "1 rejected" in state_line(browser)
    assert not browser.find_elements(By.LINK_TEXT, "Refresh")

    # The finding in words: what is wrong, which field, what was found.
    bad = row_of(browser, "letter-0001")
    assert bad.find_element(By.CSS_SELECTOR, ".status").text == "rejected"
    finding = bad.find_element(By.CSS_SELECTOR, ".finding").text
    assert "language" in finding and "en_US" in finding
    assert "Field\nlanguage" in finding
    good = row_of(browser, "letter-0002")
    assert good.find_element(By.CSS_SELECTOR, ".status").text == "stored"
    # which package and version, as text: a submitter may not open package pages
    assert good.find_element(By.CSS_SELECTOR, "td.package").text == "letter-0002, version 1"
    assert not good.find_elements(By.TAG_NAME, "a")

    # The findings as CSV, for the metadata's author.
    link = browser.find_element(By.PARTIAL_LINK_TEXT, "Download the findings")
    cookies = {c["name"]: c["value"] for c in browser.get_cookies()}
    reply = httpx.get(link.get_attribute("href"), cookies=cookies, timeout=30)
    assert reply.status_code == 200 and reply.headers["content-type"].startswith("text/csv")
    assert "attachment" in reply.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(reply.text.lstrip("\ufeff"))))
    assert [(r["item"], r["status"], r["code"], r["pointer"]) for r in rows] == [
        ("letter-0001", "rejected", "METADATA_INVALID", "/language")]
    assert list(rows[0]) == ["item", "status", "code", "path", "pointer", "message", "expected",
                             "hint", "rule"]
    # what a person reads in "expected"; the pattern, for a program, apart
    assert not rows[0]["expected"].startswith("string matching")
    assert rows[0]["rule"].startswith("string matching ^"), rows[0]

    # Fixed, the one item is sent again, alone, and becomes version 2 of its package.
    fixed = tmp_path / "fixed"
    item(fixed, "letter-0001", record("letter-0001", language="en-US"))
    again = upload_folder(browser, console, fixed / "letter-0001")
    requeue(console, again)
    wait_for(lambda: state_line(browser).startswith("Finished"), what="the resubmission to finish")
    row = row_of(browser, "letter-0001")
    assert row.find_element(By.CSS_SELECTOR, ".status").text == "stored"
    assert row.find_element(By.CSS_SELECTOR, "td.package").text == "letter-0001, version 2"

    # Home lists both of the submitter's batches with their counts.
    browser.get(console.url + "/console/")
    table = browser.find_element(By.CSS_SELECTOR, "table.batches").text
    assert "Corrections, March" in table and "needs attention" in table


def test_the_upload_names_the_person_as_submitter_in_the_audit_log(console: Console, tmp_path: Path) -> None:
    folder = tmp_path / "audited"
    item(folder, "letter-0100", record("letter-0100"))
    batch_id = send_folder(console.client("submitter"), console, folder, description="One letter.")
    name = PEOPLE["submitter"][0]
    assert f"by {name}" in console.client("submitter").get(f"/console/batches/{batch_id}").text
    log = json.loads(console.cli("audit", "log", "--agent", name, "--json").stdout)
    events = log["events"] if isinstance(log, dict) else log
    accession = [e for e in events if e["batch_id"] == batch_id and e["event_type"] == "accession"]
    assert len(accession) == 1
    assert accession[0]["actor"]["name"] == name and accession[0]["actor"]["kind"] == "person"
    assert accession[0]["detail"]["fields"] == {"description": "One letter."}


def send_folder(client: httpx.Client, console: Console, folder: Path, **fields: str) -> str:
    """The request submit.js sends: the fields first, then one ``file`` part per file
    named by its path inside the picked folder (the folder's own name first)."""
    page = client.get("/console/submit").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    files = [("file", (f"{folder.name}/{p.relative_to(folder).as_posix()}", p.read_bytes(),
                       "application/octet-stream"))
             for p in sorted(folder.rglob("*")) if p.is_file()]
    reply = client.post("/console/submit", data={"csrf": token, **fields}, files=files,
                        headers={"Origin": console.url})
    assert reply.status_code == 303, reply.text
    return batch_id_of(reply.headers["location"])


def test_a_zip_is_taken_too_with_its_description_in_the_accession_event(
        console: Console, tmp_path: Path) -> None:
    import zipfile

    folder = tmp_path / "zipped"
    item(folder, "letter-0200", record("letter-0200"))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                archive.write(p, "zipped/" + p.relative_to(folder).as_posix())
    client = console.client("submitter")
    page = client.get("/console/submit").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    reply = client.post("/console/submit", headers={"Origin": console.url},
                        data={"csrf": token, "collection": "Zipped letters", "description": "One letter.\nZipped."},
                        files=[("file", ("", b"", "application/octet-stream")),
                               ("archive", ("zipped.zip", buffer.getvalue(), "application/zip"))])
    assert reply.status_code == 303, reply.text
    page = client.get(reply.headers["location"]).text
    assert "Zipped letters" in page and "letter-0200" in page


def test_a_form_without_its_csrf_token_stores_nothing(console: Console, tmp_path: Path) -> None:
    client = console.client("submitter")
    before = client.get("/console/").text.count("/console/batches/")
    reply = client.post("/console/submit", headers={"Origin": console.url}, data={"collection": "x"},
                        files=[("file", ("f/a/metadata.json", b"{}", "application/json"))])
    assert reply.status_code == 403 and "Form refused" in reply.text
    assert client.get("/console/").text.count("/console/batches/") == before


@pytest.mark.parametrize("role, submit, batch", [
    ("submitter", 200, 200), ("auditor", 403, 200), ("admin", 200, 200), ("reader", 403, 403)])
def test_who_may_open_the_submit_and_batch_pages(console: Console, tmp_path: Path, role: str,
                                                 submit: int, batch: int) -> None:
    folder = tmp_path / "roles"
    item(folder, "letter-0300", record("letter-0300"))
    batch_id = send_folder(console.client("submitter"), console, folder)
    client = console.client(role)
    assert client.get("/console/submit").status_code == submit
    for path in (f"/console/batches/{batch_id}", f"/console/batches/{batch_id}/progress",
                 f"/console/batches/{batch_id}/findings.csv"):
        assert client.get(path).status_code == batch, path
    signed_out = httpx.Client(base_url=console.url, timeout=30)
    for path in ("/console/submit", f"/console/batches/{batch_id}",
                 f"/console/batches/{batch_id}/progress", f"/console/batches/{batch_id}/findings.csv"):
        answer = signed_out.get(path)
        assert answer.status_code == 303 and "/console/sign-in" in answer.headers["location"], path
    posted = signed_out.post("/console/submit", files=[("file", ("f/a.txt", b"x", "text/plain"))])
    assert posted.status_code == 303 and "/console/sign-in" in posted.headers["location"]


def test_a_submitter_cannot_read_another_submitters_batch(console: Console, tmp_path: Path) -> None:
    console.cli("user", "create", "Sol Other", "--role", "submitter", "--password-stdin",
                stdin="other submitter password\n")
    folder = tmp_path / "theirs"
    item(folder, "letter-0400", record("letter-0400"))
    batch_id = send_folder(console.client("submitter"), console, folder)
    other = httpx.Client(base_url=console.url, follow_redirects=False, timeout=30)
    page = other.get("/console/sign-in").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    other.post("/console/sign-in", data={"name": "Sol Other", "password": "other submitter password",
                                         "csrf": token}, headers={"Origin": console.url})
    missing = other.get("/console/batches/00000000-0000-0000-0000-000000000000")
    for path in (f"/console/batches/{batch_id}", f"/console/batches/{batch_id}/progress",
                 f"/console/batches/{batch_id}/findings.csv"):
        answer = other.get(path)
        assert answer.status_code == 404, path
        assert answer.text == missing.text  # the same page as a batch that does not exist
    assert batch_id not in other.get("/console/").text


def test_markup_in_a_collection_and_a_file_name_is_shown_as_text(console: Console, browser,
                                                                 tmp_path: Path) -> None:
    folder = tmp_path / "markup"
    item(folder, "<img src=x onerror=alert(2)> item",
         {"identifier": "letter-0500", "title": "<script>alert(1)</script>", "date": "1952-13"})
    client = console.client("submitter")
    batch_id = send_folder(client, console, folder, collection="<script>alert(1)</script>")
    env = {k: v for k, v in console.env.items() if k != "STRONGROOM_BROKER_URL"}
    subprocess.run([*CLI, "requeue", batch_id], env=env, cwd=console.root, capture_output=True,
                   timeout=300, check=False)
    sign_in(browser, console, "submitter", next_path=f"/console/batches/{batch_id}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Batch <script>alert(1)</script>"
    assert row_of(browser, "<img src=x onerror=alert(2)> item")
    assert not browser.find_elements(By.CSS_SELECTOR, "main img, main script")
    assert "1952-13" in browser.find_element(By.CSS_SELECTOR, ".finding").text
    assert browser.execute_script("return typeof window.alerted") == "undefined"


def test_findings_csv_cells_cannot_start_a_formula(console: Console, tmp_path: Path) -> None:
    folder = tmp_path / "formula"
    item(folder, "=HYPERLINK(1)", {"identifier": "letter-0600", "title": "x", "date": "=1+1"})
    client = console.client("submitter")
    batch_id = send_folder(client, console, folder)
    env = {k: v for k, v in console.env.items() if k != "STRONGROOM_BROKER_URL"}
    subprocess.run([*CLI, "requeue", batch_id], env=env, cwd=console.root, capture_output=True,
                   timeout=300, check=False)
    text = client.get(f"/console/batches/{batch_id}/findings.csv").text.lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert rows and all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    assert rows[0][0] == "'=HYPERLINK(1)"


def test_the_batch_page_is_usable_at_phone_width(console: Console, phone, tmp_path: Path) -> None:
    folder = tmp_path / "phone"
    item(folder, "letter-0700", record("letter-0700", language="en_GB"))
    batch_id = send_folder(console.client("submitter"), console, folder)
    env = {k: v for k, v in console.env.items() if k != "STRONGROOM_BROKER_URL"}
    subprocess.run([*CLI, "requeue", batch_id], env=env, cwd=console.root, capture_output=True,
                   timeout=300, check=False)
    # Headless Chromium keeps its window at least 500 px wide: make the page 390 px as a phone's.
    phone.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                          {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True})
    sign_in(phone, console, "submitter", next_path=f"/console/batches/{batch_id}")
    assert phone.execute_script("return window.innerWidth") == 390
    for path in (f"/console/batches/{batch_id}", "/console/", "/console/submit"):
        phone.get(console.url + path)
        # nothing but a table's own box scrolls sideways
        assert phone.execute_script("return document.documentElement.scrollWidth") <= 390, path
    labels = {el.get_attribute("for") for el in phone.find_elements(By.CSS_SELECTOR, "label")}
    assert {"folder", "archive", "collection", "description"} <= labels


def test_sending_the_form_with_nothing_chosen_says_what_to_choose(console: Console, browser) -> None:
    sign_in(browser, console, "submitter", next_path="/console/submit")
    browser.find_element(By.CSS_SELECTOR, "form[data-upload] button[type=submit]").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#submit-errors [role=alert]"),
             what="the error summary")
    summary = browser.find_element(By.CSS_SELECTOR, "#submit-errors [role=alert]")
    assert "Choose a batch folder, or a zip or tar of one" in summary.text
    assert browser.switch_to.active_element == summary  # focus moves to what went wrong
    assert browser.current_url == console.url + "/console/submit"


def test_without_script_the_picked_folder_is_posted_and_the_batch_page_opens(
        console: Console, browser, tmp_path: Path) -> None:
    browser.execute_cdp_cmd("Emulation.setScriptExecutionDisabled", {"value": True})
    folder = tmp_path / "plain"
    item(folder, "letter-0800", record("letter-0800"))
    item(folder, "letter-0801", record("letter-0801"))
    sign_in(browser, console, "submitter")
    batch_id = upload_folder(browser, console, folder, collection="Sent without script")
    # the console's own scripts did not run: the form was posted by the browser itself
    assert browser.execute_script("return typeof window.Strongroom") == "undefined"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Batch Sent without script"
    names = {row.find_element(By.TAG_NAME, "th").text
             for row in browser.find_elements(By.CSS_SELECTOR, "table.items tbody tr")}
    assert names == {"letter-0800", "letter-0801"}  # the picked folder is the batch, paths kept
    requeue(console, batch_id)
    browser.find_element(By.LINK_TEXT, "Refresh").click()
    wait_for(lambda: state_line(browser).startswith("Finished"), what="the finished batch after Refresh")
    assert "2 stored" in state_line(browser)


@pytest.mark.parametrize("name, body", [
    ("batch.zip", b"\x1f\x8b\x08garbage, not a zip"),
    ("batch.tgz", b"\x1f\x8b\x08garbage, not a tar"),
])
def test_an_archive_that_cannot_be_read_is_refused_in_words_not_a_server_error(
        console: Console, browser, tmp_path: Path, name: str, body: bytes) -> None:
    # Its finding concerns the upload, no file in it: the page failed on the
    # missing path (500) and the browser showed nothing at all.
    archive = tmp_path / name
    archive.write_bytes(body)
    sign_in(browser, console, "submitter", next_path="/console/submit")
    browser.find_element(By.ID, "archive").send_keys(str(archive))
    browser.find_element(By.CSS_SELECTOR, "form[data-upload] button[type=submit]").click()
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "#submit-errors [role=alert]"),
             what="the error summary")
    summary = browser.find_element(By.CSS_SELECTOR, "#submit-errors [role=alert]")
    assert "could not be read, so nothing of it was kept" in summary.text, summary.text
    assert "cannot be read" in summary.text, summary.text
    # its link goes to the field that sent the archive
    assert summary.find_element(By.TAG_NAME, "a").get_attribute("href").endswith("#archive")
    assert browser.current_url == console.url + "/console/submit"


def test_a_refusal_the_page_cannot_explain_is_still_said(console: Console, browser) -> None:
    # An answer with no page of its own (a lost session's JSON problem, a proxy's
    # error): the message was written into the progress box, then the box hidden.
    sign_in(browser, console, "submitter", next_path="/console/submit")
    browser.execute_script("document.querySelector('form[data-upload]').action = '/no-such-route'")
    browser.find_element(By.CSS_SELECTOR, "form[data-upload] button[type=submit]").click()
    wait_for(lambda: "refused" in browser.find_element(By.ID, "upload-status").text,
             what="the refusal's words")
    status = browser.find_element(By.ID, "upload-status")
    assert status.is_displayed(), "the refusal is written where no one can see it"
    assert "(404)" in status.text


def test_a_session_that_ends_during_an_upload_is_said_so(console: Console, browser,
                                                         tmp_path: Path) -> None:
    # Before: "The upload was refused (200)": the answer was the sign-in page.
    folder = tmp_path / "late"
    item(folder, "letter-0900", record("letter-0900"))
    sign_in(browser, console, "submitter", next_path="/console/submit")
    browser.find_element(By.ID, "folder").send_keys(str(folder))
    browser.delete_all_cookies()  # the session gone before the form is sent
    browser.find_element(By.CSS_SELECTOR, "form[data-upload] button[type=submit]").click()
    wait_for(lambda: "session ended" in browser.find_element(By.ID, "upload-status").text,
             what="the session's end said")
    assert "Sign in again" in browser.find_element(By.ID, "upload-status").text


def test_a_submitter_is_not_offered_a_package_link_their_role_cannot_follow(
        console: Console, tmp_path: Path) -> None:
    folder = tmp_path / "linked"
    item(folder, "letter-1000", record("letter-1000"))
    batch_id = send_folder(console.client("submitter"), console, folder)
    requeue(console, batch_id)
    # the submitter reads which package and version the item became, as text
    page = console.client("submitter").get(f"/console/batches/{batch_id}").text
    cell = page.split('data-status="stored"', 1)[1].split("</tr>", 1)[0]
    assert "letter-1000, version 1" in cell and "/console/packages/" not in cell
    # an administrator, who may read packages, gets the link, named the same way
    page = console.client("admin").get(f"/console/batches/{batch_id}").text
    cell = page.split('data-status="stored"', 1)[1].split("</tr>", 1)[0]
    assert re.search(r'<a href="/console/packages/[0-9a-f-]{36}">letter-1000, version 1</a>', cell), cell


def test_every_batch_is_listed_newest_first_page_by_page_from_the_menu(console: Console, browser,
                                                                       tmp_path: Path) -> None:
    submitter = console.client("submitter")
    sent = []
    for n in range(3):
        folder = tmp_path / f"listed-{n}"
        item(folder, f"letter-11{n:02d}", record(f"letter-11{n:02d}"))
        sent.append(send_folder(submitter, console, folder, collection=f"Listed batch {n}"))
    sign_in(browser, console, "admin")
    browser.find_element(By.LINK_TEXT, "Batches").click()
    wait_for(lambda: browser.current_url.endswith("/console/batches"), what="the batches page")
    seen: list[str] = []
    while True:
        rows = browser.find_elements(By.CSS_SELECTOR, "table.batches tbody tr")
        assert rows
        seen += [batch_id_of(r.find_element(By.CSS_SELECTOR, "th a").get_attribute("href")) for r in rows]
        following = browser.find_elements(By.LINK_TEXT, "Next page")
        if not following:
            break
        following[0].click()
    # newest first, each once, those sent here among them with who sent them
    assert seen[:3] == sent[::-1] and len(seen) == len(set(seen))
    assert "Sam Submitter" in console.client("admin").get("/console/batches").text
    # a submitter's list holds only their own batches
    own = console.client("submitter").get("/console/batches").text
    assert all(b in own for b in sent)


def test_a_batch_page_can_show_only_the_items_that_need_attention(console: Console, tmp_path: Path) -> None:
    folder = tmp_path / "mixed"
    item(folder, "letter-1200", record("letter-1200"))
    item(folder, "letter-1201", record("letter-1201", date="not a date"))
    batch_id = send_folder(console.client("submitter"), console, folder)
    requeue(console, batch_id)
    submitter = console.client("submitter")
    whole = submitter.get(f"/console/batches/{batch_id}").text
    assert 'id="item-' in whole and "letter-1200</span>" in whole and "letter-1201</span>" in whole
    link = re.search(r'<a href="(/console/batches/[^"]+)">Show only the items that need attention', whole)
    assert link, "no link to the items that need attention"
    only = submitter.get(link.group(1).replace("&amp;", "&")).text
    assert "letter-1201</span>" in only and "letter-1200</span>" not in only
    assert "Show every item" in only
    # the counts stay the whole batch's
    assert "1 stored" in only and "1 rejected" in only


def test_the_submit_page_says_an_item_holds_a_metadata_json_or_the_batch_a_metadata_csv(
        console: Console) -> None:
    page = console.client("submitter").get("/console/submit").text
    assert "metadata.json" in page and "metadata.csv" in page


def test_the_batch_page_names_the_folder_that_was_uploaded_not_a_staging_path(
        console: Console, tmp_path: Path) -> None:
    folder = tmp_path / "small-upload"
    item(folder, "letter-1300", record("letter-1300"))
    batch_id = send_folder(console.client("submitter"), console, folder)
    page = console.client("submitter").get(f"/console/batches/{batch_id}").text
    source = page.split("<dt>Source</dt>", 1)[1].split("</dd>", 1)[0]
    assert "small-upload" in source and "upload:" not in source and "/batch/" not in source, source
