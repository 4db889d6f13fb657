"""Copies and the catalog's own recovery: repair, catalog rebuild; anchoring the audit log."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from strongroom.cli.base import (
    EXIT_OK,
    EXIT_PROBLEMS,
    LATEST,
    VERSION,
    _emit,
    _services,
    _warn,
    chosen_version,
    command_errors,
    json_option,
    main,
)

if TYPE_CHECKING:
    from ingest.services import Services


def anchor_after(services: Services) -> None:
    """Anchor the audit chain's head at the end of a command that appended events.

    The command's own work is done and reported either way: a store that cannot
    take the anchor is a warning on stderr (the next command anchors again).
    """
    from ingest.anchoring import anchor_audit_head
    from ingest.errors import StrongroomError

    try:
        anchor_audit_head(services)
    except StrongroomError as exc:
        _warn(f"the audit log head was not anchored: {exc}")


# --------------------------------------------------------------------------- repair


@main.command()
@click.argument("package")
@click.option("--version", "number", type=VERSION,
              help="Only this version, a number or 'latest' (default: every version).")
@json_option
@command_errors
def repair(package: str, number: int | str | None, as_json: bool) -> None:
    """Deep-verify every copy of a package and rebuild damaged copies from a good one.

    A copy is only ever rebuilt from a copy that was deep-verified good moments
    before. Exit 1 when a copy stays damaged or no good copy exists.
    """
    from ingest.repair import repair_package

    services = _services()
    package_id = services.catalog.resolve_package(package)
    if number == LATEST:
        number = services.catalog.get_version(package_id, None).number
    results = repair_package(services, package_id, chosen_version(number))
    anchor_after(services)
    document = {"results": [r.to_dict() for r in results]}

    def human(doc: dict[str, Any]) -> None:
        for r in doc["results"]:
            click.echo(f"{r['status']:<8} {r['package_id']} v{r['version']}")
            for c in r["copies"]:
                source = f" from {c['source']}" if c["source"] else ""
                click.echo(f"  {c['status']:<11} {c['location']}{source}")
                for f in c["findings"]:
                    click.echo(f"      {f['code']} {f.get('path', '')}: {f['message']}")
                if c["detail"]:
                    click.echo(f"      {c['detail']}")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if any(r.has_problems for r in results) else EXIT_OK)


# --------------------------------------------------------------------------- catalog rebuild


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

    report = rebuild_catalog(_services(), trust_unmarked=trust_unmarked)
    document = report.to_dict()

    def human(doc: dict[str, Any]) -> None:
        click.echo(f"{doc['packages']} packages, {len(doc['versions'])} versions rebuilt")
        for v in doc["versions"]:
            for f in v["findings"]:
                click.echo(f"  {v['package_id']} v{v['version']}: {f['code']} {f.get('path', '')}")
        for f in doc["skipped"]:
            click.echo(f"  skipped: {f['message']}")
        for s in doc["strangers"]:
            click.echo(f"  not a bag: {s['key']} at {s['location']}")
        for u in doc["uncommitted"]:
            click.echo(f"  uncommitted: {u['package_id']} v{u['version']} (no commit record;"
                       " left in the store, not taken in)")
        click.echo(f"{len(doc['anchors'])} audit anchors of the earlier log found"
                   " (recorded as superseded)" if doc["anchors"] else "no audit anchors found")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if report.has_problems else EXIT_OK)
