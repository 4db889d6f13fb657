"""Clients that trickle: a header block never finished, a body a byte at a time.
A real server (uvicorn, as `strongroom serve` configures it) on loopback, and raw
sockets, since an HTTP client library would finish what it starts."""

from __future__ import annotations

import http.client
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.api_support import EXAMPLES, Api, make_api, served_on_a_socket, zip_of

HEADER_TIMEOUT = 1.0
UPLOAD_TIMEOUT = 2.0
#: the idle timeout stays far above the trickle's pace: only the total bounds it
IDLE_TIMEOUT = "60"


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Api, int]]:
    api = make_api(tmp_path / "data", STRONGROOM_API_UPLOAD_IDLE_TIMEOUT=IDLE_TIMEOUT)
    with served_on_a_socket(api, HEADER_TIMEOUT, UPLOAD_TIMEOUT) as port:
        yield api, port


def _trickle(port: int, start: bytes, byte: bytes, every: float = 0.25,
             most: float = 15.0) -> tuple[bytes, float]:
    """Send ``start``, then ``byte`` every ``every`` seconds until the server
    answers or closes; returns what it said and after how many seconds."""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(every)
        began = time.monotonic()
        if start:
            sock.sendall(start)
        answer = b""
        while time.monotonic() - began < most:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                try:
                    sock.sendall(byte)
                except OSError:  # closed under us
                    break
                continue
            except OSError:
                break
            if not chunk:
                break
            answer += chunk
        return answer, time.monotonic() - began


def _problem(answer: bytes) -> dict:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    return json.loads(body)


def test_header_block_never_finished_is_closed_after_the_header_timeout(served) -> None:  # type: ignore[no-untyped-def]
    _, port = served
    answer, took = _trickle(port, b"POST /batches HTTP/1.1\r\nHost: x\r\nX-Slow: ", b"a")
    assert took < HEADER_TIMEOUT + 3, f"still open after {took:.1f} s"
    assert _problem(answer)["type"] == "urn:strongroom:problem:upload-timeout"


def test_connection_that_sends_nothing_is_closed_after_the_header_timeout(served) -> None:  # type: ignore[no-untyped-def]
    _, port = served
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(HEADER_TIMEOUT + 3)
        began = time.monotonic()
        answer = sock.recv(65536)
        assert time.monotonic() - began < HEADER_TIMEOUT + 3
    assert _problem(answer)["status"] == 408


def test_body_trickling_a_byte_at_a_time_is_dropped_after_the_upload_timeout(served) -> None:  # type: ignore[no-untyped-def]
    api, port = served
    head = ("POST /batches HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: {api.auth('submitter')['Authorization']}\r\n"
            "Content-Type: application/zip\r\nContent-Length: 100000\r\n\r\n").encode()
    answer, took = _trickle(port, head + b"PK\x03\x04", b"\0")
    assert took < UPLOAD_TIMEOUT + 3, f"still open after {took:.1f} s"
    assert "body" in _problem(answer)["detail"]
    deadline = time.monotonic() + 10  # the route notices the client gone, then cleans up
    while api.settings.staging.exists() and any(api.settings.staging.iterdir()):
        assert time.monotonic() < deadline, list(api.settings.staging.iterdir())
        time.sleep(0.05)


def test_a_prompt_upload_and_a_kept_alive_connection_still_work(served) -> None:  # type: ignore[no-untyped-def]
    api, port = served
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/batches", body=zip_of(EXAMPLES), headers={
        **api.auth("submitter"), "Content-Type": "application/zip"})
    reply = connection.getresponse()
    assert reply.status == 202, reply.read()
    location = reply.getheader("Location")
    reply.read()
    time.sleep(HEADER_TIMEOUT + 0.5)  # idle between requests: the keep-alive rule, not ours
    connection.close()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", location, headers=api.auth("submitter"))
    assert connection.getresponse().status == 200
    connection.close()
    api.app.state.strongroom.wait(timeout=60)
