"""The ``strongroom`` command.

Contract (other tools rely on it): every command takes ``--json`` and then
prints exactly one JSON document on stdout. Exit codes: 0 all good; 1 the
command ran and found problems (an item rejected or failed, a fixity failure,
a broken audit chain, a service unavailable); 2 usage error or unreadable input.

Heavy libraries are imported inside the commands so that ``--help`` stays fast.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any

import click

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
        click.echo(f"  {item['status']:<9} {item['name']}{where}")
        for f in item["findings"]:
            place = f.get("pointer") if f.get("pointer") is not None else f.get("path", "")
            click.echo(f"            {f['code']} {place or ''}: {f['message']}")
    counts = ", ".join(f"{n} {s}" for s, n in report["counts"].items() if n)
    click.echo(f"{len(report['items'])} items: {counts or 'none'}")


@main.command()
@click.argument("batch_dir", type=click.Path(file_okay=False, path_type=str))
@json_option
@command_errors
def submit(batch_dir: str, as_json: bool) -> None:
    """Ingest a batch folder: one item per child folder (metadata.json + payload)."""
    from strongroom.reports import batch_has_problems, batch_report
    from strongroom.settings import Settings
    from workers.inprocess import run_items
    from ingest.pipeline import submit_batch

    settings = Settings.from_env()
    services = _services()
    submitted = submit_batch(batch_dir, services)
    ids = [i.item_id for i in submitted.items]
    show_bar = not as_json and sys.stderr.isatty() and ids
    if show_bar:
        with click.progressbar(length=len(ids), label="ingesting", file=sys.stderr) as bar:
            run_items(ids, services, concurrency=settings.concurrency,
                      max_attempts=settings.max_attempts, backoff=settings.retry_backoff,
                      on_result=lambda _r: bar.update(1))
    else:
        run_items(ids, services, concurrency=settings.concurrency,
                  max_attempts=settings.max_attempts, backoff=settings.retry_backoff)
    report = batch_report(services.catalog, submitted.batch.batch_id)
    _emit(as_json, report, _print_batch)
    sys.exit(EXIT_PROBLEMS if batch_has_problems(report) else EXIT_OK)


@main.command()
@click.argument("batch_id")
@json_option
@command_errors
def status(batch_id: str, as_json: bool) -> None:
    """Show a batch's items and findings, from the catalog."""
    from strongroom.reports import batch_has_problems, batch_report

    report = batch_report(_services().catalog, batch_id)
    _emit(as_json, report, _print_batch)
    sys.exit(EXIT_PROBLEMS if batch_has_problems(report) else EXIT_OK)


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


if __name__ == "__main__":  # pragma: no cover
    main()
