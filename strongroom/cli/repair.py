"""``strongroom repair``: deep-verify every copy of a package and rebuild damaged copies."""

from __future__ import annotations

import sys
from typing import Any

import click

from strongroom.cli.anchors import anchor_after
from strongroom.cli.base import (
    EXIT_OK,
    EXIT_PROBLEMS,
    LATEST,
    VERSION,
    _emit,
    _services,
    chosen_version,
    command_errors,
    finding_line,
    json_option,
    main,
)


@main.command()
@click.argument("package")
@click.option("--version", "number", type=VERSION,
              help="Only this version, a number or 'latest' (default: every version).")
@json_option
@command_errors
def repair(package: str, number: int | str | None, as_json: bool) -> None:
    """Deep-verify every copy of a package and rebuild damaged copies from good bytes.

    Each damaged object is rewritten from the same object in a copy deep-verified
    good moments before, else from any other stored object recorded with the same
    size, SHA-256 and SHA-512 (another location, version or package); every byte
    copied is hashed on the way and written only if both digests match. Exit 1
    when a copy stays damaged or nothing holds the damaged files' bytes.
    """
    from ingest.repair import repair_package

    services = _services(read_only=True)  # repairs an archive that exists; never makes one
    package_id = services.catalog.resolve_package(package)
    if number == LATEST:
        number = services.catalog.get_version(package_id, None).number
    from strongroom.cli.terminal import progress_for

    with progress_for(services, as_json, "checking copies") as watched:
        results = repair_package(watched, package_id, chosen_version(number))
    anchor_after(services)
    document = {"results": [r.to_dict() for r in results]}

    def human(doc: dict[str, Any]) -> None:
        for r in doc["results"]:
            click.echo(f"{r['status']:<8} {r['package_id']} v{r['version']}")
            if r.get("detail"):
                click.echo(f"  {r['detail']}")
            for c in r["copies"]:
                source = f" from {c['source']}" if c["source"] else ""
                click.echo(f"  {c['status']:<11} {c['location']}{source}")
                if c.get("had") and c["status"] != "ok":
                    click.echo(f"      had {c['had']}")
                for f in c["findings"]:
                    click.echo(f"      {finding_line(f)}")
                for path, source in c["mended_from"].items():
                    click.echo(f"      {path}: bytes from {source['key']} at {source['location']}")
                if c["detail"]:
                    click.echo(f"      {c['detail']}")

    _emit(as_json, document, human)
    sys.exit(EXIT_PROBLEMS if any(r.has_problems for r in results) else EXIT_OK)
