"""GET /packages/{id} says what the README and docs/api.md promise of versions that
share bytes: each file's ``held_by`` and each version's payload figures. Before,
the response model left them out (the CLI's `show --json` had them)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ingest.models import package_id_for
from tests.unit.api_support import EXAMPLES, make_api, zip_of

LETTER = "letter-1952-03-sample"


def test_a_version_sharing_a_file_says_which_version_holds_it_and_what_it_stores_itself(
        tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    first = tmp_path / "first"
    shutil.copytree(EXAMPLES / LETTER, first / LETTER)
    api.upload(zip_of(first), "application/zip")
    # The same files, the record corrected: version 2 stores no payload byte again.
    second = tmp_path / "second"
    shutil.copytree(EXAMPLES / LETTER, second / LETTER)
    record_file = second / LETTER / "metadata.json"
    record = json.loads(record_file.read_text(encoding="utf-8"))
    record["title"] += " (corrected)"
    record_file.write_text(json.dumps(record), encoding="utf-8")
    api.upload(zip_of(second), "application/zip")

    reply = api.client.get(f"/packages/{package_id_for(record['identifier'])}",
                           headers=api.auth("reader"))
    assert reply.status_code == 200
    v1, v2 = sorted(reply.json()["versions"], key=lambda v: v["version"])
    payload = [f for f in v2["files"] if f["path"].startswith("data/")]
    assert payload and {f["held_by"] for f in payload} == {1}
    assert all(f["held_by"] is None for f in v1["files"])
    assert v2["payload_octets"] == v1["payload_octets"] == sum(f["size"] for f in payload)
    assert v2["payload_files"] == len(payload)
    assert (v1["payload_octets_stored"], v2["payload_octets_stored"]) == (v1["payload_octets"], 0)
