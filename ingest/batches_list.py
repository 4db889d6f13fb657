"""Listing batches: which were submitted, by whom, and how far their items got.

Until there was this list, the only way to find a lost batch id was the audit log.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ingest.models import BatchSummary
from ingest.ports import IngestCatalog

#: How many batches a listing shows unless told otherwise.
DEFAULT_LIMIT = 50


def list_batches(catalog: IngestCatalog, since: datetime | None = None,
                 status: str | None = None, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The batches submitted at or after ``since`` (all without it), newest first,
    at most ``limit``, only those matching ``status`` (``models.BATCH_FILTERS``)
    when given, as one document. Raises ValueError for an unknown status or a
    ``limit`` below 1."""
    if limit < 1:
        raise ValueError("limit must be at least 1")
    summaries = catalog.list_batches(since=since, status=status, limit=limit)
    return {"batches": [batch_entry(summary) for summary in summaries],
            "since": since.isoformat() if since else None, "status": status, "limit": limit}


def batch_entry(summary: BatchSummary) -> dict[str, Any]:
    """One batch of the listing: who, when, from where, and its item counts."""
    batch = summary.batch
    return {
        "batch_id": batch.batch_id,
        "submitted_at": batch.submitted_at.isoformat(),
        "submitted_by": batch.submitted_by.to_dict() if batch.submitted_by else None,
        "claimed_submitter": batch.claimed_submitter,
        "source": batch.source,
        "collection": batch.collection,
        "status": summary.status,
        "needs_attention": summary.needs_attention,
        "items": dict(sorted(summary.items.items())),
        "item_count": sum(summary.items.values()),
    }
