"""What `strongroom serve` writes to stderr: with STRONGROOM_LOG_FORMAT=json one JSON
object per line, naming the batch, item, package, agent and event of the work; by
default readable lines that name them too."""

from __future__ import annotations

import io
import json
import signal
import socket
import subprocess
import time
import zipfile
from pathlib import Path

import httpx

from tests.cli_runner import CLI, EXAMPLES, Strongroom


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def zipped_examples() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for path in sorted(EXAMPLES.rglob("*")):
            archive.write(path, f"batch/{path.relative_to(EXAMPLES).as_posix()}")
    return buffer.getvalue()


def serve_and_ingest(tmp_path: Path, **env: str) -> tuple[str, str]:
    """Start `strongroom serve`, upload the example batch, wait for its items to be
    final, stop the server; return the batch id and everything it wrote to stderr."""
    sr = Strongroom(tmp_path / "data")
    sr.json("init")
    token = sr.run("token", "create", "--role", "submitter", "--name", "archivist").stdout.strip()
    port = free_port()
    stderr = tmp_path / "serve.stderr"
    with open(stderr, "wb") as out:
        server = subprocess.Popen([*CLI, "serve", "--port", str(port)], env={**sr.env, **env},
                                  cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=out,
                                  start_new_session=True)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, stderr.read_text()
                time.sleep(0.1)
        reply = httpx.post(f"{base}/batches", content=zipped_examples(), timeout=30,
                           headers={**headers, "Content-Type": "application/zip"})
        assert reply.status_code == 202, reply.text
        batch_id = reply.json()["batch_id"]
        while httpx.get(f"{base}/batches/{batch_id}", headers=headers,
                        timeout=5).json()["counts"].get("accepted", 0):
            assert time.monotonic() < deadline + 60, stderr.read_text()
            time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return batch_id, stderr.read_text()


def test_json_logs_are_one_object_a_line_naming_the_batch_item_package_and_agent(
        tmp_path: Path) -> None:
    batch_id, written = serve_and_ingest(tmp_path, STRONGROOM_LOG_FORMAT="json")

    records = [json.loads(line) for line in written.splitlines() if line.strip()]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    ingested = [r for r in records if r.get("event") == "ingestion"]
    assert len(ingested) == 3  # one line per item of the example batch
    assert {r["batch"] for r in ingested} == {batch_id}
    assert all(r["agent"] == "archivist" and r["item"] for r in ingested)
    assert sum("package" in r for r in ingested) == 2  # the two stored; the rejected has none
    assert any("POST /batches" in r["message"] for r in records)  # the access log as well


def test_human_logs_by_default_name_the_batch_on_the_line(tmp_path: Path) -> None:
    batch_id, written = serve_and_ingest(tmp_path)

    lines = [line for line in written.splitlines() if "strongroom.ingest" in line]
    assert len(lines) == 3
    assert all(f"batch={batch_id}" in line and not line.startswith("{") for line in lines)
