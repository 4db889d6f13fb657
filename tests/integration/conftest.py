"""Fixtures for tests against real services: S3 (SeaweedFS), PostgreSQL, Redis.

``STRONGROOM_TEST_S3_ENDPOINT`` names an S3 server already running (``.ci/run``
starts one, credentials ``test`` / ``test-secret-key``); without it one
``weed mini`` is started for the session. Every test gets its own bucket, its
own throwaway database and a flushed Redis database number, so tests never see
each other's data. Only loopback endpoints are accepted.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from botocore.exceptions import BotoCoreError, ClientError

from tests.integration.services import (
    REDIS_PORT,
    S3Endpoint,
    SeaweedServer,
    createdb,
    dropdb,
    ensure_postgres,
    ensure_redis,
    postgres_url,
    require_loopback,
)

S3_ENDPOINT_VARIABLE = "STRONGROOM_TEST_S3_ENDPOINT"
#: Redis database number the tests own; flushed before and after each test.
#: One per concurrent run; when the suite runs in several processes (``pytest -n``), each
#: takes the next number after it, so ``.ci/run`` with ``-n 3`` uses 13, 14 and 15.
REDIS_TEST_DB = (int(os.environ.get("STRONGROOM_TEST_REDIS_DB", "13"))
                 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0))
#: AWS settings of the caller that would mix other credentials into the test ones.
_FOREIGN_AWS = frozenset({"AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE",
                          "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"})


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Endpoint]:
    """An S3 server on loopback: the one ``STRONGROOM_TEST_S3_ENDPOINT`` names, or
    a ``weed mini`` started for this session and stopped at its end."""
    given = os.environ.get(S3_ENDPOINT_VARIABLE)
    if given:
        yield S3Endpoint(require_loopback(given.rstrip("/")))
        return
    server = SeaweedServer(tmp_path_factory.mktemp("s3-server"))
    server.start()
    try:
        yield server.endpoint
    finally:
        server.stop()


@pytest.fixture
def s3_bucket(s3_server: S3Endpoint) -> Iterator[str]:
    """A fresh, empty bucket on ``s3_server``; emptied and removed afterwards."""
    name = f"sr-{uuid.uuid4().hex[:24]}"
    client = s3_server.client()
    client.create_bucket(Bucket=name)
    yield name
    _remove_bucket(client, name)


def _remove_bucket(client: Any, name: str) -> None:
    # Best effort: a test may have left objects or uploads behind on purpose.
    try:
        uploads = client.list_multipart_uploads(Bucket=name).get("Uploads", [])
        for upload in uploads:
            client.abort_multipart_upload(Bucket=name, Key=upload["Key"],
                                          UploadId=upload["UploadId"])
        pages = client.get_paginator("list_objects_v2").paginate(Bucket=name)
        for page in pages:
            for entry in page.get("Contents", []):
                client.delete_object(Bucket=name, Key=entry["Key"])
        client.delete_bucket(Bucket=name)
    except (BotoCoreError, ClientError):
        pass


@pytest.fixture
def s3_storage_url(s3_bucket: str) -> str:
    """``s3://BUCKET/packages`` on a fresh bucket of ``s3_server``."""
    return f"s3://{s3_bucket}/packages"


@pytest.fixture(scope="session")
def postgres_server() -> None:
    """PostgreSQL answers on 127.0.0.1:5432 (started if it did not)."""
    ensure_postgres()


@pytest.fixture
def pg_url(postgres_server: None) -> Iterator[str]:
    """A throwaway, empty PostgreSQL database as a SQLAlchemy URL; dropped afterwards."""
    name = f"strongroom_test_{uuid.uuid4().hex[:16]}"
    createdb(name)
    try:
        yield require_loopback(postgres_url(name))
    finally:
        dropdb(name)


@pytest.fixture(scope="session")
def redis_server() -> None:
    """Redis answers on 127.0.0.1:6379 (started if it did not)."""
    ensure_redis()


@pytest.fixture
def redis_url(redis_server: None) -> Iterator[str]:
    """``redis://127.0.0.1:6379/13``, empty before the test and emptied after it."""
    url = require_loopback(f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_TEST_DB}")
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    try:
        yield url
    finally:
        connection.flushdb()
        connection.close()


@pytest.fixture
def distributed_env(pg_url: str, s3_storage_url: str, s3_server: S3Endpoint, redis_url: str,
                    tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Environment for subprocesses (CLI, workers) of the one-host shape: PostgreSQL,
    a fresh S3 bucket, Redis as broker. Any STRONGROOM_* of the caller is dropped."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("STRONGROOM_") and name not in _FOREIGN_AWS}
    data_dir: Path = tmp_path_factory.mktemp("strongroom-data")
    env.update({
        "STRONGROOM_DATABASE_URL": pg_url,
        "STRONGROOM_STORAGE_URL": s3_storage_url,
        "STRONGROOM_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "STRONGROOM_BROKER_URL": redis_url,
        "STRONGROOM_DATA_DIR": str(data_dir),
        "AWS_ACCESS_KEY_ID": s3_server.access_key,
        "AWS_SECRET_ACCESS_KEY": s3_server.secret_key,
        "AWS_EC2_METADATA_DISABLED": "true",
        "STRONGROOM_RETRY_BACKOFF": "0.2",
    })
    return env


@pytest.fixture
def aws_credentials(s3_server: S3Endpoint, monkeypatch: pytest.MonkeyPatch) -> None:
    """The test server's credentials in the environment, where the AWS chain finds them
    (and nothing of the machine's own AWS configuration)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN",
                 "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", s3_server.access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", s3_server.secret_key)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
