"""When an item is stuck, said once for the sweep, the reports and the claims.

An accepted item makes progress in the catalog: each attempt starts by
taking the item's lease, and renews it every ``heartbeat_every(stuck_after)``
seconds while it works (``ingest.lease``). An accepted item not updated for
``stuck_after`` seconds is stuck: its lease lapsed, its worker is gone (killed,
crashed, paused, its message lost). ``strongroom requeue`` and the beat's sweep send it again, the
reports show it, and a claim on a version that it holds may be taken over by
another item of the same package (CLAIM_TAKEN_OVER), so that a crashed ingest
never blocks its package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from ingest.findings import Finding
from ingest.models import ItemRecord, ItemStatus
from ingest.ports import Catalog, ObjectStore

#: seconds without progress after which an accepted item is stuck: its lease has
#: lapsed (STRONGROOM_STUCK_AFTER); renewed every 15 s, so a minute is four missed renewals
DEFAULT_STUCK_AFTER = 60.0


def stuck_before(now: datetime, stuck_after: float) -> datetime:
    """Items last updated before this moment are stuck."""
    return now - timedelta(seconds=stuck_after)


def is_stuck(item: ItemRecord, now: datetime, stuck_after: float) -> bool:
    """True for an accepted item with no progress for ``stuck_after`` seconds."""
    return (item.status is ItemStatus.ACCEPTED and item.updated_at is not None
            and item.updated_at < stuck_before(now, stuck_after))


def has_stopped(item: ItemRecord, now: datetime, stuck_after: float) -> bool:
    """A stuck item an attempt began: its lease lapsed, its worker is gone. Sent
    again by the sweep; ``strongroom requeue`` sends it again by hand."""
    return is_stuck(item, now, stuck_after) and item.attempts > 0


def has_waited(item: ItemRecord, now: datetime, stuck_after: float) -> bool:
    """A stuck item no attempt began: most likely still waiting its turn in the
    queue, behind other work; its message lost only if nothing is queued (the
    sweep then sends it again)."""
    return is_stuck(item, now, stuck_after) and item.attempts == 0


def heartbeat_every(stuck_after: float) -> float:
    """How often a working item renews its lease: a quarter of ``stuck_after``
    (15 s by default), at most a minute."""
    return max(0.05, min(60.0, stuck_after / 4))


@dataclass(frozen=True)
class CrashRemains:
    """What crashed ingests left: stuck items, and unfinished writes in the stores."""

    #: ITEM_STUCK, path the item name, params item_id, batch_id, idle
    stuck_items: tuple[Finding, ...]
    #: STAGING_LEFTOVER, path the temporary file or upload key, params size, location
    leftovers: tuple[Finding, ...]

    @property
    def found(self) -> bool:
        return bool(self.stuck_items or self.leftovers)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stuck_items": [{"name": f.path, **f.params, "message": f.message}
                            for f in self.stuck_items],
            "staging_leftovers": [{"path": f.path, **f.params, "message": f.message}
                                  for f in self.leftovers],
        }


def crash_remains(catalog: Catalog, stores: Sequence[ObjectStore], now: datetime,
                  stuck_after: float, limit: int = 1000) -> CrashRemains:
    """Stuck items (``is_stuck``) and the unfinished writes (temporary files,
    multipart uploads) not touched for ``stuck_after`` seconds, with their
    sizes: what the reports show until the items are requeued or taken over
    and ``fixity reconcile --sweep-abandoned`` removes the writes. Raises
    CatalogUnavailable, StorageUnavailable."""
    before = stuck_before(now, stuck_after)
    stuck = tuple(
        Finding("ITEM_STUCK", path=item.name,
                params={"item_id": item.item_id, "batch_id": item.batch_id, "idle": stuck_after})
        for item in catalog.stuck_items(before, limit=limit))
    leftovers = tuple(
        Finding("STAGING_LEFTOVER", path=info.key, location=store.location,
                params={"size": info.size, "location": store.location})
        for store in stores for info in store.abandoned_writes(before))
    return CrashRemains(stuck, leftovers)


__all__ = ["DEFAULT_STUCK_AFTER", "CrashRemains", "crash_remains", "heartbeat_every", "is_stuck",
           "stuck_before"]
