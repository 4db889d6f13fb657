"""Distributed mode end to end: real `strongroom worker` processes (Celery, prefork)
on Redis, with PostgreSQL as the catalog and SeaweedFS as the S3 store.

Nothing here runs tasks eagerly: the CLI sends messages, worker processes take
them, and the tests look at what a person would: the JSON reports and exit
codes, the bags in the bucket (checked by LOC bagit), and the catalog's own
tables (one version per package, one ingestion event per item).

The helpers at the top are shared with test_faults.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bagit
import psycopg
import pytest
import redis

from tests.cli_runner import run_cli

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "batch"
CLI = [sys.executable, "-m", "strongroom.cli"]


# --------------------------------------------------------------------------- helpers


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.2) -> Any:
    """Poll until ``predicate`` returns something true; fail the test after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


class Strongroom:
    """The `strongroom` command, run as a subprocess with one environment."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self.env = dict(env)
        self.cwd = cwd

    def run(self, *args: str, expect: int | None = 0,
            timeout: float = 180) -> subprocess.CompletedProcess[str]:
        done = run_cli(*args, env=self.env, cwd=self.cwd, timeout=timeout)
        if expect is not None:
            assert done.returncode == expect, (args, done.returncode, done.stdout[-3000:],
                                               done.stderr[-3000:])
        return done

    def json(self, *args: str, expect: int | None = 0, timeout: float = 180) -> dict[str, Any]:
        return json.loads(self.run(*args, "--json", expect=expect, timeout=timeout).stdout)


class Worker:
    """One `strongroom worker` in a process group of its own (the main process and
    its pool), so that a test can stop or kill exactly what it started."""

    def __init__(self, env: dict[str, str], log: Path, name: str, concurrency: int = 2) -> None:
        self.env = env
        self.log = log
        self.name = name
        self.concurrency = concurrency
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Worker:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [*CLI, "worker", "--concurrency", str(self.concurrency), "--loglevel", "warning",
                 "--hostname", f"{self.name}@%h",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                env=self.env, cwd=self.log.parent, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def kill(self) -> None:
        """SIGKILL the worker and its pool at once: no warm shutdown, no acks."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, grace: float = 30) -> None:
        """SIGTERM (warm shutdown: finish the tasks in hand), then SIGKILL."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


class Beat(Worker):
    """`strongroom beat` in a process group of its own."""

    def start(self) -> Beat:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [*CLI, "beat", "--loglevel", "info"], env=self.env, cwd=self.log.parent,
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True)
        return self


class Catalog:
    """Reads the catalog's tables directly: an oracle independent of our catalog code."""

    def __init__(self, sqlalchemy_url: str) -> None:
        self.url = sqlalchemy_url.replace("postgresql+psycopg://", "postgresql://", 1)

    def _rows(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url, autocommit=True) as connection:
            return connection.execute(query, params).fetchall()

    def statuses(self, batch_id: str) -> Counter[str]:
        return Counter(dict(self._rows(
            "SELECT status, count(*) FROM items WHERE batch_id = %s GROUP BY status", batch_id)))

    def finished(self, batch_id: str) -> int:
        counts = self.statuses(batch_id)
        return sum(n for status, n in counts.items() if status != "accepted")

    def items(self, batch_id: str) -> dict[str, dict[str, Any]]:
        rows = self._rows("SELECT item_id, name, status, package_id, version, attempts, findings "
                          "FROM items WHERE batch_id = %s", batch_id)
        return {r[0]: {"name": r[1], "status": r[2], "package_id": r[3], "version": r[4],
                       "attempts": r[5], "findings": r[6]} for r in rows}

    def committed_versions(self) -> Counter[str]:
        return Counter(dict(self._rows(
            "SELECT package_id, count(*) FROM versions WHERE state = 'committed' "
            "GROUP BY package_id")))

    def pending_versions(self) -> int:
        return self._rows("SELECT count(*) FROM versions WHERE state = 'pending'")[0][0]

    def events_per_item(self, event_type: str, outcome: str = "success") -> Counter[str]:
        return Counter(dict(self._rows(
            "SELECT item_id, count(*) FROM events WHERE event_type = %s AND outcome = %s"
            " GROUP BY item_id", event_type, outcome)))


