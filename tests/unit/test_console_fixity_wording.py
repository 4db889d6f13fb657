"""What the console says of a copy nobody has deep-checked yet.

Right after ingest the home page showed "0.0 %" in red while each package page
said the copies were "verified" at the moment they were stored: the note of the
day a copy is written is its size check, not a deep check. Now the package page
says so, and the home page keeps red for failed or overdue checks."""

from __future__ import annotations

import re

from ingest.fixity_audit import verify_version
from ingest.models import package_id_for
from tests.unit.api_support import Api
from tests.unit.test_identities import TELEGRAM, _signed_in, api  # noqa: F401 (api: a fixture)


def copy_rows(page: str) -> list[str]:
    table = page.split('<table class="copies">', 1)[1].split("</table>", 1)[0]
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
            for row in table.split("<tr>")[2:]]


def test_a_copy_not_yet_deep_checked_is_not_called_verified_and_new_copies_are_not_red(
        api: Api) -> None:  # noqa: F811
    ada = _signed_in(api, "ada")
    [row] = copy_rows(ada.get(f"/console/packages/{TELEGRAM}").text)
    assert "verified" not in row and "no deep check yet" in row
    home = ada.get("/console/").text
    assert "0.0 %" in home
    assert 'class="figure short"' not in home and 'class="figure pending"' in home

    assert verify_version(api.services, package_id_for(TELEGRAM), 1).findings == ()

    [row] = copy_rows(ada.get(f"/console/packages/{TELEGRAM}").text)
    assert "verified" in row and "no deep check yet" not in row


def history_rows(page: str) -> list[str]:
    """The rows of the package page's tables of checks, as text."""
    rows = []
    for table in page.split("<h3>Checks of version")[1:]:
        body = table.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
        rows += [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row)).strip()
                 for row in body.split("<tr>")[1:]]
    return rows


def test_a_shallow_check_that_found_nothing_is_not_said_to_have_found_every_byte_as_stored(
        api: Api) -> None:  # noqa: F811
    from ingest.fixity_audit import shallow_check

    ada = _signed_in(api, "ada")
    assert shallow_check(api.services, package_id_for(TELEGRAM), 1).findings == ()
    [row] = history_rows(ada.get(f"/console/packages/{TELEGRAM}").text)
    assert "shallow" in row and "every byte" not in row
    assert "no bytes read" in row

    assert verify_version(api.services, package_id_for(TELEGRAM), 1).findings == ()
    deep, shallow = history_rows(ada.get(f"/console/packages/{TELEGRAM}").text)
    assert "deep" in deep and "every byte as stored" in deep
    assert "no bytes read" in shallow
