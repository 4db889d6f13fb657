"""Multipart uploads a crashed writer left behind are aborted by the sweep, and
only those: an upload still sending parts, or one outside the store's prefix,
is left alone."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from storage.s3 import S3ObjectStore
from storage.s3_upload import MiB
from tests.integration.services import S3Endpoint


def _wait_for_a_part(raw: Any, bucket: str, key: str) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        for upload in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
            if upload["Key"] == key and raw.list_parts(
                    Bucket=bucket, Key=key, UploadId=upload["UploadId"]).get("Parts"):
                return
        time.sleep(0.1)
    raise AssertionError(f"no part of {key} reached the server")


def _uploads(raw: Any, bucket: str) -> set[str]:
    return {u["Key"] for u in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}


def test_sweep_aborts_abandoned_uploads_under_the_prefix_only(
        s3_server: S3Endpoint, s3_bucket: str, aws_credentials: None) -> None:
    raw = s3_server.client()
    store = S3ObjectStore(bucket=s3_bucket, prefix="packages",
                          endpoint_url=s3_server.endpoint_url)
    # A writer that crashed after sending one part of a large object.
    crashed = store.writer("p1/v1/data/scan.tif")
    crashed.write(b"\x00" * (26 * MiB))  # past the single-PUT threshold: multipart
    _wait_for_a_part(raw, s3_bucket, "packages/p1/v1/data/scan.tif")
    # Someone else's upload beside our prefix.
    raw.create_multipart_upload(Bucket=s3_bucket, Key="other-system/big.bin")
    assert "packages/p1/v1/data/scan.tif" in _uploads(raw, s3_bucket)

    # Nothing is older than an hour ago: reports list nothing, the sweep leaves everything.
    assert store.abandoned_writes(datetime.now(UTC) - timedelta(hours=1)) == []
    assert store.sweep_abandoned(datetime.now(UTC) - timedelta(hours=1)) == 0
    assert "packages/p1/v1/data/scan.tif" in _uploads(raw, s3_bucket)

    # As if a day had passed since: the reports show ours with the bytes its parts
    # hold (at least the first 5 MiB part), never the other system's ...
    later = datetime.now(UTC) + timedelta(minutes=1)
    (left,) = store.abandoned_writes(later)
    assert left.key == "packages/p1/v1/data/scan.tif" and left.size >= 5 * MiB
    # ... and the sweep aborts ours, not the other system's.
    assert store.sweep_abandoned(later) == 1
    assert _uploads(raw, s3_bucket) == {"other-system/big.bin"}
    assert store.abandoned_writes(later) == []
