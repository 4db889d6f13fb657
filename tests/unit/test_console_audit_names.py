"""What a person reads on the console's audit page about what each event concerns.

Defect: a batch's events named it by a bare UUID, and a package's id was only in
the ``title`` of its link, which a keyboard, a screen reader and a touch screen
never reach. Now a batch is named by where it came from and when it was
submitted, linked to its page, and a package's id is text on the page."""

from __future__ import annotations

import html
import re

import tests.unit.test_identities as identities
from tests.unit.api_support import Api
from tests.unit.test_identities import _signed_in

#: the API of tests/unit/test_identities.py: the example batch in, and an administrator
api = identities.api


def _rows(page: str) -> list[str]:
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return body.split("</tr>")[:-1]


def _seen(fragment: str) -> str:
    """The text a person reads (and a screen reader says): no tags, no attributes."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def test_the_audit_page_names_batches_by_source_and_time_and_shows_package_ids(api: Api) -> None:
    [summary] = api.services.catalog.list_batches()
    batch = summary.batch
    submitted = batch.submitted_at.strftime("%Y-%m-%d %H:%M UTC")
    page = _signed_in(api, "ada").get("/console/audit").text

    batch_rows = [r for r in _rows(page) if f"/console/batches/{batch.batch_id}" in r]
    assert batch_rows, "no event links to its batch's page"
    for row in batch_rows:
        concerns = _seen(row)
        assert batch.batch_id not in concerns, concerns
        assert "uploaded from the console" in concerns and submitted in concerns, concerns
    package_rows = [r for r in _rows(page) if "/console/packages/" in r]
    assert package_rows
    for row in package_rows:
        package_id = re.search(r'href="/console/packages/([0-9a-f-]{36})"', row)
        assert package_id, row
        assert package_id.group(1) in _seen(row), _seen(row)
