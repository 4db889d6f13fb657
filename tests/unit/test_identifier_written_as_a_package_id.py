"""A record whose identifier is written as another package's id is refused.

Before, a submitter could give a new record the package id of any package as
its identifier: it was stored, and from then on every lookup of that package by
its id (``strongroom show ID``, ``GET /packages/ID``, its bag and file routes,
what downstream systems keep) was refused as ambiguous. One submission made a
package unreachable by its id for every reader.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from tests.unit.api_support import EXAMPLES, make_api, zip_of

ITEM = "letter-1952-03-sample"


def test_a_record_identifier_written_as_another_packages_id_is_refused(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    first = api.upload(zip_of(EXAMPLES), "application/zip")
    package = next(i["package_id"] for i in first["items"] if i["name"] == ITEM)

    batch = tmp_path / "shadow"
    (batch / "shadow").mkdir(parents=True)
    record = json.loads((EXAMPLES / ITEM / "metadata.json").read_text(encoding="utf-8"))
    record.update(identifier=package, title="A record named as another package's id")
    (batch / "shadow" / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    shutil.copy(EXAMPLES / ITEM / "metadata.json", batch / "shadow" / "page.json")
    second = api.upload(zip_of(batch), "application/zip")
    api.app.state.strongroom.wait(30)
    [item] = api.client.get(f"/batches/{second['batch_id']}",
                            headers=api.auth("admin")).json()["items"]

    assert item["status"] == "rejected", item
    [finding] = [f for f in item["findings"] if f["code"] == "IDENTIFIER_IS_A_PACKAGE_ID"]
    assert finding["pointer"] == "/identifier" and package in finding["message"]
    shown = api.client.get(f"/packages/{package}", headers=api.auth("reader"))
    assert shown.status_code == 200, shown.text
    assert shown.json()["identifier"] == ITEM


def test_an_identifier_written_as_the_id_a_future_record_will_have_is_refused(
        tmp_path: Path) -> None:
    """Package ids are computed from identifiers, by anyone: a record stored under
    the id that "SG-PR-0099" will have made that package ambiguous by its id from
    the day it arrived. A UUID of another kind is an identifier like any other."""
    from ingest.models import package_id_for

    api = make_api(tmp_path / "data")
    batch = tmp_path / "planted"
    record = json.loads((EXAMPLES / ITEM / "metadata.json").read_text(encoding="utf-8"))
    for name, identifier in (("planted", package_id_for("SG-PR-0099")),
                             ("source-uuid", "3f2b8c1e-9d4a-4e7b-8c2d-1a5e6f7b8c9d")):
        (batch / name).mkdir(parents=True)
        (batch / name / "metadata.json").write_text(
            json.dumps({**record, "identifier": identifier}), encoding="utf-8")
        shutil.copy(EXAMPLES / ITEM / "metadata.json", batch / name / "page.json")
    sent = api.upload(zip_of(batch), "application/zip")
    api.app.state.strongroom.wait(30)
    items = {i["name"]: i for i in api.client.get(
        f"/batches/{sent['batch_id']}", headers=api.auth("admin")).json()["items"]}

    assert items["planted"]["status"] == "rejected", items["planted"]
    assert [f["code"] for f in items["planted"]["findings"]] == ["IDENTIFIER_IN_PACKAGE_ID_FORM"]
    assert items["source-uuid"]["status"] == "stored", items["source-uuid"]
