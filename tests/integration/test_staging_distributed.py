"""Batches staged in the object store, end to end: real `strongroom worker` processes
(Celery on Redis), PostgreSQL, SeaweedFS — and no disk shared between the submitter,
the API host and the workers.

The workers run in a folder of their own; the submitted folder is deleted as soon as
`submit` returns, and an uploaded batch leaves nothing in the API's staging folder:
every item is read from the store's ``_staging/`` prefix, which is empty once the
batch is done.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.services import S3Endpoint
from tests.integration.test_distributed import (
    Catalog,
    Strongroom,
    Worker,
    assert_each_item_stored_exactly_once,
    make_batch,
    wait_for,
)
from tests.unit.api_support import make_api, tar_of

pytestmark = pytest.mark.usefixtures("aws_credentials")


@pytest.fixture
def sr(distributed_env: dict[str, str], tmp_path: Path) -> Strongroom:
    submitter = tmp_path / "submitter-host"
    submitter.mkdir()
    strongroom = Strongroom(distributed_env, submitter)
    assert strongroom.json("init")["migrated"] is True
    return strongroom


@pytest.fixture
def catalog(pg_url: str) -> Catalog:
    return Catalog(pg_url)


@pytest.fixture
def worker_host(distributed_env: dict[str, str], tmp_path: Path) -> Any:
    """Start a worker whose working folder is its own (no path of the submitter's)."""
    folder = tmp_path / "worker-host"
    folder.mkdir()
    started: list[Worker] = []

    def start(name: str = "elsewhere", **settings: str) -> Worker:
        worker = Worker({**distributed_env, **settings}, folder / f"{name}.log", name)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop(grace=15)


def staged_keys(s3: Any, storage_url: str) -> list[str]:
    bucket, _, prefix = storage_url[len("s3://"):].partition("/")
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=f"{prefix}/_staging/")
    return [entry["Key"] for page in pages for entry in page.get("Contents", [])]


def wait_until_unstaged(s3: Any, storage_url: str) -> None:
    """The last item's worker removes the batch's staging just after that item's
    commit: wait for it (the staging area is then empty, or the test fails)."""
    wait_for(lambda: not staged_keys(s3, storage_url), 30, "the staging area to empty")


def wait_until_final(catalog: Catalog, batch_id: str, count: int, worker: Worker) -> None:
    try:
        wait_for(lambda: catalog.finished(batch_id) == count, 120, f"{count} items final")
    except BaseException:
        print(worker.log_tail())
        raise


