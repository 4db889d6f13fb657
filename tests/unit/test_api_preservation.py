"""Preservation officers over HTTP: start fixity checks, read results and the
audit events of a package, verify the chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"


@pytest.fixture
def api(tmp_path: Path) -> Api:
    api = make_api(tmp_path / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    return api


def _start(api: Api, ref: str, query: str = "") -> dict:
    reply = api.client.post(f"/packages/{ref}/fixity-checks{query}", headers=api.auth("auditor"))
    assert reply.status_code == 202, reply.text
    api.app.state.strongroom.wait(timeout=60)
    return reply.json()


def test_fixity_check_runs_and_its_result_is_readable(api: Api) -> None:
    started = _start(api, TELEGRAM)
    assert started["versions"] == [1] and started["dispatch"] == "in-process"
    report = api.client.get(f"/packages/{TELEGRAM}/fixity-checks",
                            headers=api.auth("auditor")).json()
    assert report["versions"][0]["last_fixity"]["outcome"] == "ok"
    assert [(e["outcome"], e["detail"]["tier"]) for e in report["events"]] == [("success", "deep")]


def test_fixity_check_finds_damage(api: Api, tmp_path: Path) -> None:
    package = api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("auditor")).json()
    stored = tmp_path / "data" / "objects" / package["package_id"] / "v1" / "data" / \
        "notes" / "provenance.md"
    stored.chmod(0o644)
    stored.write_bytes(b"tampered")
    _start(api, TELEGRAM, "?version=1")
    report = api.client.get(f"/packages/{TELEGRAM}/fixity-checks",
                            headers=api.auth("auditor")).json()
    assert report["versions"][0]["last_fixity"]["outcome"] == "failed"
    codes = {f["code"] for f in report["events"][-1]["detail"]["findings"]}
    assert "SIZE_MISMATCH" in codes
    # the same check, by copy: version 1 in the one location, its damage with its code
    [copy] = report["copies"]
    assert copy["version"] == 1 and copy["location"].startswith("file://")
    assert copy["checks"][0]["outcome"] == "failure"
    assert "SIZE_MISMATCH" in {f["code"] for f in copy["checks"][0]["findings"]}


def test_fixity_check_of_unknown_version_is_404(api: Api) -> None:
    reply = api.client.post(f"/packages/{TELEGRAM}/fixity-checks?version=7",
                            headers=api.auth("auditor"))
    assert reply.status_code == 404


def test_package_events_page_in_chain_order(api: Api) -> None:
    seen, after = [], 0
    while True:
        page = api.client.get(f"/packages/{TELEGRAM}/events?limit=1&after={after}",
                              headers=api.auth("auditor")).json()
        seen += page["events"]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    assert [e["event_type"] for e in seen] == ["message digest calculation", "format identification",
                                               "ingestion"]
    assert [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)


def test_audit_chain_verifies(api: Api) -> None:
    chain = api.client.get("/audit/verify", headers=api.auth("auditor")).json()
    assert chain["ok"] is True and chain["count"] > 3 and chain["first_bad_seq"] is None
