"""Settings: read once from the environment, at the entry point, into one typed object.

Every variable is documented in ``.env.example``. Nothing else in Strongroom
reads the environment.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlparse

from ingest.fixity_policy import FixityPolicy
from ingest.health import without_credentials
from ingest.ports import MAX_PRESIGN_SECONDS
from ingest.system_files import DEFAULT_SYSTEM_FILES, parse_patterns
from storage.location_names import place_of
from strongroom.settings_values import (
    MAX_SECONDS,
    SettingsError,
    comma_list,
    duration,
    positive_int,
    switch,
    whole_number,
)

T = TypeVar("T")


__all__ = ["KNOWN_VARIABLES", "NOT_SETTINGS", "Settings", "SettingsError", "callback_host_allowed",
           "fixity_policy", "read_dotenv"]


class _Problems:
    """Reads settings one by one, keeping the problem of each that cannot be
    used instead of stopping at the first, so that one run names them all."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def __call__(self, parse: Callable[..., T], *args: Any, **options: Any) -> T:
        """``parse(*args, **options)``; when it raises SettingsError, its problems are kept
        and None stands in: ``from_env`` raises them all before it is used."""
        try:
            return parse(*args, **options)
        except SettingsError as exc:
            self.found.extend(exc.problems)
            return cast(T, None)


#: the most attempts at an item: the wait doubles after each, and past this
#: it would outlast any outage (and past about a thousand, overflow)
MAX_ATTEMPTS = 100
#: the most items, copies or parts worked on at once by one process
MAX_AT_ONCE = 1000
#: the most days a span in days may be: a century (an S3 retention's limit too)
MAX_DAYS = 36_500


