"""Batches: submit, status, requeue, batches."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from ingest.models import BATCH_FILTERS
from strongroom.cli.anchors import anchor_after
from strongroom.cli.base import (
    EXIT_OK,
    EXIT_PROBLEMS,
    _emit,
    _settings_and_services,
    command_errors,
    finding_line,
    json_option,
    main,
)
from strongroom.cli.fixity import MOMENT
from strongroom.reports import describe_actor

if TYPE_CHECKING:
    from ingest.services import Services
    from strongroom.settings import Settings


# --------------------------------------------------------------------------- submit / status


def _print_batch(report: dict[str, Any]) -> None:
    # One write of every line: a batch of 10,000 items is 10,000 lines.
    lines: list[str] = []
    echo = lines.append
    if report.get("check"):
        echo(f"check of {report['source']}: nothing was registered or stored")
    else:
        echo(f"batch {report['batch_id']}")
    by = report.get("submitted_by")
    if (by or report.get("claimed_submitter")) and not report.get("check"):
        who = describe_actor(by) if by else "unknown"
        claim = report.get("claimed_submitter")
        echo(f"  submitted by {who}" + (f" (batch.json claims: {claim})" if claim else ""))
    for f in report["findings"]:
        echo(f"  batch: {_label(f)}{finding_line(f)}")
        if f.get("hint"):
            echo(f"         hint: {f['hint']}")
    for item in report["items"]:
        where = f" -> {item['package_id']} v{item['version']}" \
            if item["package_id"] and item["version"] is not None else ""
        stuck = f"  (stuck: no progress for over {report['stuck_after']:g} s)" \
            if item.get("stuck") else \
            f"  (waiting for a worker for over {report['stuck_after']:g} s)" \
            if item.get("waiting") else ""
        echo(f"  {item['status']:<9} {item['name']}{where}{stuck}")
        for f in item["findings"]:
            echo(f"            {_label(f)}{finding_line(f)}")
            if f.get("hint"):
                echo(f"              hint: {f['hint']}")
    counts = ", ".join(f"{n} {s}" for s, n in report["counts"].items() if n)
    total = len(report["items"])
    echo(f"{total} item{'' if total == 1 else 's'}: {counts or 'none'}")
    for line in _common_findings(report["items"]):
        echo(line)
    for left in report.get("staging_leftovers", []):
        echo(f"STAGING_LEFTOVER {left['location']} {left['path']} ({left['size']} bytes)")
    if report.get("stuck"):
        echo(f"{report['stuck']} stuck (begun, then no progress: their worker is gone): send "
             f"them again with `strongroom requeue {report['batch_id']}`")
    if report.get("waiting"):
        echo(f"{report['waiting']} waiting for a worker for over {report['stuck_after']:g} s, "
             "behind other work still queued: nothing to do while workers run (should the "
             "queue empty without them, beat's sweep sends them again); if none runs, start "
             "one (`strongroom worker`)")
    if "enqueued" in report and "timed_out" not in report:
        echo(f"{report['enqueued']} items sent to the workers; follow with "
             f"`strongroom status {report['batch_id']}`")
    if report.get("enqueue_error"):
        echo(f"not sent: {report['enqueue_error']}; the items stay accepted, "
             f"send them with `strongroom requeue {report['batch_id']}`")
    if report.get("timed_out"):
        echo("gave up waiting: some items are not finished yet")
    if report.get("interrupted"):
        finished = sum(n for s, n in report["counts"].items() if s != "accepted")
        left = report["counts"].get("accepted", 0)
        echo(f"interrupted: {finished} of {len(report['items'])} items finished, "
             f"{left} left accepted; resume with `{report['resume']}`")
    click.echo("\n".join(lines))


def _label(finding: dict[str, Any]) -> str:
    """``warning: `` before a warning; errors go unmarked, as they always have."""
    return "warning: " if finding.get("severity") == "warning" else ""


def _has_problems(report: dict[str, Any]) -> bool:
    from strongroom.reports import batch_has_problems

    return (batch_has_problems(report) or bool(report.get("stuck"))
            or bool(report.get("interrupted"))
            or bool(report.get("timed_out")) or bool(report.get("enqueue_error")))


def _hand_over(settings: Settings, services: Services, batch_id: str, item_ids: list[str], *,
               wait: bool, timeout: float | None, as_json: bool,
               requeue: bool = False, expired_before: datetime | None = None) -> dict[str, Any]:
    """Have the items ingested (``ingest.handover``) and return the batch report.

    On a terminal a progress bar follows the bytes and items (``strongroom.cli.terminal``).
    Stopped by Ctrl-C (``_ctrl_c_stops``), the report says so, with the command
    that resumes the batch."""
    from ingest.handover import hand_over
    from strongroom.bootstrap import build_dispatcher
    from strongroom.cli.terminal import progress_for, terminal_progress
    from strongroom.reports import batch_report

    watched = bool(item_ids) and (wait or not settings.broker_url)
    with progress_for(services, as_json or not watched, "ingesting") as services:
        bar = terminal_progress(services)
        dispatcher = build_dispatcher(settings, services)
        handed = hand_over(services, dispatcher, batch_id, item_ids, wait=wait, timeout=timeout,
                           requeue=requeue, expired_before=expired_before,
                           on_progress=bar.items_finished if bar else None)
    report = batch_report(services.catalog, batch_id)
    report.update(handed.to_dict())
    if handed.stopped:
        report["resume"] = _resume_command(settings, batch_id)
    return report


def _ctrl_c_stops(settings: Settings, services: Services, batch: Callable[[], str | None]) -> Any:
    """Ctrl-C for the rest of the command: the first stops cleanly (the file in
    hand abandoned, the items not finished left accepted, the report then says
    which batch and how to resume it), a second stops at once, naming them too.
    ``batch`` gives the batch id once there is one."""
    from strongroom.cli.terminal import ctrl_c_stops

    def at_once() -> str:
        batch_id = batch()
        if batch_id is None:
            return ("stopped at once while the batch was being registered: nothing was "
                    "ingested; `strongroom batches` lists it if its registration was committed")
        return (f"stopped at once: batch {batch_id}; resume with "
                f"`{_resume_command(settings, batch_id)}`")

    return ctrl_c_stops(
        services.stop,
        "stopping: the file in hand is abandoned, finished items are kept "
        "(Ctrl-C again to stop at once)", at_once)


def _resume_command(settings: Settings, batch_id: str) -> str:
    """The command that takes up a batch stopped by Ctrl-C: with a broker the items
    are with the workers already, so it follows them; else it ingests the rest."""
    if settings.broker_url:
        return f"strongroom status {batch_id}"
    return f"strongroom requeue {batch_id}"


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
@click.option("--check", is_flag=True,
              help="A dry run: make every check and write nothing (exit 1 when any item "
                   "would be rejected).")
@click.option("--in-place", is_flag=True,
              help="With a broker: do not stage the batch in the store; the workers read "
                   "the folder at its path (every worker host must mount it there).")
@json_option
@command_errors
def submit(batch_dir: str, wait: bool, timeout: float | None, check: bool, in_place: bool,
           as_json: bool) -> None:
    """Ingest a batch folder: one item per child folder (metadata.json + payload).

    Without a broker the items are ingested here and now, from the folder. With
    STRONGROOM_BROKER_URL set the batch is first copied into the staging area
    of the object store (STRONGROOM_STAGING_URL, by default the primary
    location), its items are sent to the workers, which read them from there,
    and the command returns at once (items "accepted"), or with --wait once
    they are final: the folder may be deleted as soon as it returns. With
    --in-place the workers read the folder itself, on a disk they share.
    With --check nothing is registered or stored: each item is "accepted"
    (it would be ingested) or "rejected", with the findings a submission gives;
    every payload file is read once (a received bag's digests, each format).
    """
    from ingest.errors import StopRequested
    from ingest.submission import submit_batch

    if check:
        _check(batch_dir, as_json)
        return
    from strongroom.bootstrap import warm_up_formats
    from strongroom.settings import Settings

    settings = Settings.from_env()
    # The format signatures start loading before the catalog is opened.
    warm_up_formats(settings)
    settings, services = _settings_and_services(settings=settings)
    registered: list[str] = []
    # From before the batch is registered: a Ctrl-C during it leaves every item
    # accepted, and the report still names the batch and how to resume it.
    with _ctrl_c_stops(settings, services, lambda: registered[0] if registered else None):
        stage = bool(settings.broker_url) and not in_place
        if stage:
            # Celery and kombu load while the batch goes up to the store (the
            # GIL is free while it waits for the store's answers); the
            # dispatcher finds them loaded instead of loading them after.
            _load_in_background("strongroom.celery_entry", "kombu.exceptions")
        elif not settings.broker_url and services.formats is not None:
            # Ingested here: the format signatures load (in a process of their
            # own) while the batch is read and registered.
            services.formats.warm_up()
        # committed (and staged): now the ids may be sent
        try:
            submitted = submit_batch(batch_dir, services, stage=stage)
        except StopRequested:
            # Stopped while the batch went up to the store: nothing was registered.
            _stopped_before_registering(batch_dir, as_json)
            return
        registered.append(submitted.batch.batch_id)
        ids = [i.item_id for i in submitted.items]
        report = _hand_over(settings, services, submitted.batch.batch_id, ids, wait=wait,
                            timeout=timeout, as_json=as_json)
        anchor_after(services)
        _emit(as_json, report, _print_batch)
    sys.exit(_exit_code(report))


def _stopped_before_registering(batch_dir: str, as_json: bool) -> None:
    """Say that a stop asked for while the batch was staged left nothing registered,
    and how to start again; exit as an interrupted command does (130)."""
    import shlex

    from strongroom.cli.terminal import EXIT_INTERRUPTED

    again = f"strongroom submit {shlex.quote(batch_dir)}"
    report = {"interrupted": True, "registered": False, "resume": again}

    def human(doc: dict[str, Any]) -> None:
        click.echo("interrupted while the batch was being staged: nothing was registered or "
                   f"ingested; submit it again with `{doc['resume']}` (what was staged goes "
                   "with `strongroom staging prune`)")

    _emit(as_json, report, human)
    sys.exit(EXIT_INTERRUPTED)


def _load_in_background(*modules: str) -> None:
    """Import ``modules`` on a thread of their own; an import that fails there is
    left to fail again, and be reported, where the module is used."""
    import importlib
    import threading

    def load() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # noqa: BLE001 - imported again, and reported, where used
                continue

    # Not a daemon: an exit meanwhile waits for the imports to end, rather than
    # stopping a thread in the middle of one.
    threading.Thread(target=load, name="load-dispatcher").start()


def _check(batch_dir: str, as_json: bool) -> None:
    """``submit --check``: the report a submission would give, writing nothing;
    identifiers are checked against the archive's catalog, read only (as against
    an empty archive where there is none yet)."""
    from ingest.dry_run import NO_PACKAGES, check_batch
    from ingest.errors import CatalogMissing
    from ingest.ports import IdentifierCatalog
    from ingest.record_schema import SchemaSet
    from strongroom.bootstrap import existing_catalog, format_identifier
    from strongroom.reports import check_report
    from strongroom.settings import Settings

    settings = Settings.from_env()
    catalog: IdentifierCatalog
    try:
        catalog = existing_catalog(settings)
    except CatalogMissing:
        catalog = NO_PACKAGES
    checked = check_batch(batch_dir, SchemaSet.default(), catalog=catalog,
                          skip=settings.skip_system_files, formats=format_identifier())
    report = check_report(checked)
    _emit(as_json, report, _print_batch)
    sys.exit(EXIT_OK if checked.all_accepted else EXIT_PROBLEMS)


#: a finding shared by at least this many items is summed up after the items
COMMON_FINDING = 5


def _common_findings(items: list[dict[str, Any]]) -> list[str]:
    """One line for each finding (code and place) that many items share, most
    items first: 300 items refused for one wrong value were 300 lines and no sum."""
    from collections import Counter

    shared = Counter(place for item in items
                     for place in {finding_line(f, message=False) for f in item["findings"]})
    return [f"  {count} items: {what}" for what, count in shared.most_common()
            if count >= COMMON_FINDING]


def _exit_code(report: dict[str, Any]) -> int:
    from strongroom.cli.terminal import EXIT_INTERRUPTED

    if report.get("interrupted"):
        return EXIT_INTERRUPTED
    return EXIT_PROBLEMS if _has_problems(report) else EXIT_OK


stuck_after_option = click.option(
    "--stuck-after", type=click.FloatRange(min=0), metavar="SECONDS",
    help="An accepted item with no progress for this long is stuck "
         "(default STRONGROOM_STUCK_AFTER, 60).")


def _mark_stuck(report: dict[str, Any], items: list[Any], now: Any, after: float,
                broker_url: str | None = None) -> None:
    """Add ``stuck`` (begun, then no progress for ``after`` seconds: its worker is
    gone; or never begun while nothing is queued: its message was lost) and
    ``waiting`` (no worker has taken it for that long, messages still queued) to
    every item of ``report``, and their counts to the report (``ingest.stuck``).
    Without a broker nothing queues: an item never begun is stuck."""
    from ingest.stuck import has_stopped, has_waited

    waited = {i.item_id for i in items if has_waited(i, now, after)}
    lost = not waited or broker_url is None or not _ingest_queue_holds_messages(broker_url)
    stuck = {i.item_id for i in items if has_stopped(i, now, after)} | (waited if lost else set())
    waiting = set() if lost else waited
    for entry in report["items"]:
        entry["stuck"] = entry["item_id"] in stuck
        entry["waiting"] = entry["item_id"] in waiting
    report["stuck"] = sum(1 for entry in report["items"] if entry["stuck"])
    report["waiting"] = sum(1 for entry in report["items"] if entry["waiting"])
    report["stuck_after"] = after


def _ingest_queue_holds_messages(broker_url: str) -> bool:
    """Whether messages wait in the workers' ingest queue (False when the broker
    does not answer: nothing can be said to wait in it then, and the items need
    sending again once it is back)."""
    from workers.queue_depth import ingest_queue_depth

    return bool(ingest_queue_depth(broker_url))  # None (cannot tell) and 0: none wait


@main.command()
@click.argument("batch_id")
@stuck_after_option
@json_option
@command_errors
def status(batch_id: str, stuck_after: float | None, as_json: bool) -> None:
    """Show a batch's items and findings, from the catalog.

    Items begun and then without progress for --stuck-after seconds are marked
    stuck (their worker is gone: `strongroom requeue` sends them again); items no
    worker has taken for that long are marked waiting (queued behind other work).
    """
    from strongroom.reports import batch_report

    settings, services = _settings_and_services(read_only=True)
    items = services.catalog.list_items(batch_id)  # once: a batch may hold 10,000 items
    report = batch_report(services.catalog, batch_id, items)
    after = settings.stuck_after if stuck_after is None else stuck_after
    _mark_stuck(report, items, services.clock.now(), after, settings.broker_url)
    if report["stuck"]:
        # What the stuck items' crashed writes may have left, with sizes.
        from ingest.stuck import crash_remains
        report["staging_leftovers"] = crash_remains(
            services.catalog, services.locations, services.clock.now(), after,
            limit=0).to_dict()["staging_leftovers"]
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
    from ingest.requeue import choose_requeue
    from ingest.stuck import stuck_before

    settings, services = _settings_and_services()
    choice = choose_requeue(services.catalog, batch_id, include_failed=include_failed,
                            now=services.clock.now(), stuck_after=stuck_after)
    chosen, reset = list(choice.item_ids), choice.reset

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"{doc['requeued']} items sent again ({doc['reset']} of them failed before)")
        _print_batch(doc)

    with _ctrl_c_stops(settings, services, lambda: batch_id):
        # A lease idle that long is revoked for the new attempt (ingest.lease).
        idle = services.stuck_after if stuck_after is None else stuck_after
        report = _hand_over(settings, services, batch_id, chosen, wait=wait, timeout=timeout,
                            as_json=as_json, requeue=True,
                            expired_before=stuck_before(services.clock.now(), idle))
        report["requeued"] = len(chosen)
        report["reset"] = len(reset)
        anchor_after(services)
        _emit(as_json, report, human)
    sys.exit(_exit_code(report))


# --------------------------------------------------------------------------- batches


@main.command("batches")
@click.option("--since", type=MOMENT, metavar="DATE", help="Only batches submitted at or after this ISO 8601 "
              "date or date and time (UTC without a zone).")
@click.option("--status", type=click.Choice(BATCH_FILTERS),
              help="accepted: items still waiting; done: every item finished; an item status: "
                   "at least one item has it.")
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True,
              help="Show at most this many batches.")
@json_option
@command_errors
def batches(since: datetime | None, status: str | None, limit: int, as_json: bool) -> None:
    """List batches, newest first: id, when and by whom submitted, source, item counts."""
    from ingest.batches_list import list_batches
    _, services = _settings_and_services(read_only=True)
    document = list_batches(services.catalog, since=since, status=status, limit=limit)

    def human(doc: dict[str, Any]) -> None:
        for b in doc["batches"]:
            who = describe_actor(b["submitted_by"]) if b["submitted_by"] else "unknown"
            claims = f" (batch.json: {b['claimed_submitter']})" if b["claimed_submitter"] else ""
            counts = ", ".join(f"{n} {s}" for s, n in b["items"].items()) or "no items"
            click.echo(f"{b['batch_id']}  {b['submitted_at']}  {b['status']:<8} by {who}{claims}")
            attention = "  needs attention" if b["needs_attention"] else ""
            click.echo(f"  {b['source']}  {counts}{attention}")
        click.echo(f"{len(doc['batches'])} batch{'' if len(doc['batches']) == 1 else 'es'}")

    _emit(as_json, document, human)