def test_folder_deleted_after_submit_workers_elsewhere_store_every_item_and_staging_empties(
        sr: Strongroom, catalog: Catalog, worker_host: Any, s3_server: S3Endpoint,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    batch = make_batch(tmp_path / "submitter-host" / "batch", 6, tag="staged", bad=1)
    (batch / "batch.json").write_text(json.dumps({"collection": "Staged telegrams"}))
    report = sr.json("submit", str(batch))
    shutil.rmtree(batch)  # the submitter's folder is gone before any worker starts
    assert report["enqueued"] == 7
    assert staged_keys(s3_server.client(), distributed_env["STRONGROOM_STORAGE_URL"])

    worker = worker_host()
    wait_until_final(catalog, report["batch_id"], 7, worker)
    items = assert_each_item_stored_exactly_once(catalog, report["batch_id"])
    statuses = sorted(row["status"] for row in items.values())
    assert statuses == ["rejected"] + ["stored"] * 6, worker.log_tail()
    shown = sr.json("status", report["batch_id"], expect=1)  # exit 1: one item rejected
    rejected = [i for i in shown["items"] if i["status"] == "rejected"]
    assert [f["code"] for f in rejected[0]["findings"]] == ["METADATA_INVALID"]
    stored = next(i for i in shown["items"] if i["status"] == "stored")
    record = sr.json("show", stored["package_id"])
    assert record["metadata"]["collection"] == "Staged telegrams"  # batch.json, read from staging
    wait_until_unstaged(s3_server.client(), distributed_env["STRONGROOM_STORAGE_URL"])
    pruned = sr.json("staging", "prune")
    assert pruned["staged_batches"] == []


def test_staged_object_changed_in_the_store_is_a_finding_not_a_stored_item(
        sr: Strongroom, catalog: Catalog, worker_host: Any, s3_server: S3Endpoint,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    batch = make_batch(tmp_path / "submitter-host" / "batch", 2, tag="altered")
    report = sr.json("submit", str(batch))
    shutil.rmtree(batch)
    s3 = s3_server.client()
    [key] = [k for k in staged_keys(s3, distributed_env["STRONGROOM_STORAGE_URL"])
             if k.endswith("/items/altered-0000/files/scan/page-01.txt")]
    bucket = distributed_env["STRONGROOM_STORAGE_URL"][len("s3://"):].partition("/")[0]
    staged = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=staged.replace(b"page one", b"page 0ne"))

    worker = worker_host()
    wait_until_final(catalog, report["batch_id"], 2, worker)
    items = {row["name"]: row for row in catalog.items(report["batch_id"]).values()}
    assert items["altered-0000"]["status"] == "rejected", worker.log_tail()
    assert items["altered-0001"]["status"] == "stored"
    shown = sr.json("status", report["batch_id"], expect=1)
    [altered] = [i for i in shown["items"] if i["name"] == "altered-0000"]
    assert [(f["code"], f["path"]) for f in altered["findings"]] == [
        ("STAGED_CONTENT_CHANGED", "scan/page-01.txt")]
    assert altered["package_id"] is None
    assert catalog.pending_versions() == 0
    wait_until_unstaged(s3, distributed_env["STRONGROOM_STORAGE_URL"])


def test_a_wrong_staging_url_never_rejects_a_good_item(
        sr: Strongroom, catalog: Catalog, worker_host: Any, s3_server: S3Endpoint,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    """A worker whose STRONGROOM_STAGING_URL names another prefix than the
    submitter's (a typo on its host) found nothing of the batch and rejected every
    good item, STAGED_CONTENT_MISSING; now each is failed for `requeue --failed`,
    naming the place the worker looked at, and goes in once the setting is mended."""
    batch = make_batch(tmp_path / "submitter-host" / "batch", 2, tag="misplaced")
    report = sr.json("submit", str(batch))
    shutil.rmtree(batch)
    storage_url = distributed_env["STRONGROOM_STORAGE_URL"]
    wrong = f"{storage_url}-stagign"

    mistyped = worker_host("mistyped", STRONGROOM_STAGING_URL=wrong)
    wait_until_final(catalog, report["batch_id"], 2, mistyped)
    mistyped.stop(grace=15)

    shown = sr.json("status", report["batch_id"], expect=1)
    assert [i["status"] for i in shown["items"]] == ["failed", "failed"], mistyped.log_tail()
    for item in shown["items"]:
        [finding] = item["findings"]
        assert finding["code"] == "STORAGE_UNAVAILABLE", finding
        assert wrong in finding["message"] and "not at fault" in finding["message"]
        assert "STRONGROOM_STAGING_URL" in finding["message"]
        assert "requeue --failed" in finding["message"]
    assert staged_keys(s3_server.client(), storage_url)  # whole, where the submitter put it

    worker_host("mended")
    sr.json("requeue", "--failed", report["batch_id"])
    wait_for(lambda: catalog.statuses(report["batch_id"]).get("stored") == 2, 120,
             "both items stored")
    assert_each_item_stored_exactly_once(catalog, report["batch_id"])
    wait_until_unstaged(s3_server.client(), storage_url)


def test_staging_pruned_with_failed_still_rejects_a_requeued_item_as_missing(
        sr: Strongroom, catalog: Catalog, worker_host: Any, s3_server: S3Endpoint,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    """The staged bytes truly gone (`staging prune --failed`): the requeued item is
    rejected, STAGED_CONTENT_MISSING, saying that prune removed them; a record of the
    removal is what is left in the staging area."""
    batch = make_batch(tmp_path / "submitter-host" / "batch", 1, tag="pruned")
    report = sr.json("submit", str(batch))
    shutil.rmtree(batch)
    storage_url = distributed_env["STRONGROOM_STORAGE_URL"]
    # Its items failed (a store out of reach past the retries, say).
    unreachable = worker_host("unreachable", STRONGROOM_STAGING_URL=f"{storage_url}-gone")
    wait_until_final(catalog, report["batch_id"], 1, unreachable)
    unreachable.stop(grace=15)
    assert catalog.statuses(report["batch_id"]) == {"failed": 1}

    pruned = sr.json("staging", "prune", "--failed")
    assert [b["removed"] for b in pruned["staged_batches"]] == [True]
    assert [k.rsplit("/", 2)[-2:] for k in staged_keys(s3_server.client(), storage_url)] == [
        ["_removed", f"{report['batch_id']}.json"]]

    worker = worker_host("after-prune")
    sr.json("requeue", "--failed", report["batch_id"])
    wait_for(lambda: catalog.statuses(report["batch_id"]).get("rejected") == 1, 120,
             "the item rejected")
    shown = sr.json("status", report["batch_id"], expect=1)
    [finding] = shown["items"][0]["findings"]
    assert finding["code"] == "STAGED_CONTENT_MISSING", (finding, worker.log_tail())
    assert "staging prune --failed" in finding["message"]


def test_http_upload_in_distributed_mode_leaves_nothing_in_the_local_staging_folder(
        sr: Strongroom, catalog: Catalog, worker_host: Any, s3_server: S3Endpoint,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    batch = make_batch(tmp_path / "submitter-host" / "batch", 3, tag="uploaded")
    body = tar_of(batch)
    shutil.rmtree(batch)
    env = {name: value for name, value in distributed_env.items() if name.startswith("STRONGROOM_")}
    api = make_api(Path(env.pop("STRONGROOM_DATA_DIR")), **env)
    reply = api.client.post("/batches", content=body, headers={
        **api.auth("submitter"), "Content-Type": "application/x-tar"})
    assert reply.status_code == 202, reply.text
    batch_id = reply.json()["batch_id"]
    assert reply.json()["dispatch"] == "queued"
    local = api.settings.staging
    assert not local.exists() or list(local.iterdir()) == []

    worker = worker_host()
    wait_until_final(catalog, batch_id, 3, worker)
    assert sorted(r["status"] for r in catalog.items(batch_id).values()) == ["stored"] * 3
    document = api.client.get(f"/batches/{batch_id}", headers=api.auth("submitter")).json()
    assert document["source"].startswith("upload:")
    assert not local.exists() or list(local.iterdir()) == []
    wait_until_unstaged(s3_server.client(), distributed_env["STRONGROOM_STORAGE_URL"])


def test_in_place_submission_stages_nothing_and_workers_read_the_shared_folder(
        sr: Strongroom, catalog: Catalog, worker_host: Any, s3_server: S3Endpoint,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    batch = make_batch(tmp_path / "shared-mount" / "batch", 2, tag="in-place")
    report = sr.json("submit", str(batch), "--in-place")
    assert staged_keys(s3_server.client(), distributed_env["STRONGROOM_STORAGE_URL"]) == []
    worker = worker_host()
    wait_until_final(catalog, report["batch_id"], 2, worker)
    assert sorted(r["status"] for r in catalog.items(report["batch_id"]).values()) == ["stored"] * 2


def test_abandoned_upload_in_a_staging_bucket_of_its_own_is_swept(
        pg_url: str, s3_storage_url: str, s3_server: S3Endpoint, aws_credentials: None,
        tmp_path: Path) -> None:
    """`fixity reconcile --sweep-abandoned` sweeps every store the service writes,
    a staging location of its own (STRONGROOM_STAGING_URL) too."""
    import time
    import uuid
    from datetime import UTC, datetime, timedelta

    from storage.s3_upload import MiB
    from strongroom.bootstrap import build_services
    from strongroom.settings import Settings

    raw = s3_server.client()
    bucket = f"sr-staging-{uuid.uuid4().hex[:12]}"
    raw.create_bucket(Bucket=bucket)
    settings = Settings.from_env({
        "STRONGROOM_DATABASE_URL": pg_url, "STRONGROOM_STORAGE_URL": s3_storage_url,
        "STRONGROOM_S3_ENDPOINT_URL": s3_server.endpoint_url,
        "STRONGROOM_STAGING_URL": f"s3://{bucket}/staging",
        "STRONGROOM_DATA_DIR": str(tmp_path / "data")})
    services = build_services(settings)
    assert services.staging is not None and services.staging_store is services.staging
    # A submission that died while staging a large file: one part sent, never completed.
    crashed = services.staging.writer(f"_staging/{uuid.uuid4()}/items/scan/files/page.tif")
    crashed.write(b"\x00" * (26 * MiB))
    deadline = time.monotonic() + 20
    while not [u for u in raw.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
               if raw.list_parts(Bucket=bucket, Key=u["Key"], UploadId=u["UploadId"]).get("Parts")]:
        assert time.monotonic() < deadline, "no part reached the server"
        time.sleep(0.1)

    later = datetime.now(UTC) + timedelta(minutes=1)  # as if it had lain there since
    swept = {store.location: store.sweep_abandoned(later) for store in services.written_stores}
    assert swept == {s3_storage_url: 0, f"s3://{bucket}/staging": 1}
    assert raw.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_a_corrected_record_through_staging_and_workers_stores_no_payload_again_and_fetches_whole(
        sr: Strongroom, catalog: Catalog, worker_host: Any, s3_server: S3Endpoint,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    """Versions share unchanged bytes on S3 too: the worker hashes the staged
    payload of version 2, finds it unchanged, lists it in fetch.txt; the fetched
    bag is complete and LOC bagit validates it."""
    worker = worker_host()
    first = make_batch(tmp_path / "submitter-host" / "first", 1, tag="shared")
    done = sr.json("submit", str(first), "--wait", "--timeout", "120")
    [item] = done["items"]
    assert item["status"] == "stored", worker.log_tail()
    second = tmp_path / "submitter-host" / "second"
    shutil.copytree(first, second)
    record_file = second / "shared-0000" / "metadata.json"
    record = json.loads(record_file.read_text())
    record_file.write_text(json.dumps({**record, "title": record["title"] + " (corrected)"}))
    again = sr.json("submit", str(second), "--wait", "--timeout", "120")
    assert [i["status"] for i in again["items"]] == ["stored"], worker.log_tail()

    s3 = s3_server.client()
    bucket, _, prefix = distributed_env["STRONGROOM_STORAGE_URL"][len("s3://"):].partition("/")
    v2 = [entry["Key"] for page in s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix=f"{prefix}/{item['package_id']}/v2/") for entry in page.get("Contents", [])]
    assert v2 and not [key for key in v2 if "/v2/data/" in key]
    assert any(key.endswith("/v2/fetch.txt") for key in v2)
    shown = sr.json("show", item["package_id"])
    [v2_doc] = [v for v in shown["versions"] if v["version"] == 2]
    assert v2_doc["payload_octets_stored"] == 0
    assert {f["held_by"] for f in v2_doc["files"] if f["path"].startswith("data/")} == {1}

    target = tmp_path / "fetched"
    fetched = sr.json("fetch", item["package_id"], "--to", str(target))
    assert (fetched["version"], fetched["findings"]) == (2, [])
    assert not (target / "fetch.txt").exists()
    valid = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(target)],
                           capture_output=True, text=True)
    assert valid.returncode == 0, valid.stderr
    assert sr.json("verify", item["package_id"])["results"][0]["status"] == "ok"


def test_a_staged_payload_is_copied_by_the_store_read_back_and_the_bag_validates(
        sr: Strongroom, catalog: Catalog, worker_host: Any, s3_server: S3Endpoint,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    """A batch staged in the package bucket: the worker reads each staged file once
    (both digests, the staged SHA-256 compared) and has the store copy it into the
    package, sending no byte again; the ingestion event says so, and the bag
    fetched from the store is whole (LOC bagit) and verifies."""
    import random

    batch = make_batch(tmp_path / "submitter-host" / "batch", 1, tag="copied")
    scan = random.Random(7).randbytes(20 * 1024 * 1024)  # staged as a multipart upload
    (batch / "copied-0000" / "scan" / "page-02.tif").write_bytes(scan)
    worker = worker_host()
    done = sr.json("submit", str(batch), "--wait", "--timeout", "120")
    [item] = done["items"]
    assert item["status"] == "stored", worker.log_tail()

    [(detail,)] = catalog._rows(
        "SELECT detail FROM events WHERE event_type = 'ingestion' AND outcome = 'success' "
        "AND package_id = %s", item["package_id"])
    # the 20 MiB scan copied by the store; the small page sent in one PUT
    assert detail["payload_copied_in_store"] == 1

    target = tmp_path / "fetched"
    fetched = sr.json("fetch", item["package_id"], "--to", str(target))
    assert fetched["findings"] == []
    assert (target / "data" / "scan" / "page-02.tif").read_bytes() == scan
    valid = subprocess.run([sys.executable, "-m", "bagit", "--validate", str(target)],
                           capture_output=True, text=True)
    assert valid.returncode == 0, valid.stderr
    assert sr.json("verify", item["package_id"])["results"][0]["status"] == "ok"
    wait_until_unstaged(s3_server.client(), distributed_env["STRONGROOM_STORAGE_URL"])
