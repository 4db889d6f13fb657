"""A package deaccessioned as a whole (two admins agreed that it leaves the
archive) is not taken back in when its record is submitted again.

Before, a later batch holding the same record (a submitter re-sending an old
batch folder, a nightly sync) stored it as version 2 of the same package: the
package answered 200 again instead of 410, one person's routine submission
undoing what the two-person rule had decided. Now the item is rejected with
PACKAGE_DEACCESSIONED, saying when and why, and the package stays withdrawn.
"""

from __future__ import annotations

from pathlib import Path

from tests.unit.api_support import EXAMPLES, make_api, zip_of

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
