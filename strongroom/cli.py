"""The ``strongroom`` command.

Contract (other tools rely on it): every command takes ``--json`` and then
prints exactly one JSON document on stdout. Exit codes: 0 all good; 1 the
command ran and found problems (an item rejected, failed or stuck, a fixity
failure, a broken audit chain, a service unavailable); 2 usage error or
unreadable input. The long-running ``worker`` and ``beat`` print their document
when they stop.

Without a broker, ``submit`` and ``requeue`` ingest in this process; with
STRONGROOM_BROKER_URL set, they send item ids to the Celery workers (only once
the catalog rows are committed) and return, or wait with ``--wait``.

Heavy libraries are imported inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ingest.pipeline import Services
    from ingest.ports import Catalog
    from strongroom.settings import Settings
    from workers.dispatch import Dispatcher

EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


def _emit(as_json: bool, document: dict[str, Any], human: Callable[[dict[str, Any]], None]) -> None:
    if as_json:
        click.echo(json.dumps(document, indent=2, ensure_ascii=False, default=str))
    else:
        human(document)


def _fail(as_json: bool, code: int, kind: str, message: str) -> None:
    if as_json:
        click.echo(json.dumps({"error": {"kind": kind, "message": message}}, indent=2))
    click.echo(f"strongroom: {message}", err=True)
    sys.exit(code)


def command_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Map domain errors to exit codes, in one place."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from ingest.errors import InputError, NotFound, StrongroomError
        from strongroom.settings import SettingsError

        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except (InputError, NotFound, SettingsError) as exc:
            _fail(as_json, EXIT_USAGE, type(exc).__name__, str(exc))
        except StrongroomError as exc:
            _fail(as_json, EXIT_PROBLEMS, type(exc).__name__, str(exc))

    return wrapper


def _services():  # type: ignore[no-untyped-def]
    from strongroom.bootstrap import build_services
    from strongroom.settings import Settings

    return build_services(Settings.from_env())


json_option = click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option("0.1.0", prog_name="strongroom")
def main() -> None:
    """Strongroom: archival ingest and preservation.

    Batches of documents go in; immutable, verified BagIt packages come out,
    with every step in a hash-chained audit log.
    """


# --------------------------------------------------------------------------- submit / status


def _print_batch(report: dict[str, Any]) -> None:
    click.echo(f"batch {report['batch_id']}")
    for f in report["findings"]:
        click.echo(f"  batch: {f['code']}: {f['message']}")
    for item in report["items"]:
        where = f" -> {item['package_id']} v{item['version']}" if item["package_id"] else ""
        stuck = f"  (stuck: no progress for over {report['stuck_after']:g} s)" \
            if item.get("stuck") else ""
        click.echo(f"  {item['status']:<9} {item['name']}{where}{stuck}")
        for f in item["findings"]:
            place = f.get("pointer") if f.get("pointer") is not None else f.get("path", "")
            click.echo(f"            {f['code']} {place or ''}: {f['message']}")
    counts = ", ".join(f"{n} {s}" for s, n in report["counts"].items() if n)
    click.echo(f"{len(report['items'])} items: {counts or 'none'}")
    if report.get("stuck"):
        click.echo(f"{report['stuck']} stuck: send them again with "
                   f"`strongroom requeue {report['batch_id']}`")
    if "enqueued" in report and "timed_out" not in report:
        click.echo(f"{report['enqueued']} items sent to the workers; follow with "
                   f"`strongroom status {report['batch_id']}`")
    if report.get("enqueue_error"):
        click.echo(f"not sent: {report['enqueue_error']}; the items stay accepted, "
                   f"send them with `strongroom requeue {report['batch_id']}`")
    if report.get("timed_out"):
        click.echo("gave up waiting: some items are not finished yet")


def _has_problems(report: dict[str, Any]) -> bool:
    from strongroom.reports import batch_has_problems

    return (batch_has_problems(report) or bool(report.get("stuck"))
            or bool(report.get("timed_out")) or bool(report.get("enqueue_error")))


def _dispatcher(settings: Settings, services: Services,
                on_result: Callable[[Any], None] | None = None) -> Dispatcher:
    """The workers' queue when a broker is configured, else this process."""
    from workers.dispatch import CeleryDispatcher, InProcessDispatcher

    if settings.broker_url:
        from strongroom.celery_entry import worker_settings

        return CeleryDispatcher(worker_settings(settings))
    return InProcessDispatcher(services, concurrency=settings.concurrency,
                               max_attempts=settings.max_attempts,
                               backoff=settings.retry_backoff, on_result=on_result)


