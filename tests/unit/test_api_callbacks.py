"""Callbacks never hold ingest capacity, and call exactly the host that was checked."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.unit.api_support import EXAMPLES, QuietHandler, callback_receiver, make_api, wait_until, zip_of

FINAL = {"stored", "unchanged", "rejected", "failed"}


@pytest.fixture
def silent_receiver() -> Iterator[int]:
    """A port whose listener takes connections (the kernel completes them) and
    never answers a byte."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()  # queued connections are reset: pending attempts end at once


def _post(api, params: dict | None = None):  # type: ignore[no-untyped-def]
    return api.client.post("/batches", params=params or {}, content=zip_of(EXAMPLES),
                           headers={**api.auth("submitter"), "Content-Type": "application/zip"})


def test_silent_callback_receivers_do_not_starve_ingestion(tmp_path: Path,
                                                          silent_receiver: int) -> None:
    api = make_api(tmp_path / "data", STRONGROOM_API_CALLBACK_HOSTS="127.0.0.1",
                   STRONGROOM_RETRY_BACKOFF="1")
    hook = f"http://127.0.0.1:{silent_receiver}/hook"
    for _ in range(2):
        assert _post(api, {"callback_url": hook}).status_code == 202
    started = time.monotonic()
    third = _post(api)
    assert third.status_code == 202

    def third_is_final() -> bool:
        document = api.client.get(third.headers["Location"], headers=api.auth("submitter")).json()
        return all(item["status"] in FINAL for item in document["items"])

    wait_until(third_is_final, timeout=20)
    assert time.monotonic() - started < 20
    api.app.state.strongroom.callbacks.close()


def test_callback_retries_are_scheduled_not_slept_on_an_ingest_thread(tmp_path: Path) -> None:
    hits: list[float] = []

    class Refusing(QuietHandler):
        def do_POST(self) -> None:
            hits.append(time.monotonic())
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = callback_receiver(Refusing)
    try:
        api = make_api(tmp_path / "data", STRONGROOM_API_CALLBACK_HOSTS="127.0.0.1",
                       STRONGROOM_RETRY_BACKOFF="2", STRONGROOM_MAX_ATTEMPTS="3")
        reply = _post(api, {"callback_url": f"http://127.0.0.1:{server.server_port}/hook"})
        assert reply.status_code == 202
        state = api.app.state.strongroom
        for future in list(state.pending):  # the ingest is done, though retries are due
            future.result(timeout=60)
        wait_until(lambda: len(hits) >= 1)
        assert len(hits) == 1
        # the ingest threads are free at once: other work runs while the retry waits
        assert all(future.done() for future in state.pending)
        assert state.callbacks.wait(timeout=30)
    finally:
        server.shutdown()
    assert len(hits) == 3
    assert hits[1] - hits[0] >= 1.9 and hits[2] - hits[1] >= 3.9  # 2 s, then 4 s


@pytest.mark.parametrize("url", ["http://u:p@127.0.0.1:{port}/hook",
                                 "http://127.0.0.1:{port}@127.0.0.1:{port}/hook",
                                 "http://evil.example@127.0.0.1:{port}/hook"])
def test_callback_url_with_userinfo_is_refused(tmp_path: Path, url: str) -> None:
    hits: list[str] = []

    class Receiver(QuietHandler):
        def do_POST(self) -> None:
            hits.append(self.path)
            self.send_response(204)
            self.end_headers()

    server = callback_receiver(Receiver)
    try:
        api = make_api(tmp_path / "data", STRONGROOM_API_CALLBACK_HOSTS="127.0.0.1")
        reply = _post(api, {"callback_url": url.format(port=server.server_port)})
        assert reply.status_code == 422, reply.text
        problem = reply.json()
        assert problem["type"] == "urn:strongroom:problem:callback-userinfo-refused"
        assert "user name or password" in problem["detail"]
        assert not api.settings.staging.exists() or not any(api.settings.staging.iterdir())
    finally:
        server.shutdown()
    assert hits == []
