"""The API's published contract: the checked-in OpenAPI document is current, and
schemathesis, driving every route from that document, finds no server error and
no response that breaks it."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings

from strongroom.api.openapi import render
from tests.unit.api_support import EXAMPLES, ROOT, Api, make_api, zip_of


def test_checked_in_openapi_document_is_current() -> None:
    checked_in = (ROOT / "docs" / "openapi.json").read_text(encoding="utf-8")
    assert checked_in == render(), \
        "regenerate it: python -m strongroom.api.openapi > docs/openapi.json"


def test_every_route_documents_auth_and_problem_responses() -> None:
    import json

    document = json.loads(render())
    public = {"/healthz", "/readyz"}  # for load balancers: no token, nothing sensitive
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            if path in public:
                assert not {"401", "403"} & set(responses), (method, path)
            else:
                assert {"401", "403"} <= set(responses), (method, path)
            for status, response in responses.items():
                if status[0] in "45":
                    assert list(response["content"]) == ["application/problem+json"]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    api = make_api(tmp_path_factory.mktemp("openapi") / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    return api


def test_api_holds_to_its_openapi_document(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every operation, a couple of dozen generated requests each, with an admin token."""
    import strongroom.api.callbacks

    # Generated callback URLs name arbitrary hosts: record them, reach none.
    monkeypatch.setattr(strongroom.api.callbacks, "post_once", lambda url, body, timeout=0: None)
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 21

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate],
                  suppress_health_check=list(HealthCheck))
        def run(case: schemathesis.Case) -> None:
            # Bytes that fit ``format: binary`` are rarely a valid zip: refusing them
            # (422, ARCHIVE_UNREADABLE) is right, so "valid data accepted" does not apply.
            case.call_and_validate(headers=api.auth("admin"),
                                   excluded_checks=[schemathesis.checks.positive_data_acceptance])
            api.app.state.strongroom.wait(timeout=60)

        run()
    assert not list(Path(api.settings.staging).glob("*/upload"))  # no archive left behind
