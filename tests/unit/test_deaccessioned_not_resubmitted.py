"""A package deaccessioned as a whole (two admins agreed that it leaves the
archive) is not taken back in when its record is submitted again.

Before, a later batch holding the same record (a submitter re-sending an old
batch folder, a nightly sync) stored it as version 2 of the same package: the
package answered 200 again instead of 410, one person's routine submission
undoing what the two-person rule had decided. Now the item is rejected with
PACKAGE_DEACCESSIONED, saying when and why, and the package stays withdrawn.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.deaccession import approve_deaccession, request_deaccession
from ingest.models import ItemStatus
from tests.unit.api_support import EXAMPLES, make_api, zip_of
from tests.unit.test_deaccession import ALICE, BOB
from tests.unit.test_replication import open_archive, record

IDENTIFIER = "letter-1952-03-sample"


def test_a_deaccessioned_package_is_not_taken_back_in_by_submitting_its_record_again(
        tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    first = api.upload(zip_of(EXAMPLES), "application/zip")
    package = next(i["package_id"] for i in first["items"] if i["name"] == IDENTIFIER)
    _, second_admin = api.services.catalog.create_token("second admin", "admin")  # type: ignore[attr-defined]
    asked = api.client.post("/deaccessions", headers=api.auth("admin"), json={
        "package": package, "reason": "withdrawn by order of the court"})
    assert asked.status_code == 201, asked.text
    approved = api.client.post(f"/deaccessions/{asked.json()['request_id']}/approve",
                               headers={"Authorization": f"Bearer {second_admin}"})
    assert approved.status_code == 200, approved.text
    assert api.client.get(f"/packages/{package}", headers=api.auth("reader")).status_code == 410

    again = api.upload(zip_of(EXAMPLES), "application/zip")
    api.app.state.strongroom.wait(30)
    items = api.client.get(f"/batches/{again['batch_id']}", headers=api.auth("admin")).json()["items"]
    [item] = [i for i in items if i["name"] == IDENTIFIER]

    assert item["status"] == "rejected", item
    [finding] = [f for f in item["findings"] if f["code"] == "PACKAGE_DEACCESSIONED"]
    assert finding["pointer"] == "/identifier"
    assert "withdrawn by order of the court" in finding["message"]
    assert api.client.get(f"/packages/{package}", headers=api.auth("reader")).status_code == 410


@pytest.mark.parametrize(("withdrawn", "again"), [
    ("SG-PR-0021", "sg-pr-0021"),                                   # other capitals
    ("SG-PR-0021", "ｓｇ-pr-0021"),                                  # fullwidth letters
    (unicodedata.normalize("NFC", "Müller-Nachlass"),
     unicodedata.normalize("NFD", "Müller-Nachlass")),              # another normalization form
], ids=["capitals", "fullwidth", "nfd"])
def test_a_deaccessioned_identifier_is_refused_in_every_form_that_reads_alike(
        tmp_path: Path, withdrawn: str, again: str) -> None:
    """Defect: only the identifier as the package had it was refused: the same record
    submitted again in other capitals (or fullwidth letters, or in NFD) was stored
    as a new package, one submission undoing what two admins decided. A live
    package's identifier is refused in every such form (IDENTIFIER_READS_LIKE_ANOTHER,
    IDENTIFIER_NOT_AS_STORED); a withdrawn one now is too, with PACKAGE_DEACCESSIONED."""
    for archive in open_archive(tmp_path):
        archive.ingest("first", metadata=record(withdrawn))
        request = request_deaccession(replace(archive.services, actor=ALICE),
                                      withdrawn, None, "withdrawn by order of the court")
        approve_deaccession(replace(archive.services, actor=BOB), request.request_id)

        [item_id] = archive.ingest("again", metadata=record(again))

        item = archive.services.catalog.get_item(item_id)
        assert item.status is ItemStatus.REJECTED, item
        [finding] = item.findings
        assert (finding.code, finding.pointer, finding.found) == (
            "PACKAGE_DEACCESSIONED", "/identifier", again)
        assert request.request_id in finding.message
        assert "withdrawn by order of the court" in finding.message
        assert archive.services.catalog.list_packages() == []