def _hand_over(settings: Settings, services: Services, batch_id: str, item_ids: list[str], *,
               wait: bool, timeout: float | None, as_json: bool,
               requeue: bool = False) -> dict[str, Any]:
    """Have the items ingested and return the batch report.

    Without a broker the items are ingested in this process before it returns.
    With one, they are sent to the ``ingest`` queue (the rows are committed
    already) and, with ``wait``, the catalog is polled until they are final.
    """
    from contextlib import nullcontext

    from ingest.errors import QueueUnavailable
    from strongroom.reports import batch_report

    show_bar = (not as_json and sys.stderr.isatty() and bool(item_ids)
                and (wait or not settings.broker_url))
    progress = (click.progressbar(length=len(item_ids), label="ingesting", file=sys.stderr)
                if show_bar else nullcontext())
    extra: dict[str, Any] = {}
    with progress as bar:
        dispatcher = _dispatcher(settings, services,
                                 on_result=(lambda _r: bar.update(1)) if bar else None)
        try:
            dispatcher.ingest(item_ids)
        except QueueUnavailable as exc:
            extra["enqueue_error"] = str(exc)  # the items stay accepted
        else:
            if not dispatcher.finishes_items:
                extra["enqueued"] = len(item_ids)
                if requeue:
                    services.catalog.record_requeue(item_ids)
                if wait:
                    extra["timed_out"] = not _wait_until_final(services.catalog, batch_id,
                                                               item_ids, timeout, bar)
        finally:
            dispatcher.close()
    report = batch_report(services.catalog, batch_id)
    report.update(extra)
    return report


def _wait_until_final(catalog: Catalog, batch_id: str, item_ids: list[str],
                      timeout: float | None, bar: Any) -> bool:
    """Poll the catalog until every one of ``item_ids`` is final; False on timeout.

    A catalog that is briefly unreachable is waited for, like the items."""
    import time

    from ingest.errors import CatalogUnavailable

    wanted = set(item_ids)
    deadline = None if timeout is None else time.monotonic() + timeout
    pause = 0.1
    done = 0
    while True:
        try:
            now_done = sum(1 for item in catalog.list_items(batch_id)
                           if item.item_id in wanted and item.status.is_final)
        except CatalogUnavailable:
            now_done = done
        if bar is not None and now_done > done:
            bar.update(now_done - done)
        done = now_done
        if done >= len(wanted):
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        time.sleep(pause)
        pause = min(pause * 1.5, 1.0)


def _settings_and_services():  # type: ignore[no-untyped-def]
    from strongroom.bootstrap import build_services
    from strongroom.settings import Settings

    settings = Settings.from_env()
    return settings, build_services(settings)


wait_option = click.option(
    "--wait", is_flag=True,
    help="With a broker: return only once every item is final (without one, always).")
timeout_option = click.option(
    "--timeout", type=click.FloatRange(min=0), metavar="SECONDS",
    help="With --wait: stop waiting after this long (exit 1; the items go on).")


