"""A search's dates are read as the console reads them: before, the API let
``date_from=1951-13`` (a month 13) and ranges that end before they start through,
and answered 200 with whatever they happened to match."""

from __future__ import annotations

import html
from pathlib import Path

import pytest

from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    api = make_api(tmp_path_factory.mktemp("search") / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    return api


@pytest.mark.parametrize("query", ["date_from=1951-13", "date_to=1951-02-30x",
                                   "date_from=1952&date_to=1951", "date_from=195"])
def test_a_date_that_is_no_date_or_a_backward_range_is_refused_in_words(api: Api, query: str) -> None:
    reply = api.client.get(f"/packages?{query}", headers=api.auth("reader"))
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"].startswith("application/problem+json")
    assert "date" in reply.json()["detail"]


def test_good_dates_still_find_the_telegram(api: Api) -> None:
    reply = api.client.get("/packages?date_from=1951-06&date_to=1951-06-30",
                           headers=api.auth("reader"))
    assert reply.status_code == 200
    assert [p["identifier"] for p in reply.json()["packages"]] == ["telegram-1951-06-21-mao-to-filippov"]


def test_a_repair_that_cannot_mend_a_copy_does_not_answer_200(tmp_path: Path) -> None:
    """Before, the console's repair form answered 200 whatever came of it; the CLI
    exits 1 for the same outcome."""
    from tests.unit.test_identities import BASE, PASSWORD, _post, _signed_in

    api = make_api(tmp_path / "data")
    api.upload(zip_of(EXAMPLES), "application/zip")
    from ingest.accounts import create_account
    from ingest.models import package_id_for

    create_account(api.services.catalog, "ada", "admin", PASSWORD, api.services.clock.now())
    package = package_id_for("telegram-1951-06-21-mao-to-filippov")
    stored = tmp_path / "data" / "objects" / package / "v1" / "data" / "transcription" / "telegram-en.txt"
    stored.write_bytes(b"not what was sent\n")  # the only copy damaged
    ada = _signed_in(api, "ada")
    assert BASE

    answer = _post(ada, "/console/preservation/repair", package=package)

    assert answer.status_code == 409  # type: ignore[attr-defined]
    assert "refused" in answer.text  # type: ignore[attr-defined]
    # and why, as the CLI says it: no copy to mend it from
    from ingest.repair import repair_version

    reason = repair_version(api.services, package, 1).detail
    assert reason and reason in html.unescape(answer.text), reason  # type: ignore[attr-defined]
