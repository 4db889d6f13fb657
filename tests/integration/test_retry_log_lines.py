"""A real `strongroom worker` retrying items through a storage outage logs one line
per retry, naming the item, the reason, the attempt and when it is tried again."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

from tests.integration.test_distributed import CLI, EXAMPLES, Strongroom, Worker, wait_for


def test_each_retry_through_a_storage_outage_is_one_log_line(
        redis_url: str, tmp_path: Path) -> None:
    env = {name: value for name, value in os.environ.items() if not name.startswith("STRONGROOM_")}
    env.update({"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_BROKER_URL": redis_url,
                "STRONGROOM_LOG_FORMAT": "json", "STRONGROOM_RETRY_BACKOFF": "0.2",
                "STRONGROOM_MAX_ATTEMPTS": "20"})
    sr = Strongroom(env, tmp_path)
    sr.json("init")
    batch_id = sr.json("submit", str(EXAMPLES))["batch_id"]  # staged in the store; no worker yet
    # Where the store writes each object before it commits it: a file there, and
    # every write fails, as when a disk or an S3 server is away.
    writing = tmp_path / "data" / "objects" / ".staging"
    shutil.rmtree(writing, ignore_errors=True)
    writing.write_bytes(b"a file where the store's writing folder was")
    log = tmp_path / "worker.log"
    worker = Worker(env, log, "retries", concurrency=1)
    with open(log, "ab") as out:
        worker.process = subprocess.Popen(
            [*CLI, "worker", "--concurrency", "1", "--loglevel", "info",
             "--hostname", "retries@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: log.read_text().count("tried again") >= 4, 60, "a few retries")
        writing.unlink()  # the outage ends
        wait_for(lambda: all(item["status"] != "accepted" for item in
                             sr.json("status", batch_id, expect=None)["items"]), 120, "every item to finish")
    finally:
        worker.stop()

    messages = [str(json.loads(line)["message"]) for line in log.read_text().splitlines()]
    about_retry = [m for m in messages if "Retry in" in m  # Celery's own line
                   or (m.startswith("item ") and re.search(r"again|retry", m, re.IGNORECASE))]
    said = [re.fullmatch(r"item (\S+): attempt (\d+) of 20 failed, tried again in [\d.]+ s: (.+)", m)
            for m in about_retry]
    assert all(said), about_retry  # each names the item, the attempt, the wait and the reason
    attempts = [(m.group(1), m.group(2)) for m in said if m]
    assert len(attempts) >= 4 and len(set(attempts)) == len(attempts), about_retry
