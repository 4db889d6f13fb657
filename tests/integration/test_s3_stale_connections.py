"""A long-lived S3 store recovers from connections gone stale while it waited: a
worker resumed after a long pause (SIGSTOP past the keep-alive of the S3 server
or of what stands between: a firewall, a NAT gateway, a load balancer) works
again on the next attempt, with real SeaweedFS and real sockets.

What botocore and urllib3 do by themselves, and these tests hold them to: a
pooled connection the server closed (SeaweedFS restarted) is noticed before it
is reused ("Resetting dropped connection") and replaced; one a middlebox forgot
and answers with a reset costs one attempt of botocore's, whose retry then
opens a new connection. What they did not: a connection dropped without a word
answers nothing, and every request that took one from the pool waited out the
whole read timeout (a minute) before its retry, the next requests as much as
the first, and a read cut off that way left the rest of the pool as stale for
the item's next attempt; the store never made its client again. Now the first
connection fault closes the idle connections of the client, so that no other
request waits on one.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from urllib.parse import urlparse

import pytest

from ingest.errors import StorageUnavailable
from storage import s3_client
from storage.s3 import S3ObjectStore
from tests.integration.services import S3Endpoint, SeaweedServer

PAYLOAD = b"telegram 1951-06-21 " * 50
#: seconds a request waits for an answer in the test of silent connections
READ_TIMEOUT = 2


class ForgetfulRelay:
    """A TCP relay to the S3 server that can forget every connection it carries,
    as a NAT gateway or load balancer does with a flow idle past its timeout:
    the next bytes a client sends on a forgotten connection are answered with a
    reset (RST), nothing reaches the server. New connections are relayed."""

    def __init__(self, target: str) -> None:
        parsed = urlparse(target)
        self._target = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._lock = threading.Lock()
        self._open: list[dict[str, object]] = []
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def forget_all(self, *, silently: bool = False) -> int:
        """Forget every connection open now; returns how many. ``silently``: what
        a client sends on them is dropped without an answer (a firewall's or a
        NAT's silence), else it is answered with a reset."""
        with self._lock:
            for flow in self._open:
                flow["forgotten"] = "silently" if silently else "reset"
            return len(self._open)

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self._target)
            flow: dict[str, object] = {"forgotten": None}
            with self._lock:
                self._open.append(flow)
                self.accepted += 1
            threading.Thread(target=self._pump, args=(client, upstream, flow, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, flow, False),
                             daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, flow: dict[str, object],
              from_client: bool) -> None:
        try:
            while chunk := source.recv(65536):
                if flow["forgotten"] == "silently":
                    continue  # dropped, both ways: nothing reaches the other end
                if from_client and flow["forgotten"]:
                    # SO_LINGER 0: close with a reset, as a middlebox that lost the flow.
                    source.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                      b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            with self._lock:
                if flow in self._open:
                    self._open.remove(flow)
            for end in (source, sink):
                try:
                    end.close()
                except OSError:
                    pass


@pytest.fixture
def relay(s3_server: S3Endpoint) -> Iterator[ForgetfulRelay]:
    relay = ForgetfulRelay(s3_server.endpoint_url)
    yield relay
    relay.close()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_a_store_whose_pooled_connections_were_forgotten_works_again_on_the_next_attempt(
        s3_bucket: str, relay: ForgetfulRelay, aws_credentials: None) -> None:
    store = S3ObjectStore(s3_bucket, "packages", endpoint_url=relay.url, region="us-east-1")
    store.put_bytes("telegram.txt", PAYLOAD, _sha256(PAYLOAD))

    # Requests side by side, as a worker sends tag files and read-back checks:
    # the client's pool keeps a connection for each.
    def read(_: int) -> bytes:
        with store.open("telegram.txt") as stream:
            return stream.read()
    with ThreadPoolExecutor(max_workers=store.requests_in_flight) as pool:
        assert set(pool.map(read, range(store.requests_in_flight * 4))) == {PAYLOAD}
    pooled = relay.forget_all()  # the long pause: every flow is gone from the middlebox
    assert pooled > 4  # more than botocore's attempts in one call

    # The attempt under way may fail (each of its retries met a stale connection)...
    try:
        first = read(0)
    except StorageUnavailable:
        first = None
    assert first in (PAYLOAD, None)
    # ...and the next one works: no stale connection is left for it.
    assert read(0) == PAYLOAD
    store.put_bytes("telegram-2.txt", PAYLOAD, _sha256(PAYLOAD))
    assert store.stat("telegram-2.txt").size == len(PAYLOAD)


