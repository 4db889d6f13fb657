"""The audit log over HTTP: ``GET /audit/verify`` holds the log to its anchors as
``audit verify`` does, and events appended through ``strongroom serve`` are
anchored — soon after the request, at most once in STRONGROOM_ANCHOR_EVERY
seconds, and on shutdown.

The log is truncated directly in the SQLite file, as someone with access to the
database (and not to the object store) could.
"""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient

from tests.unit.api_support import EXAMPLES, Api, make_api, wait_until, zip_of

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"


def anchored(api: Api) -> bool:
    catalog = api.services.catalog
    return catalog.last_anchor() == catalog.audit_head()


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
