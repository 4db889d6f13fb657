"""``GET /audit/verify`` and the real ``strongroom audit verify`` command say the same of a
truncated log: one use case behind both."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ingest.anchoring import anchor_audit_head
from tests.e2e.test_anchoring_cli import cli
from tests.unit.api_support import EXAMPLES, make_api, zip_of
from tests.unit.test_anchoring import truncate_log


def test_get_audit_verify_reports_a_truncated_log_as_audit_verify_does(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    anchor = anchor_audit_head(api.services)
    assert anchor is not None
    with sqlite3.connect(tmp_path / "data" / "catalog.sqlite3") as db:
        truncate_log(db, anchor.seq - 1)

    reply = api.client.get("/audit/verify", headers=api.auth("auditor"))

    assert reply.status_code == 200
    document = reply.json()
    assert document["ok"] is False and document["first_bad_seq"] is None  # the chain is whole
    [finding] = document["anchors"]["findings"]
    assert finding["code"] == "ANCHORED_EVENT_MISSING"
    assert finding["params"]["seq"] == anchor.seq
    command = cli(tmp_path / "data", "audit", "verify", "--json")
    assert command.returncode == 1
    same = json.loads(command.stdout)  # one use case behind both
    assert {k: v for k, v in same.items() if k != "anchors"} == {
        k: v for k, v in document.items() if k != "anchors"}
    assert [(f["code"], f["params"], f["message"]) for f in same["anchors"]["findings"]] == [
        (f["code"], f["params"], f["message"]) for f in document["anchors"]["findings"]]

