"""The audit log: log, verify."""

from __future__ import annotations

import sys
from typing import Any

import click

from strongroom.cli.base import (
    EXIT_OK,
    EXIT_PROBLEMS,
    _emit,
    _services,
    command_errors,
    json_option,
    main,
)

# --------------------------------------------------------------------------- audit


@main.group()
def audit() -> None:
    """Read and verify the hash-chained audit log."""


@audit.command("log")
@click.option("--package", help="Only the events of this package (id or identifier).")
@click.option("--agent", "agent_name", metavar="NAME",
              help="Only the events caused by this agent (a token's name, a user, a worker "
                   "host, scheduler), directly or on its behalf.")
@json_option
@command_errors
def audit_log(package: str | None, agent_name: str | None, as_json: bool) -> None:
    """Print audit events in chain order, each with who caused it."""
    from ingest.audit_query import EventQuery, matching_events
    from strongroom.reports import describe_actor, event_report

    services = _services(read_only=True)
    events = matching_events(services.catalog, EventQuery(package=package, agent=agent_name))
    document = {"events": [event_report(e) for e in events]}

    def human(doc: dict[str, Any]) -> None:
        for e in doc["events"]:
            subject = ((e["package_id"] and f"{e['package_id']} v{e['version']}") or e["batch_id"]
                       or _whose_policy(e.get("detail") or {}))
            who = describe_actor(e["actor"]) if e["actor"] else "(not recorded)"
            click.echo(f"{e['seq']:>6} {e['occurred_at']} {e['event_type']:<27} {e['outcome']:<8} "
                       f"{subject}  by {who}")

    _emit(as_json, document, human)


def _whose_policy(detail: dict[str, Any]) -> str:
    """What a policy-assignment event changed: "token created: nightly export (reader)",
    "location retired: s3://old-bucket/archive"."""
    from strongroom.reports import printable

    if detail.get("action") and isinstance(detail.get("location"), str):  # a location retired
        return printable(f"{detail['action']}: {detail['location']}")
    changed = detail.get("account") or detail.get("token")
    if not isinstance(changed, dict) or not detail.get("action"):
        return ""
    return printable(f"{detail['action']}: {changed.get('name')} ({changed.get('role')})")


@audit.command("verify")
@json_option
@command_errors
def audit_verify(as_json: bool) -> None:
    """Check the whole hash chain, and hold it to the anchors in the object store.

    The chain shows edits inside the log; the anchors (heads written to every
    storage location) show a log cut off at its end or rewritten whole. This
    catalog's log's anchors count, and those of any other log of the same
    lineage (its first event: this log under another id); another catalog on
    the same store has its own, listed. Names the first event that does not fit
    and every anchor the log fails. The same check as GET /audit/verify.
    """
    from ingest.anchoring import verify_audit_log

    services = _services(read_only=True)
    checked = verify_audit_log(services)
    report = checked.chain
    document = checked.to_dict()

    def human(doc: dict[str, Any]) -> None:
        anchored = doc["anchors"]
        if report.ok:
            click.echo(f"chain ok: {doc['count']} events, head {doc['head']}")
        else:
            click.echo(f"BROKEN at event {doc['first_bad_seq']}: {doc['reason']}")
        click.echo(f"anchors: {anchored['count']} checked"
                   + (f", {anchored['superseded']} of a log lost in a catalog rebuild"
                      if anchored["superseded"] else ""))
        for f in anchored["findings"]:
            owner = f.get("params", {}).get("log_id")
            click.echo(f"  {f['code']}: {f['message']}"
                       + (f" (an anchor of log {owner}, this log's own history under another id)"
                          if owner else ""))
        for other in anchored.get("other_logs", []):
            whose = ("this log's own history under another id: held to its anchors"
                     if other["lineage"] else "another catalog's log on the same store: not checked")
            click.echo(f"other log {other['log_id']}: {other['anchors']} anchors up to event "
                       f"{other['latest_seq']}; {whose}")

    _emit(as_json, document, human)
    sys.exit(EXIT_OK if checked.ok else EXIT_PROBLEMS)
