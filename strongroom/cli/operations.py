"""Running distributed mode: worker, beat, init."""

from __future__ import annotations

import atexit
import json
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from ingest.health import without_credentials
from strongroom.cli.base import (
    EXIT_PROBLEMS,
    _emit,
    _settings_and_services,
    command_errors,
    json_option,
    main,
)

if TYPE_CHECKING:
    from strongroom.settings import Settings

# --------------------------------------------------------------------------- distributed mode


QUEUES = ("ingest", "fixity")
#: beat's own work (the stuck-item sweep, fixity planning, anchoring): every worker
#: takes it, whatever queues it is given (workers.reliability.QUEUE_HOUSEKEEPING)
HOUSEKEEPING = "housekeeping"
passthrough = {"ignore_unknown_options": True, "allow_extra_args": False}


def _queues(value: str) -> str:
    names = [q.strip() for q in value.split(",") if q.strip()]
    unknown = sorted(set(names) - {*QUEUES, HOUSEKEEPING})
    if not names or unknown:
        raise click.BadParameter(
            f"choose from {', '.join(QUEUES)}; not {', '.join(unknown) or value!r}",
            param_hint="--queues")
    return ",".join(dict.fromkeys([*names, HOUSEKEEPING]))


def _celery(command: str, argv: list[str], as_json: bool, document: dict[str, Any]) -> None:
    """Run a Celery command on our app; with --json, one document when it ends."""
    from strongroom.celery_entry import app_for
    from strongroom.cli.logs import configure_from
    from strongroom.settings import Settings
    from workers.celery_app import notes_as_records, run_command, use_logging

    settings = Settings.from_env()
    app = app_for(settings)
    configure_from(settings)  # from the start: Celery warns before it sets logging up
    use_logging(lambda level: configure_from(settings, level))
    quiet = []
    if settings.log_format == "json":
        # Every line a JSON object: no banner (its facts are in our records and
        # the --json document), and the worker's shutdown notes as records.
        quiet = ["--quiet"]
        notes_as_records()
    if not as_json:
        sys.exit(run_command(app, [*quiet, command, *argv]))
    # Celery writes its banner and shutdown notes to the real stdout, and may
    # replace sys.stdout with a logger: point file descriptor 1 at stderr while
    # it runs, so that stdout carries nothing but our one document.
    sys.stdout.flush()
    real_stdout = os.dup(1)
    written: list[bool] = []

    def write_document(exit_code: int | None) -> None:
        if written or exit_code is None:
            return
        written.append(True)
        with os.fdopen(os.dup(real_stdout), "w") as out:
            out.write(json.dumps({**document, "exit_code": exit_code}, indent=2) + "\n")

    # The document is written as the process exits, after a worker's stall watch
    # has had its say (exit handlers run last registered first, and the watch
    # registers its own while the worker runs): a worker whose process the watch
    # replaces by its own command ends in that command, whose document is the one.
    # A worker the watch ends because it was blocked from stopping ends with exit
    # code 0 and no exit handlers, and writes it then.
    atexit.register(lambda: write_document(document.get("exit_code")))
    if command == "worker":
        from workers.stall_watch import at_forced_end, before_replace

        def restore_stdout() -> None:
            # The command run again in this process must find its stdout where it was.
            os.dup2(real_stdout, 1)

        at_forced_end(lambda: write_document(0))
        before_replace(restore_stdout)
    os.dup2(2, 1)
    try:
        code = run_command(app, ["--quiet", command, *argv])
    finally:
        if sys.__stdout__ is not None:
            sys.__stdout__.flush()
        os.dup2(real_stdout, 1)
    document["exit_code"] = code
    sys.exit(code)


@main.command(context_settings=passthrough)
@click.option("-Q", "--queues", default="ingest,fixity", show_default=True,
              help="Queues to take work from; every worker also takes beat's "
                   "(housekeeping: the stuck-item sweep, fixity planning, anchoring).")
