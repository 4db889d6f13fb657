"""Faults that must lose nothing: a worker killed mid-batch, the object store going
away, the broker restarting and forgetting every message.

Each test runs real `strongroom worker` processes, breaks something in the middle
of a batch, and then checks the outcome a person relies on: every item ends
stored exactly once (one committed version, one ingestion event) or rejected or
failed for a reason it states, and nothing is left half-done. Each is bounded in
time; items are tiny.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
import redis

from tests.integration.services import free_port_block
from tests.integration.test_distributed import (
    CLI,
    Catalog,
    Strongroom,
    Worker,
    assert_each_item_stored_exactly_once,
    make_batch,
    queue_length,
    wait_for,
)


def settle(catalog: Catalog, batch_id: str, redis_url: str, quiet: float = 3.0,
           timeout: float = 180) -> int:
    """Wait until the queue is empty and no item has finished for ``quiet`` seconds;
    returns how many items are final then. The bound is only how long to wait on a
    busy machine (the suite runs in several processes): nothing asserted here is a
    matter of speed."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        done = catalog.finished(batch_id)
        if done != last:
            last, since = done, time.monotonic()
        elif queue_length(redis_url) == 0 and time.monotonic() - since >= quiet:
            return done
        time.sleep(0.2)
    pytest.fail(f"the batch did not settle within {timeout:.0f} s")


@pytest.fixture
def sr(distributed_env: dict[str, str], tmp_path: Path) -> Strongroom:
    strongroom = Strongroom(distributed_env, tmp_path)
    strongroom.json("init")
    return strongroom


@pytest.fixture
def catalog(pg_url: str) -> Catalog:
    return Catalog(pg_url)


@pytest.fixture
def started() -> Iterator[list[Worker]]:
    """Workers a test starts go here; whatever still runs is stopped at the end.
    Tests ask for it after the servers they break, so workers stop first."""
    workers: list[Worker] = []
    yield workers
    for worker in workers:
        worker.stop(grace=15)
        # Shown only when the test failed: what each worker said, which is all
        # there is to read after a failure on a machine that is gone.
        print(f"--- the log of worker {worker.name}, its end ---\n{worker.log_tail(80)}")


def start_worker(started: list[Worker], env: dict[str, str], tmp_path: Path, name: str,
                 concurrency: int = 2) -> Worker:
    worker = Worker(env, tmp_path / f"{name}.log", name, concurrency).start()
    started.append(worker)
    return worker


# --------------------------------------------------------------------------- (a) SIGKILL


