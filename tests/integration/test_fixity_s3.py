"""Both fixity tiers against a real S3 server (SeaweedFS), as a replica of a filesystem primary.

Damage is done with plain S3 calls behind the service's back. Where the bytes
change and the store's own SHA-256 changes with them (an overwrite that
carries its checksum), the shallow tier sees the checksum differ from the
catalog's; the deep tier reads the bytes and sees them differ.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.clock import FixedClock, SystemClock
from ingest.fixity_audit import shallow_check, verify_version
from ingest.fixity_due import enqueue_due, run_due
from ingest.fixity_policy import DEEP, FixityPolicy
from ingest.models import package_id_for
from ingest.pipeline import ingest_item
from ingest.reconciliation import reconcile_location
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.submission import submit_batch
from storage.catalog import SqlCatalog
from storage.filesystem import FilesystemObjectStore
from storage.s3 import S3ObjectStore
from tests.fixity_oracles import fixity_copies
from tests.integration.services import S3Endpoint

PREFIX = "fixity"
PACKAGE = package_id_for("telegram-1951")


def ingested(tmp_path: Path, catalog: SqlCatalog, s3_server: S3Endpoint,
             s3_bucket: str) -> Services:
    """One telegram ingested into a filesystem primary and an S3 replica."""
    replica = S3ObjectStore(bucket=s3_bucket, prefix=PREFIX, endpoint_url=s3_server.endpoint_url)
    services = Services(catalog=catalog, store=FilesystemObjectStore(tmp_path / "primary"),
                        replicas=(replica,), clock=SystemClock(), schemas=SchemaSet.default())
    item = tmp_path / "batch" / "telegram"
    item.mkdir(parents=True)
    (item / "metadata.json").write_text(json.dumps(
        {"identifier": "telegram-1951", "title": "Telegram", "date": "1951-06-21"}))
    (item / "telegram-en.txt").write_bytes(b"ARRIVED SAFELY STOP LETTER FOLLOWS STOP\n")
    (submitted,) = submit_batch(tmp_path / "batch", services).items
    assert ingest_item(submitted.item_id, services).outcome == "done"
    return services


@pytest.fixture
def services(tmp_path: Path, s3_server: S3Endpoint, s3_bucket: str,
             aws_credentials: None) -> Iterator[Services]:
    catalog = SqlCatalog.from_url(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    yield ingested(tmp_path, catalog, s3_server, s3_bucket)
    catalog.engine.dispose()


def codes(findings: tuple) -> list[tuple[str, str | None]]:
    return sorted((f.code, f.path) for f in findings)


def test_an_overwrite_with_its_own_checksum_is_seen_by_both_tiers(
        services: Services, s3_server: S3Endpoint, s3_bucket: str) -> None:
    replica = services.replicas[0].location
    assert shallow_check(services, PACKAGE, 1, replica).findings == ()
    key = f"{PREFIX}/{PACKAGE}/v1/data/telegram-en.txt"
    raw: Any = s3_server.client()
    damaged = b"ARRIVED SAFELY STOP LETTER FOLLOWS STOQ\n"
    raw.put_object(Bucket=s3_bucket, Key=key, Body=damaged, ChecksumAlgorithm="SHA256",
                   ChecksumSHA256=base64.b64encode(hashlib.sha256(damaged).digest()).decode())

    shallow = shallow_check(services, PACKAGE, 1, replica)
    assert codes(shallow.findings) == [("FIXITY_MISMATCH", "data/telegram-en.txt")]
    assert shallow.findings[0].found == {"sha256": hashlib.sha256(damaged).hexdigest()}
    assert {f.location for f in shallow.findings} == {replica}
    deep = verify_version(services, PACKAGE, 1, replica)
    assert codes(deep.findings) == [("FIXITY_MISMATCH", "data/telegram-en.txt")]
    assert deep.findings[0].params["algorithms"] == ["sha256", "sha512"]
    # the primary copy is untouched
    assert verify_version(services, PACKAGE, 1).findings == ()


def test_deleted_and_stray_objects_are_found_in_the_bucket(
        services: Services, s3_server: S3Endpoint, s3_bucket: str) -> None:
    replica = services.replicas[0]
    raw: Any = s3_server.client()
    raw.delete_object(Bucket=s3_bucket, Key=f"{PREFIX}/{PACKAGE}/v1/bag-info.txt")
    raw.put_object(Bucket=s3_bucket, Key=f"{PREFIX}/{PACKAGE}/v1/data/stray.txt", Body=b"x")
    raw.put_object(Bucket=s3_bucket, Key=f"{PREFIX}/lost-and-found/x.bin", Body=b"x")

    shallow = shallow_check(services, PACKAGE, 1, replica.location)
    assert codes(shallow.findings) == [("FILE_MISSING", "bag-info.txt"),
                                       ("UNEXPECTED_FILE", "data/stray.txt")]
    reconciled = reconcile_location(services.catalog, replica)
    assert codes(reconciled.findings) == [
        ("FILE_MISSING", f"{PACKAGE}/v1/bag-info.txt"),
        ("UNEXPECTED_FILE", f"{PACKAGE}/v1/data/stray.txt"),
        ("UNTRACKED_OBJECT", "lost-and-found/x.bin"),
    ]


def test_the_schedule_queues_each_copy_once_and_records_checks_on_postgresql(
        tmp_path: Path, pg_url: str, s3_server: S3Endpoint, s3_bucket: str,
        aws_credentials: None) -> None:
    catalog = SqlCatalog.from_url(pg_url)
    try:
        services = ingested(tmp_path, catalog, s3_server, s3_bucket)
        later = services.clock.now() + timedelta(days=91)
        policy = FixityPolicy()
        first = enqueue_due(services, policy, later)
        assert {(p.location, p.tier) for p in first} == {
            (store.location, DEEP) for store in services.locations}
        assert enqueue_due(services, policy, later + timedelta(minutes=5)) == []
        run = run_due(replace(services, clock=FixedClock(later + policy.requeue_after * 2)),
                      policy)
        assert [(c.location, c.status) for c in run.checks] == [
            (store.location, "ok") for store in services.locations]
        (primary, replica) = fixity_copies(catalog, [s.location for s in services.locations])
        assert primary.last_deep == replica.last_deep == later + policy.requeue_after * 2
        assert primary.queued_deep is None and replica.last_deep_ok == replica.last_deep
    finally:
        catalog.engine.dispose()
