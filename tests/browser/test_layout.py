"""How the console's tables read at a desktop's and a phone's width: headers whole,
ordinary words whole, every column on screen."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.browser.console import Console, sign_in

#: the words of each text node the browser laid out on more than one line, skipping
#: words longer than 40 letters (those may break: they would widen the page) and
#: breaking at hyphens and slashes as a browser may
SPLIT_WORDS = """
const out = [];
for (const root of document.querySelectorAll(arguments[0])) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    for (const m of node.data.matchAll(/[^\\s\\-\\/]+/g)) {
      if (m[0].length > 40) continue;
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) out.push(m[0]);
    }
  }
}
return out;
"""

#: header cells whose text the browser laid out on more than one line
TALL_HEADERS = """
return [...document.querySelectorAll('thead th')].filter(th => {
  const range = document.createRange();
  range.selectNodeContents(th);
  return new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top))).size > 1;
}).map(th => th.textContent.trim());
"""


def _registers(folder: Path) -> None:
    """Parish registers, one without its title (rejected), and one title of 900,000 letters."""
    for n in range(4):
        record: dict[str, object] = {"identifier": f"parish-register-{1790 + n}", "date": str(1790 + n),
                                     "type": "other", "collection": "Parish registers of Saint Mary"}
        if n != 3:
            record["title"] = f"Parish register of Saint Mary, baptisms and burials {1790 + n}"
        (folder / f"register-{n}").mkdir(parents=True)
        (folder / f"register-{n}" / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
        (folder / f"register-{n}" / "page.txt").write_text("a page\n", encoding="utf-8")
    (folder / "long").mkdir()
    (folder / "long" / "metadata.json").write_text(json.dumps(
        {"identifier": "register-with-a-long-title", "title": "Y" * 900_000, "date": "1800"}), encoding="utf-8")
    (folder / "long" / "page.txt").write_text("a page\n", encoding="utf-8")


def _width(driver, width: int) -> None:  # type: ignore[no-untyped-def]
    """The page laid out ``width`` px wide (headless Chromium keeps windows at least 500 px)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 640})


@pytest.mark.parametrize("width", [1280, 400])
def test_table_headers_and_ordinary_words_are_never_broken_mid_word(console: Console, browser,
                                                                    width: int) -> None:
    if not console.cli("list", "--json").stdout.count("parish-register-"):
        _registers(console.root / "registers")
        console.cli("submit", str(console.root / "registers"), expect=1)
    batch_id = json.loads(console.cli("batches", "--json").stdout)["batches"][0]["batch_id"]
    sign_in(browser, console, "admin")
    _width(browser, width)
    for path in ("/console/", "/console/packages", f"/console/batches/{batch_id}"):
        browser.get(console.url + path)
        assert browser.execute_script("return document.documentElement.scrollWidth") <= width, path
        assert browser.execute_script(TALL_HEADERS) == [], (path, width)
        assert browser.execute_script(SPLIT_WORDS, "main table") == [], (path, width)
    # the batch page's findings stay on screen, wide enough to read
    browser.get(console.url + f"/console/batches/{batch_id}")
    rejected = browser.find_element(By.CSS_SELECTOR, "table.items tr[data-status=rejected] td:last-child")
    box = browser.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left, r.right];",
                                 rejected)
    assert box[1] <= width and box[1] - box[0] >= min(300, width - 80), box


def test_the_audit_log_names_each_package_by_its_identifier_with_a_link(console: Console) -> None:
    if not console.cli("list", "--json").stdout.count("parish-register-"):
        _registers(console.root / "registers")
        console.cli("submit", str(console.root / "registers"), expect=1)
    listed = json.loads(console.cli("list", "--json").stdout)["packages"]
    package = next(p for p in listed if p["identifier"] == "parish-register-1790")
    page = console.client("admin").get("/console/audit?event_type=ingestion").text
    link = f'<a href="/console/packages/{package["package_id"]}">'
    assert link + "parish-register-1790</a>" in page
    # its id as text beside the link, not in a title attribute no keyboard reaches
    assert f'package id <span class="digest">{package["package_id"]}</span>' in page
