"""``strongroom formats report``: files and bytes per file format."""

from __future__ import annotations

from typing import Any

import click

from strongroom.cli.base import _emit, _services, command_errors, json_option, main


@main.group()
def formats() -> None:
    """File formats of the payload, as identified at ingest (PRONOM)."""


@formats.command("report")
@json_option
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV: one row per format.")
@command_errors
def report_command(as_json: bool, as_csv: bool) -> None:
    """How many files, and bytes, of each format the latest versions hold."""
    if as_json and as_csv:
        raise click.UsageError("choose --json or --csv, not both")
    from ingest.format_report import format_report, format_report_csv
    from strongroom.reports import describe_payload

    doc = format_report(_services(read_only=True).catalog)

    def human(d: dict[str, Any]) -> None:
        kinds = f"{len(d['formats'])} format" + ("" if len(d["formats"]) == 1 else "s")
        click.echo(f"{describe_payload(d['octets'], d['files'])} in {kinds} "
                   f"({d['scope']}); {d['unidentified_files']} with no format on record")
        for row in d["formats"]:
            name = " ".join(part for part in (row["name"], row["version"]) if part) or "no format on record"
            files = "file " if row["files"] == 1 else "files"
            click.echo(f"  {row['puid'] or '-':<12} {row['files']:>8} {files} "
                       f"{row['octets']:>14,} bytes  {name}")

    if as_csv:
        click.echo(format_report_csv(doc), nl=False)
    else:
        _emit(as_json, doc, human)
