"""A reader finds a package, reads its record and downloads its bag, in a real browser;
what each role may open of the Packages and Package pages."""

from __future__ import annotations

import json
import tarfile
import time
from pathlib import Path

import bagit
import pytest
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from ingest.models import package_id_for
from tests.browser.console import Console, sign_in, wait_for

TELEGRAM = "telegram-1951-06-21-mao-to-stalin"
TITLE = "Telegram from Mao Zedong to I. V. Stalin"
CITATION = "APRF, f. 45, op. 1, d. 339, ll. 64-65"
SCRIPT_TITLE = "<script>alert(1)</script>"
SCRIPT_ID = "record-with-markup-in-its-title"

#: the seed's facts; the summary, rights and transcription are our own sample text
TELEGRAM_RECORD = {
    "identifier": TELEGRAM,
    "title": TITLE,
    "date": "1951-06-21",
    "creators": [{"name": "Mao Zedong", "role": "sender"}],
    "recipients": [{"name": "I. V. Stalin", "name_as_written": "Filippov", "role": "addressee"}],
    "type": "telegram",
    "language": "en",
    "description": ("Sample summary written for these tests. Mao writes that Gao Gang has passed on "
                    "Stalin's views, asks for Soviet help in planning rubber plantations, and asks "
                    "that arms for sixty divisions arrive in monthly shares through the second half "
                    "of 1951.\n\nReceived in Moscow at 21:15 on 21 June 1951; telegram No. 3107."),
    "source": {"repository": "Archive of the President of the Russian Federation",
               "citation": CITATION, "document_number": "3107"},
    "rights": {"statement": "Sample rights statement: reuse for research and teaching is welcome.",
               "holder": "History and Public Policy Program"},
    "subjects": ["Korean War, 1950-1953", "Sino-Soviet relations"],
    "places": ["Beijing", "Moscow", "Korea"],
    "collection": "Korean War telegrams (test)",
}


def _item(batch: Path, name: str, record: dict[str, object], files: dict[str, str]) -> None:
    folder = batch / name
    folder.mkdir(parents=True)
    (folder / "metadata.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def archive(console: Console) -> Console:
    """The telegram (two versions), a letter of 1952 and a record titled with markup."""
    first = console.root / "batch-1"
    _item(first, "telegram", TELEGRAM_RECORD,
          {"transcription/telegram-en.txt": "Sample stand-in for the telegram's English text.\n"})
    _item(first, "letter", {"identifier": "letter-1952-03", "title": "Letter about rubber trees",
                            "date": "1952-03", "type": "letter"},
          {"scan/page-01.txt": "a page\n"})
    _item(first, "markup", {"identifier": SCRIPT_ID, "title": SCRIPT_TITLE, "date": "1960"},
          {"note.txt": "markup\n"})
    console.cli("submit", str(first))
    second = console.root / "batch-2"
    _item(second, "telegram", {**TELEGRAM_RECORD, "language": "en-GB"},
          {"transcription/telegram-en.txt": "Sample stand-in for the telegram's English text.\n",
           "notes/provenance.md": "Where this copy came from.\n"})
    console.cli("submit", str(second))
    return console


def _downloads(driver, folder: Path) -> None:  # type: ignore[no-untyped-def]
    folder.mkdir(parents=True, exist_ok=True)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(folder)})


def _finished(folder: Path, suffix: str) -> list[Path]:
    return [p for p in folder.iterdir() if p.name.endswith(suffix)] if folder.exists() else []


