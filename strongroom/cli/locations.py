"""``strongroom locations``: where the copies are; fill a new location, retire an old one."""

from __future__ import annotations

import sys
from datetime import timedelta
from typing import Any

import click

from strongroom.cli.anchors import anchor_after
from strongroom.cli.base import (
    EXIT_OK,
    EXIT_PROBLEMS,
    _emit,
    _services,
    command_errors,
    json_option,
    main,
)


@main.group(invoke_without_command=True)
@json_option
@click.pass_context
@command_errors
def locations(ctx: click.Context, as_json: bool) -> None:
    """Storage locations: what each holds; fill a new one, retire an old one.

    Without a subcommand: every location the settings name or the catalog notes
    copies in, with its copies, the damaged ones and the versions it lacks.
    Exit 1 when a configured location lacks a version or holds a damaged copy,
    or a location the settings no longer name still holds copies.

    Moving to new storage: name the new location in the settings (a replica, or
    the new primary with the old one as a replica), `locations fill` it, take
    the old one out of the settings, then `locations retire` it.
    """
    if ctx.invoked_subcommand is not None:
        return
    from ingest.storage_locations import NOT_CONFIGURED, locations_overview
    from strongroom.cli.base import _settings_and_services
    from strongroom.settings import fixity_policy

    settings, services = _settings_and_services(read_only=True)
    versions, rows = locations_overview(services, fixity_policy(settings).requeue_after)
    document = {"versions": versions, "locations": [row.to_dict() for row in rows]}

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"{doc['versions']} committed version{'s' if doc['versions'] != 1 else ''}")
        for row in doc["locations"]:
            if row["retired"]:
                r = row["retired"]
                who = (r["retired_by"] or {}).get("name", "?")
                click.echo(f"  retired         {row['location']}: {r['copies']} copies noted when "
                           f"{who} retired it on {r['retired_at'][:19]}Z ({r['reason']})")
                continue
            held = f"{row['copies']} copies, {row['damaged']} damaged"
            lacking = "" if row["lacking"] is None else f", lacks {row['lacking']}"
            queued = f" ({row['queued']} queued to be filled)" if row["queued"] else ""
            click.echo(f"  {row['role']:<15} {row['location']}: {held}{lacking}{queued}")
            if row["role"] == NOT_CONFIGURED:
                click.echo("      not checked: name it again in the settings, or retire it "
                           f"(strongroom locations retire {row['location']} --reason ...)")
            elif row["lacking"] and not row["queued"]:
                click.echo(f"      strongroom locations fill {row['location']}")

    _emit(as_json, document, human)
    problems = any((row.lacking or row.damaged) if row.role != NOT_CONFIGURED else row.copies
                   for row in rows if row.retired is None)
    sys.exit(EXIT_PROBLEMS if problems else EXIT_OK)


@locations.command("fill")
@click.argument("location")
@click.option("--again", is_flag=True,
              help="With a broker: send again the versions an earlier fill sent that are "
                   "still queued (the broker lost its messages, e.g. Redis restarted); "
                   "without it they are sent again only after 12 hours. A version being "
                   "copied right now may be copied twice, which changes nothing.")
