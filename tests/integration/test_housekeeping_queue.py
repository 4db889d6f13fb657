"""Beat's own work is done behind a backlog of ingest work, with real processes.

Beat sends the stuck-item sweep, the planning of due fixity checks and the
audit anchor as messages that expire after one period. They went to the ingest
queue, behind whatever was waiting there: during an ingest campaign longer than
an hour every planning message expired unread, so no fixity check was planned
for as long as the campaign lasted, and no stuck item was swept. They have a
queue of their own now, which every `strongroom worker` takes from beside the
queues it is given, and the broker serves a worker's queues in turn.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from strongroom.bootstrap import worker_settings
from strongroom.settings import Settings
from tests.integration.test_distributed import (  # noqa: F401 (workers: a fixture)
    Catalog,
    Strongroom,
    make_batch,
    queue_length,
    wait_for,
    workers,
)
from workers.celery_app import create_app

#: how long beat's sweep message may wait here before it is dropped unread
EXPIRES = 12.0


def test_beats_sweep_is_done_behind_a_backlog_of_ingest_work_not_dropped_unread(
        distributed_env: dict[str, str], workers: Any, tmp_path: Path,  # noqa: F811
        pg_url: str) -> None:
    env = {**distributed_env, "STRONGROOM_STUCK_AFTER": "1"}
    strongroom = Strongroom(env, tmp_path)
    strongroom.json("init")
    # A backlog: 150 items submitted while no worker runs (one worker process
    # stores a few a second here, so it lasts far longer than the sweep may wait).
    submitted = strongroom.json("submit", str(make_batch(tmp_path / "campaign", 150,
                                                          tag="campaign")))
    backlog = queue_length(env["STRONGROOM_BROKER_URL"], "ingest")
    assert backlog >= 150
    # One item a worker began and lost (its lease lapsed), the last in the queue: the
    # sweep sends it again.
    Catalog(pg_url)._rows("UPDATE items SET attempts = 1 WHERE item_id IN (SELECT item_id FROM "
                          "items WHERE batch_id = %s ORDER BY name DESC LIMIT 1) RETURNING item_id",
                          submitted["batch_id"])
    time.sleep(1.5)  # past STRONGROOM_STUCK_AFTER

    worker = workers("busy", concurrency=1, env=env)
    # The sweep, sent as beat sends it: its schedule entry's task and options.
    producer = create_app(worker_settings(Settings.from_env(env)))
    entry = producer.conf.beat_schedule["requeue-stuck-items"]
    sent_at = time.monotonic()
    producer.send_task(entry["task"], **{**entry["options"], "expires": EXPIRES})

    def swept() -> bool:
        return "stuck items again" in worker.log.read_text(errors="replace")

    wait_for(swept, EXPIRES + 10, "the sweep to run while the ingest backlog waits")
    assert "sent 1 stuck items again" in worker.log.read_text(errors="replace")  # not the backlog
    assert time.monotonic() - sent_at < EXPIRES + 10
    # and it ran while the backlog still waited, not after it had drained
    assert queue_length(env["STRONGROOM_BROKER_URL"], "ingest") > 0
