"""Every role against every route: each token does exactly what its role allows;
a missing, unknown or revoked token gets 401, the wrong role 403."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.unit.api_support import EXAMPLES, ROLES, Api, make_api, zip_of

SUBMIT = {"submitter", "admin"}
READ = {"reader", "auditor", "admin"}
PRESERVE = {"auditor", "admin"}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    api = make_api(tmp_path_factory.mktemp("roles") / "data")
    api.batch = api.upload(zip_of(EXAMPLES), "application/zip")  # type: ignore[attr-defined]
    return api


def _routes(api: Api) -> list[tuple[str, str, dict, set[str], int]]:
    batch = api.batch  # type: ignore[attr-defined]
    package = next(i["package_id"] for i in batch["items"] if i["package_id"])
    body = {"content": zip_of(EXAMPLES), "headers": {"Content-Type": "application/zip"}}
    v1 = f"/packages/{package}/versions/1"
    return [
        ("POST", "/batches", body, SUBMIT, 202),
        ("GET", f"/batches/{batch['batch_id']}", {}, SUBMIT | {"auditor"}, 200),
        ("GET", "/packages", {}, READ, 200),
        ("GET", f"/packages/{package}", {}, READ, 200),
        ("GET", f"{v1}/bag", {}, READ, 200),
        ("GET", f"{v1}/bag?format=zip", {}, READ, 200),
        ("GET", f"{v1}/files/bagit.txt", {}, READ, 200),
        # A filesystem store cannot presign: the roles that may ask get the 409 problem.
        ("GET", f"{v1}/presigned/bagit.txt", {}, READ, 409),
        ("POST", f"/packages/{package}/fixity-checks", {}, PRESERVE, 202),
        ("GET", f"/packages/{package}/fixity-checks", {}, PRESERVE, 200),
        ("GET", f"/packages/{package}/events", {}, PRESERVE, 200),
        ("GET", "/audit/verify", {}, PRESERVE, 200),
        ("GET", "/locations", {}, PRESERVE, 200),
        ("POST", "/locations/fill",
         {"json": {"location": api.app.state.strongroom.services.store.location}}, {"admin"}, 202),
        ("GET", "/deaccessions", {}, {"admin"}, 200),
    ]


def _call(api: Api, method: str, url: str, extra: dict, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    extra = dict(extra)
    headers = {**extra.pop("headers", {}), **headers}
    reply = api.client.request(method, url, headers=headers, **extra)
    api.app.state.strongroom.wait(timeout=60)
    return reply


def test_each_role_can_use_exactly_its_routes(api: Api) -> None:
    table = {}
    for method, url, extra, allowed, success in _routes(api):
        for role in ROLES:
            reply = _call(api, method, url, extra, api.auth(role))
            table[(method, url.split("?")[0], role)] = reply.status_code
            expected = success if role in allowed else 403
            assert reply.status_code == expected, (method, url, role, reply.text[:300])
            if expected == 403:
                assert reply.headers["content-type"] == "application/problem+json"
                assert reply.json()["type"] == "urn:strongroom:problem:forbidden"
    assert len(table) == 14 * len(ROLES)  # the zip bag shares its path with the tar bag


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer srt_not-a-token"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer "},
], ids=["missing", "unknown", "not_bearer", "empty"])
def test_missing_or_bad_token_gets_401_on_every_route(api: Api, headers: dict[str, str]) -> None:
    for method, url, extra, _, _ in _routes(api):
        reply = _call(api, method, url, extra, headers)
        assert reply.status_code == 401, (method, url)
        assert reply.headers["www-authenticate"].startswith("Bearer")
        assert reply.json()["type"] == "urn:strongroom:problem:unauthorized"


def test_revoked_token_gets_401(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    assert api.client.get("/packages", headers=api.auth("reader")).status_code == 200
    api.services.catalog.revoke_token("test reader")  # type: ignore[attr-defined]
    assert api.client.get("/packages", headers=api.auth("reader")).status_code == 401


def test_tokens_are_stored_as_hashes_and_never_logged(tmp_path: Path,
                                                      caplog: pytest.LogCaptureFixture) -> None:
    api = make_api(tmp_path / "data")
    caplog.set_level(logging.DEBUG)
    for role in ROLES:
        api.client.get("/packages", headers=api.auth(role))
        api.client.get("/audit/verify", headers=api.auth(role))
    database = (tmp_path / "data" / "catalog.sqlite3").read_bytes()
    for secret in api.tokens.values():
        assert secret not in caplog.text
        assert secret.encode() not in database


def test_token_commands_create_list_and_revoke(tmp_path: Path) -> None:
    import json

    from strongroom.cli import main

    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data")}
    runner = CliRunner()
    created = runner.invoke(main, ["token", "create", "--role", "auditor", "--name", "officer",
                                   "--json"], env=env)
    assert created.exit_code == 0, created.output
    secret = json.loads(created.output)["token"]
    listed = runner.invoke(main, ["token", "list", "--json"], env=env)
    assert secret not in listed.output
    assert [t["name"] for t in json.loads(listed.output)["tokens"]] == ["officer"]
    api = make_api(tmp_path / "data")
    headers = {"Authorization": f"Bearer {secret}"}
    assert api.client.get("/audit/verify", headers=headers).status_code == 200
    assert runner.invoke(main, ["token", "revoke", "officer", "--json"], env=env).exit_code == 0
    assert api.client.get("/audit/verify", headers=headers).status_code == 401
    unknown = runner.invoke(main, ["token", "revoke", "officer", "--json"], env=env)
    assert unknown.exit_code == 2
    bad_role = runner.invoke(main, ["token", "create", "--role", "root", "--name", "x"], env=env)
    assert bad_role.exit_code == 2


def test_every_role_a_token_can_carry_has_its_permissions_in_the_api() -> None:
    from ingest.access import ROLES as TOKEN_ROLES
    from strongroom.api.auth import ROLE_PERMISSIONS

    assert set(ROLE_PERMISSIONS) == set(TOKEN_ROLES)
