"""Fixity audits on a schedule: run-due, report, reconcile."""

from __future__ import annotations

import sys
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

import click

from ingest.fixity_report import REPORT_LIMIT, report_csv
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

if TYPE_CHECKING:
    from ingest.services import Services
    from strongroom.settings import Settings


class _Moment(click.ParamType):
    """An ISO 8601 date or date and time; without a zone, UTC."""

    name = "DATETIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            try:
                parsed = datetime.combine(date.fromisoformat(value), time())
            except ValueError:
                self.fail(f"{value!r} is not an ISO 8601 date or date and time", param, ctx)
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


MOMENT = _Moment()


def _services_at(as_of: datetime | None, read_only: bool = False) -> tuple[Settings, Services]:
    """Settings, and services whose clock says ``as_of`` when given."""
    from dataclasses import replace

    from ingest.clock import FixedClock

    settings, services = _settings_and_services(read_only)
    if as_of is not None:
        services = replace(services, clock=FixedClock(as_of))
    return settings, services


@main.group()
def fixity() -> None:
    """Fixity audits by policy: run the due checks, report coverage, reconcile."""


# --------------------------------------------------------------------------- run-due


@fixity.command("run-due")
@click.option("--budget", type=click.IntRange(min=0), metavar="BYTES",
              help="Most bytes deep checks may read in this run (default: the daily budget).")
@click.option("--as-of", type=MOMENT,
              help="Only list what would be due at this moment; check and record nothing.")
@json_option
@command_errors
def run_due_command(budget: int | None, as_of: datetime | None, as_json: bool) -> None:
    """Run, in this process, every fixity check the policy says is due.

    Paced for one run a day (cron); with STRONGROOM_FIXITY_AUTO_REPAIR=1 damage a
    deep check finds is repaired in the same run. Each check is recorded at the
    moment it ran. Exit 1 when any check found damage, repaired or not.

    With --as-of, nothing runs: the checks a run at that moment would make are
    listed (planning), and exit 0."""
    from ingest.fixity_due import run_due
    from strongroom.cli.terminal import progress_for
    from strongroom.settings import fixity_policy

    if as_of is not None:
        _plan_only(as_of, budget, as_json)
        return
    settings, services = _settings_and_services()
    with progress_for(services, as_json, "checking") as watched:
        run = run_due(watched, fixity_policy(settings), budget=budget)
    anchor_after(services)
    document = run.to_dict()

    def human(doc: dict[str, Any]) -> None:
        for c in doc["checks"]:
            click.echo(f"{c['status']:<6} {c['tier']:<7} {c['package_id']} v{c['version']} "
                       f"{c['location']}")
            for f in c["findings"]:
                click.echo(f"       {finding_line(f)}")
            if c["repair"]:
                click.echo(f"       repair: {c['repair']['status']}")
                for copy in c["repair"]["copies"]:
                    if copy["status"] != "ok" or copy["source"]:
                        click.echo(f"         {copy['status']:<11} {copy['location']}"
                                   + (f" from {copy['source']}" if copy["source"] else "")
                                   + (f" ({copy['detail']})" if copy["detail"] else ""))
        for p in doc["unreachable"]:
            click.echo(f"unreachable {p['tier']} {p['package_id']} v{p['version']} {p['location']}")
        out_of_reach = f", {len(doc['unreachable'])} not made (store out of reach)" \
            if doc["unreachable"] else ""
        click.echo(f"{doc['checked']} checked, {doc['failed']} failed, {doc['repaired']} repaired"
                   f"{out_of_reach}, {doc['octets']} bytes read by deep checks")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if run.failed else EXIT_OK)


def _plan_only(as_of: datetime, budget: int | None, as_json: bool) -> None:
    """``run-due --as-of``: what a run at ``as_of`` would check. Nothing is queued,
    checked or recorded: a check dated at a moment it did not run would be a
    record of something that never happened."""
    from ingest.fixity_due import plan_due_at
    from strongroom.settings import fixity_policy

    settings, services = _settings_and_services(read_only=True)
    document = plan_due_at(services, fixity_policy(settings), as_of, budget=budget).to_dict()

    def human(doc: dict[str, Any]) -> None:
        for p in doc["planned"]:
            click.echo(f"would check {p['tier']:<7} {p['package_id']} v{p['version']} "
                       f"{p['location']}")
        deep = sum(p["octets"] for p in doc["planned"] if p["tier"] == "deep")
        click.echo(f"{len(doc['planned'])} checks due as of {doc['as_of']} "
                   f"({deep} bytes for deep checks); nothing was checked or recorded: "
                   "without --as-of, run-due runs the checks due now")

    _emit(as_json, document, human)