@main.command()
@click.argument("batch_dir", type=click.Path(file_okay=False, path_type=str))
@wait_option
@timeout_option
@json_option
@command_errors
def submit(batch_dir: str, wait: bool, timeout: float | None, as_json: bool) -> None:
    """Ingest a batch folder: one item per child folder (metadata.json + payload).

    Without a broker the items are ingested here and now. With
    STRONGROOM_BROKER_URL set they are sent to the workers and the command
    returns at once (items "accepted"), or with --wait once they are final.
    """
    from ingest.pipeline import submit_batch

    settings, services = _settings_and_services()
    submitted = submit_batch(batch_dir, services)  # committed: now the ids may be sent
    ids = [i.item_id for i in submitted.items]
    report = _hand_over(settings, services, submitted.batch.batch_id, ids, wait=wait,
                        timeout=timeout, as_json=as_json)
    _emit(as_json, report, _print_batch)
    sys.exit(EXIT_PROBLEMS if _has_problems(report) else EXIT_OK)


stuck_after_option = click.option(
    "--stuck-after", type=click.FloatRange(min=0), metavar="SECONDS",
    help="An accepted item with no progress for this long is stuck "
         "(default STRONGROOM_STUCK_AFTER, 600).")


def _mark_stuck(report: dict[str, Any], items: list[Any], now: Any, after: float) -> None:
    """Add ``stuck`` to every item of ``report`` and the count to the report."""
    from datetime import timedelta

    idle_before = now - timedelta(seconds=after)
    stuck = {i.item_id for i in items
             if not i.status.is_final and i.updated_at is not None and i.updated_at < idle_before}
    for entry in report["items"]:
        entry["stuck"] = entry["item_id"] in stuck
    report["stuck"] = sum(1 for entry in report["items"] if entry["stuck"])
    report["stuck_after"] = after


@main.command()
@click.argument("batch_id")
@stuck_after_option
@json_option
@command_errors
def status(batch_id: str, stuck_after: float | None, as_json: bool) -> None:
    """Show a batch's items and findings, from the catalog.

    Items still accepted with no progress for --stuck-after seconds are marked
    stuck (their messages were lost): `strongroom requeue` sends them again.
    """
    from strongroom.reports import batch_report

    settings, services = _settings_and_services()
    report = batch_report(services.catalog, batch_id)
    after = settings.stuck_after if stuck_after is None else stuck_after
    _mark_stuck(report, services.catalog.list_items(batch_id), services.clock.now(), after)
    _emit(as_json, report, _print_batch)
    sys.exit(EXIT_PROBLEMS if _has_problems(report) else EXIT_OK)


@main.command()
@click.argument("batch_id")
@click.option("--failed", "include_failed", is_flag=True,
              help="Also put failed items back to accepted and send them.")
@click.option("--stuck-after", type=click.FloatRange(min=0), metavar="SECONDS",
              help="Only accepted items with no progress for this long (default: every "
                   "accepted item; a duplicate of a queued message is harmless).")
@wait_option
@timeout_option
@json_option
@command_errors
def requeue(batch_id: str, include_failed: bool, stuck_after: float | None, wait: bool,
            timeout: float | None, as_json: bool) -> None:
    """Send a batch's unfinished items to be ingested again.

    Every accepted item is sent again (or only the stuck ones, with
    --stuck-after); with --failed, failed items are first put back to accepted.
    Without a broker they are ingested in this process.
    """
    from datetime import timedelta

    from ingest.models import ItemStatus

    settings, services = _settings_and_services()
    catalog = services.catalog
    items = catalog.list_items(batch_id)
    reset = []
    if include_failed:
        for item in items:
            if item.status is ItemStatus.FAILED:
                catalog.reset_item(item.item_id)
                reset.append(item.item_id)
    idle_before = (None if stuck_after is None
                   else services.clock.now() - timedelta(seconds=stuck_after))

    def wanted(item: Any) -> bool:
        if item.status is not ItemStatus.ACCEPTED:
            return False
        return idle_before is None or (item.updated_at is not None
                                       and item.updated_at < idle_before)

    chosen = [i.item_id for i in items if wanted(i)] + reset
    report = _hand_over(settings, services, batch_id, chosen, wait=wait, timeout=timeout,
                        as_json=as_json, requeue=True)
    report["requeued"] = len(chosen)
    report["reset"] = len(reset)

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"{doc['requeued']} items sent again ({doc['reset']} of them failed before)")
        _print_batch(doc)

    _emit(as_json, report, human)
    sys.exit(EXIT_PROBLEMS if _has_problems(report) else EXIT_OK)