def test_once_a_request_met_a_connection_gone_silent_no_other_request_waits_on_one(
        s3_bucket: str, relay: ForgetfulRelay, aws_credentials: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A connection that answers nothing is given up after the read timeout: 2 s
    # here instead of 60, so that the test is quick.
    monkeypatch.setattr(s3_client, "make_client", partial(s3_client.make_client,
                                                          read_timeout=READ_TIMEOUT))
    store = S3ObjectStore(s3_bucket, "packages", endpoint_url=relay.url, region="us-east-1")
    store.put_bytes("telegram.txt", PAYLOAD, _sha256(PAYLOAD))

    def read(_: int) -> bytes:
        with store.open("telegram.txt") as stream:
            return stream.read()
    in_flight = store.requests_in_flight
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        assert set(pool.map(read, range(in_flight * 4))) == {PAYLOAD}
    assert relay.forget_all(silently=True) >= in_flight - 1  # the long pause

    # The first request meets a stale connection and waits out the read timeout:
    # nothing can tell a silent connection from a slow server sooner.
    started = time.monotonic()
    assert read(0) == PAYLOAD
    assert time.monotonic() - started >= READ_TIMEOUT
    # From then on no request waits on another stale connection of the pool.
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        assert set(pool.map(read, range(in_flight))) == {PAYLOAD}
    assert time.monotonic() - started < READ_TIMEOUT


def test_a_read_cut_off_by_a_silent_connection_leaves_no_stale_one_for_the_next_attempt(
        s3_bucket: str, relay: ForgetfulRelay, aws_credentials: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_client, "make_client", partial(s3_client.make_client,
                                                          read_timeout=READ_TIMEOUT))
    store = S3ObjectStore(s3_bucket, "packages", endpoint_url=relay.url, region="us-east-1")
    store.put_bytes("telegram.txt", PAYLOAD, _sha256(PAYLOAD))
    scan = PAYLOAD * 20_000  # 20 MB: more than the sockets' buffers hold
    writer = store.writer("scan.tif")
    writer.write(scan)
    writer.commit(_sha256(scan))

    def read(_: int) -> bytes:
        with store.open("telegram.txt") as stream:
            return stream.read()
    in_flight = store.requests_in_flight
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        assert set(pool.map(read, range(in_flight * 4))) == {PAYLOAD}
    stream = store.open("scan.tif")
    assert stream.read(1024) == scan[:1024]
    relay.forget_all(silently=True)  # paused in the middle of reading the scan

    # The read under way gives up after the read timeout: the item's attempt fails...
    with pytest.raises(StorageUnavailable):
        stream.read()
    stream.close()
    # ...and the next attempt meets no stale connection of the pool.
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=in_flight) as pool:
        assert set(pool.map(read, range(in_flight))) == {PAYLOAD}
    assert time.monotonic() - started < READ_TIMEOUT


def test_a_store_works_again_at_once_after_the_s3_server_restarted_between_two_calls(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    server = SeaweedServer(tmp_path / "s3")
    server.start()
    try:
        for name, value in (("AWS_ACCESS_KEY_ID", server.access_key),
                            ("AWS_SECRET_ACCESS_KEY", server.secret_key),
                            ("AWS_EC2_METADATA_DISABLED", "true")):
            monkeypatch.setenv(name, value)
        server.endpoint.client().create_bucket(Bucket="restarted")
        store = S3ObjectStore("restarted", "packages", endpoint_url=server.endpoint_url,
                              region="us-east-1")
        store.put_bytes("telegram.txt", PAYLOAD, _sha256(PAYLOAD))
        with store.open("telegram.txt") as stream:
            assert stream.read() == PAYLOAD

        server.stop()  # every connection the client keeps is closed by the server
        server.start()

        with store.open("telegram.txt") as stream:  # the same store object, no retry of ours
            assert stream.read() == PAYLOAD
    finally:
        server.stop()
