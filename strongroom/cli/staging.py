"""``strongroom staging``: the uploaded batches waiting in the staging folder, and the
batches staged in the object store for the workers (``ingest.staged_batch``)."""

from __future__ import annotations

from typing import Any

import click

from strongroom.cli.base import _emit, command_errors, json_option, main


@main.group()
def staging() -> None:
    """Uploaded batches waiting in the staging folder (STRONGROOM_STAGING_DIR), and
    batches staged in the object store (the _staging/ prefix of STRONGROOM_STAGING_URL,
    by default of the primary location)."""


@staging.command("prune")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--failed", is_flag=True,
              help="Also remove the store's staging of failed items (they can then no longer "
                   "be requeued: submit them again).")
@click.option("--abandoned-after", type=click.FloatRange(min=0), default=24.0, show_default=True,
              metavar="HOURS",
              help="Remove the store's staging that no batch was registered from once this old.")
@json_option
@command_errors
def staging_prune(dry_run: bool, failed: bool, abandoned_after: float, as_json: bool) -> None:
    """Remove staged uploads and staged batches whose every item is stored,
    unchanged or rejected.

    Folders and staged batches with items still to ingest or failed (which
    `requeue --failed` reads again; --failed removes those too), and uploads
    still arriving, are kept. Staging that no batch was registered from (a
    submission that stopped, an upload cut off by a server that crashed), in the
    store or in the upload folder, goes once untouched for --abandoned-after hours."""
    from datetime import timedelta

    from ingest.staging_prune import prune_staging
    from strongroom.api.staging import prune
    from strongroom.cli.anchors import anchor_after
    from strongroom.cli.base import _settings_and_services

    settings, services = _settings_and_services()
    results = prune(settings.staging, services.catalog, dry_run=dry_run,
                    abandoned_after=abandoned_after * 3600)
    store = services.staging_store
    staged = prune_staging(services, services.clock.now(),
                           abandoned_after=timedelta(hours=abandoned_after), failed=failed,
                           dry_run=dry_run)
    if not dry_run:
        anchor_after(services)  # the removal of failed items' staging is an event
    document = {"staging": str(settings.staging), "dry_run": dry_run,
                "uploads": [r.to_dict() for r in results],
                "store": store.location, "staged_batches": [r.to_dict() for r in staged]}

    def human(doc: dict[str, Any]) -> None:
        for r in doc["uploads"]:
            verb = "removed" if r["removed"] else "would remove" if r["removable"] else "kept"
            click.echo(f"{verb:<12} {r['folder']}  ({r['reason']})")
        click.echo(f"{sum(r['removed'] for r in doc['uploads'])} removed, "
                   f"{len(doc['uploads'])} staged uploads looked at")
        for r in doc["staged_batches"]:
            verb = "removed" if r["removed"] else "would remove" if r["removable"] else "kept"
            click.echo(f"{verb:<12} batch {r['batch_id']}: {r['objects']} objects, "
                       f"{r['octets']} bytes  ({r['reason']})")
        click.echo(f"{sum(r['removed'] for r in doc['staged_batches'])} removed, "
                   f"{len(doc['staged_batches'])} batches staged in {doc['store']} looked at")

    _emit(as_json, document, human)
