"""Identifiers as archives write them: a reference code such as `GB 123 ABC/1/2`
holds `/`. Sent percent-encoded (`GB%20123%20ABC%2F1%2F2`) it is one path
segment on every package route, and `versions/latest` works wherever a version
number does (HTTP; the CLI in tests/e2e/test_api_identifier_paths_cli.py)."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.unit.api_support import Api, make_api, tar_of

REFERENCE_CODE = "GB 123 ABC/1/2"
ENCODED = quote(REFERENCE_CODE, safe="")  # GB%20123%20ABC%2F1%2F2


def _batch(folder: Path) -> Path:
    item = folder / "gb-123-abc-1-2"
    item.mkdir(parents=True)
    (folder / "batch.json").write_text(json.dumps({"submitter": "Reading Room",
                                                   "schema": "archival-record/v1"}))
    (item / "metadata.json").write_text(json.dumps({
        "identifier": REFERENCE_CODE, "title": "A file in a series", "date": "1952-03",
        "type": "letter", "language": "en-GB",
        "rights": {"statement": "Sample text.", "holder": "Strongroom contributors"}}))
    (item / "page-01.txt").write_text("page one\n")
    return folder


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    root = tmp_path_factory.mktemp("identifier-paths")
    api = make_api(root / "data")
    (item,) = api.upload(tar_of(_batch(root / "batch")), "application/x-tar")["items"]
    assert item["status"] == "stored", item
    api.package_id = item["package_id"]  # type: ignore[attr-defined]
    return api


def test_identifier_with_slashes_names_its_package_on_every_route(api: Api) -> None:
    reader, auditor = api.auth("reader"), api.auth("auditor")
    shown = api.client.get(f"/packages/{ENCODED}", headers=reader)
    assert shown.status_code == 200, shown.text
    assert shown.json()["identifier"] == REFERENCE_CODE
    base = f"/packages/{ENCODED}/versions/1"
    assert api.client.get(f"{base}/files/data/page-01.txt", headers=reader).text == "page one\n"
    assert api.client.head(f"{base}/files/data/page-01.txt", headers=reader).status_code == 200
    bag = api.client.get(f"{base}/bag", headers=reader)
    assert bag.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(bag.content)) as tar:
        assert any(m.name.endswith("_v1/data/page-01.txt") for m in tar.getmembers())
    assert api.client.get(f"{base}/presigned/data/page-01.txt",
                          headers=reader).status_code == 409  # a filesystem store
    assert api.client.get(f"/packages/{ENCODED}/fixity-checks", headers=auditor).status_code == 200
    assert api.client.get(f"/packages/{ENCODED}/events", headers=auditor).status_code == 200
    started = api.client.post(f"/packages/{ENCODED}/fixity-checks", headers=auditor)
    assert started.status_code == 202, started.text
    api.app.state.strongroom.wait(timeout=60)


def test_a_lone_part_of_the_identifier_is_not_a_package(api: Api) -> None:
    reply = api.client.get(f"/packages/{quote('GB 123 ABC')}/1/2", headers=api.auth("reader"))
    assert reply.status_code == 404


def test_versions_latest_works_wherever_a_version_number_does(api: Api) -> None:
    reader = api.auth("reader")
    for ref in (ENCODED, api.package_id):  # type: ignore[attr-defined]
        base = f"/packages/{ref}/versions/latest"
        assert api.client.get(f"{base}/files/data/page-01.txt", headers=reader).status_code == 200
        bag = api.client.get(f"{base}/bag?format=zip", headers=reader)
        assert bag.status_code == 200, bag.text
        assert 'v1.zip"' in bag.headers["content-disposition"]
        assert api.client.get(f"{base}/presigned/bagit.txt", headers=reader).status_code == 409
    assert api.client.get(f"/packages/{ENCODED}/versions/newest/bag",
                          headers=reader).status_code == 422


def test_identifier_with_slashes_through_a_real_server_and_curl(api: Api) -> None:
    from tests.unit.test_damaged_delivery import _serve

    for base in _serve(api):
        got = subprocess.run(["curl", "--fail", "-sS", "-H",
                              f"Authorization: Bearer {api.tokens['reader']}",
                              f"{base}/packages/{ENCODED}/versions/latest/files/data/page-01.txt"],
                             capture_output=True, text=True, timeout=60)
        assert got.returncode == 0, got.stderr
        assert got.stdout == "page one\n"