# --------------------------------------------------------------------------- report


@fixity.command("report")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: one row per fact.")
@click.option("--since", type=MOMENT,
              help="List every failed check since DATE (default: each copy's current failures).")
@click.option("--as-of", type=MOMENT,
              help="Report as if it were this moment, now or to come (what will be overdue then).")
@click.option("--no-reconcile", is_flag=True,
              help="Skip listing the stores (reconciliation).")
@click.option("--limit", type=click.IntRange(min=0), default=REPORT_LIMIT, show_default=True,
              help="List at most this many overdue copies and failures (all are counted).")
@command_errors
def report_command(as_json: bool, as_csv: bool, since: datetime | None,
                   as_of: datetime | None, no_reconcile: bool, limit: int) -> None:
    """Coverage (versions deep-verified inside the window, overall and per location),
    overdue copies and failures with their codes. Exit 1 when anything failed or is
    overdue."""
    if as_json and as_csv:
        raise click.UsageError("choose --json or --csv, not both")
    from ingest.fixity_report import fixity_report
    from strongroom.settings import fixity_policy

    if as_of is not None and as_of < datetime.now(UTC) - timedelta(minutes=1):
        # Worked out from each copy's latest checks, a past report would count
        # checks made after that moment and hide copies overdue then.
        raise click.BadParameter(
            "a report is worked out from each copy's latest checks, so it can be asked for "
            "now or a moment to come (what will be overdue), not for a moment past; for "
            "what happened since a date use --since, or `strongroom audit log`",
            param_hint="--as-of")
    settings, services = _services_at(as_of, read_only=True)
    doc = fixity_report(services, fixity_policy(settings), since=since,
                        reconcile_stores=not no_reconcile, limit=limit).to_dict()

    def human(d: dict[str, Any]) -> None:
        cov = d["coverage"]
        # The headline counts what is wrong: a copy checked and found damaged
        # is checked, not verified good.
        failing = {(c["package_id"], c["version"]) for c in d["failures"]}
        failing_at: dict[str, int] = {}
        for loc, _ in {(c["location"], (c["package_id"], c["version"])) for c in d["failures"]}:
            failing_at[loc] = failing_at.get(loc, 0) + 1
        more = "+" if d["failures_total"] > len(d["failures"]) else ""
        verdict = "ok" if d["status"] == "ok" else "PROBLEMS"
        when = f"failed a check since {d['since']}" if d["since"] else "failing their last check"
        click.echo(f"{verdict}: {cov['versions']} versions, {len(failing)}{more} {when}, "
                   f"{d['overdue_total']} copies overdue; "
                   f"coverage {cov['covered']}/{cov['versions']} (found whole by their last deep check, "
                   f"within {cov['window_days']:g} days), as of {d['as_of']}")
        for loc in cov["locations"]:
            click.echo(f"  {loc['location']}: {loc['covered']}/{loc['versions']} covered, "
                       f"{failing_at.get(loc['location'], 0)} failing")
        for o in d["overdue"]:
            click.echo(f"overdue {o['identifier'] or o['package_id']} v{o['version']} {o['location']} "
                       f"(due {o['due']})")
        if d["overdue_total"] > len(d["overdue"]):
            click.echo(f"overdue … and {d['overdue_total'] - len(d['overdue'])} more copies")
        for check in d["failures"]:
            for f in check["findings"]:
                click.echo(f"failed  {check['tier']} {check['identifier'] or check['package_id']} "
                           f"v{check['version']} "
                           f"{check['location']} {f['code']} {f.get('path', '')}")
        if d["failures_total"] > len(d["failures"]):
            click.echo(f"failed  … and {d['failures_total'] - len(d['failures'])} more checks")
        _human_unconfigured(d)
        for r in d["reconciliation"]:
            for f in (*r["findings"], *r["leftovers"]):
                click.echo(f"{f['code']} {r['location']} {f.get('path', '')}")
        _human_remains(d)

    if as_csv:
        click.echo(report_csv(doc), nl=False)
    else:
        _emit(as_json, doc, human)
    sys.exit(EXIT_PROBLEMS if doc["status"] == "failed" else EXIT_OK)


