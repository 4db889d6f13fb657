"""``strongroom staging``: the uploaded batches waiting in the staging folder."""

from __future__ import annotations

from typing import Any

import click

from strongroom.cli.base import _emit, command_errors, json_option, main


@main.group()
def staging() -> None:
    """Uploaded batches waiting in the staging folder (STRONGROOM_STAGING_DIR)."""


@staging.command("prune")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@json_option
@command_errors
def staging_prune(dry_run: bool, as_json: bool) -> None:
    """Remove staged uploads whose every item is stored, unchanged or rejected.

    Folders with items still to ingest or failed (which `requeue --failed` reads
    again), and folders of uploads still arriving, are kept."""
    from strongroom.api.staging import prune
    from strongroom.cli.base import _settings_and_services

    settings, services = _settings_and_services()
    results = prune(settings.staging, services.catalog, dry_run=dry_run)
    document = {"staging": str(settings.staging), "dry_run": dry_run,
                "uploads": [r.to_dict() for r in results]}

    def human(doc: dict[str, Any]) -> None:
        for r in doc["uploads"]:
            verb = "removed" if r["removed"] else "would remove" if r["removable"] else "kept"
            click.echo(f"{verb:<12} {r['folder']}  ({r['reason']})")
        click.echo(f"{sum(r['removed'] for r in doc['uploads'])} removed, "
                   f"{len(doc['uploads'])} staged uploads looked at")

    _emit(as_json, document, human)
