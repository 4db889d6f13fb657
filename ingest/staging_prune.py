"""``strongroom staging prune`` in the store: removing staged batches that nothing reads.

The ingest removes staging as it goes (``ingest.staged_batch.release_staging``);
what it leaves is judged here, one staged batch (``_staging/{batch_id}/``) at a time:

- its batch is registered and no item is accepted or failed: removable (a
  store that could not be reached when the last item finished left it);
- an item is accepted (queued, or lost and waiting for ``requeue``): kept;
- an item failed (``requeue --failed`` reads its staging again): kept, unless
  ``failed`` is given; a failed item requeued after that is rejected with
  STAGED_CONTENT_MISSING. Those files are the only copy the archive held of what
  was submitted for the items, so their removal is a ``deletion`` event on the
  batch naming the items, the location, what was removed and who asked; and a
  removal record is left in the staging area (``_staging/_removed/{batch_id}.json``,
  written before anything is deleted, never removed), which tells a worker that
  finds the staging gone that it went (``ingest.staging_removals``), not that the
  worker looks in the wrong place;
- no batch was registered from it (a submission that stopped or crashed while
  staging): removable once staged longer ago than ``abandoned_after``, kept
  before, since a submission may still be staging it; kept whenever its listing
  names another catalog's audit log (two catalogs sharing one store).

Abandoned multipart uploads in the staging area are not objects: ``fixity
reconcile --sweep-abandoned HOURS`` sweeps them with the store's own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ingest.errors import BatchNotFound, ObjectNotFound
from ingest.layout import STAGING_PREFIX
from ingest.models import EventType, ItemStatus, Outcome
from ingest.ports import Catalog, ObjectStore
from ingest.services import Services
from ingest.staged_batch import LISTING, batch_prefix, delete_prefix
from ingest.staging_removals import REMOVED, record_removal

#: How long staging that no batch was registered from is kept by default.
DEFAULT_ABANDONED_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class StagedBatchReport:
    """One staged batch as ``staging prune`` judged it."""

    batch_id: str
    objects: int
    octets: int
    removable: bool
    removed: bool
    reason: str

    def to_dict(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "objects": self.objects, "octets": self.octets,
                "removable": self.removable, "removed": self.removed, "reason": self.reason}


def prune_staging(services: Services, now: datetime, *,
                  abandoned_after: timedelta = DEFAULT_ABANDONED_AFTER, failed: bool = False,
                  dry_run: bool = False) -> list[StagedBatchReport]:
    """Judge every staged batch in the staging area's store (``services.staging_store``;
    see the module docstring) and remove the removable ones unless ``dry_run``;
    report each, removed or kept, and why. The removal of failed items' staging
    is recorded, naming ``services.actor``. Raises StorageUnavailable,
    CatalogUnavailable."""
    store, catalog = services.staging_store, services.catalog
    batch_ids = sorted({info.key[len(STAGING_PREFIX):].split("/", 1)[0]
                        for info in store.list(STAGING_PREFIX)} - {REMOVED})
    reports = []
    for batch_id in batch_ids:
        prefix = batch_prefix(batch_id)
        objects = octets = 0
        for info in store.list(prefix):
            objects += 1
            octets += info.size
        removable, reason = _judge(store, catalog, batch_id, now, abandoned_after, failed)
        if removable and not dry_run:
            given_up = _failed_items(catalog, batch_id)
            if given_up:
                record_removal(store, batch_id, at=now, by=services.actor, items=given_up,
                               objects=objects, octets=octets)
            try:
                delete_prefix(store, prefix)
            except BaseException as exc:
                if given_up:
                    _record(services, batch_id, given_up, objects, octets, error=str(exc))
                raise
            if given_up:
                _record(services, batch_id, given_up, objects, octets)
        reports.append(StagedBatchReport(batch_id, objects, octets, removable,
                                         removable and not dry_run, reason))
    return reports


def _failed_items(catalog: Catalog, batch_id: str) -> list[str]:
    """The ids of the batch's failed items (none for a batch not registered)."""
    try:
        return [i.item_id for i in catalog.list_items(batch_id) if i.status is ItemStatus.FAILED]
    except BatchNotFound:
        return []


def _record(services: Services, batch_id: str, items: list[str], objects: int, octets: int,
            error: str | None = None) -> None:
    """A ``deletion`` event: the staged files of failed items removed (or a removal
    that stopped part way, with the error), by ``services.actor``."""
    detail = {"during": "staging prune", "location": services.staging_store.location,
              "items": items, "objects": objects, "octets": octets,
              "reason": "failed items given up: they can no longer be requeued"}
    if error is not None:
        detail["error"] = error
    services.catalog.append([services.event(
        EventType.DELETION, Outcome.FAILURE if error is not None else Outcome.SUCCESS,
        batch_id=batch_id, detail=detail)])


def _judge(store: ObjectStore, catalog: Catalog, batch_id: str, now: datetime,
           abandoned_after: timedelta, failed: bool) -> tuple[bool, str]:
    try:
        items = catalog.list_items(batch_id)
    except BatchNotFound:
        staged_at, log = _staged_by(store, batch_id)
        if log is not None and log != catalog.log_identity()[0]:
            return False, (f"staged for another catalog sharing this store (audit log {log}): "
                           "kept; prune it with that catalog's settings")
        if staged_at is not None and now - staged_at < abandoned_after:
            return False, "no batch registered from it yet (a submission still staging?)"
        return True, "no batch was registered from it (a submission that stopped)"
    waiting = sum(1 for i in items if i.status is ItemStatus.ACCEPTED)
    stopped = sum(1 for i in items if i.status is ItemStatus.FAILED)
    if waiting:
        return False, f"{waiting} item(s) still to ingest"
    if stopped and not failed:
        return False, f"{stopped} failed item(s) may be requeued (--failed removes them)"
    if stopped:
        return True, f"{stopped} failed item(s) given up (--failed)"
    return True, "every item stored, unchanged or rejected"


def _staged_by(store: ObjectStore, batch_id: str) -> tuple[datetime | None, str | None]:
    """When staging of the batch began, and for which catalog's audit log, from its
    listing; None for what it does not say (staged by an earlier release: no log)."""
    try:
        with store.open(f"{batch_prefix(batch_id)}batch/{LISTING}") as stream:
            listing = json.loads(stream.read())
    except (ObjectNotFound, ValueError):
        return None, None
    if not isinstance(listing, dict):
        return None, None
    try:
        staged_at: datetime | None = datetime.fromisoformat(listing["staged_at"])
    except (ValueError, KeyError, TypeError):
        staged_at = None
    log = listing.get("catalog_log")
    return staged_at, log if isinstance(log, str) else None


__all__ = ["DEFAULT_ABANDONED_AFTER", "StagedBatchReport", "prune_staging"]
