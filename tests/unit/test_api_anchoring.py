"""The audit log over HTTP: ``GET /audit/verify`` holds the log to its anchors as
``audit verify`` does, and events appended through ``strongroom serve`` are
anchored — soon after the request, at most once in STRONGROOM_ANCHOR_EVERY
seconds, and on shutdown.

The log is truncated directly in the SQLite file, as someone with access to the
database (and not to the object store) could.
"""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

from fastapi.testclient import TestClient

from ingest.anchoring import anchor_audit_head
from tests.unit.api_support import EXAMPLES, Api, make_api, wait_until, zip_of
from tests.unit.test_anchoring import cli, truncate_log

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"


def anchored(api: Api) -> bool:
    catalog = api.services.catalog
    return catalog.last_anchor() == catalog.audit_head()


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


def test_events_appended_through_serve_are_anchored_soon_after_the_request(
        tmp_path: Path) -> None:
    api = make_api(tmp_path / "data", STRONGROOM_ANCHOR_EVERY="1")
    with TestClient(api.app) as client:
        reply = client.post("/batches", content=zip_of(EXAMPLES), headers={
            **api.auth("submitter"), "Content-Type": "application/zip"})
        assert reply.status_code == 202
        api.app.state.strongroom.wait(timeout=60)
        wait_until(lambda: anchored(api), timeout=10)
        head_seq, _ = api.services.catalog.audit_head()
        verified = client.get("/audit/verify", headers=api.auth("auditor")).json()
    assert verified["ok"] is True
    assert verified["anchors"]["latest_seq"] == head_seq


def test_anchoring_after_requests_is_bounded_and_done_again_on_shutdown(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data", STRONGROOM_ANCHOR_EVERY="3600")
    with TestClient(api.app) as client:
        upload = client.post("/batches", content=zip_of(EXAMPLES), headers={
            **api.auth("submitter"), "Content-Type": "application/zip"})
        assert upload.status_code == 202
        # the first request's events are anchored at once ...
        wait_until(lambda: api.services.catalog.last_anchor() is not None, timeout=10)
        api.app.state.strongroom.wait(timeout=60)
        first = api.services.catalog.last_anchor()
        started = client.post(f"/packages/{TELEGRAM}/fixity-checks", headers=api.auth("auditor"))
        assert started.status_code == 202
        api.app.state.strongroom.wait(timeout=60)
        time.sleep(0.5)
        # ... later ones wait: the last anchor is less than an hour old
        assert not anchored(api)
        assert api.services.catalog.last_anchor() == first
    # shutdown anchors what was appended since
    assert anchored(api)
