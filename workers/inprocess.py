"""The embedded runner: ingest items on a small thread pool inside this process.

Used when no broker is configured. Each item gets up to ``max_attempts``
attempts; only transient outcomes (``retry``) are tried again, after an
exponential backoff, and the last attempt fails the item with a code rather
than dropping it. Once ``services.stop`` is set, items not started and items
between attempts are left accepted (outcome ``stopped``). Threads suit the work: hashing and file I/O release the GIL.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed

from ingest.pipeline import IngestResult, ingest_item
from ingest.retry import backoff_delay
from ingest.services import Services


def ingest_with_retries(item_id: str, services: Services, *, max_attempts: int = 5,
                        backoff: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> IngestResult:
    """Run one item to a final outcome, retrying transient failures with backoff."""
    for attempt in range(1, max_attempts + 1):
        result = ingest_item(item_id, services, final_attempt=attempt == max_attempts)
        if result.outcome != "retry":
            return result
        if services.stop.requested:  # asked to stop: no further attempt, the item stays accepted
            return IngestResult("stopped", item_id, result.status, result.reason)
        sleep(backoff_delay(attempt, backoff))
    raise AssertionError("unreachable: the last attempt never returns retry")


def run_items(item_ids: Iterable[str], services: Services, *, concurrency: int = 2,
              max_attempts: int = 5, backoff: float = 1.0,
              on_result: Callable[[IngestResult], None] | None = None) -> list[IngestResult]:
    """Ingest every item, ``concurrency`` at a time; results in completion order."""
    ids = list(item_ids)
    results: list[IngestResult] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="ingest") as pool:
        futures = [pool.submit(ingest_with_retries, item_id, services,
                               max_attempts=max_attempts, backoff=backoff) for item_id in ids]
        for future in as_completed(futures):
            result = future.result()
            results.append(result)
            if on_result:
                on_result(result)
    return results
