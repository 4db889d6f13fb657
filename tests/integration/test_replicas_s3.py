"""A replica on S3 (SeaweedFS) beside a filesystem primary: every version lands in
both, and a copy tampered with on the S3 server is repaired from the primary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ingest.anchoring import anchor_audit_head, anchor_key
from ingest.repair import repair_version
from storage.filesystem import FilesystemObjectStore
from storage.locations import store_from_url
from tests.integration.services import S3Endpoint
from tests.unit.test_replication import PACKAGE, Archive, bag_files, make_services

PAYLOAD_FILE = "data/transcription/telegram-en.txt"
TAG_FILE = "bag-info.txt"


@pytest.fixture
def archive(tmp_path: Path, s3_server: S3Endpoint, s3_storage_url: str,
            aws_credentials: None) -> Archive:
    replica = store_from_url(s3_storage_url, s3_endpoint_url=s3_server.endpoint_url)
    services = make_services(tmp_path, replicas=(replica,),
                             store=FilesystemObjectStore(tmp_path / "primary"))
    return Archive(tmp_path, services)


def s3_bytes(client: Any, bucket: str, key: str) -> bytes:
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_a_version_lands_on_s3_checked_and_a_tampered_s3_copy_is_repaired(
        archive: Archive, s3_server: S3Endpoint, s3_bucket: str) -> None:
    archive.ingest()
    client = s3_server.client()
    base = f"packages/{PACKAGE}/v1/"
    primary = bag_files(archive.bag(archive.primary))
    for path, data in primary.items():
        assert s3_bytes(client, s3_bucket, base + path) == data
    copies = {c.location: c.state for c in archive.services.catalog.list_copies(PACKAGE, 1)}
    assert copies == {archive.primary.location: "verified", archive.replica.location: "verified"}

    # behind the service's back: flip a byte (a plain PUT, no checksum) and lose a tag file
    tampered = bytearray(primary[PAYLOAD_FILE])
    tampered[0] ^= 0x01
    client.put_object(Bucket=s3_bucket, Key=base + PAYLOAD_FILE, Body=bytes(tampered))
    client.delete_object(Bucket=s3_bucket, Key=base + TAG_FILE)

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired"
    replica = next(c for c in result.copies if c.location == archive.replica.location)
    assert {(f.code, f.path) for f in replica.findings} >= {
        ("FIXITY_MISMATCH", PAYLOAD_FILE), ("FILE_MISSING", TAG_FILE)}
    assert sorted(replica.rewritten) == [TAG_FILE, PAYLOAD_FILE]
    assert replica.source == archive.primary.location
    assert s3_bytes(client, s3_bucket, base + PAYLOAD_FILE) == primary[PAYLOAD_FILE]
    assert s3_bytes(client, s3_bucket, base + TAG_FILE) == primary[TAG_FILE]
    # the store's own SHA-256 of the repaired object is ours again
    ours = next(f.sha256 for f in archive.services.catalog.get_version(PACKAGE, 1).files
                if f.path == PAYLOAD_FILE)
    assert archive.replica.stat(f"{PACKAGE}/v1/{PAYLOAD_FILE}").sha256 in (None, ours)


def test_the_audit_head_is_anchored_on_the_s3_replica(
        archive: Archive, s3_server: S3Endpoint, s3_bucket: str) -> None:
    archive.ingest()
    anchor = anchor_audit_head(archive.services)
    assert anchor is not None
    key = "packages/" + anchor_key(anchor.seq, anchor.hash, anchor.log_id)
    assert b'"seq": %d' % anchor.seq in s3_bytes(s3_server.client(), s3_bucket, key)
