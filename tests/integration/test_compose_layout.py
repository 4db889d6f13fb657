"""What docker-compose.yml describes, run without Docker: its `init`, `api`, `worker`
and `beat` services started as real processes, each with the command and the
environment the file gives it, reading a `.env` written as an operator would.

Only what cannot run here is mapped: the service host names (postgres, redis,
seaweedfs) become this machine's test servers, with a database, bucket and
Redis database of the test's own; the catalog's role is a fresh one (with the
password from `.env`, which may create databases, as the bundled PostgreSQL's
`strongroom` role does); the api listens on loopback on a free port instead of
0.0.0.0:8000; each volume is a folder, and each service runs in a folder of its
own, so they share nothing else. Then the api's own healthcheck command must
pass, a token made by the `cli` service submits a batch over HTTP, and the
workers must store it in the bucket.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
from psycopg import sql

from tests.compose_file import argv, container_environment, load, mounts
from tests.integration.conftest import _remove_bucket
from tests.integration.services import (
    POSTGRES_HOST,
    POSTGRES_PORT,
    S3Endpoint,
    _admin_connection,
    dropdb,
    require_loopback,
)

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "batch"
#: The services that run Strongroom, in the order Compose starts them.
STARTED = ("api", "worker", "beat")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Layout:
    """The compose file's strongroom services, mapped onto this machine's test servers."""

    def __init__(self, root: Path, s3: S3Endpoint, redis_url: str) -> None:
        self.compose = load()
        self.services: dict[str, dict[str, Any]] = self.compose["services"]
        self.root = root
        self.project = root / "project"
        self.project.mkdir()
        self.s3 = s3
        self.redis_url = redis_url
        suffix = uuid.uuid4().hex[:12]
        self.password = uuid.uuid4().hex
        self.role = f"strongroom_compose_{suffix}"
        self.database = f"strongroom_compose_{suffix}"
        self.bucket = f"sr-compose-{suffix}"
        self.api_port = free_port()
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        # The .env beside the compose file: the three secrets and two ordinary settings.
        (self.project / ".env").write_text(
            f"POSTGRES_PASSWORD={self.password}\n"
            f"AWS_ACCESS_KEY_ID={s3.access_key}\n"
            f"AWS_SECRET_ACCESS_KEY={s3.secret_key}\n"
            "STRONGROOM_SOURCE_ORGANIZATION=Compose Layout Archive\n"
            "STRONGROOM_LOG_LEVEL=WARNING\n", encoding="utf-8")
        # Compose interpolates from the .env file (no variable of this shell may leak in).
        from dotenv import dotenv_values

        self.compose_env = {k: v or "" for k, v in
                            dotenv_values(self.project / ".env").items()}
        self.volumes = {name: root / "volumes" / name for name in self.compose["volumes"]}

    # ------------------------------------------------------------------ mapping

    def _database_url(self, url: str) -> str:
        parts = urlsplit(url)
        assert (parts.hostname, parts.port, parts.username, parts.path) == (
            "postgres", 5432, "strongroom", "/strongroom"), url
        netloc = f"{self.role}:{parts.password}@{POSTGRES_HOST}:{POSTGRES_PORT}"
        return require_loopback(urlunsplit((parts.scheme, netloc, f"/{self.database}", "", "")))

    def _mapped_value(self, name: str, value: str, mounted: dict[str, Path]) -> str:
        if name == "STRONGROOM_DATABASE_URL":
            return self._database_url(value)
        if name == "STRONGROOM_STORAGE_URL":
            assert value.startswith("s3://strongroom-packages/"), value
            return value.replace("strongroom-packages", self.bucket, 1)
        if name == "STRONGROOM_S3_ENDPOINT_URL":
            assert value == "http://seaweedfs:8333", value
            return self.s3.endpoint_url
        if name == "STRONGROOM_BROKER_URL":
            assert urlsplit(value).hostname == "redis", value
            return self.redis_url
        for target, folder in mounted.items():  # a path inside a volume: the volume's folder
            if value == target or value.startswith(target + "/"):
                return str(folder) + value[len(target):]
        return value

    def environment(self, service: str) -> tuple[dict[str, str], Path]:
        """The service's environment on this machine, and the folder it runs in."""
        spec = self.services[service]
        mounted = {}
        for target, (source, _) in mounts(spec).items():
            if source in self.volumes:
                mounted[target] = self.volumes[source]
            else:  # a bind mount (the batches folder): a folder of the test
                mounted[target] = self.root / "binds" / target.strip("/")
            mounted[target].mkdir(parents=True, exist_ok=True)
        env = container_environment(spec, self.project, self.compose_env)
        env = {name: self._mapped_value(name, value, mounted) for name, value in env.items()}
        home = self.root / "containers" / service
        home.mkdir(parents=True, exist_ok=True)
        # Nothing of this machine's environment but where programs are, the venv's first.
        path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
        return {"PATH": path, "HOME": str(home), "AWS_EC2_METADATA_DISABLED": "true",
                **env}, home

    def command(self, service: str, *override: str) -> list[str]:
        """The service's entrypoint and command (``override`` replaces the command, as
        `docker compose run SERVICE ARGS` does); the api's address and port mapped."""
        spec = self.services[service]
        if override:
            spec = {"entrypoint": spec.get("entrypoint"), "command": list(override)}
        args = argv(spec)
        if "--host" in args:
            args[args.index("--host") + 1] = "127.0.0.1"
        if "--port" in args:
            args[args.index("--port") + 1] = str(self.api_port)
        assert args[0] == "strongroom", args
        found = shutil.which("strongroom", path=os.pathsep.join(
            [str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
        assert found is not None, "the strongroom command is not installed"
        return [found, *args[1:]]

    def healthcheck(self) -> list[str]:
        """The api's healthcheck command, asking the port the api listens on here."""
        test = self.services["api"]["healthcheck"]["test"]
        assert test[0] == "CMD" and test[1] == "python", test
        container_port = argv(self.services["api"])[argv(self.services["api"]).index("--port") + 1]
        return [sys.executable, *(part.replace(f":{container_port}/", f":{self.api_port}/")
                                  for part in test[2:])]

    # ------------------------------------------------------------------ processes

    def run(self, service: str, *override: str) -> subprocess.CompletedProcess[str]:
        env, home = self.environment(service)
        return subprocess.run(self.command(service, *override), env=env, cwd=home,
                              capture_output=True, text=True, timeout=180, check=False)

    def start(self, service: str) -> None:
        env, home = self.environment(service)
        with open(self.root / f"{service}.log", "wb") as log:
            self.processes[service] = subprocess.Popen(
                self.command(service), env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True)

    def logs(self) -> str:
        return "\n".join(f"--- {name}\n" + (self.root / f"{name}.log").read_text(errors="replace")[-3000:]
                         for name in self.processes)

    def stop(self) -> None:
        """SIGTERM every process group started (warm shutdown), then SIGKILL what is left."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)


@pytest.fixture
def layout(tmp_path: Path, s3_server: S3Endpoint, redis_url: str,
           postgres_server: None) -> Iterator[Layout]:
    here = Layout(tmp_path, s3_server, redis_url)
    with _admin_connection() as connection:  # as the bundled PostgreSQL's role: may create databases
        connection.execute(sql.SQL("CREATE ROLE {} LOGIN CREATEDB PASSWORD {}").format(
            sql.Identifier(here.role), sql.Literal(here.password)))
    try:
        yield here
    finally:
        here.stop()
        dropdb(here.database)
        with _admin_connection() as connection:
            connection.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(here.role)))
        _remove_bucket(s3_server.client(), here.bucket)


def zipped_batch() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(EXAMPLES.rglob("*")):
            archive.write(path, f"batch/{path.relative_to(EXAMPLES).as_posix()}")
    return buffer.getvalue()


def wait_for(predicate: Any, timeout: float, what: str, layout: Layout) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        for name, process in layout.processes.items():
            assert process.poll() is None, f"{name} exited ({process.returncode})\n{layout.logs()}"
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{layout.logs()}")
        time.sleep(0.3)


def test_the_compose_services_run_as_processes_and_store_a_batch_sent_over_http(
        layout: Layout) -> None:
    # init: the database does not exist yet; init creates it, migrates it, makes the bucket.
    init = layout.run("init")
    assert init.returncode == 0, init.stderr
    assert "database created" in init.stdout

    for service in STARTED:
        layout.start(service)

    def healthy() -> bool:
        return subprocess.run(layout.healthcheck(), capture_output=True, timeout=30,
                              check=False).returncode == 0

    wait_for(healthy, 90, "the api's healthcheck to pass", layout)

    # A token from the `cli` service, as `docker compose run --rm cli token create ...`.
    made = layout.run("cli", "token", "create", "--role", "submitter", "--name", "compose-layout")
    assert made.returncode == 0, made.stderr
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    base = f"http://127.0.0.1:{layout.api_port}"

    sent = httpx.post(f"{base}/batches", content=zipped_batch(), timeout=60,
                      headers={**headers, "Content-Type": "application/zip"})
    assert sent.status_code == 202, sent.text
    batch_id = sent.json()["batch_id"]
    assert sent.json()["dispatch"] == "queued"  # to the workers, through the broker

    def final() -> dict[str, Any] | None:
        document = httpx.get(f"{base}/batches/{batch_id}", headers=headers, timeout=10).json()
        return None if document["counts"].get("accepted", 0) else document

    document = wait_for(final, 180, "the workers to finish the batch", layout)
    counts = {status: n for status, n in document["counts"].items() if n}
    assert counts == {"stored": 2, "rejected": 1}, document

    # Stored in the bucket init made, by the workers, with the settings .env gave them.
    client = layout.s3.client()
    keys = [entry["Key"] for page in client.get_paginator("list_objects_v2").paginate(
        Bucket=layout.bucket) for entry in page.get("Contents", [])]
    bag_infos = [key for key in keys if re.fullmatch(r"packages/[^/]+/v1/bag-info\.txt", key)]
    assert len(bag_infos) == 2, keys
    for key in bag_infos:
        text = client.get_object(Bucket=layout.bucket, Key=key)["Body"].read().decode()
        assert "Source-Organization: Compose Layout Archive" in text
    # The upload reached the workers through the store's staging area: nothing of it
    # stays in the API's uploads volume, and the store's staging goes once it is done.
    assert not any(layout.volumes["uploads"].iterdir())
    deadline = time.monotonic() + 30
    while any(page.get("Contents") for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=layout.bucket, Prefix="packages/_staging/")):
        assert time.monotonic() < deadline, "the store's staging area did not empty"
        time.sleep(0.2)

    layout.stop()
    assert all(p.returncode is not None for p in layout.processes.values())
