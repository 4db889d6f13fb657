"""The page a withdrawn package's address answers in the console (410).

Defect: the page was titled "Deaccessioned", with no heading naming the package,
and said nothing of who approved the withdrawal. Now it names the identifier in
its title and heading, says plainly that the package was deaccessioned, and
gives the date and reason of the withdrawal, who asked for it and who approved
it; the withdrawn record's title stays withheld (the tombstone does not keep it)."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from ingest.accounts import create_account
from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of
from tests.unit.test_identities import PASSWORD, TELEGRAM, _post, _signed_in

REASON = "personal data of a living person, on the subject's request"


@pytest.fixture
def api(tmp_path: Path) -> Api:
    api = make_api(tmp_path / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    now = api.services.clock.now()
    create_account(api.services.catalog, "ada", "admin", PASSWORD, now)
    create_account(api.services.catalog, "dora", "admin", PASSWORD, now)
    create_account(api.services.catalog, "rene", "reader", PASSWORD, now)
    return api


def _seen(page: str) -> str:
    body = page.split("<main", 1)[-1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def test_the_tombstone_page_says_what_was_deaccessioned_when_why_and_who_approved(api: Api) -> None:
    record = api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("reader")).json()
    title, package_id = record["title"], record["package_id"]
    asked = _post(_signed_in(api, "ada"), "/console/deaccessions/request", package=TELEGRAM,
                  reason=REASON)
    assert asked.status_code in (200, 201, 303)  # type: ignore[attr-defined]
    [request] = api.client.get("/deaccessions", headers=api.auth("admin")).json()["requests"]
    _post(_signed_in(api, "dora"), "/console/deaccessions/approve", request_id=request["request_id"])
    [done] = api.client.get("/deaccessions", headers=api.auth("admin")).json()["requests"]
    day = done["decided_at"][:10]

    for ref in (TELEGRAM, package_id):
        answer = _signed_in(api, "rene").get(f"/console/packages/{ref}")

        assert answer.status_code == 410
        heading = re.search(r"<h1[^>]*>(.*?)</h1>", answer.text, re.DOTALL)
        assert heading and TELEGRAM in heading.group(1)
        assert TELEGRAM in re.search(r"<title>(.*?)</title>", answer.text).group(1)  # type: ignore[union-attr]
        seen = _seen(answer.text)
        assert "was deaccessioned" in seen
        assert day in seen and REASON in seen
        assert re.search(r"[Aa]pproved by dora", seen), seen
        assert re.search(r"[Aa]sked for by ada", seen), seen
        assert package_id in seen
        assert title not in answer.text  # the withdrawn record's title stays withheld