@click.option("-c", "--concurrency", type=click.IntRange(min=1),
              help="Pool processes (default STRONGROOM_CONCURRENCY, 2).")
@click.option("-l", "--loglevel",
              help="Least severe log records written (default STRONGROOM_LOG_LEVEL, INFO).")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@json_option
@command_errors
def worker(queues: str, concurrency: int | None, loglevel: str | None,
           celery_args: tuple[str, ...], as_json: bool) -> None:
    """Run a Celery worker (prefork pool) on the ingest and fixity queues.

    Any further option goes to `celery worker` as it is (e.g. --hostname,
    --without-gossip --without-mingle --without-heartbeat). Each pool process
    opens its own catalog and store connections. Stop it with SIGTERM: it
    finishes the items in hand; SIGKILL loses nothing either: the leases of
    the items in hand lapse after STRONGROOM_STUCK_AFTER seconds (60) and beat's
    sweep sends them to another worker.
    """
    from strongroom.settings import Settings

    settings = Settings.from_env()
    queues = _queues(queues)
    pool = concurrency or settings.concurrency
    _refuse_another_releases_catalog(settings)
    if settings.worker_metrics_port:
        _serve_worker_metrics(settings)
    argv = [f"--queues={queues}", f"--concurrency={pool}",
            f"--loglevel={loglevel or settings.log_level}",
            "--pool=prefork", *celery_args]
    _celery("worker", argv, as_json, {"command": "worker", "queues": queues.split(","),
                                      "concurrency": pool})


def _refuse_another_releases_catalog(settings: Settings) -> None:
    """A worker does not start on a catalog an earlier release made (CatalogOutdated:
    `strongroom init` upgrades it) or a later one (StorageError). A catalog out of
    reach is waited for, as the pool processes do (started before the database)."""
    from ingest.errors import CatalogUnavailable
    from strongroom.bootstrap import check_catalog_schema

    try:
        check_catalog_schema(settings)
    except CatalogUnavailable:
        pass


def _serve_worker_metrics(settings: Settings) -> None:
    """Serve the work of this worker's every pool process (Prometheus multiprocess
    mode) on STRONGROOM_WORKER_METRICS_HOST:PORT. The folder where the processes
    count is PROMETHEUS_MULTIPROC_DIR, else a fresh one removed when the worker ends;
    it is named in the environment before any process counts anything, and the pool
    processes inherit it."""
    import shutil
    import tempfile
    from pathlib import Path

    from workers.stall_watch import before_replace, restarts

    folder = settings.prometheus_multiproc_dir
    if folder is None:
        temporary = Path(tempfile.mkdtemp(prefix="strongroom-worker-metrics-"))
        atexit.register(shutil.rmtree, temporary, ignore_errors=True)

        def forget() -> None:
            # Replaced by its own command after a stall, the process would otherwise
            # leave this folder behind and take it for one PROMETHEUS_MULTIPROC_DIR named.
            shutil.rmtree(temporary, ignore_errors=True)
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)

        before_replace(forget)
        folder = temporary
    folder.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(folder)  # read by prometheus-client on import
    from strongroom.metrics import serve_worker_metrics

    try:
        serve_worker_metrics(settings.worker_metrics_host, settings.worker_metrics_port, folder,
                             restarts=restarts())
    except OSError as exc:
        raise click.ClickException(
            f"cannot serve the worker's metrics on {settings.worker_metrics_host}:"
            f"{settings.worker_metrics_port}: {exc.strerror or exc}") from exc


@main.command(context_settings=passthrough)
@click.option("-l", "--loglevel",
              help="Least severe log records written (default STRONGROOM_LOG_LEVEL, INFO).")
@click.option("--schedule-file", type=click.Path(dir_okay=False, path_type=str),
              help="Where beat keeps its state (default $STRONGROOM_DATA_DIR/celerybeat-schedule).")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@json_option