def test_worker_killed_mid_batch_loses_nothing_and_stores_nothing_twice(
        sr: Strongroom, catalog: Catalog, started: list[Worker], redis_url: str,
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    batch = make_batch(tmp_path / "kill", 100, tag="kill", bad=2)
    t0 = time.monotonic()
    first = start_worker(started, distributed_env, tmp_path, "doomed")
    report = sr.json("submit", str(batch))
    batch_id = report["batch_id"]
    wait_for(lambda: catalog.finished(batch_id) >= 20, 120, "20 items final")
    first.kill()  # no warm shutdown: the items in hand are never acknowledged
    done_at_kill = catalog.finished(batch_id)

    start_worker(started, distributed_env, tmp_path, "successor")
    settled = settle(catalog, batch_id, redis_url)
    # What the dead worker held (running or reserved) is stuck: its messages
    # wait out the visibility timeout in Redis. `status` shows exactly those.
    status = sr.json("status", batch_id, "--stuck-after", "1", expect=1)
    stuck = status["stuck"]
    assert stuck == status["counts"]["accepted"] == 102 - settled
    # A few: only what the dead worker had in hand (prefetch multiplier 1); none
    # when settling took longer than a lease (a slow machine): the successor's
    # sweep has taken them over already (ingest.lease).
    assert 0 <= stuck <= 2 * 2

    again = sr.json("requeue", batch_id, "--stuck-after", "1", "--wait", "--timeout", "90",
                    expect=1)  # exit 1: the two bad items are rejected
    assert again["requeued"] == stuck and again["timed_out"] is False
    elapsed = time.monotonic() - t0

    items = assert_each_item_stored_exactly_once(catalog, batch_id)
    assert Counter(row["status"] for row in items.values()) == {"stored": 100, "rejected": 2}
    for row in items.values():
        if row["status"] == "rejected":
            assert {f["code"] for f in row["findings"]} == {"METADATA_INVALID"}
    # The items the kill interrupted are whole: re-read and re-hashed, every byte.
    interrupted = sorted({row["package_id"] for row in items.values()
                          if row["attempts"] > 1 and row["package_id"]})
    if interrupted:
        checked = sr.json("verify", *interrupted)
        assert {r["status"] for r in checked["results"]} == {"ok"}
    assert sr.json("audit", "verify")["ok"] is True
    print(f"SIGKILL: killed with {done_at_kill}/102 final, {stuck} stuck after the "
          f"successor settled, all 102 final in {elapsed:.1f} s")


# --------------------------------------------------------------------------- (c) Redis restart


class PrivateRedis:
    """A redis-server of this test's own on a free loopback port, keeping nothing
    on disk (as the machine's does), so that restarting it disturbs no one else."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port_block(1, low=16379, high=17379)
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("no redis-server binary to run a private Redis")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        wait_for(self._answers, 15, f"redis-server on port {self.port}")

    def _answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    def stop(self) -> None:
        """Like `redis-cli shutdown nosave`: every message in it is gone."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)  # with --save "" nothing is written
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_broker_restart_mid_batch_loses_messages_but_no_item(
        catalog: Catalog, private_redis: PrivateRedis, started: list[Worker],
        distributed_env: dict[str, str], tmp_path: Path) -> None:
    env = {**distributed_env, "STRONGROOM_BROKER_URL": private_redis.url}
    sr = Strongroom(env, tmp_path)
    sr.json("init")
    batch = make_batch(tmp_path / "restart", 80, tag="restart", bad=1)
    t0 = time.monotonic()
    start_worker(started, env, tmp_path, "survivor")
    report = sr.json("submit", str(batch))
    batch_id = report["batch_id"]
    wait_for(lambda: catalog.finished(batch_id) >= 20, 120, "20 items final")
    private_redis.stop()
    done_at_restart = catalog.finished(batch_id)
    private_redis.start()  # empty: every queued message is gone

    settled = settle(catalog, batch_id, private_redis.url)
    lost = 81 - settled
    assert lost >= 1  # the restart did lose messages
    status = sr.json("status", batch_id, "--stuck-after", "1", expect=1)
    assert status["stuck"] == lost == status["counts"]["accepted"]

    again = sr.json("requeue", batch_id, "--stuck-after", "1", "--wait", "--timeout", "120",
                    expect=1)  # exit 1: the bad item is rejected
    assert again["requeued"] == lost and again["timed_out"] is False, (
        again, catalog.statuses(batch_id), "queued:", queue_length(private_redis.url))
    items = assert_each_item_stored_exactly_once(catalog, batch_id)
    assert Counter(row["status"] for row in items.values()) == {"stored": 80, "rejected": 1}
    assert sr.json("audit", "verify")["ok"] is True
    print(f"Redis restart: {done_at_restart}/81 final at the restart, {lost} messages lost "
          f"and requeued; all final {time.monotonic() - t0:.1f} s after submit")


# ------------------------------------------- (d) a broker connection that stops delivering


class FreezingProxy:
    """A TCP relay to a Redis server whose existing connections can be made to stop
    delivering while staying open, as when a firewall or NAT on the way forgets
    them; connections made afterwards pass as usual."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._frozen: list[threading.Event] = []
        self._sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            frozen = threading.Event()
            self._frozen.append(frozen)
            self._sockets += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._relay, args=(src, dst, frozen), daemon=True).start()

    @staticmethod
    def _relay(src: socket.socket, dst: socket.socket, frozen: threading.Event) -> None:
        with suppress(OSError):
            while data := src.recv(65536):
                if not frozen.is_set():  # frozen: read and dropped, never answered
                    dst.sendall(data)

    def freeze(self) -> None:
        for frozen in list(self._frozen):
            frozen.set()

    def close(self) -> None:
        for sock in self._sockets:
            with suppress(OSError):
                sock.close()


class JsonWorker(Worker):
    """A worker run with --json: its stdout (the one document) kept apart from its log."""

    def start(self) -> JsonWorker:
        self.document = self.log.with_suffix(".json")
        with open(self.log, "ab") as err, open(self.document, "wb") as out:
            self.process = subprocess.Popen(
                [*CLI, "worker", "--json", "--concurrency", str(self.concurrency),
                 "--loglevel", "warning", "--hostname", f"{self.name}@%h",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"],
                env=self.env, cwd=self.log.parent, stdout=out, stderr=err,
                stdin=subprocess.DEVNULL, start_new_session=True)
        return self


def scrape(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        return answer.read().decode()


def test_worker_whose_broker_connection_stops_delivering_restarts_and_takes_the_work(
        catalog: Catalog, private_redis: PrivateRedis, distributed_env: dict[str, str],
        tmp_path: Path) -> None:
    """Its blocking pop on a connection the network dropped without closing never
    returns, and Celery's consumer has been seen not to resume after Redis
    restarted: the worker lived on, took nothing, and every item waited until a
    person restarted it. It now restarts itself once work has waited while it held
    nothing for STRONGROOM_WORKER_STALL_AFTER seconds, and its metrics count the
    restarts."""
    proxy = FreezingProxy(private_redis.port)
    submitter = {**distributed_env, "STRONGROOM_BROKER_URL": private_redis.url}
    sr = Strongroom(submitter, tmp_path)
    sr.json("init")
    own_tmp = tmp_path / "worker-tmp"
    own_tmp.mkdir()
    metrics_port = free_port_block(1)
    worker = JsonWorker({**submitter, "STRONGROOM_BROKER_URL": proxy.url,
                         "STRONGROOM_WORKER_STALL_AFTER": "3", "TMPDIR": str(own_tmp),
                         "STRONGROOM_WORKER_METRICS_PORT": str(metrics_port)},
                        tmp_path / "worker.log", "cut-off")
    try:
        worker.start()
        first = sr.json("submit", str(make_batch(tmp_path / "before", 2, tag="before")))
        wait_for(lambda: catalog.finished(first["batch_id"]) == 2, 120, "the first batch stored")
        time.sleep(1)  # the worker waits on the broker for its next message
        proxy.freeze()
        second = sr.json("submit", str(make_batch(tmp_path / "after", 4, tag="after")))
        # A blocking pop the worker sent before the cut may still take one message
        # into the dead connection (Redis hands it over; it never arrives): that
        # item waits for the stuck-item sweep, as any lost message does. The
        # others wait in the queue for the restarted worker.
        wait_for(lambda: catalog.finished(second["batch_id"]) >= 3, 90,
                 "the batch sent after the connection stopped delivering stored")
        assert "its connection to the broker no longer delivers" in worker.log.read_text()
        sr.json("requeue", second["batch_id"], "--stuck-after", "1", "--wait", "--timeout", "90")
        items = assert_each_item_stored_exactly_once(catalog, second["batch_id"])
        assert Counter(row["status"] for row in items.values()) == {"stored": 4}
        assert worker.process is not None and worker.process.poll() is None  # the same process
        log = worker.log.read_text(errors="replace")
        assert "has taken no work for" in log and "no longer delivers" in log
        assert "strongroom_worker_stall_restarts_total 1.0" in scrape(metrics_port)
        # The temporary folder its metrics were counted in went with the old process
        # image; the new one counts in a folder of its own, removed when it ends.
        assert len(list(own_tmp.glob("strongroom-worker-metrics-*"))) == 1
        assert worker.document.read_bytes() == b""  # the replaced image wrote no document

        # Stopped by a person or a supervisor while a restart is under way, it stops.
        proxy.freeze()
        third = sr.json("submit", str(make_batch(tmp_path / "last", 2, tag="last")))
        wait_for(lambda: worker.log.read_text(errors="replace").count("no longer delivers") == 2,
                 60, "the second cut noticed")
        os.killpg(worker.process.pid, signal.SIGTERM)
        worker.process.wait(timeout=30)  # ended, not replaced
        assert catalog.statuses(third["batch_id"])["accepted"] >= 1  # left for the sweep
        assert list(own_tmp.iterdir()) == []  # nothing left of any of its images
        # One document for the worker's whole life, however many images it ran.
        assert json.loads(worker.document.read_text())["command"] == "worker"
    finally:
        worker.stop(grace=15)
        proxy.close()
        print(f"--- the log of worker {worker.name}, its end ---\n{worker.log_tail(60)}")
