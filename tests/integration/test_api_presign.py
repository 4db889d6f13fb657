"""Presigned download URLs against a real S3 server (SeaweedFS).

The API runs on an S3 primary store and an SQLite catalog. A URL it hands out
is fetched with plain httpx and no credentials of any kind: the bytes are the
stored file's and match the digests the answer carries; once the URL has
expired the S3 server itself refuses it.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.services import S3Endpoint
from tests.unit.api_support import EXAMPLES, Api, make_api, zip_of


@pytest.fixture
def api(tmp_path: Path, s3_server: S3Endpoint, s3_storage_url: str, aws_credentials: None) -> Api:
    """The API on a fresh bucket, the example batch ingested through it."""
    api = make_api(tmp_path / "data", STRONGROOM_STORAGE_URL=s3_storage_url,
                   STRONGROOM_S3_ENDPOINT_URL=s3_server.endpoint_url)
    batch = api.upload(zip_of(EXAMPLES), "application/zip")
    api.package = next(i["package_id"] for i in batch["items"]  # type: ignore[attr-defined]
                       if i["status"] == "stored")
    return api


def _presign(api: Api, path: str, query: str = "") -> dict:
    reply = api.client.get(
        f"/packages/{api.package}/versions/1/presigned/{path}{query}",  # type: ignore[attr-defined]
        headers=api.auth("reader"))
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_presigned_url_fetches_the_stored_bytes_without_credentials(api: Api) -> None:
    version = api.services.catalog.get_version(api.package, 1)  # type: ignore[attr-defined]
    payload = next(f for f in version.files if f.path.startswith("data/"))
    answer = _presign(api, payload.path)

    with httpx.Client(trust_env=False) as plain:  # no token, no AWS credentials
        fetched = plain.get(answer["url"])

    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == answer["sha256"] == payload.sha256
    assert hashlib.sha512(fetched.content).hexdigest() == answer["sha512"]
    assert len(fetched.content) == answer["size"] == payload.size
    via_api = api.client.get(f"/packages/{api.package}/versions/1/files/{payload.path}",  # type: ignore[attr-defined]
                             headers=api.auth("reader"))
    assert fetched.content == via_api.content


def test_expired_presigned_url_is_refused_by_the_s3_server(api: Api) -> None:
    answer = _presign(api, "bagit.txt", "?expires=3")
    with httpx.Client(trust_env=False) as plain:
        assert plain.get(answer["url"]).status_code == 200  # the same URL, while it lives
        time.sleep(4)
        refused = plain.get(answer["url"])
    assert refused.status_code == 403, refused.text
    assert b"BagIt-Version" not in refused.content