def test_a_reader_searches_opens_the_telegram_and_downloads_a_bag_bagit_validates(
        archive: Console, browser, tmp_path: Path) -> None:
    sign_in(browser, archive, "reader", next_path="/console/packages")
    browser.find_element(By.ID, "q-title").send_keys("stalin TELEGRAM")
    browser.find_element(By.ID, "q-date_from").send_keys("1951-06")
    browser.find_element(By.ID, "q-date_to").send_keys("1951-06-30")
    Select(browser.find_element(By.ID, "q-sort")).select_by_visible_text("Newest version first")
    browser.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click()
    wait_for(lambda: "title=" in browser.current_url, what="the search results")
    rows = browser.find_elements(By.CSS_SELECTOR, "table.results tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "td a").text for r in rows] == [TITLE]
    assert "21 June 1951" in rows[0].text

    # a date range the telegram is outside of finds nothing
    browser.get(archive.url + "/console/packages?title=telegram&date_from=1952")
    assert "No package matches this search." in browser.find_element(By.ID, "main").text

    browser.back()
    browser.find_element(By.LINK_TEXT, TITLE).click()
    wait_for(lambda: "/console/packages/" in browser.current_url, what="the package page")
    assert browser.find_element(By.TAG_NAME, "h1").text == TITLE
    record = browser.find_element(By.CSS_SELECTOR, "dl.record").text
    for seen in ("21 June 1951", "Mao Zedong, sender", "I. V. Stalin (written as “Filippov”), addressee",
                 CITATION, "Archive of the President of the Russian Federation", "3107"):
        assert seen in record, seen
    page = browser.find_element(By.ID, "main").text
    assert "Received in Moscow at 21:15 on 21 June 1951" in page  # the summary
    assert "Sample rights statement" in page and "History and Public Policy Program" in page
    # the timeline says what changed in version 2
    latest = browser.find_element(By.CSS_SELECTOR, "ol.timeline > li").text
    assert "Version 2" in latest and "notes/provenance.md" in latest and "Language" in latest
    assert "“en” → “en-GB”" in latest
    # each file's format as identified against PRONOM when it was stored
    files = {f.find_element(By.CSS_SELECTOR, ".file-name").text: f.text
             for f in browser.find_elements(By.CSS_SELECTOR, "ul.files > li")}
    assert "Plain Text File (x-fmt/111)" in files["transcription/telegram-en.txt"]
    assert "text/plain" in files["transcription/telegram-en.txt"]
    assert "Markdown (fmt/1149)" in files["notes/provenance.md"]
    # digests in monospace, to select and copy
    digest = browser.find_element(By.CSS_SELECTOR, "ul.files code.digest")
    assert len(digest.text) == 64 and "monospace" in digest.value_of_css_property("font-family")

    folder = tmp_path / "downloads"
    _downloads(browser, folder)
    browser.find_element(By.LINK_TEXT, "Bag as tar").click()
    wait_for(lambda: _finished(folder, ".tar") and not _finished(folder, ".crdownload"), timeout=60,
             what="the bag's download")
    [tar] = _finished(folder, ".tar")
    with tarfile.open(tar) as archive_file:
        archive_file.extractall(tmp_path / "bag", filter="data")
    [bag_folder] = (tmp_path / "bag").iterdir()
    bag = bagit.Bag(str(bag_folder))
    bag.validate()
    assert (bag_folder / "data" / "notes" / "provenance.md").is_file()
    assert bag.info["External-Identifier"] == TELEGRAM


def test_a_title_with_markup_shows_as_text_and_runs_nothing(archive: Console, browser) -> None:
    sign_in(browser, archive, "reader", next_path="/console/packages?title=script")
    assert browser.find_element(By.CSS_SELECTOR, "table.results td a").text == SCRIPT_TITLE
    browser.get(archive.url + f"/console/packages/{package_id_for(SCRIPT_ID)}")
    assert browser.find_element(By.TAG_NAME, "h1").text == SCRIPT_TITLE
    time.sleep(0.5)
    with pytest.raises(NoAlertPresentException):
        browser.switch_to.alert.text  # noqa: B018 - reading it is the check
    assert "&lt;script&gt;" in browser.page_source


def test_the_package_page_reads_on_a_phone_without_sideways_scrolling(archive: Console, phone) -> None:
    sign_in(phone, archive, "auditor", next_path=f"/console/packages/{package_id_for(TELEGRAM)}")
    assert phone.find_element(By.TAG_NAME, "h1").text == TITLE
    width = phone.execute_script("return document.documentElement.scrollWidth")
    assert width <= phone.execute_script("return window.innerWidth")
    phone.get(archive.url + "/console/packages")
    assert phone.execute_script("return document.documentElement.scrollWidth") <= \
        phone.execute_script("return window.innerWidth")


def test_preservation_roles_see_each_copys_fixity_and_the_events_with_who_caused_them(archive: Console) -> None:
    url = f"/console/packages/{package_id_for(TELEGRAM)}"
    auditor = archive.client("auditor").get(url).text
    assert "Fixity of each copy" in auditor and "Audit events" in auditor
    assert "ingestion" in auditor and "Caused by" in auditor
    reader = archive.client("reader").get(url).text
    assert "Fixity of each copy" not in reader and "Audit events" not in reader


def test_a_search_with_a_date_that_is_not_one_says_so_beside_the_field(archive: Console) -> None:
    reply = archive.client("reader").get("/console/packages?date_from=June+1951")
    assert reply.status_code == 400
    assert "is not a date: give a year, a month or a day" in reply.text
    assert 'aria-invalid="true"' in reply.text


def test_a_sort_order_that_is_not_one_is_said_not_silently_ignored(archive: Console) -> None:
    page = archive.client("reader").get("/console/packages?sort=newest-title")
    assert page.status_code == 400
    problem = page.text.split('class="problem"', 1)[1].split("</div>", 1)[0]
    assert "newest-title" in problem and 'href="#q-sort"' in problem, problem


@pytest.mark.parametrize("role, status", [("admin", 200), ("auditor", 200), ("reader", 200),
                                          ("submitter", 403)])
def test_who_may_open_the_packages_pages(archive: Console, role: str, status: int) -> None:
    client = archive.client(role)
    for path in ("/console/packages", "/console/packages?title=telegram&sort=title",
                 f"/console/packages/{package_id_for(TELEGRAM)}"):
        assert client.get(path).status_code == status, (role, path)


def test_signed_out_the_packages_pages_send_to_sign_in(archive: Console) -> None:
    import httpx

    client = httpx.Client(base_url=archive.url, follow_redirects=False, timeout=30)
    for path in ("/console/packages", f"/console/packages/{package_id_for(TELEGRAM)}"):
        reply = client.get(path)
        assert reply.status_code == 303
        assert reply.headers["location"].startswith("/console/sign-in?next=" + path)


def test_a_page_link_that_is_not_ours_says_to_search_again(archive: Console) -> None:
    reply = archive.client("reader").get("/console/packages?sort=title&cursor=not-a-cursor")
    assert reply.status_code == 400 and "Search again from the first page" in reply.text
    unknown_order = archive.client("reader").get("/console/packages?sort=size")
    assert unknown_order.status_code == 400 and "size&#39; is not an order this list knows" in unknown_order.text


def test_what_goes_wrong_in_a_browser_is_a_page_and_for_a_program_stays_problem_json(
        archive: Console, browser) -> None:
    # Before: a raw {"type": "urn:strongroom:problem:…"} document in the window.
    _item(archive.root / "batch-damaged", "damaged",
          {"identifier": "letter-damaged-1953", "title": "A letter damaged in storage",
           "date": "1953"}, {"page.txt": "the page as it was written\n"})
    archive.cli("submit", str(archive.root / "batch-damaged"))
    package = package_id_for("letter-damaged-1953")
    stored = archive.root / "data" / "objects" / package / "v1" / "data" / "page.txt"
    stored.write_bytes(b"the page as it was not written\n")
    sign_in(browser, archive, "reader")
    for path, heading in (
            ("/console/packages?page=-1", "Not understood"),
            ("/console/no-such-page", "No such page"),
            (f"/packages/{package}/versions/1/files/data/page.txt", None)):
        browser.get(archive.url + path)
        h1 = browser.find_element(By.TAG_NAME, "h1").text
        assert "urn:strongroom:problem" not in browser.page_source, path
        assert h1 == heading if heading else h1, (path, h1)
        assert browser.find_element(By.LINK_TEXT, "Back to the start")
        assert browser.find_elements(By.CSS_SELECTOR, "header nav a"), path  # the menu, signed in
    reader = archive.client("reader")
    program = reader.get(f"/packages/{package}/versions/1/files/data/page.txt",
                         headers={"Accept": "application/json"})
    assert program.status_code == 500
    assert program.headers["content-type"].startswith("application/problem+json")
    # a console address: a page, with the status a program would get, in words
    assert reader.get("/console/no-such-page").status_code == 404
    bad_page = reader.get("/console/packages?page=-1")
    assert bad_page.status_code == 422 and "page must be at least 1" in bad_page.text
    assert "page must be a whole number" in reader.get("/console/packages?page=abc").text


def test_a_title_of_a_hundred_thousand_characters_does_not_push_the_list_off_the_screen(
        archive: Console, browser) -> None:
    # The schema bounds the record (1 MiB), not each field: such a title was a
    # table row 8.5 million pixels wide, every other column off-screen.
    long_title = ("Minutes of the commission " + "and of its sub-commissions " * 4000).strip()
    _item(archive.root / "batch-long", "long",
          {"identifier": "minutes-long-title", "title": long_title, "date": "1955"},
          {"page.txt": "minutes\n"})
    # and one word of 400 letters, which no space lets a browser break
    _item(archive.root / "batch-long", "word",
          {"identifier": "one-long-word", "title": "Y" * 400, "date": "1955"},
          {"page.txt": "a word\n"})
    archive.cli("submit", str(archive.root / "batch-long"))
    sign_in(browser, archive, "reader")
    for width in (1280, 400):
        browser.set_window_size(width, 900)
        inner = browser.execute_script("return window.innerWidth")
        for path in ("/console/packages?sort=title",
                     f"/console/packages/{package_id_for('minutes-long-title')}",
                     f"/console/packages/{package_id_for('one-long-word')}"):
            browser.get(archive.url + path)
            wide = browser.execute_script("return document.documentElement.scrollWidth")
            assert wide <= inner, (path, width, wide)
    browser.set_window_size(1280, 900)
    browser.get(archive.url + "/console/packages?sort=title")
    row = next(r for r in browser.find_elements(By.CSS_SELECTOR, "table.results tbody tr")
               if "Minutes of the commission" in r.text)
    assert row.find_element(By.CSS_SELECTOR, "td a").text.endswith("…")
