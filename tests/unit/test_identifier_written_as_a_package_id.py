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