def make_batch(folder: Path, count: int, *, tag: str, bad: int = 0) -> Path:
    """A batch of ``count`` tiny good items (one record and one small page each)
    and ``bad`` items whose metadata has no title."""
    folder.mkdir(parents=True)
    for n in range(count + bad):
        item = folder / f"{tag}-{n:04d}"
        (item / "scan").mkdir(parents=True)
        record: dict[str, Any] = {"identifier": f"{tag}-{n:04d}", "date": "1951-06-21"}
        if n < count:
            record["title"] = f"Telegram {n} of the {tag} batch"
        (item / "metadata.json").write_text(json.dumps(record))
        (item / "scan" / "page-01.txt").write_text(f"page one of {tag} item {n}\n" * 4)
    return folder


def assert_each_item_stored_exactly_once(catalog: Catalog, batch_id: str) -> dict[str, Any]:
    """Every good item stored with version 1, one committed version per package and
    exactly one successful ingestion event per stored item (an attempt that failed
    before a requeue leaves its failure event too); returns the items."""
    items = catalog.items(batch_id)
    stored = {i: row for i, row in items.items() if row["status"] == "stored"}
    versions = catalog.committed_versions()
    ingestions = catalog.events_per_item("ingestion")
    for item_id, row in stored.items():
        assert row["version"] == 1, row
        assert versions[row["package_id"]] == 1, (row, versions[row["package_id"]])
        assert ingestions[item_id] == 1, (row, ingestions[item_id])
    not_stored = {i for i in items if i not in stored}
    assert not any(ingestions[i] for i in not_stored)
    assert catalog.pending_versions() == 0
    return items


