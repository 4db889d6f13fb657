"""Presigned download URLs: a filesystem store refuses with the documented 409
problem; an S3 store signs the full object key, for the asked-for time, and the
answer carries the digests the client must check the download against."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlparse

import boto3
import pytest
from botocore.config import Config

from ingest.layout import version_prefix
from storage.s3 import S3ObjectStore
from strongroom.settings import Settings, SettingsError
from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of

SECRET = "not-a-real-secret-key"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    api = make_api(tmp_path_factory.mktemp("presign") / "data")
    batch = api.upload(zip_of(EXAMPLES), "application/zip")
    api.package = next(i["package_id"] for i in batch["items"] if i["package_id"])  # type: ignore[attr-defined]
    return api


def _offline_s3_store(prefix: str = "packages") -> S3ObjectStore:
    # Signing needs credentials but no server: nothing here touches the network.
    client = boto3.client("s3", endpoint_url="http://127.0.0.1:9", region_name="us-east-1",
                          aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key=SECRET,
                          config=Config(signature_version="s3v4",
                                        s3={"addressing_style": "path"}))
    return S3ObjectStore("archive", prefix, endpoint_url="http://127.0.0.1:9", client=client)


def test_filesystem_store_refuses_to_presign_with_409(api: Api) -> None:
    url = f"/packages/{api.package}/versions/1/presigned/bagit.txt"  # type: ignore[attr-defined]
    reply = api.client.get(url, headers=api.auth("reader"))
    assert reply.status_code == 409
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["type"] == "urn:strongroom:problem:presign-unsupported"
    assert reply.json()["instance"] == url


def test_presign_problem_detail_leaks_no_server_path(api: Api) -> None:
    url = f"/packages/{api.package}/versions/1/presigned/bagit.txt"  # type: ignore[attr-defined]
    detail = api.client.get(url, headers=api.auth("reader")).json()["detail"]
    assert str(api.settings.data_dir) not in detail and "file:" not in detail, detail
    assert "/files/bagit.txt" in detail


@pytest.mark.parametrize("path", ["data/no-such-file.txt", "data"])
def test_unknown_file_gets_404_not_409(api: Api, path: str) -> None:
    reply = api.client.get(f"/packages/{api.package}/versions/1/presigned/{path}",  # type: ignore[attr-defined]
                           headers=api.auth("reader"))
    assert reply.status_code == 404
    assert reply.json()["type"] == "urn:strongroom:problem:not-found"


def test_unknown_version_or_package_gets_404(api: Api) -> None:
    for url in (f"/packages/{api.package}/versions/9/presigned/bagit.txt",  # type: ignore[attr-defined]
                "/packages/no-such-package/versions/1/presigned/bagit.txt"):
        assert api.client.get(url, headers=api.auth("reader")).status_code == 404, url


@pytest.mark.parametrize("expires", ["0", "3601", "-5", "soon"])
def test_expiry_outside_one_second_to_an_hour_is_refused(api: Api, expires: str) -> None:
    reply = api.client.get(
        f"/packages/{api.package}/versions/1/presigned/bagit.txt?expires={expires}",  # type: ignore[attr-defined]
        headers=api.auth("reader"))
    assert reply.status_code == 422
    assert reply.json()["type"] == "urn:strongroom:problem:invalid-request"


def test_s3_store_signs_the_full_key_for_the_asked_time_without_exposing_the_secret() -> None:
    url = _offline_s3_store("packages/").presigned_get("pkg/v1/data/scan.tif", 120)
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    assert parsed.path == "/archive/packages/pkg/v1/data/scan.tif"
    assert query["X-Amz-Expires"] == ["120"]
    assert query["X-Amz-Credential"][0].startswith("AKIDEXAMPLE/")
    assert "X-Amz-Signature" in query
    assert SECRET not in url


@pytest.mark.parametrize("bad", [0, -1, 7 * 24 * 3600 + 1])
def test_s3_store_refuses_an_expiry_sigv4_cannot_sign(bad: int) -> None:
    with pytest.raises(ValueError):
        _offline_s3_store().presigned_get("pkg/v1/bagit.txt", bad)


def test_s3_store_refuses_a_folder_key() -> None:
    with pytest.raises(ValueError):
        _offline_s3_store().presigned_get("pkg/v1/", 60)


def test_presigning_store_answer_carries_url_expiry_and_digests(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    signed: list[tuple[str, int]] = []

    def presigned_get(key: str, expires_in: int) -> str:
        signed.append((key, expires_in))
        return f"https://s3.example/{key}?X-Amz-Expires={expires_in}"

    store = api.services.store
    monkeypatch.setattr(store, "presigned_get", presigned_get, raising=False)
    version = api.services.catalog.get_version(api.package, 1)  # type: ignore[attr-defined]
    stored = next(f for f in version.files if f.path.startswith("data/"))
    base = f"/packages/{api.package}/versions/1/presigned/{stored.path}"  # type: ignore[attr-defined]

    default = api.client.get(base, headers=api.auth("auditor"))
    short = api.client.get(base + "?expires=30", headers=api.auth("admin"))

    assert default.status_code == short.status_code == 200, default.text
    body = default.json()
    assert {k: body[k] for k in ("sha256", "sha512", "size")} == {
        "sha256": stored.sha256, "sha512": stored.sha512, "size": stored.size}
    assert body["url"].startswith("https://s3.example/")
    assert body["expires_at"].endswith("Z")
    key = version_prefix(version.package_id, 1) + stored.path
    assert signed == [(key, 300), (key, 30)]


def test_presign_seconds_setting_is_bounded(tmp_path: Path) -> None:
    base = {"STRONGROOM_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(base).api_presign_seconds == 300
    assert Settings.from_env({**base, "STRONGROOM_API_PRESIGN_SECONDS": "60"}).api_presign_seconds == 60
    for bad in ("0", "3601", "five"):
        with pytest.raises(SettingsError):
            Settings.from_env({**base, "STRONGROOM_API_PRESIGN_SECONDS": bad})


def test_the_store_and_the_api_keep_one_presign_limit() -> None:
    from ingest.ports import MAX_PRESIGN_SECONDS

    # A URL the store signs never lives longer than the API lets anyone ask for.
    assert MAX_PRESIGN_SECONDS == 3600
    assert _offline_s3_store().presigned_get("pkg/v1/bagit.txt", MAX_PRESIGN_SECONDS)
    with pytest.raises(ValueError):
        _offline_s3_store().presigned_get("pkg/v1/bagit.txt", MAX_PRESIGN_SECONDS + 1)
