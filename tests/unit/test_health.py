"""Readiness (ingest.health): the catalog, every storage location and the broker,
each reached and answered for in a plain sentence, with no secret in it."""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ingest.errors import QueueUnavailable, StorageUnavailable
from ingest.health import check_readiness, without_credentials
from ingest.services import Services
from storage.filesystem import FilesystemObjectStore
from strongroom.bootstrap import build_services
from strongroom.settings import Settings
from workers.health import BrokerProbe


@pytest.fixture
def services(tmp_path: Path) -> Services:
    """A real SQLite catalog, a folder as primary store and a folder as replica."""
    settings = Settings.from_env({"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
                                  "STRONGROOM_REPLICAS": (tmp_path / "replica").as_uri()})
    return build_services(settings)


class _Broker:
    def __init__(self, where: str, error: Exception | None = None,
                 hang: threading.Event | None = None) -> None:
        self.where, self.error, self.hang = where, error, hang

    def __call__(self) -> None:
        if self.hang is not None:
            self.hang.wait(30)
        if self.error is not None:
            raise self.error


def test_every_part_reachable_is_ready(services: Services) -> None:
    readiness = check_readiness(services, _Broker("redis://broker:6379/0"))

    assert readiness.ready
    assert [(p.part, p.ok, p.problem) for p in readiness.parts] == [
        ("catalog", True, None), ("storage", True, None), ("replica 1", True, None),
        ("broker", True, None)]
    assert readiness.parts[2].where == services.replicas[0].location


def test_no_broker_configured_is_no_part(services: Services) -> None:
    assert [p.part for p in check_readiness(services).parts] == ["catalog", "storage", "replica 1"]


def test_replica_folder_removed_is_unreachable_in_a_sentence(services: Services) -> None:
    replica = services.replicas[0]
    assert isinstance(replica, FilesystemObjectStore)
    shutil.rmtree(replica.root)

    readiness = check_readiness(services)

    assert not readiness.ready
    assert [p.part for p in readiness.problems] == ["replica 1"]
    broken = readiness.problems[0]
    assert broken.problem == "Storage replica 1 cannot be reached."
    assert str(replica.root) not in str(broken.public())  # no path of the machine for anyone
    assert str(replica.root) in (broken.detail or "")  # the operator sees which folder
    assert [p.ok for p in readiness.parts] == [True, True, False]


def test_primary_store_replaced_by_a_file_is_unreachable(services: Services) -> None:
    store = services.store
    assert isinstance(store, FilesystemObjectStore)
    shutil.rmtree(store.root)
    store.root.write_bytes(b"not a folder")

    readiness = check_readiness(services)

    assert [(p.part, p.problem) for p in readiness.problems] == [
        ("storage", "The storage location cannot be reached.")]


def test_catalog_whose_database_is_gone_is_unreachable(services: Services, tmp_path: Path) -> None:
    database = tmp_path / "data" / "catalog.sqlite3"
    services.catalog.engine.dispose()  # type: ignore[attr-defined]
    database.unlink()
    for leftover in database.parent.glob("catalog.sqlite3-*"):
        leftover.unlink()

    readiness = check_readiness(services, catalog_where=f"sqlite:///{database}")

    catalog = readiness.parts[0]
    assert (catalog.part, catalog.ok, catalog.problem) == (
        "catalog", False, "The catalog database cannot be reached.")
    assert catalog.detail and "\n" not in catalog.detail


def test_broker_refusing_is_told_without_its_password(services: Services) -> None:
    probe = BrokerProbe("redis://:s3cret-pw@127.0.0.1:1/0", timeout=2)

    with pytest.raises(QueueUnavailable):
        probe()
    readiness = check_readiness(services, probe)

    broker = readiness.parts[-1]
    assert (broker.part, broker.ok) == ("broker", False)
    assert broker.problem == "The broker (the workers' queue) cannot be reached."
    assert "s3cret-pw" not in str(broker.to_dict())
    assert broker.where == "redis://:***@127.0.0.1:1/0"


def test_a_part_that_never_answers_counts_as_unreachable(services: Services) -> None:
    hang = threading.Event()
    try:
        started = time.monotonic()
        readiness = check_readiness(services, _Broker("redis://broker", hang=hang), timeout=0.5)
        assert time.monotonic() - started < 5
    finally:
        hang.set()

    assert [(p.part, p.problem) for p in readiness.problems] == [
        ("broker", "The broker (the workers' queue) did not answer within 0.5 seconds.")]


def test_an_unexpected_error_of_a_part_is_an_answer_not_a_crash(services: Services) -> None:
    broken = _Broker("redis://broker", error=RuntimeError("postgresql://archivist:hunter2@db/x"))

    readiness = check_readiness(replace(services, replicas=()), broken)

    part = readiness.problems[0]
    assert part.problem == "The broker (the workers' queue) answered with an error."
    assert part.detail == "RuntimeError: postgresql://archivist:***@db/x"


def test_credentials_in_urls_are_hidden() -> None:
    assert without_credentials("redis://:pw@h:6379/0 and postgresql://u:p@db/x, s3://bucket/a") \
        == "redis://:***@h:6379/0 and postgresql://u:***@db/x, s3://bucket/a"


def test_s3_location_without_its_bucket_is_unreachable_in_a_sentence() -> None:
    import boto3
    from botocore.stub import Stubber

    from storage.s3 import S3ObjectStore

    client = boto3.client("s3", region_name="eu-west-1", aws_access_key_id="k",
                          aws_secret_access_key="s", endpoint_url="http://127.0.0.1:9")
    stubber = Stubber(client)
    stubber.add_client_error("head_bucket", service_error_code="404", http_status_code=404)
    stubber.add_response("head_bucket", {}, {"Bucket": "archive"})
    store = S3ObjectStore("archive", "packages", client=client)

    with stubber:
        with pytest.raises(StorageUnavailable, match="the bucket 'archive' does not exist"):
            store.probe()
        store.probe()  # the bucket is there now
    stubber.assert_no_pending_responses()


def test_staging_location_of_its_own_is_a_part_and_its_absence_is_said(tmp_path: Path) -> None:
    staging = tmp_path / "staging-store"
    settings = Settings.from_env({"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
                                  "STRONGROOM_STAGING_URL": staging.as_uri()})
    services = build_services(settings)
    assert [(p.part, p.ok) for p in check_readiness(services).parts] == [
        ("catalog", True), ("storage", True), ("staging", True)]
    shutil.rmtree(staging)
    [problem] = check_readiness(services).problems
    assert (problem.part, problem.where) == ("staging", staging.as_uri())
    assert problem.problem is not None and "staging area" in problem.problem


def test_a_password_given_in_a_urls_query_is_hidden_too() -> None:
    # libpq takes ?password=; it was printed in clear by doctor, init and `list`.
    shown = without_credentials(
        "postgresql+psycopg://postgres@127.0.0.1:5432/db?password=QuerySecret99&sslmode=require")
    assert "QuerySecret99" not in shown
    assert shown == "postgresql+psycopg://postgres@127.0.0.1:5432/db?password=***&sslmode=require"
