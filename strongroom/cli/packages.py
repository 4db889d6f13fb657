"""Packages: list, search, show, verify, fetch."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import click

from ingest.access import MAX_PAGE, PackageSort, QueryInvalid, find_packages, package_query
from ingest.errors import InputError, PackageNotFound
from strongroom.cli.anchors import anchor_after
from strongroom.cli.base import (
    EXIT_OK,
    EXIT_PROBLEMS,
    VERSION,
    _emit,
    _services,
    _settings_and_services,
    chosen_version,
    command_errors,
    finding_line,
    json_option,
    main,
)

# --------------------------------------------------------------------------- list / search / show


@main.command("list")
@json_option
@command_errors
def list_packages(as_json: bool) -> None:
    """List packages with their latest version."""
    packages = _services(read_only=True).catalog.list_packages()
    document = {"packages": [{"package_id": p.package_id, "identifier": p.identifier,
                              "title": p.title, "latest_version": p.latest_version}
                             for p in packages]}

    def human(doc: dict[str, Any]) -> None:
        for p in doc["packages"]:
            click.echo(f"{p['package_id']}  v{p['latest_version']:<3} {p['identifier']}  {p['title']}")
        click.echo(f"{len(doc['packages'])} packages")

    _emit(as_json, document, human)


@main.command()
@click.option("--title", default="", metavar="WORDS",
              help="Every word appears in the title (any case, with or without accents).")
@click.option("--creator", default="", metavar="NAME",
              help="Any part of a creator's name, a person's or a body's.")
@click.option("--collection", default="", metavar="NAME",
              help="The collection's whole name (any case, with or without accents).")
@click.option("--identifier", default="", metavar="PREFIX", help="The identifier starts with this.")
@click.option("--type", "record_type", default="", metavar="TYPE", help="The record's type.")
@click.option("--from", "date_from", default="", metavar="DATE",
              help="The record's date overlaps a range from this year, month or day "
                   "(1951, 1951-06, 1951-06-21).")
@click.option("--to", "date_to", default="", metavar="DATE",
              help="... to this year, month or day.")
@click.option("--sort", type=click.Choice([s.value for s in PackageSort]),
              default=PackageSort.IDENTIFIER.value, show_default=True, help="The order.")
@click.option("--limit", type=click.IntRange(1, MAX_PAGE), default=50, show_default=True,
              help="Packages on one page.")
@click.option("--cursor", default=None, help="Continue where the previous page ended "
                                              "(the command it printed says how).")
@json_option
@command_errors
def search(title: str, creator: str, collection: str, identifier: str, record_type: str,
           date_from: str, date_to: str, sort: str, limit: int, cursor: str | None,
           as_json: bool) -> None:
    """Search packages by title words, creator, collection, identifier, type and
    date, a page at a time (what the console's Packages page and GET /packages find)."""
    try:
        query = package_query(identifier=identifier, title=title, creator=creator,
                              collection=collection, type=record_type, date_from=date_from,
                              date_to=date_to)
    except QueryInvalid as exc:  # named as the options are here
        options = {"date_from": "--from", "date_to": "--to"}
        raise InputError("; ".join(f"{options.get(name, name)}: {text}"
                                   for name, text in exc.problems.items())) from exc
    page = find_packages(_services(read_only=True).catalog, query, sort=sort, cursor=cursor,
                         limit=limit)
    document = {"packages": [{"package_id": p.package_id, "identifier": p.identifier,
                              "title": p.title, "latest_version": p.latest_version,
                              "date": p.date, "type": p.type, "collection": p.collection}
                             for p in page.packages],
                "next_cursor": page.next_cursor,
                "matched": {"count": page.matched, "more": page.matched_more}}

    def human(doc: dict[str, Any]) -> None:
        for p in doc["packages"]:
            click.echo(f"{p['package_id']}  v{p['latest_version']:<3} {p['identifier']}  "
                       f"{p['title']}")
        count, more = doc["matched"]["count"], doc["matched"]["more"]
        click.echo(f"more than {count} packages match" if more else
                   "1 package matches" if count == 1 else f"{count} packages match")
        if doc["next_cursor"]:
            asked = [("--title", title), ("--creator", creator), ("--collection", collection),
                     ("--identifier", identifier), ("--type", record_type),
                     ("--from", date_from), ("--to", date_to),
                     ("--sort", sort if sort != PackageSort.IDENTIFIER.value else ""),
                     ("--limit", str(limit) if limit != 50 else ""),
                     ("--cursor", doc["next_cursor"])]
            click.echo("next page: strongroom search " + shlex.join(
                [part for option, value in asked if value for part in (option, value)]))

    _emit(as_json, document, human)


@main.command()
@click.argument("package")
@json_option
@command_errors
def show(package: str, as_json: bool) -> None:
    """Show a package (by id or record identifier): metadata, versions, files, fixity."""
    from strongroom.reports import package_report

    catalog = _services(read_only=True).catalog
    try:
        package_id = catalog.resolve_package(package)
    except PackageNotFound as exc:  # words of a title, a name: a search finds those
        raise PackageNotFound(f"{exc}: it is no package id or record identifier; to find "
                              "packages by title words, creator or collection, try "
                              f"strongroom search --title {shlex.quote(package)}") from exc
    document = package_report(catalog, package_id)

    def human(doc: dict[str, Any]) -> None:
        import textwrap

        from strongroom.reports import describe_payload, describe_record

        click.echo(f"{doc['title']}")
        click.echo(f"  identifier   {doc['identifier']}  (package {doc['package_id']})")
        for label, text in describe_record(doc["metadata"]):
            # Prose keeps its paragraphs; each is wrapped under its label.
            paragraphs = [p for p in text.splitlines() if p.strip()] or [text]
            for n, paragraph in enumerate(paragraphs):
                wrapped = textwrap.wrap(paragraph, width=96) or [paragraph]
                head = f"{label:<12} " if n == 0 else " " * 13
                click.echo(f"  {head}{wrapped[0]}")
                for rest in wrapped[1:]:
                    click.echo(f"  {' ' * 13}{rest}")
        for v in doc["versions"]:
            fixity = v["last_fixity"]
            fx = f"last fixity {fixity['outcome']} at {fixity['at']}" if fixity else "never re-verified"
            payload = describe_payload(v["payload_octets"], v["payload_files"])
            shared = v["payload_octets"] - v["payload_octets_stored"]
            kept = f", {shared} bytes of them unchanged and stored once" if shared else ""
            click.echo(f"  v{v['version']} stored {v['created_at']}: {payload}{kept} ({fx})")
            if v.get("changes"):
                click.echo(f"    {_changes_line(v['changes'])}")
            for f in v["files"]:
                puid = f["format"]["puid"] if f.get("format") else ""
                held = f"  (held in v{f['held_by']})" if f.get("held_by") else ""
                click.echo(f"      {f['sha256'][:16]}… {f['size']:>12} {puid:<10} '{f['path']}'{held}")
        for d in doc.get("deaccessioned", []):
            click.echo(f"  v{d['version']} deaccessioned {(d['decided_at'] or '')[:10]}: {d['reason']}"
                       f" (request {d['request_id']})")

    _emit(as_json, document, human)


def _changes_line(changes: dict[str, Any]) -> str:
    """'since v1: 1 file added, 1 changed; record: Title, Language' (printable)."""
    from strongroom.reports import printable

    counts: dict[str, int] = {}
    for f in changes["files"]:
        counts[f["change"]] = counts.get(f["change"], 0) + 1
    files = ", ".join(f"{n} {kind}" for kind, n in counts.items())
    fields = ", ".join(printable(f["label"]) for f in changes["metadata"])
    parts = [f"files: {files}" if files else "", f"record: {fields}" if fields else ""]
    return f"since v{changes['from_version']}: " + ("; ".join(p for p in parts if p) or "no change")


# --------------------------------------------------------------------------- verify / fetch


@main.command()
@click.argument("packages", nargs=-1)
@click.option("--all", "all_packages", is_flag=True, help="Verify every package.")
@click.option("--shallow", is_flag=True,
              help="Only look at each file (one HEAD request each): present, at its size, "
                   "and with our SHA-256 where the store keeps one. Reads no bytes.")
@json_option
@command_errors
def verify(packages: tuple[str, ...], all_packages: bool, shallow: bool, as_json: bool) -> None:
    """Re-read and re-hash every stored byte and tag file of the packages' versions.

    With --shallow, only look at each file (the scheduled shallow check)."""
    from ingest.fixity_audit import verify_packages
    from ingest.fixity_policy import DEEP, SHALLOW
    from ingest.fixity_report import unconfigured_list, unconfigured_locations
    from ingest.stuck import crash_remains

    if bool(packages) == all_packages:
        raise click.UsageError("name one or more packages, or --all")
    from strongroom.cli.terminal import progress_for

    settings, services = _settings_and_services(read_only=True)
    with progress_for(services, as_json, "verifying") as watched:
        results = verify_packages(watched, None if all_packages else list(packages),
                                  concurrency=settings.concurrency,
                                  tier=SHALLOW if shallow else DEEP)
    anchor_after(services)
    document: dict[str, Any] = {"results": [r.to_dict() for r in results]}
    remains = None
    unconfigured: dict[str, tuple[int, int]] = {}
    if all_packages:
        # Everything, said once: crashed ingests that hold packages up are shown
        # too, and copies in a location the settings no longer name (unchecked).
        remains = crash_remains(services.catalog, services.locations, services.clock.now(),
                                services.stuck_after)
        document.update(remains.to_dict())
        unconfigured = unconfigured_locations(services)
        document["unconfigured_locations"] = unconfigured_list(unconfigured)

    def human(doc: dict[str, Any]) -> None:
        from strongroom.cli.fixity import _human_remains, _human_unconfigured
        from strongroom.reports import describe_size

        # Every line names the copy it is about: the version, and where it is kept.
        for r in doc["results"]:
            name = r["identifier"] or r["package_id"]
            title = f"  \u201c{r['title']}\u201d" if r["title"] else ""
            click.echo(f"{r['status']:<6} {name} v{r['version']} at {r['location']}{title}")
            for f in r["findings"]:
                click.echo(f"       at {r['location']}: {finding_line(f)}")
        _human_remains(doc)
        _human_unconfigured(doc)
        results = doc["results"]
        failed = sum(1 for r in results if r["status"] != "ok")
        packages_seen = len({r["package_id"] for r in results})
        versions = len({(r["package_id"], r["version"]) for r in results})
        # A shallow look reads no byte: said, so that "no failures" is not taken
        # for "every byte as stored" (a byte changed in place goes unseen).
        read = ("shallow: each file looked at (present, at its size), no byte read"
                if shallow else
                f"{describe_size(sum(r['octets'] for r in results if r['tier'] == 'deep'))} read")
        click.echo(f"{packages_seen} package{'' if packages_seen == 1 else 's'} "
                   f"({versions} version{'' if versions == 1 else 's'}), "
                   f"{len(results)} cop{'y' if len(results) == 1 else 'ies'}, {read}: "
                   + (f"{failed} cop{'y' if failed == 1 else 'ies'} failed" if failed
                      else "no failures"))

    _emit(as_json, document, human)
    failed = (any(r.status == "failed" for r in results) or bool(remains and remains.found)
              or bool(unconfigured))
    sys.exit(EXIT_PROBLEMS if failed else EXIT_OK)


@main.command()
@click.argument("package")
@click.option("--version", "number", type=VERSION,
              help="Version number or 'latest' (default: the latest).")
@click.option("--to", "target", type=click.Path(path_type=str),
              help="Write the bag into this folder (absent or empty); it appears only once "
                   "every file verified.")
@click.option("--format", "fmt", type=click.Choice(["tar"]), help="Stream the bag as one archive.")
@click.option("-o", "--output", type=str,
              help="With --format: a new file (it appears only once every file verified), "
                   "or - for stdout.")
@click.option("--force", is_flag=True, help="With -o FILE: replace an existing regular file.")
@json_option
@command_errors
def fetch(package: str, number: int | str | None, target: str | None, fmt: str | None,
          output: str | None, force: bool, as_json: bool) -> None:
    """Fetch a package version's bag, verifying every file on the way.

    A damaged file never arrives looking whole: a folder or file is left only
    when every file matched, and a stream is cut inside the damaged entry."""
    from ingest.local_targets import fetch_to_file, fetch_to_folder
    from ingest.retrieval import write_tar

    if (target is None) == (fmt is None):
        raise click.UsageError("give either --to DIR or --format tar -o FILE")
    if fmt and not output:
        raise click.UsageError("--format tar needs -o FILE (or -o - for stdout)")
    if fmt and output == "-" and as_json:
        raise click.UsageError("--json cannot share stdout with -o -")
    from strongroom.cli.terminal import progress_for

    services = _services(read_only=True)  # fetch records events in an archive; it never makes one
    package_id = services.catalog.resolve_package(package)
    wanted = chosen_version(number)
    where: str
    # The bag on stdout is no place for a progress bar, even on a terminal.
    with progress_for(services, as_json or output == "-", "fetching") as watched:
        if target is not None:
            version, findings = fetch_to_folder(watched, package_id, wanted, target)
            where = target
        elif output == "-":
            version, findings = write_tar(watched, package_id, wanted, sys.stdout.buffer)
            where = "-"
        else:
            assert output is not None  # checked above: --format needs -o
            version, findings = fetch_to_file(watched, package_id, wanted, output,
                                              replace=force)
            where = output
    document = {"package_id": package_id, "version": version.number, "to": where,
                "status": "failed" if findings else "ok",
                "findings": [f.to_dict() for f in findings]}

    def human(doc: dict[str, Any]) -> None:
        if doc["to"] == "-":
            for f in doc["findings"]:
                click.echo(finding_line(f), err=True)
            return
        click.echo(f"{doc['status']}: {doc['package_id']} v{doc['version']} -> {doc['to']}")
        for f in doc["findings"]:
            click.echo(f"  {finding_line(f)}")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if findings else EXIT_OK)