#: Every environment variable Strongroom reads, with a one-line meaning.
KNOWN_VARIABLES: dict[str, str] = {
    "STRONGROOM_DATA_DIR": "folder for the embedded catalog and object store (default ./strongroom-data)",
    "STRONGROOM_DATABASE_URL": "catalog and audit log (default sqlite:///$DATA_DIR/catalog.sqlite3)",
    "STRONGROOM_STORAGE_URL": "object store: file:///absolute/path or s3://bucket/prefix",
    "STRONGROOM_S3_ENDPOINT_URL": "S3 endpoint for non-AWS stores (http://127.0.0.1:8333)",
    "STRONGROOM_S3_REGION": "S3 region name (default us-east-1)",
    "STRONGROOM_S3_PARTS_IN_FLIGHT": "parts of one large object sent to S3 at once; memory per object written is this many parts plus one, 8 MiB each (default 4)",
    "STRONGROOM_S3_OBJECT_LOCK": "governance or compliance: every object written to an S3 location carries S3 Object Lock retention in that mode, for STRONGROOM_S3_RETENTION_DAYS; the bucket must have object lock (`strongroom init` creates new buckets with it); empty = none (default)",
    "STRONGROOM_S3_RETENTION_DAYS": "days every object written is retained under STRONGROOM_S3_OBJECT_LOCK, counted from its write (required with it)",
    "STRONGROOM_REPLICAS": "extra storage locations, comma-separated, in the form of STRONGROOM_STORAGE_URL",
    "STRONGROOM_BROKER_URL": "redis://… to run work on Celery workers; absent = in-process",
    "STRONGROOM_SOURCE_ORGANIZATION": "Source-Organization written into every bag-info.txt",
    "STRONGROOM_CONCURRENCY": "items ingested at once, in process or per worker, and copies verified at once (default 2)",
    "STRONGROOM_MAX_ATTEMPTS": "attempts at an item on transient errors before it is failed (default 5)",
    "STRONGROOM_RETRY_BACKOFF": "first retry delay in seconds, doubled each time (default 1.0)",
    "STRONGROOM_STUCK_AFTER": "seconds an item's lease may go unrenewed before the item is stuck and sent again (default 60)",
    "STRONGROOM_SWEEP_EVERY": "seconds between two sweeps of `strongroom beat` for stuck items (default 10)",
    "STRONGROOM_WORKER_STALL_AFTER": "seconds a worker may hold and take nothing while messages wait in its queues before it restarts itself: its broker connection no longer delivers (default 30)",
    "STRONGROOM_VISIBILITY_TIMEOUT": "seconds before Redis redelivers an unacknowledged message (default 3600)",
    "STRONGROOM_FIXITY_WINDOW_DAYS": "every copy of every version is deep-checked at least once in this many days (default 90)",
    "STRONGROOM_FIXITY_BYTES_PER_DAY": "most bytes deep fixity checks read per day; 0 = no cap, pacing alone spreads them (default 0)",
    "STRONGROOM_FIXITY_SHALLOW_INTERVAL_DAYS": "every copy gets a shallow check (HEAD per object) this often; 0 = never (default 7)",
    "STRONGROOM_FIXITY_AUTO_REPAIR": "1 = a scheduled deep check that finds a copy damaged repairs it at once from a copy verified good or another stored object with the same digests; 0 = only report it, a person decides (default 0)",
    "STRONGROOM_STAGING_DIR": "folder where uploaded batches are unpacked, one sub-folder per batch (default $DATA_DIR/staging); with a broker an upload leaves it once staged in the store",
    "STRONGROOM_STAGING_URL": "object store whose _staging/ prefix holds batches staged for the workers when a broker is set, in the form of STRONGROOM_STORAGE_URL (default: the primary location, STRONGROOM_STORAGE_URL)",
    "STRONGROOM_API_MAX_UPLOAD_BYTES": "largest request body POST /batches accepts, in bytes (default 2147483648)",
    "STRONGROOM_API_MAX_UNPACKED_BYTES": "most bytes one uploaded batch may unpack to (default 10737418240)",
    "STRONGROOM_API_MAX_FILES": "most files (archive members or multipart parts) in one upload (default 10000)",
    "STRONGROOM_API_UPLOAD_IDLE_TIMEOUT": "seconds an upload may send nothing before it is dropped (default 60)",
    "STRONGROOM_API_HEADER_TIMEOUT": "seconds a client may take to send a request's line and headers (default 30)",
    "STRONGROOM_API_UPLOAD_TIMEOUT": "seconds a request body may take in all, however steadily it trickles (default 900)",
    "STRONGROOM_API_CALLBACK_HOSTS": "hosts POST /batches may name in callback_url, comma-separated; *.example.org for a domain's hosts (default: none, callbacks refused)",
    "STRONGROOM_API_PRESIGN_SECONDS": "default life of a presigned S3 download URL, 1 to 3600 seconds (default 300)",
    "STRONGROOM_ANCHOR_EVERY": "`serve` anchors the audit log's head after requests that appended events, at most once in this many seconds, and on shutdown (default 5)",
    "STRONGROOM_AGENT": "name the audit log gives whoever runs a command, for service accounts (default: the operating-system user); same as --agent",
    "STRONGROOM_SKIP_SYSTEM_FILES": "file and folder names skipped in batches with a warning, comma-separated glob patterns, a trailing / for a folder (default .DS_Store,Thumbs.db,desktop.ini,._*,__MACOSX/; empty = ingest every file)",
    "STRONGROOM_SESSION_IDLE_MINUTES": "a console session idle this many minutes is signed out (default 30)",
    "STRONGROOM_COOKIE_SECURE": "console cookies marked Secure: auto = when the request came over https (behind a proxy, run uvicorn with --proxy-headers), always, never (default auto)",
    "STRONGROOM_LOG_LEVEL": "least severe log records `serve`, `worker` and `beat` write: DEBUG, INFO, WARNING, ERROR or CRITICAL (default INFO)",
    "STRONGROOM_LOG_FORMAT": "how `serve`, `worker` and `beat` write log records: human (one readable line each) or json (one JSON object per line, with batch, item, package, agent and event where known) (default human)",
    "STRONGROOM_WORKER_METRICS_PORT": "port where `strongroom worker` serves the Prometheus metrics of its work (every pool process); 0 = none (default 0)",
    "STRONGROOM_WORKER_METRICS_HOST": "address the worker's metrics port listens on (default 127.0.0.1; 0.0.0.0 in a container)",
    "PROMETHEUS_MULTIPROC_DIR": "folder where processes that share it count their work for Prometheus (multiprocess mode); `serve` then reports them all. Default for `worker`: a fresh temporary folder",
}

