"""What the API tests share: an app on a fresh embedded data folder, tokens of
every role, the example batch packed as the archives archive staff upload, and
a loopback server that receives callbacks."""

from __future__ import annotations

import io
import socket
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from ingest.access import ROLES
from ingest.services import Services
from strongroom.asgi import create_app
from strongroom.bootstrap import build_services
from strongroom.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "batch"


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    services: Services
    settings: Settings
    tokens: dict[str, str]

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    def upload(self, body: bytes, content_type: str, role: str = "submitter") -> dict:
        """POST a batch, wait for the background ingest, return the batch document."""
        reply = self.client.post("/batches", content=body, headers={
            **self.auth(role), "Content-Type": content_type})
        assert reply.status_code == 202, reply.text
        self.app.state.strongroom.wait(timeout=60)
        return self.client.get(reply.headers["Location"], headers=self.auth(role)).json()


def make_api(data: Path, **env: str) -> Api:
    settings = Settings.from_env({"STRONGROOM_DATA_DIR": str(data),
                                  "STRONGROOM_RETRY_BACKOFF": "0", **env})
    services = build_services(settings)
    app = create_app(settings, services)
    tokens = {role: services.catalog.create_token(f"test {role}", role)[1]  # type: ignore[attr-defined]
              for role in ROLES}
    return Api(app, TestClient(app), services, settings, tokens)


@contextmanager
def served_on_a_socket(api: Api, header_timeout: float, upload_timeout: float) -> Iterator[int]:
    """Serve ``api`` with a real uvicorn configured as `strongroom serve` configures
    it, on a loopback port of its own; yields the port. For tests that speak raw
    HTTP (an HTTP client library would finish what it starts)."""
    from strongroom.api.server import serve_options

    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(
        api.app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1,
        **serve_options(header_timeout, upload_timeout)))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    try:
        yield listener.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


def tar_of(folder: Path, top: str | None = "batch") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(folder, arcname=top or ".")
    return buffer.getvalue()


def zip_of(folder: Path, top: str = "batch") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            zf.write(path, f"{top}/{path.relative_to(folder).as_posix()}")
    return buffer.getvalue()


def wait_until(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


class QuietHandler(BaseHTTPRequestHandler):
    """A request handler that logs nothing: a test's receiver says what it got."""

    def log_message(self, *args: object) -> None:
        pass


def callback_receiver(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    """A server on a free loopback port answering with ``handler``, on a thread
    of its own; the caller shuts it down."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
