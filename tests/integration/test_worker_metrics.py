"""Metrics of the distributed shape: the queue depth the API reports from the broker,
and the work a real `strongroom worker` (Celery, prefork pool) did, scraped from the
worker's metrics port and parsed with Prometheus's own text parser; its log in JSON
lines names the batch."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from strongroom.asgi import create_app
from strongroom.settings import Settings
from tests.integration.test_distributed import CLI, EXAMPLES, Strongroom, Worker, wait_for

#: payload bytes of the two good items of the example batch (metadata.json is not payload)
EXAMPLE_PAYLOAD = sum(p.stat().st_size for name in ("letter-1952-03-sample",
                                                    "telegram-1951-06-21-mao-to-filippov")
                      for p in (EXAMPLES / name).rglob("*")
                      if p.is_file() and p.name != "metadata.json")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


class JsonWorker(Worker):
    """A worker at INFO in JSON lines, its stderr alone in the log (the banner goes nowhere)."""

    def start(self) -> JsonWorker:
        with open(self.log, "ab") as err:
            self.process = subprocess.Popen(
                [*CLI, "worker", "--concurrency", str(self.concurrency), "--loglevel", "info",
                 "--hostname", f"{self.name}@%h",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                env=self.env, cwd=self.log.parent, stdout=subprocess.DEVNULL, stderr=err,
                stdin=subprocess.DEVNULL, start_new_session=True)
        return self


@pytest.fixture
def worker_env(distributed_env: dict[str, str]) -> dict[str, str]:
    return {**distributed_env, "STRONGROOM_WORKER_METRICS_PORT": str(free_port()),
            "STRONGROOM_LOG_FORMAT": "json"}


def test_queue_depth_then_the_work_of_every_pool_process_on_the_worker_port(
        worker_env: dict[str, str], aws_credentials: None, tmp_path: Path) -> None:
    sr = Strongroom(worker_env, tmp_path)
    sr.json("init")
    token_out = sr.run("token", "create", "--role", "admin", "--name", "operator").stdout
    submitted = sr.json("submit", str(EXAMPLES))  # no worker yet: the items wait in the queue
    batch_id = submitted["batch_id"]

    # The API asks the broker how many messages wait.
    app = create_app(Settings.from_env(worker_env))
    with TestClient(app) as client:
        reply = client.get("/metrics", headers={"Authorization": f"Bearer {token_out.strip()}"})
    assert reply.status_code == 200, reply.text
    waiting = samples(reply.text)
    assert waiting[("strongroom_broker_up", ())] == 1
    assert waiting[("strongroom_queue_messages", (("queue", "ingest"),))] == 3
    assert waiting[("strongroom_queue_messages", (("queue", "fixity"),))] == 0
    assert waiting[("strongroom_items", (("status", "accepted"),))] == 3

    worker = JsonWorker(worker_env, tmp_path / "worker.log", "metrics", concurrency=2).start()
    try:
        wait_for(lambda: sr.json("status", batch_id, expect=None)["counts"]["accepted"] == 0,
                 90, "the worker to finish the batch")
        port = worker_env["STRONGROOM_WORKER_METRICS_PORT"]

        def scraped() -> dict[Any, float] | None:
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.TransportError:
                return None
            return samples(text)

        work = wait_for(scraped, 30, "the worker's metrics port")
        assert work[("strongroom_items_finished_total", (("status", "stored"),))] == 2
        assert work[("strongroom_items_finished_total", (("status", "rejected"),))] == 1
        assert work[("strongroom_ingested_bytes_total", ())] == EXAMPLE_PAYLOAD
        assert work[("strongroom_ingest_duration_seconds_count", (("status", "stored"),))] == 2
    finally:
        worker.stop(grace=15)

    records = [json.loads(line) for line in worker.log.read_text().splitlines() if line.strip()]
    ingested = [r for r in records if r.get("event") == "ingestion"]
    assert len(ingested) == 3 and {r["batch"] for r in ingested} == {batch_id}
