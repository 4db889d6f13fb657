"""The embedded runner: ingest items on a small thread pool inside this process.

Used when no broker is configured. Each item gets up to ``max_attempts``
attempts; only transient outcomes (``retry``) are tried again, after an
exponential backoff, and the last attempt fails the item with a code rather
than dropping it. Once ``services.stop`` is set, items not started and items
between attempts are left accepted (outcome ``stopped``). Threads suit the work: hashing and file I/O release the GIL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import replace

from ingest.commit_records import sync_commit_records
from ingest.pipeline import IngestResult, ingest_item
from ingest.retry import backoff_delay, retry_note
from ingest.services import Services

_log = logging.getLogger(__name__)


def ingest_with_retries(item_id: str, services: Services, *, max_attempts: int = 5,
                        backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> IngestResult:
    """Run one item to a final outcome, retrying transient failures with backoff."""
    for attempt in range(1, max_attempts + 1):
        result = ingest_item(item_id, services, final_attempt=attempt == max_attempts)
        if result.outcome != "retry":
            return result
        if services.stop.requested:  # asked to stop: no further attempt, the item stays accepted
            return IngestResult("stopped", item_id, result.status, result.reason)
        delay = backoff_delay(attempt, backoff)
        _log.info(retry_note(f"item {item_id}", attempt, max_attempts, delay, result.reason),
                  extra={"event": "ingestion", "item": item_id})
        sleep(delay)
    raise AssertionError("unreachable: the last attempt never returns retry")


#: seconds at most between two syncs of the commit records of the items finished
RECORDS_SYNCED_EVERY = 1.0


def _sync_records(services: Services) -> None:
    """Sync the commit records written so far; a location that cannot is told
    in the log (its versions are committed; ``fixity reconcile`` writes what a
    crash would lose)."""
    for location in sync_commit_records(services.locations):
        _log.warning("commit records in %s could not be made durable now; "
                     "`strongroom fixity reconcile` writes any that are lost", location,
                     extra={"event": "ingestion"})


def run_items(item_ids: Iterable[str], services: Services, *, concurrency: int = 2,
              max_attempts: int = 5, backoff: float = 1.0,
              on_result: Callable[[IngestResult], None] | None = None) -> list[IngestResult]:
    """Ingest every item, ``concurrency`` at a time; results in completion order.

    The commit records of the versions committed (``ingest.commit_records``)
    are made durable here, those of every item finished in the last
    ``RECORDS_SYNCED_EVERY`` seconds at once, and the last ones before this
    returns or raises, rather than one by one on an ingesting thread (a fifth of
    the time of a small item went to waiting for its record's fsyncs)."""
    ids = list(item_ids)
    results: list[IngestResult] = []
    services = replace(services, commit_records_synced_by_runner=True)
    synced_at = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=max(1, concurrency),
                                thread_name_prefix="ingest") as pool:
            futures = [pool.submit(ingest_with_retries, item_id, services,
                                   max_attempts=max_attempts, backoff=backoff) for item_id in ids]
            for future in as_completed(futures):
                result = future.result()
                results.append(result)
                if time.monotonic() - synced_at >= RECORDS_SYNCED_EVERY:
                    _sync_records(services)
                    synced_at = time.monotonic()
                if on_result:
                    on_result(result)
    finally:
        _sync_records(services)
    return results