# --------------------------------------------------------------------------- list / show


@main.command("list")
@json_option
@command_errors
def list_packages(as_json: bool) -> None:
    """List packages with their latest version."""
    packages = _services().catalog.list_packages()
    document = {"packages": [{"package_id": p.package_id, "identifier": p.identifier,
                              "title": p.title, "latest_version": p.latest_version}
                             for p in packages]}

    def human(doc: dict[str, Any]) -> None:
        for p in doc["packages"]:
            click.echo(f"{p['package_id']}  v{p['latest_version']:<3} {p['identifier']}  {p['title']}")
        click.echo(f"{len(doc['packages'])} packages")

    _emit(as_json, document, human)


@main.command()
@click.argument("package")
@json_option
@command_errors
def show(package: str, as_json: bool) -> None:
    """Show a package (by id or record identifier): metadata, versions, files, fixity."""
    from strongroom.reports import package_report

    catalog = _services().catalog
    document = package_report(catalog, catalog.resolve_package(package))

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"{doc['package_id']}  {doc['identifier']}\n  {doc['title']}")
        for v in doc["versions"]:
            fixity = v["last_fixity"]
            fx = f"last fixity {fixity['outcome']} at {fixity['at']}" if fixity else "never re-verified"
            click.echo(f"  v{v['version']} {v['created_at']} oxum {v['payload_oxum']} ({fx})")
            for f in v["files"]:
                click.echo(f"      {f['sha256'][:16]}… {f['size']:>12} {f['path']!r}")

    _emit(as_json, document, human)


# --------------------------------------------------------------------------- verify / fetch


@main.command()
@click.argument("packages", nargs=-1)
@click.option("--all", "all_packages", is_flag=True, help="Verify every package.")
@json_option
@command_errors
def verify(packages: tuple[str, ...], all_packages: bool, as_json: bool) -> None:
    """Re-read and re-hash every stored byte and tag file of the packages' versions."""
    from ingest.fixity_audit import verify_packages

    if bool(packages) == all_packages:
        raise click.UsageError("name one or more packages, or --all")
    results = verify_packages(_services(), None if all_packages else list(packages))
    document = {"results": [r.to_dict() for r in results]}

    def human(doc: dict[str, Any]) -> None:
        for r in doc["results"]:
            click.echo(f"{r['status']:<6} {r['package_id']} v{r['version']}")
            for f in r["findings"]:
                click.echo(f"       {f['code']} {f.get('path', '')}: {f['message']}")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if any(r.status == "failed" for r in results) else EXIT_OK)


