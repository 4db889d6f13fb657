"""With STRONGROOM_LOG_FORMAT=json, a real `strongroom worker` and `strongroom beat`
write nothing but JSON objects, one a line, on stdout and stderr: from start to
warm shutdown, Celery's banner and notes included."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from tests.integration.test_distributed import CLI, Beat, Worker, wait_for


def _env(redis_url: str, tmp_path: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.startswith("STRONGROOM_")}
    env.update({"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_BROKER_URL": redis_url,
                "STRONGROOM_LOG_FORMAT": "json"})
    subprocess.run([*CLI, "init"], env=env, cwd=tmp_path, check=True, capture_output=True)
    return env


def _records(log: Path) -> list[dict[str, object]]:
    """Every line of ``log`` read as JSON; a line that is not fails the test, named."""
    records = []
    for number, line in enumerate(log.read_text().splitlines(), start=1):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            raise AssertionError(f"line {number} of {log.name} is not JSON: {line!r}") from None
        assert isinstance(records[-1], dict), line
    return records


def test_a_json_worker_writes_only_json_lines_from_start_to_warm_shutdown(
        redis_url: str, tmp_path: Path) -> None:
    env = _env(redis_url, tmp_path)
    worker = Worker(env, tmp_path / "worker.log", "json-lines", concurrency=1)
    # stdout and stderr both in the log, at INFO: the banner's place and Celery's own records
    with open(worker.log, "ab") as out:
        worker.process = subprocess.Popen(
            [*CLI, "worker", "--concurrency", "1", "--loglevel", "info",
             "--hostname", "json-lines@%h", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            env=env, cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for(lambda: " ready." in worker.log.read_text(), 60, "the worker to be ready")
    finally:
        worker.stop()

    records = _records(worker.log)
    assert any(str(r["message"]).endswith(" ready.") for r in records)
    assert any("shutdown" in str(r["message"]).lower() for r in records)


def test_a_json_beat_writes_only_json_lines(redis_url: str, tmp_path: Path) -> None:
    env = {**_env(redis_url, tmp_path), "STRONGROOM_SWEEP_EVERY": "1"}
    beat = Beat(env, tmp_path / "beat.log", "beat").start()
    try:
        wait_for(lambda: "Scheduler: Sending" in beat.log.read_text(), 60,
                 "beat to send its first sweep")
    finally:
        beat.stop()

    assert _records(beat.log)
