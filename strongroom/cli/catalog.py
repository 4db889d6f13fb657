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


def _version_named(ctx: click.Context, param: click.Parameter,
                   values: tuple[str, ...]) -> list[tuple[str, int]]:
    """``PACKAGE_ID/vN`` as (package id, number). Raises click.BadParameter."""
    from ingest.layout import canonical_package_id

    named: list[tuple[str, int]] = []
    for value in values:
        package_id, _, number = value.partition("/v")
        if canonical_package_id(package_id) is None or not number.isdigit() or int(number) < 1:
            raise click.BadParameter(f"{value!r} is not PACKAGE_ID/vN (a package id, then /v and "
                                     "a version number, as the rebuild lists it)")
        named.append((package_id, int(number)))
    return named


@catalog_group.command("rebuild")
@click.option("--trust-unmarked", is_flag=True,
              help="Take every complete bag as a committed version, with or without a commit "
                   "record (for stores written before commit records existed).")
@click.option("--committed", "committed", multiple=True, metavar="PACKAGE_ID/vN",
              callback=_version_named,
              help="Take this bag in as a committed version though no commit record says so "
                   "(you have made sure it was committed); repeat for more.")
@json_option
@command_errors
def catalog_rebuild(trust_unmarked: bool, committed: list[tuple[str, int]], as_json: bool) -> None:
    """Rebuild packages, versions and files from the bags in the store, into the
    empty database STRONGROOM_DATABASE_URL names (exit 2 when it is not empty).

    Versions with a commit record (_commits/) are taken in, and so are versions
    whose files a committed version reads (its fetch.txt): their records were
    lost, and are written again. Other bags without a record (what a crash just
    before a commit leaves, or a committed version whose records were all lost)
    are listed as uncommitted, left alone, and the rebuild exits 1: decide, and
    rebuild again with --committed for those that were committed. A store with
    no commit record at all is refused (exit 2) unless --trust-unmarked.
    Batches, items, item ids, the time of day a version was made, fixity results
    and audit events are not in the bags and are not rebuilt.
    """
    from ingest.rebuild import rebuild_catalog
    from strongroom.cli.terminal import progress_for

    with progress_for(_services(), as_json, "reading bags") as services:
        report = rebuild_catalog(services, trust_unmarked=trust_unmarked, committed=committed)
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
        for r in doc["records_lost"]:
            by = ", ".join(f"v{n}" for n in r["referenced_by"])
            click.echo(f"  {r['package_id']} v{r['version']}: committed (referenced by {by}) but "
                       "its commit record is lost; "
                       + ("taken in, and its record written again" if r["taken_in"] else
                          "its bag could not be read (see skipped): restore it from a backup"))
        for d in doc["deaccessioned"]:
            left = (f"; but its bag is still in {', '.join(d['locations'])}: a deletion left"
                    " unfinished (`strongroom deaccession resume` with the old catalog), or a"
                    " tombstone that does not belong to this archive: compare the request with"
                    " your records before removing anything") if d["locations"] else ""
            click.echo(f"  deaccessioned: {d['package_id']} v{d['version']} (tombstone of request"
                       f" {d['request_id']}; not taken in){left}")
        for u in doc["uncommitted"]:
            click.echo(f"  uncommitted: {u['package_id']} v{u['version']} (no commit record;"
                       " left in the store, not taken in)")
        if doc["uncommitted"]:
            click.echo(
                "  a bag without a commit record is what an ingest that crashed before its commit"
                " leaves, or a committed version whose record was lost in every location: no bag"
                " tells which. To tell, look for the version elsewhere: the batch named by"
                " Bag-Group-Identifier in its bag-info.txt (the submitter's receipt or `status`"
                " of the lost catalog said stored or not), copies delivered from it. If it was"
                " committed, empty this database and rebuild again with --committed"
                " PACKAGE_ID/vN for each such version. If it was not, leave it: `fixity"
                " reconcile` lists it as INGEST_LEFTOVER, and submitting the item again"
                " stores its version in its place")
        click.echo(f"{len(doc['anchors'])} audit anchors of the earlier log found"
                   " (recorded as superseded)" if doc["anchors"] else "no audit anchors found")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if report.has_problems else EXIT_OK)