@main.command()
@click.argument("package")
@click.option("--version", "number", type=int, help="Version number (default: the latest).")
@click.option("--to", "target", type=click.Path(path_type=str), help="Write the bag into this empty folder.")
@click.option("--format", "fmt", type=click.Choice(["tar"]), help="Stream the bag as one archive.")
@click.option("-o", "--output", type=str, help="With --format: a file, or - for stdout.")
@json_option
@command_errors
def fetch(package: str, number: int | None, target: str | None, fmt: str | None,
          output: str | None, as_json: bool) -> None:
    """Fetch a package version's bag, verifying every file on the way."""
    from ingest.retrieval import fetch_to_folder, write_tar

    if (target is None) == (fmt is None):
        raise click.UsageError("give either --to DIR or --format tar -o FILE")
    if fmt and not output:
        raise click.UsageError("--format tar needs -o FILE (or -o - for stdout)")
    if fmt and output == "-" and as_json:
        raise click.UsageError("--json cannot share stdout with -o -")
    services = _services()
    package_id = services.catalog.resolve_package(package)
    if target is not None:
        version, findings = fetch_to_folder(services, package_id, number, target)
        where = target
    elif output == "-":
        version, findings = write_tar(services, package_id, number, sys.stdout.buffer)
        where = "-"
    else:
        import os

        with open(output, "wb") as out:  # type: ignore[arg-type]
            version, findings = write_tar(services, package_id, number, out)
        if findings:
            os.unlink(output)  # type: ignore[arg-type]
        where = output
    document = {"package_id": package_id, "version": version.number, "to": where,
                "status": "failed" if findings else "ok",
                "findings": [f.to_dict() for f in findings]}

    def human(doc: dict[str, Any]) -> None:
        if doc["to"] == "-":
            for f in doc["findings"]:
                click.echo(f"{f['code']} {f.get('path', '')}: {f['message']}", err=True)
            return
        click.echo(f"{doc['status']}: {doc['package_id']} v{doc['version']} -> {doc['to']}")
        for f in doc["findings"]:
            click.echo(f"  {f['code']} {f.get('path', '')}: {f['message']}")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if findings else EXIT_OK)


# --------------------------------------------------------------------------- audit


@main.group()
def audit() -> None:
    """Read and verify the hash-chained audit log."""


@audit.command("log")
@click.option("--package", help="Only the events of this package (id or identifier).")
@json_option
@command_errors
def audit_log(package: str | None, as_json: bool) -> None:
    """Print audit events in chain order."""
    from strongroom.reports import event_report

    services = _services()
    package_id = services.catalog.resolve_package(package) if package else None
    document = {"events": [event_report(e) for e in services.catalog.events(package_id)]}

    def human(doc: dict[str, Any]) -> None:
        for e in doc["events"]:
            subject = e["package_id"] and f"{e['package_id']} v{e['version']}" or e["batch_id"] or ""
            click.echo(f"{e['seq']:>6} {e['occurred_at']} {e['event_type']:<27} {e['outcome']:<8} {subject}")

    _emit(as_json, document, human)


@audit.command("verify")
@json_option
@command_errors
def audit_verify(as_json: bool) -> None:
    """Check the whole hash chain; names the first event that does not fit."""
    from ingest.audit import verify_chain

    report = verify_chain(_services().catalog.events())
    document = {"ok": report.ok, "count": report.count, "head": report.head,
                "first_bad_seq": report.first_bad_seq, "reason": report.reason}

    def human(doc: dict[str, Any]) -> None:
        if doc["ok"]:
            click.echo(f"ok: {doc['count']} events, head {doc['head']}")
        else:
            click.echo(f"BROKEN at event {doc['first_bad_seq']}: {doc['reason']}")

    _emit(as_json, document, human)
    sys.exit(EXIT_OK if report.ok else EXIT_PROBLEMS)


# --------------------------------------------------------------------------- distributed mode


QUEUES = ("ingest", "fixity")
passthrough = {"ignore_unknown_options": True, "allow_extra_args": False}


def _queues(value: str) -> str:
    names = [q.strip() for q in value.split(",") if q.strip()]
    unknown = sorted(set(names) - set(QUEUES))
    if not names or unknown:
        raise click.BadParameter(
            f"choose from {', '.join(QUEUES)}; not {', '.join(unknown) or value!r}",
            param_hint="--queues")
    return ",".join(names)


def _celery(command: str, argv: list[str], as_json: bool, document: dict[str, Any]) -> None:
    """Run a Celery command on our app; with --json, one document when it ends."""
    from strongroom.celery_entry import app_for
    from strongroom.settings import Settings
    from workers.celery_app import run_command

    app = app_for(Settings.from_env())
    if not as_json:
        sys.exit(run_command(app, [command, *argv]))
    # Celery writes its banner and shutdown notes to the real stdout, and may
    # replace sys.stdout with a logger: point file descriptor 1 at stderr while
    # it runs, so that stdout carries nothing but our one document.
    sys.stdout.flush()
    real_stdout = os.dup(1)
    os.dup2(2, 1)
    try:
        code = run_command(app, ["--quiet", command, *argv])
    finally:
        sys.__stdout__.flush()
        os.dup2(real_stdout, 1)
        os.close(real_stdout)
    document["exit_code"] = code
    with os.fdopen(os.dup(1), "w") as out:
        out.write(json.dumps(document, indent=2) + "\n")
    sys.exit(code)


