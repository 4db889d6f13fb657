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


def test_an_object_overwritten_on_s3_is_mended_from_another_version_holding_the_same_bytes(
        tmp_path: Path, s3_server: S3Endpoint, s3_storage_url: str, s3_bucket: str,
        aws_credentials: None) -> None:
    """The archive's only location is S3. Version 1's scan is overwritten on the
    server with bytes of the same size before any check; a correction then stores
    the good bytes again as version 2 (version 1 is not held whole). Repair of
    version 1 had nothing to mend from; it reads version 2's object on S3, checks
    both digests on the way, and writes it."""
    from ingest.fixity_audit import verify_version
    from tests.unit.test_replication import record

    store = store_from_url(s3_storage_url, s3_endpoint_url=s3_server.endpoint_url)
    archive = Archive(tmp_path, make_services(tmp_path, replicas=(), store=store))
    scan = "data/scan/page-01.tif"
    payload = {"scan/page-01.tif": bytes(range(256)) * 300}
    archive.ingest("first", payload=payload)
    client = s3_server.client()
    key = f"packages/{PACKAGE}/v1/{scan}"
    good = s3_bytes(client, s3_bucket, key)
    client.put_object(Bucket=s3_bucket, Key=key, Body=bytes([good[0] ^ 0xFF]) + good[1:])
    assert verify_version(archive.services, PACKAGE, 1).findings
    archive.ingest("corrected", payload=payload,
                   metadata=record(title="Telegram, 21 June 1951 (title corrected)"))

    result = repair_version(archive.services, PACKAGE, 1)

    assert result.status == "repaired", result.to_dict()
    [copy] = result.copies
    assert copy.mended_from == {scan: {"location": store.location,
                                       "key": f"{PACKAGE}/v2/{scan}"}}
    assert s3_bytes(client, s3_bucket, key) == good
    assert verify_version(archive.services, PACKAGE, 1).findings == ()
