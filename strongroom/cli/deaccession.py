"""``strongroom deaccession``: request, approve, reject, resume and list deaccessions."""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import click

from strongroom.cli.anchors import anchor_after

if TYPE_CHECKING:
    from collections.abc import Callable

    from ingest.deaccession import DeaccessionOutcome
    from ingest.services import Services
from strongroom.cli.base import (
    EXIT_OK,
    EXIT_PROBLEMS,
    _emit,
    _services,
    command_errors,
    json_option,
    main,
    person_at_terminal,
)


def _deciding() -> Services:
    """The services, acting as the person at the terminal (``person_at_terminal``)."""
    return replace(_services(read_only=True), actor=person_at_terminal())


@main.group()
def deaccession() -> None:
    """Remove a package, or one version, from every location: two people decide.

    One admin requests it with a reason; another approves it (the requester never
    can). Each runs the command as themselves: the person is the operating-system
    account running it (--agent is refused here). The catalog and every location
    keep a tombstone saying what was removed, when, why and by whom; `show`,
    `fetch` and the API answer that it was deaccessioned.
    """


@deaccession.command("request")
@click.argument("package")
@click.option("--version", "number", type=click.IntRange(min=1),
              help="Only this version (default: the whole package).")
@click.option("--reason", required=True, help="Why, in words a later reader will understand.")
@json_option
@command_errors
def request_command(package: str, number: int | None, reason: str, as_json: bool) -> None:
    """Ask for the deaccession of PACKAGE (an identifier or a package id)."""
    from ingest.deaccession import request_deaccession

    services = _deciding()
    request = request_deaccession(services, package, number, reason)
    anchor_after(services)

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"requested {doc['request_id']}: deaccession of {_scope(doc)}")
        click.echo(f"  another admin approves it: strongroom deaccession approve {doc['request_id']}")

    _emit(as_json, request.to_dict(), human)


@deaccession.command("approve")
@click.argument("request_id", metavar="REQUEST")
@json_option
@command_errors
def approve_command(request_id: str, as_json: bool) -> None:
    """Approve REQUEST (not the person who asked) and delete its objects from every
    location. Run again, or `resume`, when a location was out of reach (exit 1)."""
    from ingest.deaccession import approve_deaccession

    _delete(_deciding(), approve_deaccession, request_id, as_json)


@deaccession.command("resume")
@click.argument("request_id", metavar="REQUEST")
@json_option
@command_errors
def resume_command(request_id: str, as_json: bool) -> None:
    """Finish the deletion of an approved REQUEST that a location held up."""
    from ingest.deaccession import resume_deaccession

    _delete(_services(read_only=True), resume_deaccession, request_id, as_json)


@deaccession.command("reject")
@click.argument("request_id", metavar="REQUEST")
@click.option("--reason", "note", help="Why it was rejected.")
@json_option
@command_errors
def reject_command(request_id: str, note: str | None, as_json: bool) -> None:
    """Reject REQUEST: nothing is deleted."""
    from ingest.deaccession import reject_deaccession

    services = _deciding()
    request = reject_deaccession(services, request_id, note)
    anchor_after(services)

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"rejected {doc['request_id']}: deaccession of {_scope(doc)}")

    _emit(as_json, request.to_dict(), human)


@deaccession.command("list")
@json_option
@command_errors
def list_command(as_json: bool) -> None:
    """Every deaccession request, newest first, with its state."""
    from ingest.deaccession import list_deaccessions

    requests = list_deaccessions(_services(read_only=True))

    def human(doc: dict[str, Any]) -> None:
        if not doc["requests"]:
            click.echo("no deaccession requests")
        for r in doc["requests"]:
            decided = (f", {r['state']} by {r['decided_by']['name']} {r['decided_at'][:10]}"
                       if r["decided_by"] else "")
            click.echo(f"{r['state']:<13} {r['request_id']}  {_scope(r)}")
            click.echo(f"              asked by {r['requested_by']['name']}"
                       f" {r['requested_at'][:10]}{decided}: {r['reason']}")

    _emit(as_json, {"requests": [r.to_dict() for r in requests]}, human)


def _delete(services: Services, use_case: Callable[[Services, str], DeaccessionOutcome],
            request_id: str, as_json: bool) -> None:
    """Run an approval or a resumption, anchor, present the outcome; exit 1 while
    a location was out of reach (the deletion is not finished there)."""
    outcome = use_case(services, request_id)
    anchor_after(services)
    _emit(as_json, outcome.to_dict(), _human_outcome)
    sys.exit(EXIT_OK if outcome.finished else EXIT_PROBLEMS)


def _scope(doc: dict[str, Any]) -> str:
    what = "package" if doc["version"] is None else f"version {doc['version']} of"
    return f"{what} {doc['identifier']}"


def _human_outcome(doc: dict[str, Any]) -> None:
    request = doc["request"]
    click.echo(f"{request['state']:<13} {request['request_id']}  {_scope(request)}")
    for loc in doc["locations"]:
        if loc["error"]:
            click.echo(f"  out of reach {loc['location']}: {loc['error']}")
        else:
            click.echo(f"  deleted      {loc['location']}: {loc['deleted']} object(s)"
                       + (f", {loc['kept']} kept for remaining versions" if loc["kept"] else ""))
    if not doc["finished"]:
        click.echo(f"  not finished: run `strongroom deaccession resume {request['request_id']}`"
                   " once every location can be reached")
