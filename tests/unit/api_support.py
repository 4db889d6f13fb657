"""What the API tests share: an app on a fresh embedded data folder, tokens of
every role, and the example batch packed as the archives archive staff upload."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

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
