"""Deaccession over HTTP: admins only, two different tokens, and a deaccessioned
package answers 410 with when, why and by whom."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"
REASON = "takedown: the rights holder withdrew permission"


@pytest.fixture
def api(tmp_path: Path) -> Api:
    api = make_api(tmp_path / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    api.tokens["other admin"] = api.services.catalog.create_token(  # type: ignore[attr-defined]
        "second admin", "admin")[1]
    return api


def _ask(api: Api, role: str = "admin", **body: object) -> object:
    return api.client.post("/deaccessions", headers=api.auth(role),
                           json={"package": TELEGRAM, "reason": REASON, **body})


@pytest.mark.parametrize("role", ["submitter", "reader", "auditor"])
def test_a_submitter_reader_or_auditor_cannot_request_a_deaccession(api: Api, role: str) -> None:
    reply = _ask(api, role)
    assert reply.status_code == 403  # type: ignore[attr-defined]
    assert reply.json()["type"] == "urn:strongroom:problem:forbidden"  # type: ignore[attr-defined]


def test_the_token_that_asked_cannot_approve_and_another_admin_can(api: Api) -> None:
    asked = _ask(api)
    assert asked.status_code == 201, asked.text  # type: ignore[attr-defined]
    request_id = asked.json()["request_id"]  # type: ignore[attr-defined]
    # 201 names what it created
    assert asked.headers["location"] == f"/deaccessions/{request_id}"  # type: ignore[attr-defined]
    assert api.client.get(asked.headers["location"],  # type: ignore[attr-defined]
                          headers=api.auth("admin")).json()["request_id"] == request_id

    alone = api.client.post(f"/deaccessions/{request_id}/approve", headers=api.auth("admin"))

    assert alone.status_code == 409
    assert alone.json()["type"] == "urn:strongroom:problem:deaccession-same-person"
    assert alone.json()["findings"][0]["code"] == "DEACCESSION_SAME_PERSON"
    assert api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("reader")).status_code == 200

    approved = api.client.post(f"/deaccessions/{request_id}/approve",
                               headers=api.auth("other admin"))

    assert approved.status_code == 200, approved.text
    assert approved.json()["finished"] and approved.json()["request"]["state"] == "deaccessioned"
    gone = api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("reader"))
    assert gone.status_code == 410
    problem = gone.json()
    assert problem["type"] == "urn:strongroom:problem:deaccessioned"
    assert REASON in problem["detail"]
    assert problem["deaccession"]["reason"] == REASON
    assert problem["deaccession"]["decided_by"]["name"] == "second admin"
    assert problem["deaccession"]["requested_by"]["name"] == "test admin"
    bag = api.client.get(f"/packages/{TELEGRAM}/versions/1/bag", headers=api.auth("reader"))
    assert bag.status_code == 410
    [listed] = api.client.get("/deaccessions", headers=api.auth("admin")).json()["requests"]
    assert listed["state"] == "deaccessioned" and listed["versions"][0]["files"]


def test_a_rejected_request_keeps_the_package(api: Api) -> None:
    request_id = _ask(api).json()["request_id"]  # type: ignore[attr-defined]
    rejected = api.client.post(f"/deaccessions/{request_id}/reject", headers=api.auth("other admin"),
                               json={"reason": "keep"})
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    again = api.client.post(f"/deaccessions/{request_id}/approve", headers=api.auth("other admin"))
    assert again.status_code == 409
    assert again.json()["type"] == "urn:strongroom:problem:deaccession-decided"
    assert api.client.get(f"/packages/{TELEGRAM}", headers=api.auth("reader")).status_code == 200


def test_an_unknown_request_is_404(api: Api) -> None:
    reply = api.client.post("/deaccessions/no-such/approve", headers=api.auth("admin"))
    assert reply.status_code == 404
