"""People sign in to the console in a real browser, and what protects them."""

from __future__ import annotations

from selenium.webdriver.common.by import By

from tests.browser.console import PEOPLE, Console, sign_in, wait_for


def test_a_person_signs_in_sees_their_name_and_signs_out(console: Console, browser) -> None:
    browser.get(console.url + "/")
    assert "/console/sign-in" in browser.current_url  # not signed in: to the sign-in page
    browser.find_element(By.ID, "name").send_keys(PEOPLE["submitter"][0])
    browser.find_element(By.ID, "password").send_keys("not the password at all")
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    # The refusal is a new page: looked for until it has come (a busy machine
    # answers a sign-in, with its password hashing, in more than a moment).
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, "[role=alert]"),
             what="the sign-in refusal")
    alert = browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    assert "name or the password is not right" in alert

    sign_in(browser, console, "submitter")
    assert browser.find_element(By.CSS_SELECTOR, ".who").text.startswith(PEOPLE["submitter"][0])
    cookie = next(c for c in browser.get_cookies() if c["name"] == "strongroom_session")
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert browser.execute_script("return document.cookie").find("strongroom_session") == -1

    browser.find_element(By.CSS_SELECTOR, ".who button").click()  # sign out
    wait_for(lambda: "/console/sign-in" in browser.current_url, what="the sign-in page")
    browser.get(console.url + "/console/")
    assert "/console/sign-in" in browser.current_url  # the old session opens nothing


def test_sign_in_returns_to_the_page_asked_for_and_never_to_another_site(console: Console, browser) -> None:
    sign_in(browser, console, "reader", next_path="/console/account")
    assert browser.current_url == console.url + "/console/account"
    browser.delete_all_cookies()
    sign_in(browser, console, "reader", next_path="//evil.example/")
    assert browser.current_url == console.url + "/console/"


def test_a_form_without_its_csrf_token_is_refused(console: Console) -> None:
    client = console.client("reader")
    answer = client.post("/console/account", data={"current": PEOPLE["reader"][1], "new": "x" * 20,
                                                   "repeat": "x" * 20},
                         headers={"Origin": console.url})
    assert answer.status_code == 403 and "Form refused" in answer.text
    page = client.get("/console/account").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    from_elsewhere = client.post("/console/account", data={"current": PEOPLE["reader"][1], "new": "x" * 20,
                                                           "repeat": "x" * 20, "csrf": token},
                                 headers={"Origin": "https://evil.example"})
    assert from_elsewhere.status_code == 403
    # the password did not change: the old one still signs in
    assert console.client("reader").get("/console/").status_code == 200


def test_sign_in_attempts_are_limited_per_name(console: Console) -> None:
    console.cli("user", "create", "Guessed At", "--role", "reader", "--password-stdin",
                stdin="the right password here\n")
    import httpx

    client = httpx.Client(base_url=console.url, timeout=30)
    for _ in range(6):
        page = client.get("/console/sign-in").text
        token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        wrong = client.post("/console/sign-in", data={"name": "Guessed At", "password": "a wrong guess!",
                                                      "csrf": token}, headers={"Origin": console.url})
        assert wrong.status_code == 401
    page = client.get("/console/sign-in").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    right = client.post("/console/sign-in", data={"name": "Guessed At", "password": "the right password here",
                                                  "csrf": token}, headers={"Origin": console.url})
    assert right.status_code == 401  # even the right password waits out the window
    assert "after several attempts" in right.text


def test_every_page_forbids_inline_script_and_framing(console: Console) -> None:
    client = console.client("admin")
    for path in ("/console/", "/console/sign-in", "/docs"):
        headers = client.get(path).headers
        csp = headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert "frame-ancestors 'none'" in csp


def test_the_api_explorer_loads_nothing_from_another_site(console: Console, browser) -> None:
    browser.get(console.url + "/docs")
    wait_for(lambda: browser.find_elements(By.CSS_SELECTOR, ".opblock"), what="the explorer's operations")
    sources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })")
    assert sources and all(s.startswith(console.url) for s in sources), sources
    assert "Upload a batch" in browser.page_source
