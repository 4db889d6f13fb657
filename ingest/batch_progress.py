"""How far a batch has got, for the person following it: its counts, one page of
its items, and every finding of its items.

The same rule of who reads a batch as the API's (``batch_readers``): a batch the
reader may not read is answered exactly as one that does not exist. Everything
comes from two catalog reads (the batch and its items), and a third for the
packages the page's items went into when there are some, whatever the number
of items: a page never asks the catalog once per item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ingest.batch_readers import READ_EVERY_BATCH, may_read_batch
from ingest.errors import BatchNotFound
from ingest.models import (
    Actor,
    BatchRecord,
    BatchSummary,
    ItemRecord,
    ItemStatus,
    PackageSummary,
    needs_attention,
)
from ingest.ports import IngestCatalog

#: Items shown on one page of a batch.
PAGE_SIZE = 200

#: How many recent batches are looked through for a person's own (a submitter's).
SCAN_FOR_OWN = 500

#: Batches on one page of the list of batches.
BATCHES_PAGE_SIZE = 50

#: The statuses of an item a person must act on (``models.needs_attention``).
ATTENTION = frozenset({ItemStatus.REJECTED, ItemStatus.FAILED})


@dataclass(frozen=True)
class BatchProgress:
    """A batch, how many of its items have each status, and one page of them."""

    batch: BatchRecord
    #: every item status value → count (zero included)
    counts: dict[str, int]
    #: the items of ``page``, in name order (only those needing attention when asked)
    items: tuple[ItemRecord, ...]
    page: int
    pages: int
    #: the package each item of the page went into, by package id (its identifier
    #: and title); one a deaccession removed is absent
    packages: dict[str, PackageSummary]
    #: ``items`` are only those rejected or failed
    attention_only: bool = False

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def in_progress(self) -> int:
        return self.counts[ItemStatus.ACCEPTED.value]

    @property
    def done(self) -> bool:
        """Every item has a final status."""
        return self.in_progress == 0

    @property
    def needs_attention(self) -> bool:
        """The batch or one of its items has a problem a person must act on
        (``models.needs_attention``, the rule every page and listing uses)."""
        return needs_attention(self.batch, self.counts)


def readable_batch(catalog: IngestCatalog, reader: Actor, batch_id: str) -> BatchRecord:
    """The batch, if ``reader`` may read it. Raises BatchNotFound for a batch that
    does not exist and, in the same words, for one the reader may not read;
    CatalogUnavailable."""
    batch = catalog.get_batch(batch_id)
    if not may_read_batch(reader, batch):
        raise BatchNotFound(f"no batch {batch_id}")
    return batch


def batch_progress(catalog: IngestCatalog, reader: Actor, batch_id: str, page: int = 1,
                   page_size: int = PAGE_SIZE, *, attention_only: bool = False) -> BatchProgress:
    """The batch's counts and its items of ``page`` (from 1; a page past the last
    is the last), only those rejected or failed with ``attention_only`` (the
    counts stay the whole batch's). Raises BatchNotFound (see
    ``readable_batch``), CatalogUnavailable."""
    batch = readable_batch(catalog, reader, batch_id)
    items = catalog.list_items(batch_id)
    counts = {status.value: 0 for status in ItemStatus}
    for item in items:
        counts[item.status.value] += 1
    if attention_only:
        items = [item for item in items if item.status in ATTENTION]
    pages = max(1, -(-len(items) // page_size))
    page = min(max(1, page), pages)
    start = (page - 1) * page_size
    shown = tuple(items[start:start + page_size])
    package_ids = {item.package_id for item in shown if item.package_id}
    packages = catalog.package_summaries(package_ids) if package_ids else {}
    return BatchProgress(batch, counts, shown, page, pages, packages, attention_only)


def batch_findings(catalog: IngestCatalog, reader: Actor,
                   batch_id: str) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every finding of the batch as (item name, item status, finding document),
    the batch's own first (item name empty, status ``batch``), then each item's
    in name order. Raises BatchNotFound (see ``readable_batch``), CatalogUnavailable."""
    batch = readable_batch(catalog, reader, batch_id)
    items = catalog.list_items(batch_id)
    for finding in batch.findings:
        yield "", "batch", finding.to_dict()
    for item in items:
        for finding in item.findings:
            yield item.name, item.status.value, finding.to_dict()


def recent_batches_for(catalog: IngestCatalog, reader: Actor, limit: int) -> list[BatchSummary]:
    """The newest batches ``reader`` may read, at most ``limit``: every batch for a
    role that reads every batch, else those the reader submitted among the latest
    ``SCAN_FOR_OWN``. Raises CatalogUnavailable."""
    scan = limit if reader.role in READ_EVERY_BATCH else max(limit, SCAN_FOR_OWN)
    own = [s for s in catalog.list_batches(limit=scan) if may_read_batch(reader, s.batch)]
    return own[:limit]


@dataclass(frozen=True)
class BatchesPage:
    """One page of the batches a person may read, newest first."""

    batches: tuple[BatchSummary, ...]
    #: the batch id the next page starts after; None on the last page
    next_after: str | None


def batches_page(catalog: IngestCatalog, reader: Actor, after: str | None = None,
                 page_size: int = BATCHES_PAGE_SIZE) -> BatchesPage:
    """The batches ``reader`` may read (``may_read_batch``: every batch for a role
    that reads every batch, else those they submitted), newest first, the page
    after the batch ``after`` (the first without it; an unknown id gives an
    empty page). One catalog read, whatever the archive's size. Raises
    CatalogUnavailable."""
    own = None if reader.role in READ_EVERY_BATCH else reader
    summaries = catalog.list_batches(limit=page_size + 1, after=after, submitted_by=own)
    shown = tuple(summaries[:page_size])
    return BatchesPage(shown, shown[-1].batch.batch_id if len(summaries) > page_size else None)
