"""``strongroom catalog``: the catalog database itself (its rebuild from the store)."""

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
    finding_line,
    json_option,
    main,
)


@main.group("catalog")
def catalog_group() -> None:
    """The catalog database itself."""


@catalog_group.command("rebuild")
@click.option("--trust-unmarked", is_flag=True,
              help="Take every complete bag as a committed version, with or without a commit "
                   "record (for stores written before commit records existed).")
@json_option
@command_errors
def catalog_rebuild(trust_unmarked: bool, as_json: bool) -> None:
    """Rebuild packages, versions and files from the bags in the store, into the
    empty database STRONGROOM_DATABASE_URL names (exit 2 when it is not empty).

    Only versions with a commit record (_commits/) are taken in; bags without one
    (what a crash just before a commit leaves) are listed as uncommitted and left
    alone. A store with no commit record at all is refused (exit 2) unless
    --trust-unmarked. Batches, items, item ids, the time of day a version was
    made, fixity results and audit events are not in the bags and are not rebuilt.
    """
    from ingest.rebuild import rebuild_catalog
    from strongroom.cli.terminal import progress_for

    with progress_for(_services(), as_json, "reading bags") as services:
        report = rebuild_catalog(services, trust_unmarked=trust_unmarked)
    document = report.to_dict()

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"{doc['packages']} packages, {len(doc['versions'])} versions rebuilt")
        for v in doc["versions"]:
            if v["findings"]:
                click.echo(f"  {v['package_id']} v{v['version']}: taken in from {v['location']}")
            for f in v["findings"]:
                at = f" at {f['location']}" if f.get("location") else ""
                click.echo(f"    {finding_line(f)}{at}")
        if any(v["findings"] for v in doc["versions"]):
            click.echo("  where a version's copies differ, compare them before `strongroom repair`:"
                       " it rewrites every other copy from the one taken in")
        for f in doc["skipped"]:
            click.echo(f"  skipped: {f['message']}")
        for s in doc["strangers"]:
            click.echo(f"  not a bag: {s['key']} at {s['location']}")
        for lost in doc["lost"]:
            click.echo(f"  LOST: {lost['package_id']} v{lost['version']}: committed (its commit "
                       f"record is in {', '.join(lost['records_in'])}) but no location holds "
                       "its bag; restore it from a backup of the store")
        for u in doc["uncommitted"]:
            click.echo(f"  uncommitted: {u['package_id']} v{u['version']} (no commit record;"
                       " left in the store, not taken in)")
        click.echo(f"{len(doc['anchors'])} audit anchors of the earlier log found"
                   " (recorded as superseded)" if doc["anchors"] else "no audit anchors found")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if report.has_problems else EXIT_OK)