#: Beginnings of STRONGROOM_* names that are not settings: what the test suite
#: and the benchmarks read, which their runs leave in the environment of every
#: command they start.
NOT_SETTINGS = ("STRONGROOM_TEST_", "STRONGROOM_BENCH_", "STRONGROOM_REQUIRE_BROWSER")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    storage_url: str
    replicas: tuple[str, ...] = ()
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    s3_parts_in_flight: int = 4
    #: S3 Object Lock mode of every object written (``GOVERNANCE``, ``COMPLIANCE``); None: none
    s3_object_lock: str | None = None
    #: days each object written is retained under ``s3_object_lock``
    s3_retention_days: int | None = None
    broker_url: str | None = None
    source_organization: str = "Strongroom"
    concurrency: int = 2
    max_attempts: int = 5
    retry_backoff: float = 1.0
    stuck_after: float = 60.0
    sweep_every: float = 10.0
    stall_after: float = 30.0
    visibility_timeout: int = 3600
    fixity_window_days: int = 90
    fixity_bytes_per_day: int = 0
    fixity_shallow_interval_days: int = 7
    fixity_auto_repair: bool = False
    staging_dir: Path | None = None
    #: the store that holds the staging area (STRONGROOM_STAGING_URL); None: the primary location
    staging_url: str | None = None
    api_max_upload_bytes: int = 2 * 1024**3
    api_max_unpacked_bytes: int = 10 * 1024**3
    api_max_files: int = 10_000
    api_upload_idle_timeout: float = 60.0
    api_presign_seconds: int = 300
    api_header_timeout: float = 30.0
    api_upload_timeout: float = 900.0
    #: host names (or ``*.domain``) callbacks may be sent to; empty: none
    api_callback_hosts: tuple[str, ...] = ()
    #: seconds between two anchors of the audit head by ``serve``, at most
    anchor_every: float = 5.0
    #: least severe log records ``serve``, ``worker`` and ``beat`` write
    log_level: str = "INFO"
    #: glob patterns of system files skipped in batches (ingest.system_files)
    skip_system_files: tuple[str, ...] = DEFAULT_SYSTEM_FILES
    #: minutes a console session may sit idle
    session_idle_minutes: float = 30.0
    #: console cookies Secure: "auto" (when the request came over https), "always", "never"
    cookie_secure: str = "auto"
    #: how log records are written: ``human`` or ``json`` (one object per line)
    log_format: str = "human"
    #: port of the worker's Prometheus metrics; 0: not served
    worker_metrics_port: int = 0
    worker_metrics_host: str = "127.0.0.1"
    #: Prometheus multiprocess folder shared by the processes that count work
    prometheus_multiproc_dir: Path | None = None
    #: the catalog or the store is in the default place (./strongroom-data),
    #: named by no environment variable
    default_place: bool = False

    @property
    def staging(self) -> Path:
        """Where uploaded batches are unpacked: STRONGROOM_STAGING_DIR or $DATA_DIR/staging."""
        return self.staging_dir or self.data_dir / "staging"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Parse ``env``; by default the environment, with what a ``.env`` file in the
        current folder sets for variables the environment does not (``read_dotenv``).
        Raises SettingsError naming every variable at fault."""
        in_file: dict[str, Path] = {}
        if env is None:
            dotenv = Path.cwd() / ".env"
            in_file = dict.fromkeys(read_dotenv(dotenv), dotenv)
            env = os.environ
        read = _Problems()
        read(_check_names, env, in_file)
        data_dir = Path(env.get("STRONGROOM_DATA_DIR") or "strongroom-data").absolute()
        database_url = env.get("STRONGROOM_DATABASE_URL") or f"sqlite:///{data_dir / 'catalog.sqlite3'}"
        read(_check_database, database_url)
        storage_url = env.get("STRONGROOM_STORAGE_URL") or (data_dir / "objects").as_uri()
        read(_check_location, "STRONGROOM_STORAGE_URL", storage_url)
        replicas = read(comma_list, env, "STRONGROOM_REPLICAS", "a storage location URL") or ()
        for url in replicas:
            read(_check_location, "STRONGROOM_REPLICAS", url)
        if len({place_of(url) for url in (storage_url, *replicas)}) != 1 + len(replicas):
            read.found.append("STRONGROOM_REPLICAS must name locations other than the primary, "
                              "once each: two of them are the same folder or prefix (spelt "
                              "otherwise, or reached through `..` or a symbolic link)")
        staging_url = env.get("STRONGROOM_STAGING_URL") or None
        if staging_url is not None:
            read(_check_location, "STRONGROOM_STAGING_URL", staging_url)
        broker = env.get("STRONGROOM_BROKER_URL") or None
        if broker:
            read(_check_broker, broker)
        s3_endpoint_url = env.get("STRONGROOM_S3_ENDPOINT_URL") or None
        if s3_endpoint_url is not None:
            read(_check_endpoint, "STRONGROOM_S3_ENDPOINT_URL", s3_endpoint_url)
        lock_mode, retention_days = read(_object_lock, env) or (None, None)
        settings = cls(
            data_dir=data_dir,
            database_url=database_url,
            storage_url=storage_url,
            replicas=replicas,
            s3_endpoint_url=s3_endpoint_url,
            s3_region=env.get("STRONGROOM_S3_REGION") or "us-east-1",
            s3_parts_in_flight=read(positive_int, env, "STRONGROOM_S3_PARTS_IN_FLIGHT", 4,
                                    MAX_AT_ONCE),
            s3_object_lock=lock_mode,
            s3_retention_days=retention_days,
            broker_url=broker,
            source_organization=env.get("STRONGROOM_SOURCE_ORGANIZATION") or "Strongroom",
            concurrency=read(positive_int, env, "STRONGROOM_CONCURRENCY", 2, MAX_AT_ONCE),
            max_attempts=read(positive_int, env, "STRONGROOM_MAX_ATTEMPTS", 5, MAX_ATTEMPTS),
            retry_backoff=read(duration, env, "STRONGROOM_RETRY_BACKOFF", 1.0, least=0.01, zero=True),
            stuck_after=read(duration, env, "STRONGROOM_STUCK_AFTER", 60.0, least=1),
            sweep_every=read(duration, env, "STRONGROOM_SWEEP_EVERY", 10.0, least=1),
            stall_after=read(duration, env, "STRONGROOM_WORKER_STALL_AFTER", 30.0, least=1),
            visibility_timeout=read(positive_int, env, "STRONGROOM_VISIBILITY_TIMEOUT", 3600,
                                    MAX_SECONDS),
            fixity_window_days=read(positive_int, env, "STRONGROOM_FIXITY_WINDOW_DAYS", 90,
                                    MAX_DAYS),
            fixity_bytes_per_day=read(whole_number, env, "STRONGROOM_FIXITY_BYTES_PER_DAY", 0),
            fixity_shallow_interval_days=read(
                whole_number, env, "STRONGROOM_FIXITY_SHALLOW_INTERVAL_DAYS", 7, MAX_DAYS),
            fixity_auto_repair=read(switch, env, "STRONGROOM_FIXITY_AUTO_REPAIR", False),
            staging_dir=Path(env["STRONGROOM_STAGING_DIR"]).absolute()
            if env.get("STRONGROOM_STAGING_DIR") else None,
            staging_url=staging_url,
            api_max_upload_bytes=read(positive_int, env, "STRONGROOM_API_MAX_UPLOAD_BYTES",
                                      2 * 1024**3),
            api_max_unpacked_bytes=read(positive_int, env, "STRONGROOM_API_MAX_UNPACKED_BYTES",
                                        10 * 1024**3),
            api_max_files=read(positive_int, env, "STRONGROOM_API_MAX_FILES", 10_000),
            api_upload_idle_timeout=read(duration, env, "STRONGROOM_API_UPLOAD_IDLE_TIMEOUT",
                                         60.0, least=0.1),
            api_presign_seconds=read(positive_int, env, "STRONGROOM_API_PRESIGN_SECONDS", 300,
                                     MAX_PRESIGN_SECONDS),
            api_header_timeout=read(duration, env, "STRONGROOM_API_HEADER_TIMEOUT", 30.0, least=1),
            api_upload_timeout=read(duration, env, "STRONGROOM_API_UPLOAD_TIMEOUT", 900.0, least=1),
            api_callback_hosts=read(_callback_hosts, env),
            anchor_every=read(duration, env, "STRONGROOM_ANCHOR_EVERY", 5.0, least=0.1, zero=True),
            log_level=read(_log_level, env),
            skip_system_files=read(_skip_system_files, env),
            session_idle_minutes=read(duration, env, "STRONGROOM_SESSION_IDLE_MINUTES", 30.0,
                                      least=1, unit="minutes", most=MAX_SECONDS / 60),
            cookie_secure=read(_cookie_secure, env),
            log_format=read(_log_format, env),
            worker_metrics_port=read(whole_number, env, "STRONGROOM_WORKER_METRICS_PORT", 0,
                                     65535),
            worker_metrics_host=(env.get("STRONGROOM_WORKER_METRICS_HOST") or "127.0.0.1").strip(),
            prometheus_multiproc_dir=Path(env["PROMETHEUS_MULTIPROC_DIR"]).absolute()
            if env.get("PROMETHEUS_MULTIPROC_DIR") else None,
            default_place=not env.get("STRONGROOM_DATA_DIR") and not (
                env.get("STRONGROOM_DATABASE_URL") and env.get("STRONGROOM_STORAGE_URL")),
        )
        if read.found:
            raise SettingsError(*read.found)
        return settings


def _object_lock(env: Mapping[str, str]) -> tuple[str | None, int | None]:
    """STRONGROOM_S3_OBJECT_LOCK (mode, upper case as S3 spells it) and
    STRONGROOM_S3_RETENTION_DAYS, which it requires and which means nothing without it."""
    raw = (env.get("STRONGROOM_S3_OBJECT_LOCK") or "").strip()
    days = env.get("STRONGROOM_S3_RETENTION_DAYS") or ""
    if not raw:
        if days.strip():
            raise SettingsError("STRONGROOM_S3_RETENTION_DAYS is set but STRONGROOM_S3_OBJECT_LOCK "
                                "is not: set the lock mode (governance or compliance) too, or "
                                "remove the retention")
        return None, None
    if raw.lower() not in ("governance", "compliance"):
        raise SettingsError(f"STRONGROOM_S3_OBJECT_LOCK must be governance or compliance, "
                            f"not {raw!r}")
    if not days.strip():
        raise SettingsError("STRONGROOM_S3_OBJECT_LOCK needs STRONGROOM_S3_RETENTION_DAYS: how "
                            "many days each object is retained from its write (e.g. 3650)")
    return raw.upper(), positive_int(env, "STRONGROOM_S3_RETENTION_DAYS", 1, MAX_DAYS)


def _skip_system_files(env: Mapping[str, str]) -> tuple[str, ...]:
    """STRONGROOM_SKIP_SYSTEM_FILES: absent, the default list; set but empty, none."""
    name = "STRONGROOM_SKIP_SYSTEM_FILES"
    if name not in env:
        return DEFAULT_SYSTEM_FILES
    try:
        return parse_patterns(env[name])
    except ValueError as exc:
        raise SettingsError(f"{name}: {exc}") from exc


def fixity_policy(settings: Settings) -> FixityPolicy:
    """The fixity policy the settings describe."""
    return FixityPolicy(window=timedelta(days=settings.fixity_window_days),
                        bytes_per_day=settings.fixity_bytes_per_day,
                        shallow_interval=timedelta(days=settings.fixity_shallow_interval_days),
                        auto_repair=settings.fixity_auto_repair)


def _cookie_secure(env: Mapping[str, str]) -> str:
    value = env.get("STRONGROOM_COOKIE_SECURE", "auto").strip().lower() or "auto"
    if value not in ("auto", "always", "never"):
        raise SettingsError(f"STRONGROOM_COOKIE_SECURE must be auto, always or never, not {value!r}")
    return value


def read_dotenv(path: Path | None = None) -> set[str]:
    """Set, from a ``.env`` file (by default the one in the current folder), each
    variable the environment does not already hold: a real environment variable
    always wins over the file. So AWS credentials there reach the S3 client too.
    Returns the names the file sets (none without a file). Raises SettingsError
    for a file that cannot be read."""
    from dotenv import dotenv_values, load_dotenv

    path = path or Path.cwd() / ".env"
    if not path.is_file():
        return set()
    try:
        names = set(dotenv_values(path))
        load_dotenv(path, override=False)
    except (OSError, UnicodeDecodeError) as exc:
        raise SettingsError(f"the settings file {path} cannot be read: {exc}") from exc
    return names


def _check_names(env: Mapping[str, str], in_file: Mapping[str, Path]) -> None:
    """Every STRONGROOM_* variable set is one Strongroom reads. A misspelt name
    would otherwise be ignored without a word, and the archive would run in
    another shape than the one meant: a broker URL under a misspelt name ingests
    on the submitting host instead of on the workers; a misspelt lease time
    leaves the default. So it is refused, like any other setting that cannot be used,
    named (with the file it is in) and with the setting it is closest to."""
    import difflib

    unknown = sorted(name for name in env if name.startswith("STRONGROOM_")
                     and name not in KNOWN_VARIABLES and not name.startswith(NOT_SETTINGS))
    problems = []
    for name in unknown:
        where = f" (in {in_file[name]})" if name in in_file else ""
        close = difflib.get_close_matches(name, KNOWN_VARIABLES, n=1, cutoff=0.8)
        guess = f"did you mean {close[0]}?" if close else "every setting is in .env.example"
        problems.append(f"{name}{where} is not a setting Strongroom knows: {guess}")
    if problems:
        raise SettingsError(*problems)


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("human", "json")


def _log_format(env: Mapping[str, str]) -> str:
    raw = (env.get("STRONGROOM_LOG_FORMAT") or "human").strip().lower()
    if raw not in LOG_FORMATS:
        raise SettingsError(f"STRONGROOM_LOG_FORMAT must be human or json, "
                            f"not {env.get('STRONGROOM_LOG_FORMAT')!r}")
    return raw


def _log_level(env: Mapping[str, str]) -> str:
    raw = (env.get("STRONGROOM_LOG_LEVEL") or "INFO").strip().upper()
    if raw not in LOG_LEVELS:
        raise SettingsError(f"STRONGROOM_LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                            f"not {env.get('STRONGROOM_LOG_LEVEL')!r}")
    return raw






def _check_port(name: str, url: str) -> None:
    """A URL's port, when it has one, is a number from 1 to 65535 (else every
    command ended in a traceback from the database or broker library)."""
    try:
        _ = urlparse(url).port
    except ValueError:
        raise SettingsError(f"{name}: the port in {without_credentials(url)!r} is not a number "
                            "from 1 to 65535") from None


def _check_database(url: str) -> None:
    if urlparse(url).scheme.partition("+")[0] not in ("sqlite", "postgresql"):
        raise SettingsError("STRONGROOM_DATABASE_URL must be sqlite:… or postgresql…, "
                            f"not {without_credentials(url)!r}")
    _check_port("STRONGROOM_DATABASE_URL", url)


def _check_broker(url: str) -> None:
    if not url.startswith(("redis://", "rediss://")):
        raise SettingsError("STRONGROOM_BROKER_URL must be redis://… or rediss://…, "
                            f"not {without_credentials(url)!r}")
    _check_port("STRONGROOM_BROKER_URL", url)


def _check_endpoint(name: str, url: str) -> None:
    """An HTTP endpoint: http:// or https://, a host and a usable port. Without
    the scheme the S3 library refused it only at the first request, in a
    traceback from ``submit`` and after a worker had said it was ready."""
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not url.startswith(f"{parsed.scheme}://"):
        raise SettingsError(f"{name} must start with http:// or https:// "
                            f"(e.g. http://127.0.0.1:8333), not {url!r}")
    if not parsed.hostname:
        raise SettingsError(f"{name} must name a host after {parsed.scheme}:// "
                            f"(e.g. http://127.0.0.1:8333), not {url!r}")
    _check_port(name, url)


def _check_location(name: str, url: str) -> None:
    parsed = urlparse(url)
    if parsed.scheme not in ("file", "s3"):
        raise SettingsError(f"{name} must be file:///… or s3://…, not {url!r}")
    if parsed.scheme == "file" and (not parsed.path.startswith("/")
                                    or parsed.netloc not in ("", "localhost")):
        # file://relative/path reads as host "relative" and path /path: a folder
        # other than the one meant, taken without a word.
        raise SettingsError(f"{name}: file:// needs an absolute path, three slashes and all "
                            f"(file:///srv/strongroom/objects), not {url!r}")
    if parsed.scheme == "s3" and len(parsed.netloc) < 3:
        raise SettingsError(f"{name}: s3:// needs a bucket name of at least 3 characters, not {url!r}")


def _callback_hosts(env: Mapping[str, str]) -> tuple[str, ...]:
    hosts = tuple(h.lower().rstrip(".") for h in comma_list(
        env, "STRONGROOM_API_CALLBACK_HOSTS", "a host name or *.domain"))
    for host in hosts:
        name = host[2:] if host.startswith("*.") else host
        if not name or any(c in name for c in "*/:@ ?#"):
            raise SettingsError(
                f"STRONGROOM_API_CALLBACK_HOSTS: {host!r} is not a host name or *.domain")
    return hosts


def callback_host_allowed(host: str, allowed: tuple[str, ...]) -> bool:
    """Whether ``host`` is one of ``allowed`` (exact names, or ``*.domain`` for any
    host under that domain, not the domain itself)."""
    host = host.lower().rstrip(".")
    return any(host.endswith(entry[1:]) if entry.startswith("*.") else host == entry
               for entry in allowed)





