"""A staged payload file copied by the store (CopyObject) is read back whole before
anything names it: a copy that holds other bytes than the worker read and hashed
is a storage fault, never a stored item.

Real SeaweedFS; the ingest runs in this process so that the staged object can be
overwritten between the worker's read and the copy (the one moment a copy can
go wrong without the staged SHA-256 seeing it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ingest.models import ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.submission import submit_batch
from storage.s3 import S3ObjectStore
from tests.integration.services import S3Endpoint
from tests.unit.test_replication import make_services

pytestmark = pytest.mark.usefixtures("aws_credentials")


class OverwrittenBeforeCopy(S3ObjectStore):
    """A real S3 store; someone else rewrites each staged object just before the
    store is asked to copy it."""

    def copy_object(self, source: Any, source_key: str, key: str) -> None:
        staged = self._client.get_object(Bucket=self.bucket,
                                         Key=self._object_key(source_key))["Body"].read()
        self._client.put_object(Bucket=self.bucket, Key=self._object_key(source_key),
                                Body=staged.replace(b"page one", b"page 0ne"))
        super().copy_object(source, source_key, key)


def make_item(folder: Path) -> Path:
    item = folder / "batch" / "telegram-1951"
    (item / "scan").mkdir(parents=True)
    (item / "metadata.json").write_text(json.dumps(
        {"identifier": "telegram-1951", "title": "A telegram", "date": "1951-06-21"}))
    # Past the multipart threshold: only such a file is copied by the store
    # (a smaller one goes up in one PUT of the bytes read).
    line = "page one of the telegram\n"
    (item / "scan" / "page-01.txt").write_text(line * (17 * 1024 * 1024 // len(line)))
    return item.parent


def package_keys(client: Any, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="packages/")
    return [entry["Key"] for page in pages for entry in page.get("Contents", [])
            if "/_staging/" not in entry["Key"] and not entry["Key"].startswith("packages/_")]


def test_a_copy_holding_other_bytes_than_were_read_is_a_storage_fault_and_never_commits(
        tmp_path: Path, s3_server: S3Endpoint, s3_bucket: str) -> None:
    store = OverwrittenBeforeCopy(s3_bucket, "packages", endpoint_url=s3_server.endpoint_url)
    services = make_services(tmp_path / "archive", replicas=(), store=store)
    submitted = submit_batch(make_item(tmp_path), services, stage=True)
    [item] = submitted.items

    first = ingest_item(item.item_id, services)

    assert first.outcome == "retry"
    assert "a storage fault" in first.reason
    assert services.catalog.get_item(item.item_id).status is ItemStatus.ACCEPTED
    assert services.catalog.get_item(item.item_id).package_id is None
    assert services.catalog.latest_version(package_id_for("telegram-1951")) is None
    client = s3_server.client()
    assert not [key for key in package_keys(client, s3_bucket) if "/data/" in key]

    # The retry reads the staged object again, and finds it changed since staging.
    again = ingest_item(item.item_id, make_services(tmp_path / "archive", replicas=(),
                                                    store=S3ObjectStore(
                                                        s3_bucket, "packages",
                                                        endpoint_url=s3_server.endpoint_url)))
    assert again.status is ItemStatus.REJECTED
    assert [(f.code, f.path) for f in again.findings] == [
        ("STAGED_CONTENT_CHANGED", "scan/page-01.txt")]
    assert services.catalog.latest_version(package_id_for("telegram-1951")) is None
