"""Work a real Celery worker does on someone's behalf names both: the worker's host
as the actor, and the one who asked as ``on_behalf_of`` (carried in the task's
arguments). Real `strongroom worker` processes on Redis, PostgreSQL, S3."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_distributed import Strongroom, Worker, make_batch, wait_for


@pytest.fixture
def sr(distributed_env: dict[str, str], tmp_path: Path) -> Strongroom:
    strongroom = Strongroom(distributed_env, tmp_path)
    assert strongroom.json("init")["migrated"] is True
    return strongroom


def test_a_workers_events_name_its_host_and_the_original_requester(
        sr: Strongroom, distributed_env: dict[str, str], tmp_path: Path) -> None:
    batch = make_batch(tmp_path / "batch", 2, tag="behalf")
    (batch / "batch.json").write_text(json.dumps({"submitter": "someone else entirely"}))
    worker = Worker(distributed_env, tmp_path / "worker.log", "behalf").start()
    try:
        sr.env["STRONGROOM_AGENT"] = "alice"  # a service account submitting for the archive
        sent = sr.json("submit", str(batch))
        assert sent["enqueued"] == 2
        batch_id = sent["batch_id"]

        def finished() -> dict[str, Any] | None:
            report = sr.json("status", batch_id, expect=None)
            return report if report["counts"]["stored"] == 2 else None

        report = wait_for(finished, 120, "the worker to store both items")
    finally:
        worker.stop(grace=15)

    alice = {"name": "alice", "kind": "service"}
    assert report["submitted_by"] == alice
    assert report["claimed_submitter"] == "someone else entirely"
    events = [e for e in sr.json("audit", "log")["events"] if e["batch_id"] == batch_id]
    accession = [e for e in events if e["event_type"] == "accession"]
    assert [e["actor"] for e in accession] == [alice]  # the CLI itself registered the batch
    done_by_worker = [e for e in events if e["item_id"] is not None]
    assert {e["event_type"] for e in done_by_worker} >= {"validation", "ingestion"}
    for event in done_by_worker:
        assert event["actor"] == {"name": socket.gethostname(), "kind": "worker",
                                  "on_behalf_of": alice}, event
    on_behalf = sr.json("audit", "log", "--agent", "alice")["events"]
    assert {e["seq"] for e in events} <= {e["seq"] for e in on_behalf}
    assert sr.json("audit", "verify")["ok"] is True
