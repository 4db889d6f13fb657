"""Which items of a batch ``strongroom requeue`` sends again.

An accepted item is sent again (only the stuck ones, ``ingest.stuck.is_stuck``,
when ``stuck_after`` is given: a duplicate of a queued message is harmless);
with ``include_failed`` the failed items are first put back to accepted and
sent too. The entry points call ``choose_requeue`` and hand the ids to a
dispatcher (``ingest.handover``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ingest.models import ItemRecord, ItemStatus
from ingest.ports import IngestCatalog
from ingest.stuck import is_stuck


@dataclass(frozen=True)
class RequeueChoice:
    """The items to send again, in order, and which of them were failed before."""

    item_ids: tuple[str, ...]
    reset: tuple[str, ...]


def items_to_requeue(items: Sequence[ItemRecord], *, include_failed: bool, now: datetime,
                     stuck_after: float | None) -> RequeueChoice:
    """The choice, without touching the catalog: accepted items (only the stuck
    ones with ``stuck_after``), then, with ``include_failed``, the failed ones."""
    accepted = [item.item_id for item in items
                if item.status is ItemStatus.ACCEPTED
                and (stuck_after is None or is_stuck(item, now, stuck_after))]
    failed = [item.item_id for item in items
              if include_failed and item.status is ItemStatus.FAILED]
    return RequeueChoice(item_ids=(*accepted, *failed), reset=tuple(failed))


def choose_requeue(catalog: IngestCatalog, batch_id: str, *, include_failed: bool,
                   now: datetime, stuck_after: float | None) -> RequeueChoice:
    """Choose a batch's items to send again and put the failed ones among them
    back to accepted. Raises NotFound, CatalogUnavailable."""
    choice = items_to_requeue(catalog.list_items(batch_id), include_failed=include_failed,
                              now=now, stuck_after=stuck_after)
    for item_id in choice.reset:
        catalog.reset_item(item_id)
    return choice


__all__ = ["RequeueChoice", "choose_requeue", "items_to_requeue"]
