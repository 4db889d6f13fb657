"""S3 Object Lock on SeaweedFS: every object written carries the retention, a
bucket without object lock is refused at init, a retained object cannot be
deleted (a deaccession is refused naming the date), and a damaged retained
object is repaired as a new object version that later checks read.

The archive is a folder primary and an S3 replica with COMPLIANCE retention of
one day, in a bucket the store creates itself (as ``strongroom init`` does),
and the catalog on PostgreSQL. Nothing written here can be deleted for a day: each test uses a bucket of its
own, which stays on the test server until the session ends.
"""

from __future__ import annotations

import hashlib
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.deaccession import approve_deaccession, request_deaccession
from ingest.errors import DeaccessionRefused, ObjectRetained, StorageError
from ingest.fixity_audit import verify_version
from ingest.models import Actor
from ingest.object_versions import presigned_object
from ingest.repair import repair_version
from ingest.tombstones import REQUESTED
from storage.catalog import SqlCatalog
from storage.filesystem import FilesystemObjectStore
from storage.locations import store_from_url
from storage.s3 import S3ObjectStore
from storage.s3_object_lock import ObjectLock
from storage.s3_upload import MiB
from tests.integration.services import S3Endpoint
from tests.unit.test_replication import IDENTIFIER, PACKAGE, Archive, bag_files, make_services

PAYLOAD_FILE = "data/transcription/telegram-en.txt"
ALICE, BOB = Actor("alice", role="admin"), Actor("bob", role="admin")
ONE_DAY = timedelta(days=1)


@pytest.fixture
def locked_bucket(s3_server: S3Endpoint, aws_credentials: None) -> str:
    """The name of a bucket that does not exist yet (the store under test creates it)."""
    return f"sr-lock-{uuid.uuid4().hex[:20]}"


def locked_store(s3_server: S3Endpoint, bucket: str, **options: Any) -> S3ObjectStore:
    store = S3ObjectStore(bucket, "replica", endpoint_url=s3_server.endpoint_url,
                          object_lock=ObjectLock("COMPLIANCE", 1), **options)
    store.ensure_ready()
    return store


@pytest.fixture
def archive(tmp_path: Path, s3_server: S3Endpoint, locked_bucket: str,
            pg_url: str) -> Iterator[Archive]:
    """A folder primary, a locked S3 replica, and the catalog on PostgreSQL."""
    replica = store_from_url(f"s3://{locked_bucket}/replica", s3_endpoint_url=s3_server.endpoint_url,
                             s3_object_lock="compliance", s3_retention_days=1)
    replica.ensure_ready()
    services = make_services(tmp_path, replicas=(replica,),
                             store=FilesystemObjectStore(tmp_path / "primary"))
    services.catalog.engine.dispose()  # type: ignore[attr-defined]  # its SQLite catalog
    services = replace(services, catalog=SqlCatalog.from_url(pg_url))
    yield Archive(tmp_path, services)
    services.catalog.engine.dispose()  # type: ignore[attr-defined]


def versions_of(client: Any, bucket: str, key: str) -> list[dict[str, Any]]:
    """Every version of ``key``, newest first (as S3 lists them)."""
    listed = client.list_object_versions(Bucket=bucket, Prefix=key).get("Versions", [])
    return [v for v in listed if v["Key"] == key]