@command_errors
def beat(loglevel: str | None, schedule_file: str | None, celery_args: tuple[str, ...],
         as_json: bool) -> None:
    """Run the scheduler: every STRONGROOM_SWEEP_EVERY seconds it has a worker send
    stuck items again (leases not renewed for STRONGROOM_STUCK_AFTER seconds,
    messages the broker lost), so they recover by themselves.

    One per installation: it refuses to start while another beat holds the
    lock in the broker, and names it.
    """
    from ingest.errors import QueueUnavailable
    from strongroom.settings import Settings
    from workers.beat_lock import LOCK_TTL, running_beat

    settings = Settings.from_env()
    if settings.broker_url:
        try:
            holder = running_beat(settings.broker_url)
        except QueueUnavailable:
            # Started before Redis (a reboot, compose): beat waits for it, and
            # sends nothing until it holds the lock (workers.beat_lock).
            holder = None
        if holder is not None:
            raise click.ClickException(
                f"another strongroom beat is running ({holder}): one beat per installation "
                f"sends the schedule, so this one does not start. If that beat was stopped "
                f"just now, its lock lapses within {LOCK_TTL} s; start this one again then.")
    if schedule_file is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        schedule_file = str(settings.data_dir / "celerybeat-schedule")
    argv = [f"--loglevel={loglevel or settings.log_level}", f"--schedule={schedule_file}",
            *celery_args]
    _celery("beat", argv, as_json, {"command": "beat", "schedule_file": schedule_file,
                                    "sweep_every": settings.sweep_every,
                                    "stuck_after": settings.stuck_after})




@main.command()
@json_option
@command_errors
def init(as_json: bool) -> None:
    """Prepare the catalog (create its PostgreSQL database if it does not exist and
    the role may, then migrate to the newest schema) and the object store (create
    the S3 bucket if it does not exist). Safe to run again."""
    from ingest.commit_records import holding_commits
    from strongroom.bootstrap import create_catalog_database, prepare_catalog
    from strongroom.settings import Settings

    settings = Settings.from_env()
    created = create_catalog_database(settings)
    schema = prepare_catalog(settings)  # init alone upgrades a catalog an earlier release made
    settings, services = _settings_and_services(settings=settings)
    store = services.store
    store.ensure_ready()  # an S3 store: its bucket must exist before any upload
    if services.staging is not None:
        services.staging.ensure_ready()  # STRONGROOM_STAGING_URL: its bucket too
    # An empty catalog over a store that already holds an archive: a catalog lost,
    # or STRONGROOM_DATABASE_URL naming the wrong database. Ingesting into it
    # would start a second record of the same store; a person decides.
    archive_in = holding_commits(services.locations) if services.catalog.is_empty() else []
    document = {"catalog": without_credentials(settings.database_url),
                "database_created": created, "schema": schema,
                "migrated": schema != "current",
                "store": store.location, "bucket": store.bucket,
                "broker": without_credentials(settings.broker_url) if settings.broker_url else None,
                "empty_catalog_over_an_archive": archive_in}

    def human(doc: dict[str, Any]) -> None:
        if doc["database_created"]:
            click.echo(f"catalog {doc['catalog']}: database created")
        said = {"created": "schema created", "upgraded": "schema upgraded to this release's",
                "current": "schema up to date"}[doc["schema"]]
        click.echo(f"catalog {doc['catalog']}: {said}")
        click.echo(f"store {doc['store']}: ready")
        if doc["empty_catalog_over_an_archive"]:
            click.echo(f"the catalog is empty, but {', '.join(doc['empty_catalog_over_an_archive'])} "
                       "already holds committed versions: if the catalog was lost, restore it from "
                       "a backup or rebuild it from the store (`strongroom catalog rebuild`); if "
                       "STRONGROOM_DATABASE_URL names the wrong database, correct it")

    _emit(as_json, document, human)
    if archive_in:
        sys.exit(EXIT_PROBLEMS)
