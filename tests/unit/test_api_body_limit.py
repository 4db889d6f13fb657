"""A body the server did not ask for is never read whole: before the bound, a
500 MiB JSON body sent with no token at all was held in the server's memory and
parsed before the 401 (the attack trial saw 4 GiB resident for four at once),
and an upload refused with 413 went on being read and thrown away until the
upload timeout. A real server (uvicorn as `strongroom serve` runs it) and raw
sockets, since an HTTP client library would finish what it starts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from strongroom.api.body_limit import SMALL_BODY_LIMIT
from tests.unit.api_support import Api, make_api, served_on_a_socket

MiB = 1024 * 1024
#: What a client offers to send; the server must stop it long before.
OFFERED = 256 * MiB
#: What loopback socket buffers may hold between the two ends, with room to spare.
BUFFERED = 24 * MiB


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Api, int]]:
    api = make_api(tmp_path / "data", STRONGROOM_API_MAX_UPLOAD_BYTES=str(2 * MiB))
    with served_on_a_socket(api, 30, 900) as port:
        yield api, port


def _send_endlessly(port: int, head: bytes, chunked: bool = True) -> tuple[bytes, int]:
    """Send ``head``, then body bytes (chunked) until OFFERED, the server closes,
    or 30 s pass, reading the answer meanwhile; returns the answer and how many
    body bytes the server took from us."""
    answer = bytearray()
    sent = 0
    closed = threading.Event()
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)

        def read() -> None:
            try:
                while chunk := sock.recv(65536):
                    answer.extend(chunk)
            except OSError:
                pass
            closed.set()

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        piece = b"[" + b"1," * (MiB // 2 - 1) + b"1"
        frame = (f"{len(piece):x}\r\n".encode() + piece + b"\r\n") if chunked else piece
        began = time.monotonic()
        try:
            while sent < OFFERED and not closed.is_set() and time.monotonic() - began < 30:
                sock.sendall(frame)
                sent += len(piece)
        except OSError:  # the server closed the connection under us
            pass
        closed.wait(timeout=10)
        assert closed.is_set(), f"the server never closed the connection ({sent} sent; it said {bytes(answer[:300])!r})"
    return bytes(answer), sent


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12])


def test_an_unauthenticated_json_body_of_any_size_is_refused_before_it_is_read(served) -> None:
    _api, port = served
    head = (b"POST /deaccessions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
    answer, sent = _send_endlessly(port, head)
    assert _status(answer) == 413
    assert b"urn:strongroom:problem:body-too-large" in answer
    assert b"connection: close" in answer.lower()
    assert sent < SMALL_BODY_LIMIT + BUFFERED, f"the server took {sent // MiB} MiB of a body it refused"


def test_a_declared_body_over_the_bound_is_refused_without_reading_a_byte(served) -> None:
    api, port = served
    head = (b"POST /deaccessions HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"Authorization: Bearer "
            + api.tokens["admin"].encode() + b"\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {500 * MiB}\r\n\r\n".encode())
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.sendall(head)
        sock.settimeout(10)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert _status(answer) == 413


def test_an_upload_refused_as_too_large_is_not_read_on(served) -> None:
    api, port = served
    head = (b"POST /batches HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer "
            + api.tokens["submitter"].encode()
            + b"\r\nContent-Type: application/zip\r\nTransfer-Encoding: chunked\r\n\r\n")
    answer, sent = _send_endlessly(port, head)
    assert _status(answer) == 413
    assert b"urn:strongroom:problem:archive-too-large" in answer
    assert sent < 2 * MiB + BUFFERED, f"the server read {sent // MiB} MiB past its 413"


def test_a_small_body_still_reaches_its_route(served) -> None:
    api, _port = served
    reply = api.client.post("/deaccessions", json={"package_id": "no-such-package", "reason": "x"},
                            headers=api.auth("admin"))
    assert reply.status_code != 413
    assert reply.headers["content-type"].startswith("application/problem+json")