# --------------------------------------------------------------------------- reconcile


@fixity.command("reconcile")
@click.option("--sweep-abandoned", "sweep_hours", type=click.FloatRange(min=1),
              metavar="HOURS",
              help="Also remove the remains of writes abandoned by a crash and untouched "
                   "for HOURS (temporary files; S3 multipart uploads).")
@click.option("--remove-deaccessioned", is_flag=True,
              help="Delete what a location still holds of deaccessioned versions "
                   "(DEACCESSIONED_LEFTOVER), each a deletion event in the audit log, "
                   "and write the tombstones it lacks.")
@json_option
@command_errors
def reconcile_command(sweep_hours: float | None, remove_deaccessioned: bool,
                      as_json: bool) -> None:
    """Compare the catalog with every location both ways: missing objects, objects of
    no committed version (crashed ingests' leftovers reported apart). Writes the
    commit record (_commits/) of every committed version a location lacks, so that
    a catalog rebuild takes it in. Exit 1 on anything but leftovers."""
    from datetime import timedelta

    from ingest.reconciliation import reconcile
    from ingest.stuck import crash_remains

    _, services = _settings_and_services(read_only=True)  # an archive that exists, never a new one
    results = reconcile(services.catalog, services.locations, backfill=True,
                        remove_deaccessioned_as=services if remove_deaccessioned else None)
    swept = None
    if sweep_hours is not None:
        idle_since = services.clock.now() - timedelta(hours=sweep_hours)
        swept = {store.location: store.sweep_abandoned(idle_since)
                 for store in services.written_stores}  # the staging area's store too
    # After the sweep: what is still left is reported (and exits 1).
    remains = crash_remains(services.catalog, services.written_stores, services.clock.now(),
                            services.stuck_after)
    document: dict[str, Any] = {"locations": [r.to_dict() for r in results], **remains.to_dict()}
    if swept is not None:
        document["swept"] = swept

    def human(doc: dict[str, Any]) -> None:
        for r in doc["locations"]:
            click.echo(f"{r['status']:<6} {r['location']} ({r['objects']} objects)")
            for f in (*r["findings"], *r["leftovers"]):
                click.echo(f"       {finding_line(f, message=False)}")
            if r["commit_records_written"]:
                click.echo(f"       {r['commit_records_written']} missing commit record(s)"
                           " of committed versions written")
            if r["deaccessioned_removed"] or r["tombstones_written"]:
                click.echo(f"       {r['deaccessioned_removed']} object(s) of deaccessioned"
                           f" versions removed, {r['tombstones_written']} tombstone(s) written")
        _human_remains(doc)
        for location, count in doc.get("swept", {}).items():
            click.echo(f"swept  {location}: {count} abandoned write(s) removed")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if any(r.findings for r in results) or remains.found else EXIT_OK)


def _human_unconfigured(doc: dict[str, Any]) -> None:
    for u in doc.get("unconfigured_locations", ()):
        copies = f"{u['copies']} cop{'y' if u['copies'] == 1 else 'ies'}"
        click.echo(f"not configured {u['location']}: the catalog notes {copies} "
                   f"there ({u['damaged']} damaged), none of them checked or counted here;"
                   " name it again in STRONGROOM_REPLICAS (or STRONGROOM_STORAGE_URL)")


def _human_remains(doc: dict[str, Any]) -> None:
    """Stuck items and crash leftovers, one line each (see ``ingest.stuck``)."""
    for item in doc.get("stuck_items", []):
        click.echo(f"stuck  item {item['name']} ({item['item_id']}) of batch {item['batch_id']}: "
                   f"no progress for over {item['idle']:g} s")
    for left in doc.get("staging_leftovers", []):
        click.echo(f"STAGING_LEFTOVER {left['location']} {left['path']} ({left['size']} bytes)")
