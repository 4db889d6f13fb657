"""Making an API token in the console, in a real browser.

Defect: the page that showed the new token's secret was the answer to the form's
POST, so reloading it sent the form again (a second token was asked for, or the
browser asked whether to resend). Now the form's answer sends the browser on to
the admin page (Post/Redirect/Get), which shows the secret once, to its maker,
and never in an address or a log."""

from __future__ import annotations

import json

import httpx
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from tests.browser.console import Console, sign_in, wait_for
from tests.browser.test_preservation import says


def test_reloading_the_page_after_creating_a_token_does_not_make_another(
        console: Console, browser) -> None:  # type: ignore[no-untyped-def]
    sign_in(browser, console, "admin", "/console/admin")
    browser.find_element(By.ID, "token-name").send_keys("harvester at the state library")
    Select(browser.find_element(By.ID, "token-role")).select_by_value("admin")
    browser.find_element(By.XPATH, "//button[text()='Create the token']").click()
    says(browser, "shown this once")
    secret = browser.find_element(By.ID, "new-secret").get_attribute("value")
    assert secret and secret.startswith("srt_")
    shown_at = browser.current_url
    assert "/console/admin" in shown_at and secret not in shown_at

    browser.refresh()  # a POST's answer is sent again (or asked about); a GET's is not
    wait_for(lambda: browser.find_elements(By.ID, "tokens-h"), what="the admin page again")

    tokens = json.loads(console.cli("token", "list", "--json").stdout)["tokens"]
    assert [t["name"] for t in tokens].count("harvester at the state library") == 1
    page = browser.find_element(By.TAG_NAME, "body").text
    assert secret not in browser.page_source, "the secret was shown a second time"
    assert [e.text for e in browser.find_elements(By.CSS_SELECTOR, ".problem")] == []
    assert "harvester at the state library" in page
    # The secret works, and is in no address the browser went to nor in the server's log.
    whoami = httpx.get(console.url + "/deaccessions", headers={"Authorization": f"Bearer {secret}"})
    assert whoami.status_code == 200, whoami.text
    history = browser.execute_script("return performance.getEntriesByType('navigation')"
                                      ".map(e => e.name).concat([location.href])")
    assert not any(secret in url for url in history)
    assert secret not in console.log.read_text(errors="replace")