def download_bag(s3: Any, bucket: str, prefix: str, target: Path) -> Path:
    """Copy every object under ``prefix`` out of the bucket with plain boto3."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [entry["Key"] for page in pages for entry in page.get("Contents", [])]
    assert keys, f"nothing stored under {prefix}"
    for key in keys:
        path = target / key[len(prefix):]
        path.parent.mkdir(parents=True, exist_ok=True)
        s3.download_file(bucket, key, str(path))
    return target


def queue_length(redis_url: str, queue: str = "ingest") -> int:
    connection = redis.Redis.from_url(redis_url)
    try:
        return int(connection.llen(queue))
    finally:
        connection.close()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture
def sr(distributed_env: dict[str, str], tmp_path: Path) -> Strongroom:
    """The CLI on the one-host shape, with the catalog migrated and the bucket ready."""
    strongroom = Strongroom(distributed_env, tmp_path)
    ready = strongroom.json("init")
    assert ready["migrated"] is True and ready["store"].startswith("s3://")
    return strongroom


@pytest.fixture
def catalog(pg_url: str) -> Catalog:
    return Catalog(pg_url)


@pytest.fixture
def workers(distributed_env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Worker]]:
    """Start workers with ``workers(name)``; every one is stopped at the end."""
    started: list[Worker] = []

    def start(name: str, concurrency: int = 2, env: dict[str, str] | None = None) -> Worker:
        worker = Worker(env or distributed_env, tmp_path / f"{name}.log", name, concurrency)
        started.append(worker)
        return worker.start()

    yield start
    for worker in started:
        worker.stop(grace=15)


# --------------------------------------------------------------------------- tests


def test_example_batch_through_real_workers(sr: Strongroom, catalog: Catalog, workers: Any,
                                            s3_server: Any, distributed_env: dict[str, str],
                                            tmp_path: Path) -> None:
    workers("solo")
    report = sr.json("submit", str(EXAMPLES), "--wait", "--timeout", "90", expect=1)
    assert report["enqueued"] == 3 and report["timed_out"] is False
    by_name = {i["name"]: i for i in report["items"]}
    assert {n: i["status"] for n, i in by_name.items()} == {
        "bad-record-missing-title": "rejected",
        "letter-1952-03-sample": "stored",
        "telegram-1951-06-21-mao-to-filippov": "stored",
    }
    assert {f["code"] for f in by_name["bad-record-missing-title"]["findings"]} == {
        "METADATA_INVALID"}
    assert_each_item_stored_exactly_once(catalog, report["batch_id"])

    # The bag in the bucket is a complete, valid bag without any database.
    telegram = by_name["telegram-1951-06-21-mao-to-filippov"]
    bucket, _, prefix = distributed_env["STRONGROOM_STORAGE_URL"][len("s3://"):].partition("/")
    bag_dir = download_bag(s3_server.client(), bucket,
                           f"{prefix}/{telegram['package_id']}/v1/", tmp_path / "bag")
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert bag.info["Bag-Group-Identifier"] == report["batch_id"]
    assert (bag_dir / "data" / "transcription" / "telegram-en.txt").read_bytes() == (
        EXAMPLES / telegram["name"] / "transcription" / "telegram-en.txt").read_bytes()

    # An identical resubmission changes nothing.
    again = sr.json("submit", str(EXAMPLES), "--wait", "--timeout", "90", expect=1)
    assert sorted(i["status"] for i in again["items"]) == ["rejected", "unchanged", "unchanged"]
    assert set(catalog.committed_versions().values()) == {1}

    # A fixity check sent to the fixity queue is done by the worker and recorded.
    from workers.dispatch import CeleryDispatcher
    from workers.reliability import WorkerSettings

    queue = CeleryDispatcher(WorkerSettings(broker_url=distributed_env["STRONGROOM_BROKER_URL"]))
    try:
        queue.verify_version(telegram["package_id"], 1)
    finally:
        queue.close()
    shown = wait_for(
        lambda: (doc := sr.json("show", telegram["package_id"]))["versions"][0]["last_fixity"]
        and doc, 60, "the queued fixity check")
    assert shown["versions"][0]["last_fixity"]["outcome"] == "ok"

    verified = sr.json("verify", "--all")
    assert [r["status"] for r in verified["results"]] == ["ok", "ok"]
    assert sr.json("audit", "verify")["ok"] is True


def test_two_workers_racing_on_the_same_items_store_each_once(
        sr: Strongroom, catalog: Catalog, workers: Any, redis_url: str,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    batch = make_batch(tmp_path / "race", 24, tag="race")
    report = sr.json("submit", str(batch))  # no worker yet: the messages wait in Redis
    ids = [i["item_id"] for i in report["items"]]
    assert report["enqueued"] == 24 and queue_length(redis_url) == 24

    # Send every item again, right behind its first message: two pool processes
    # (of two different workers) take the two copies at the same moment.
    connection = redis.Redis.from_url(redis_url)
    connection.delete("ingest")
    connection.close()
    from workers.dispatch import CeleryDispatcher
    from workers.reliability import WorkerSettings

    queue = CeleryDispatcher(WorkerSettings(broker_url=redis_url))
    try:
        queue.ingest([item_id for item_id in ids for _ in range(2)])
    finally:
        queue.close()
    assert queue_length(redis_url) == 48

    started = time.monotonic()
    workers("left")
    workers("right")
    wait_for(lambda: catalog.finished(report["batch_id"]) == 24, 120, "24 items final")
    wait_for(lambda: queue_length(redis_url) == 0, 30, "the duplicates to be taken")
    time.sleep(1)  # let the last duplicates finish (they must change nothing)
    elapsed = time.monotonic() - started

    items = assert_each_item_stored_exactly_once(catalog, report["batch_id"])
    assert Counter(row["status"] for row in items.values()) == {"stored": 24}
    raced = sum(1 for row in items.values() if row["attempts"] > 1)
    print(f"race: 48 messages for 24 items in {elapsed:.1f} s; "
          f"{raced} items were attempted by both copies at once")
    assert sr.json("audit", "verify")["ok"] is True
    assert {r["status"] for r in sr.json("verify", "--all")["results"]} == {"ok"}


def test_beat_sends_items_whose_messages_were_lost_again_by_itself(
        sr: Strongroom, catalog: Catalog, workers: Any, redis_url: str,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    batch = make_batch(tmp_path / "lost", 12, tag="lost", bad=1)
    report = sr.json("submit", str(batch))
    # The broker loses every message (as a Redis restart without persistence would).
    connection = redis.Redis.from_url(redis_url)
    connection.delete("ingest")
    connection.close()
    status = sr.json("status", report["batch_id"], "--stuck-after", "0", expect=1)
    assert status["stuck"] == 13

    env = {**distributed_env, "STRONGROOM_STUCK_AFTER": "1", "STRONGROOM_SWEEP_EVERY": "1"}
    started = time.monotonic()
    workers("sweeper", env=env)
    beat = Beat(env, tmp_path / "beat.log", "beat").start()
    try:
        wait_for(lambda: catalog.finished(report["batch_id"]) == 13, 90,
                 "the sweep to send the lost items again")
    finally:
        beat.stop(grace=10)
    print(f"beat: 13 lost messages recovered in {time.monotonic() - started:.1f} s")
    items = assert_each_item_stored_exactly_once(catalog, report["batch_id"])
    assert Counter(row["status"] for row in items.values()) == {"stored": 12, "rejected": 1}
    assert sr.json("status", report["batch_id"], expect=1)["stuck"] == 0