@main.command(context_settings=passthrough)
@click.option("-Q", "--queues", default="ingest,fixity", show_default=True,
              help="Queues to take work from.")
@click.option("-c", "--concurrency", type=click.IntRange(min=1),
              help="Pool processes (default STRONGROOM_CONCURRENCY, 2).")
@click.option("-l", "--loglevel", default="INFO", show_default=True)
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@json_option
@command_errors
def worker(queues: str, concurrency: int | None, loglevel: str, celery_args: tuple[str, ...],
           as_json: bool) -> None:
    """Run a Celery worker (prefork pool) on the ingest and fixity queues.

    Any further option goes to `celery worker` as it is (e.g. --hostname,
    --without-gossip --without-mingle --without-heartbeat). Each pool process
    opens its own catalog and store connections. Stop it with SIGTERM: it
    finishes the items in hand; SIGKILL loses nothing either (their messages
    come back, or the items show as stuck).
    """
    from strongroom.settings import Settings

    settings = Settings.from_env()
    queues = _queues(queues)
    pool = concurrency or settings.concurrency
    argv = [f"--queues={queues}", f"--concurrency={pool}", f"--loglevel={loglevel}",
            "--pool=prefork", *celery_args]
    _celery("worker", argv, as_json, {"command": "worker", "queues": queues.split(","),
                                      "concurrency": pool})


@main.command(context_settings=passthrough)
@click.option("-l", "--loglevel", default="INFO", show_default=True)
@click.option("--schedule-file", type=click.Path(dir_okay=False, path_type=str),
              help="Where beat keeps its state (default $STRONGROOM_DATA_DIR/celerybeat-schedule).")
@click.argument("celery_args", nargs=-1, type=click.UNPROCESSED)
@json_option
@command_errors
def beat(loglevel: str, schedule_file: str | None, celery_args: tuple[str, ...],
         as_json: bool) -> None:
    """Run the scheduler: every STRONGROOM_SWEEP_EVERY seconds it has a worker send
    stuck items again, so messages the broker lost recover by themselves.
    Run exactly one per installation."""
    from strongroom.settings import Settings

    settings = Settings.from_env()
    if schedule_file is None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        schedule_file = str(settings.data_dir / "celerybeat-schedule")
    argv = [f"--loglevel={loglevel}", f"--schedule={schedule_file}", *celery_args]
    _celery("beat", argv, as_json, {"command": "beat", "schedule_file": schedule_file,
                                    "sweep_every": settings.sweep_every,
                                    "stuck_after": settings.stuck_after})


def _without_password(url: str) -> str:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"{parts.username}:***@{host}"))


@main.command()
@json_option
@command_errors
def init(as_json: bool) -> None:
    """Prepare the catalog (migrate to the newest schema) and the object store
    (create the S3 bucket if it does not exist). Safe to run again."""
    settings, services = _settings_and_services()  # opening the catalog migrates it
    store = services.store
    ensure_bucket = getattr(store, "ensure_bucket", None)
    if callable(ensure_bucket):  # an S3 store: its bucket must exist before any upload
        ensure_bucket()
    document = {"catalog": _without_password(settings.database_url), "migrated": True,
                "store": store.location, "bucket": getattr(store, "bucket", None),
                "broker": _without_password(settings.broker_url) if settings.broker_url else None}

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"catalog {doc['catalog']}: schema up to date")
        click.echo(f"store {doc['store']}: ready")

    _emit(as_json, document, human)


if __name__ == "__main__":  # pragma: no cover
    main()
