"""Faults that must lose nothing, of the object store: S3 going away mid-batch,
for a while and for longer than the retries last.

Each test runs real `strongroom worker` processes against an S3 server of its
own, stops that server in the middle of a batch and starts it again, then checks
what a person relies on: every item ends stored exactly once, or failed with a
reason it states and completed by `requeue --failed`. (The worker and broker
faults are in tests/integration/test_faults.py; the two files run side by side.)
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.services import SeaweedServer
from tests.integration.test_distributed import (
    Catalog,
    Strongroom,
    Worker,
    assert_each_item_stored_exactly_once,
    make_batch,
    wait_for,
)
from tests.integration.test_faults import catalog, start_worker, started  # noqa: F401  (fixtures)

# --------------------------------------------------------------------------- (b) S3 down


@pytest.fixture
def own_s3(tmp_path: Path) -> Iterator[SeaweedServer]:
    """An S3 server of this test's own, which it may stop and start again."""
    server = SeaweedServer(tmp_path / "own-s3")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def env_on(own_s3: SeaweedServer, distributed_env: dict[str, str], **extra: str) -> dict[str, str]:
    return {**distributed_env, "STRONGROOM_S3_ENDPOINT_URL": own_s3.endpoint_url,
            "STRONGROOM_STORAGE_URL": "s3://outage/packages", **extra}


def test_store_down_mid_batch_items_retry_and_complete(
        catalog: Catalog, own_s3: SeaweedServer, started: list[Worker],  # noqa: F811
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    env = env_on(own_s3, distributed_env, STRONGROOM_MAX_ATTEMPTS="10",
                 STRONGROOM_RETRY_BACKOFF="0.5")
    sr = Strongroom(env, tmp_path)
    assert sr.json("init")["bucket"] == "outage"
    batch = make_batch(tmp_path / "outage", 60, tag="outage")
    t0 = time.monotonic()
    start_worker(started, env, tmp_path, "patient", concurrency=4)
    report = sr.json("submit", str(batch))
    batch_id = report["batch_id"]
    wait_for(lambda: catalog.finished(batch_id) >= 10, 120, "10 items final")
    own_s3.stop()
    down_at = catalog.finished(batch_id)
    time.sleep(3)
    own_s3.start()
    outage = time.monotonic() - t0

    wait_for(lambda: catalog.finished(batch_id) == 60, 180, "every item final after the outage")
    items = assert_each_item_stored_exactly_once(catalog, batch_id)
    assert Counter(row["status"] for row in items.values()) == {"stored": 60}
    retried = sum(1 for row in items.values() if row["attempts"] > 1)
    assert retried >= 1  # the outage was felt, and ridden out
    assert {r["status"] for r in sr.json("verify", "--all")["results"]} == {"ok"}
    print(f"S3 down: stopped with {down_at}/60 final; {retried} items retried; "
          f"all 60 stored {time.monotonic() - t0:.1f} s after submit (outage ended at "
          f"{outage:.1f} s)")


def test_store_down_past_the_retry_bound_fails_items_and_requeue_failed_completes_them(
        catalog: Catalog, own_s3: SeaweedServer, started: list[Worker],  # noqa: F811
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    env = env_on(own_s3, distributed_env, STRONGROOM_MAX_ATTEMPTS="2",
                 STRONGROOM_RETRY_BACKOFF="0.2")
    sr = Strongroom(env, tmp_path)
    sr.json("init")
    batch = make_batch(tmp_path / "bound", 30, tag="bound")
    t0 = time.monotonic()
    start_worker(started, env, tmp_path, "bounded", concurrency=4)
    report = sr.json("submit", str(batch))
    batch_id = report["batch_id"]
    wait_for(lambda: catalog.finished(batch_id) >= 3, 120, "3 items final")
    own_s3.stop()
    stored_before = catalog.statuses(batch_id)["stored"]

    wait_for(lambda: catalog.finished(batch_id) == 30, 180, "every item final with S3 down")
    failed_at = time.monotonic() - t0
    status = sr.json("status", batch_id, expect=1)
    failed = [i for i in status["items"] if i["status"] == "failed"]
    assert failed and len(failed) + status["counts"]["stored"] == 30
    for item in failed:
        assert [f["code"] for f in item["findings"]] == ["STORAGE_UNAVAILABLE"]
        assert item["findings"][0]["params"]["attempts"] == 2

    own_s3.start()
    again = sr.json("requeue", batch_id, "--failed", "--wait", "--timeout", "120")
    assert again["reset"] == len(failed) and again["timed_out"] is False
    items = assert_each_item_stored_exactly_once(catalog, batch_id)
    assert Counter(row["status"] for row in items.values()) == {"stored": 30}
    assert {r["status"] for r in sr.json("verify", "--all")["results"]} == {"ok"}
    print(f"S3 down past the bound: {stored_before} stored before the stop, {len(failed)} "
          f"failed with STORAGE_UNAVAILABLE by {failed_at:.1f} s; requeue --failed stored "
          f"them, all done at {time.monotonic() - t0:.1f} s")


