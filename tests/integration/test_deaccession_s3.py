"""Deaccession on the one-host shape: a PostgreSQL catalog, an S3 primary and an S3
replica (SeaweedFS). The replica is left out of the deletion (not configured), so
it keeps its objects; a catalog rebuilt from both locations does not take the
version back, and reconcile removes what the replica kept."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.clock import FixedClock
from ingest.deaccession import approve_deaccession, request_deaccession
from ingest.errors import Deaccessioned
from ingest.models import Actor
from ingest.ports import ObjectStore
from ingest.rebuild import rebuild_catalog
from ingest.reconciliation import reconcile
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.tombstones import tombstone_key
from storage.catalog import SqlCatalog
from storage.locations import store_from_url
from tests.integration.services import S3Endpoint, createdb, dropdb, postgres_url
from tests.unit.test_replication import AT, IDENTIFIER, PACKAGE, PAYLOAD, Archive, record

ALICE, BOB = Actor("alice", role="admin"), Actor("bob", role="admin")


def services_on(url: str, primary: ObjectStore, replica: ObjectStore) -> Services:
    return Services(catalog=SqlCatalog.from_url(url), store=primary, clock=FixedClock(AT),
                    schemas=SchemaSet.default(), replicas=(replica,))


@pytest.fixture
def archive(tmp_path: Path, pg_url: str, s3_server: S3Endpoint, s3_bucket: str,
            aws_credentials: None) -> Iterator[Archive]:
    primary = store_from_url(f"s3://{s3_bucket}/primary", s3_endpoint_url=s3_server.endpoint_url)
    replica = store_from_url(f"s3://{s3_bucket}/replica", s3_endpoint_url=s3_server.endpoint_url)
    services = services_on(pg_url, primary, replica)
    yield Archive(tmp_path, services)
    services.catalog.engine.dispose()  # type: ignore[attr-defined]


def keys(store: ObjectStore, prefix: str = "") -> set[str]:
    return {info.key for info in store.list(prefix)}


def test_a_replica_left_out_of_the_deletion_does_not_resurrect_the_version_on_s3(
        archive: Archive) -> None:
    archive.ingest()
    archive.ingest("corrected", payload={**PAYLOAD, "scan/page-02.txt": b"page two\n"},
                   metadata=record(title="Telegram (corrected)"))
    primary, replica = archive.services.store, archive.services.replicas[0]
    request = request_deaccession(replace(archive.services, actor=ALICE), IDENTIFIER, 1,
                                  "scanned the wrong telegram")
    left_out = replace(archive.services, actor=BOB, replicas=())

    outcome = approve_deaccession(left_out, request.request_id)

    assert outcome.finished
    # what is left of version 1 is what version 2 shares with it, no more
    shared = {f"{PACKAGE}/v1/{f.path}"
              for f in archive.services.catalog.get_version(PACKAGE, 2).files if f.held_by == 1}
    assert shared and keys(primary, f"{PACKAGE}/v1/") == shared and keys(primary, f"{PACKAGE}/v2/")
    assert tombstone_key(PACKAGE, 1) in keys(primary)
    assert keys(replica, f"{PACKAGE}/v1/") > shared  # it was not there to be emptied
    with pytest.raises(Deaccessioned, match="scanned the wrong telegram"):
        archive.services.catalog.get_version(PACKAGE, 1)

    name = f"strongroom_test_{uuid.uuid4().hex[:16]}"
    createdb(name)
    try:
        fresh = services_on(postgres_url(name), primary, replica)
        report = rebuild_catalog(fresh)
        assert [(v["package_id"], v["version"]) for v in report.versions] == [(PACKAGE, 2)]
        assert [d["locations"] for d in report.deaccessioned] == [[replica.location]]
        with pytest.raises(Deaccessioned):
            fresh.catalog.get_version(PACKAGE, 1)
        [on_primary, on_replica] = reconcile(fresh.catalog, fresh.locations,
                                             remove_deaccessioned_as=replace(fresh, actor=BOB))
        assert on_primary.deaccessioned_removed == 0
        assert on_replica.deaccessioned_removed > 0 and on_replica.tombstones_written == 1
        assert keys(replica, f"{PACKAGE}/v1/") == shared and keys(replica, f"{PACKAGE}/v2/")
        assert all(r.status == "ok" for r in reconcile(fresh.catalog, fresh.locations))
        fresh.catalog.engine.dispose()  # type: ignore[attr-defined]
    finally:
        dropdb(name)