@json_option
@command_errors
def fill(location: str, again: bool, as_json: bool) -> None:
    """Copy every version LOCATION does not hold whole into it.

    LOCATION is one the settings name (as `strongroom locations` prints it).
    For each such version only what it needs is read: the one copy it is made
    from (the first location, in the settings' order, that a deep check finds
    whole, as `strongroom repair` chooses), and the new copy, checked after
    writing; each check and write is an audit event.

    With a broker (STRONGROOM_BROKER_URL) each version is one task for the
    workers' fixity queue, and the command returns once they are sent;
    `strongroom locations` shows how many are still queued and lacking.
    Without one, this process copies them a version at a time; Ctrl-C stops
    between versions. Safe to run again. Exit 1 when a version could not be copied.
    """
    from ingest.storage_locations import fill_location, queue_fill
    from strongroom.bootstrap import build_dispatcher
    from strongroom.cli.base import _settings_and_services
    from strongroom.cli.terminal import ctrl_c_stops, progress_for
    from strongroom.settings import fixity_policy

    settings, services = _settings_and_services(read_only=True)
    if settings.broker_url:
        dispatcher = build_dispatcher(settings, services)
        try:
            queued = queue_fill(services, dispatcher, location,
                                timedelta(0) if again else fixity_policy(settings).requeue_after)
        finally:
            dispatcher.close()

        def sent(doc: dict[str, Any]) -> None:
            click.echo(f"{location}: {doc['sent']} version{'s' if doc['sent'] != 1 else ''} "
                       f"sent to the workers, {doc['already_queued']} queued already; "
                       f"`strongroom locations` shows what it still lacks")

        _emit(as_json, queued.to_dict(), sent)
        sys.exit(EXIT_OK)
    stopping = ctrl_c_stops(
        services.stop, "stopping after the version being copied (Ctrl-C again to stop at once)",
        lambda: "stopped at once; run it again to go on (a copy left half-made is made again)")
    with stopping, progress_for(services, as_json, "filling") as watched:
        result = fill_location(watched, location)
    anchor_after(services)

    def human(doc: dict[str, Any]) -> None:
        for item in doc["made"]:
            click.echo(f"made     {_named(item)}")
        for failed in doc["failed"]:
            click.echo(f"failed   {_named(failed)}")
            if failed.get("detail"):
                click.echo(f"  {failed['detail']}")
            for c in failed["copies"]:
                if c["status"] != "ok":
                    click.echo(f"  {c['status']:<11} {c['location']}" + (
                        f": {c['detail']}" if c["detail"] else ""))
                    if c.get("had"):
                        click.echo(f"      had {c['had']}")
        for item in doc["withdrawn"]:
            click.echo(f"withdrawn {item['package_id']} v{item['version']}: deaccessioned "
                       "meanwhile, nothing of it kept there")
        said = (f"{location}: {len(doc['made'])} made, {len(doc['whole'])} found whole, "
                f"{len(doc['failed'])} failed"
                + (f", {len(doc['withdrawn'])} deaccessioned meanwhile" if doc["withdrawn"] else ""))
        click.echo(said + ("; stopped on request, run it again to go on" if doc["stopped"] else ""))

    _emit(as_json, result.to_dict(), human)
    sys.exit(EXIT_PROBLEMS if result.has_problems else EXIT_OK)


def _named(version: dict[str, Any]) -> str:
    """A version as people know it: the record's identifier and the version's number
    (the package id only when the catalog knows no identifier)."""
    return f"{version.get('identifier') or version['package_id']} v{version['version']}"


@locations.command("retire")
@click.argument("location")
@click.option("--reason", required=True, help="Why it is retired (kept in the audit log).")
@json_option
@command_errors
def retire(location: str, reason: str, as_json: bool) -> None:
    """Take LOCATION out of service once every version it holds is held whole elsewhere.

    LOCATION must no longer be named in the settings. Refused (exit 1, listing
    the versions) while a version it holds is not held whole in every configured
    location (each such copy is shallow-checked first, the check recorded):
    fill or repair those first. The catalog then stops noting and
    checking copies there, with an audit event naming who retired it and why.
    No byte is deleted from LOCATION.
    """
    from ingest.storage_locations import retire_location

    services = _services(read_only=True)
    result = retire_location(services, location, reason)
    if result.retired:
        anchor_after(services)

    def human(doc: dict[str, Any]) -> None:
        if doc["retired"]:
            click.echo(f"retired {location}: the catalog no longer notes or checks its "
                       f"{doc['copies']} copies (audit event {doc['event_seq']}); nothing there was deleted")
            return
        click.echo(f"refused: {doc['gaps_total']} version{'s' if doc['gaps_total'] != 1 else ''} "
                   f"held in {location} {'are' if doc['gaps_total'] != 1 else 'is'} not held "
                   "whole in every configured location:")
        for gap in doc["gaps"]:
            click.echo(f"  {gap['package_id']} v{gap['version']}: not whole in "
                       f"{', '.join(gap['lacking'])}")
        if doc["gaps_total"] > len(doc["gaps"]):
            click.echo(f"  ... and {doc['gaps_total'] - len(doc['gaps'])} more")
        lacking = sorted({where for gap in doc["gaps"] for where in gap["lacking"]})
        click.echo("fill them first: " + "; ".join(
            f"strongroom locations fill {where}" for where in lacking))
        # A fill copies only from locations the settings name: where none of them
        # holds a version whole, this one must be named again while filling.
        replicas = ",".join([store.location for store in services.locations[1:]] + [location])
        click.echo(f"  where no configured location holds a version whole, name {location} "
                   "again while filling it from there: " + "; ".join(
                       f"STRONGROOM_REPLICAS={replicas} strongroom locations fill {where}"
                       for where in lacking))

    _emit(as_json, result.to_dict(), human)
    sys.exit(EXIT_OK if result.retired else EXIT_PROBLEMS)