def test_every_object_written_with_the_lock_carries_its_retention(
        s3_server: S3Endpoint, locked_bucket: str) -> None:
    store = locked_store(s3_server, locked_bucket, multipart_threshold=5 * MiB,
                         part_size=5 * MiB)
    client = s3_server.client()
    assert client.get_object_lock_configuration(Bucket=locked_bucket)[
        "ObjectLockConfiguration"]["ObjectLockEnabled"] == "Enabled"
    small = b"ARRIVED SAFELY STOP\n"
    large = bytes(range(256)) * (11 * MiB // 256)  # three parts of a multipart upload
    before = datetime.now(UTC)

    store.put_bytes("small.txt", small, hashlib.sha256(small).hexdigest())
    writer = store.writer("large.bin")
    writer.write(large)
    info = writer.commit(hashlib.sha256(large).hexdigest())

    assert writer.upload_id is None and info.version_id  # a completed multipart upload
    for key in ("small.txt", "large.bin"):
        head = client.head_object(Bucket=locked_bucket, Key=f"replica/{key}")
        assert head["ObjectLockMode"] == "COMPLIANCE"
        until = head["ObjectLockRetainUntilDate"]
        assert before + ONE_DAY - timedelta(seconds=5) <= until <= datetime.now(UTC) + ONE_DAY
        assert store.retained_until(key) == until


def test_init_on_a_bucket_without_object_lock_is_refused_saying_what_to_do(
        s3_server: S3Endpoint, s3_bucket: str, aws_credentials: None) -> None:
    store = S3ObjectStore(s3_bucket, "packages", endpoint_url=s3_server.endpoint_url,
                          object_lock=ObjectLock("GOVERNANCE", 30))

    with pytest.raises(StorageError) as refused:
        store.ensure_ready()

    message = str(refused.value)
    assert f"the bucket {s3_bucket!r}" in message and "has no S3 Object Lock" in message
    assert "STRONGROOM_S3_OBJECT_LOCK=governance" in message
    assert "`strongroom init` creates it with object lock" in message
    assert "put-object-lock-configuration" in message


def test_a_retained_object_cannot_be_deleted_and_a_deaccession_is_refused_naming_the_date(
        archive: Archive, s3_server: S3Endpoint, locked_bucket: str) -> None:
    archive.ingest()
    replica = archive.replica
    key = f"{PACKAGE}/v1/{PAYLOAD_FILE}"
    until = replica.retained_until(key)
    assert until is not None and until > datetime.now(UTC) + ONE_DAY - timedelta(minutes=5)
    stored = {info.key for info in replica.list("")}
    request = request_deaccession(replace(archive.services, actor=ALICE), IDENTIFIER, None,
                                  "takedown")

    with pytest.raises(DeaccessionRefused) as refused:
        approve_deaccession(replace(archive.services, actor=BOB), request.request_id)

    finding = refused.value.finding
    assert finding.code == "OBJECT_RETAINED" and finding.location == replica.location
    assert finding.path in stored
    assert f"until {until.day} {until:%B %Y}" in finding.message
    assert archive.services.catalog.get_deaccession_request(request.request_id).state == REQUESTED
    assert archive.services.catalog.get_version(PACKAGE, 1).number == 1
    assert {info.key for info in replica.list("")} == stored
    assert bag_files(archive.bag(archive.primary))  # the primary was not touched either

    # and the store itself cannot delete it: the server refuses every version
    with pytest.raises(ObjectRetained, match="retained by S3 Object Lock until"):
        replica.delete(key)
    assert replica.stat(key).size > 0


def test_a_damaged_retained_object_is_repaired_as_a_new_version_that_later_checks_read(
        archive: Archive, s3_server: S3Endpoint, locked_bucket: str) -> None:
    archive.ingest()
    client = s3_server.client()
    object_key = f"replica/{PACKAGE}/v1/{PAYLOAD_FILE}"
    good = bag_files(archive.bag(archive.primary))[PAYLOAD_FILE]
    [original] = versions_of(client, locked_bucket, object_key)
    # behind the service's back: a new version with one byte flipped (Object Lock
    # keeps versions, it does not stop a new one)
    damaged = bytes([good[0] ^ 0x01]) + good[1:]
    client.put_object(Bucket=locked_bucket, Key=object_key, Body=damaged)
    check = verify_version(archive.services, PACKAGE, 1, archive.replica.location)
    assert {(f.code, f.path) for f in check.findings} >= {("FIXITY_MISMATCH", PAYLOAD_FILE)}

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired"
    repaired = next(c for c in result.copies if c.location == archive.replica.location)
    assert repaired.rewritten == [PAYLOAD_FILE]
    newest, bad, first = versions_of(client, locked_bucket, object_key)
    assert newest["IsLatest"] and bad["ETag"].strip('"') == hashlib.md5(damaged).hexdigest()
    assert first["VersionId"] == original["VersionId"]  # retained: still there
    noted = archive.services.catalog.object_versions(PACKAGE, archive.replica.location)
    assert noted == {f"{PACKAGE}/v1/{PAYLOAD_FILE}": newest["VersionId"]}
    head = client.head_object(Bucket=locked_bucket, Key=object_key, VersionId=newest["VersionId"])
    assert head["ObjectLockMode"] == "COMPLIANCE"  # the repair is retained too

    # damaged again on top: the checks read the version the catalog knows is good
    client.put_object(Bucket=locked_bucket, Key=object_key, Body=damaged)
    later = verify_version(archive.services, PACKAGE, 1, archive.replica.location)
    assert later.findings == ()
    with archive.replica.open(f"{PACKAGE}/v1/{PAYLOAD_FILE}", newest["VersionId"]) as stream:
        assert stream.read() == good
    url = presigned_object(archive.services.catalog, archive.replica,
                           f"{PACKAGE}/v1/{PAYLOAD_FILE}", 60)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == good
    assert client.get_object(Bucket=locked_bucket, Key=object_key)["Body"].read() == damaged


def test_a_delete_in_a_locked_bucket_removes_every_version_once_nothing_retains_it(
        s3_server: S3Endpoint, locked_bucket: str) -> None:
    store = locked_store(s3_server, locked_bucket)
    client = s3_server.client()
    object_key = "replica/old/commit.json"
    # two versions written without retention (before the lock setting, say)
    client.put_object(Bucket=locked_bucket, Key=object_key, Body=b"one")
    client.put_object(Bucket=locked_bucket, Key=object_key, Body=b"two")
    assert store.retained_until("old/commit.json") is None

    store.delete("old/commit.json")

    # no delete marker hiding bytes that stay: every version is gone
    listed = client.list_object_versions(Bucket=locked_bucket, Prefix=object_key)
    assert listed.get("Versions", []) == [] and listed.get("DeleteMarkers", []) == []


def test_strongroom_init_on_a_bucket_without_object_lock_exits_with_the_message(
        tmp_path: Path, s3_server: S3Endpoint, s3_bucket: str, aws_credentials: None) -> None:
    from click.testing import CliRunner

    from strongroom.cli import main

    result = CliRunner().invoke(main, ["init"], env={
        "STRONGROOM_DATA_DIR": str(tmp_path / "data"),
        "STRONGROOM_STORAGE_URL": f"s3://{s3_bucket}/packages",
        "STRONGROOM_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "STRONGROOM_S3_OBJECT_LOCK": "compliance",
        "STRONGROOM_S3_RETENTION_DAYS": "3650"})

    assert result.exit_code != 0
    assert f"the bucket {s3_bucket!r}" in result.output
    assert "has no S3 Object Lock, which STRONGROOM_S3_OBJECT_LOCK=compliance needs" in result.output


def test_a_write_with_retention_to_a_bucket_without_object_lock_says_why_it_was_refused(
        s3_server: S3Endpoint, s3_bucket: str, aws_credentials: None) -> None:
    # not prepared by init: the server answers 400 InvalidRequest "Invalid Request"
    store = S3ObjectStore(s3_bucket, "packages", endpoint_url=s3_server.endpoint_url,
                          object_lock=ObjectLock("COMPLIANCE", 1))
    data = b"ARRIVED SAFELY STOP\n"

    with pytest.raises(StorageError, match="does the bucket have S3 Object Lock"):
        store.put_bytes("small.txt", data, hashlib.sha256(data).hexdigest())

    assert s3_server.client().list_objects_v2(Bucket=s3_bucket).get("KeyCount", 0) == 0
