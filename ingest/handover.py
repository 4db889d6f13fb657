"""Handing a batch's items to a dispatcher and following them to the end.

The same use case for every entry point: ``strongroom submit`` and ``requeue``,
``POST /batches`` and the fixity checks of ``POST /packages/{id}/fixity``. The
dispatcher (``ingest.ports.Dispatcher``) is this process, which returns once
every item is final, or the workers' queues, which return at once: then the
catalog is polled until the items are final (``wait_until_final``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ingest.batch_source import BatchSource, source_of
from ingest.errors import CatalogUnavailable, NotFound, QueueUnavailable, StorageUnavailable
from ingest.ports import Dispatcher, IngestCatalog
from ingest.progress import NO_PROGRESS, StopFlag
from ingest.services import Services


@dataclass(frozen=True)
class HandOver:
    """What became of the items handed over."""

    #: how many items went to the workers' queue (None: ingested here, or not sent)
    enqueued: int | None = None
    #: why the items could not be sent (they stay accepted)
    error: QueueUnavailable | None = None
    #: with ``wait``: True when the items were not all final in time
    timed_out: bool | None = None
    #: True when a stop was asked for (``services.stop``) before every item was final
    stopped: bool = False

    @property
    def in_process(self) -> bool:
        """The items were ingested by this process (they are final)."""
        return self.enqueued is None and self.error is None

    def to_dict(self) -> dict[str, Any]:
        """The keys a batch report gains: ``enqueued``, ``enqueue_error``, ``timed_out``."""
        doc: dict[str, Any] = {}
        if self.error is not None:
            doc["enqueue_error"] = str(self.error)
        if self.enqueued is not None:
            doc["enqueued"] = self.enqueued
        if self.timed_out is not None:
            doc["timed_out"] = self.timed_out
        if self.stopped:
            doc["interrupted"] = True
        return doc


def hand_over(services: Services, dispatcher: Dispatcher, batch_id: str, item_ids: Sequence[str],
              *, wait: bool = False, timeout: float | None = None, requeue: bool = False,
              expired_before: datetime | None = None,
              on_progress: Callable[[int], None] | None = None) -> HandOver:
    """Have the items ingested, then close the dispatcher.

    A dispatcher that finishes the items returns when they are final. One that
    sends them returns at once; ``requeue`` notes that they were sent again (so
    they are not stuck again at once; before they are sent, so that leases not
    renewed since ``expired_before`` are revoked for the new attempt to take,
    ``ingest.lease``) and ``wait`` polls the catalog until they
    are final or ``timeout`` seconds have passed (``on_progress`` is told how
    many more are final). A queue that cannot be reached is reported, not
    raised: the items stay accepted. A stop asked for (``services.stop``) leaves
    the items not yet begun accepted, or ends the wait, and says so (``stopped``).
    The dispatcher that finishes the items here reports their bytes to
    ``services.progress``, which is first told the whole. Raises CatalogUnavailable.
    """
    ids = list(item_ids)
    try:
        if dispatcher.finishes_items and services.progress is not NO_PROGRESS:
            services.progress.plan(len(ids), payload_octets(services, ids))
        if requeue:
            services.catalog.record_requeue(ids, expired_before)
        try:
            dispatcher.ingest(ids)
        except QueueUnavailable as exc:
            return HandOver(error=exc)
        if dispatcher.finishes_items:
            return HandOver(stopped=services.stop.requested)
        timed_out = None
        if wait:
            timed_out = not wait_until_final(services.catalog, batch_id, ids, timeout,
                                             on_progress=on_progress, stop=services.stop)
            if services.stop.requested:
                return HandOver(enqueued=len(ids), stopped=True)
        return HandOver(enqueued=len(ids), timed_out=timed_out)
    finally:
        dispatcher.close()


#: The shortest pause between two looks at the catalog while waiting.
MIN_PAUSE = 0.05
#: A look at the batch costs the catalog one query over its items; the pause
#: after it is this many times as long, so that waiting keeps the catalog busy
#: at most about 1/20 of the time.
PAUSE_PER_LOOK = 20


def wait_until_final(catalog: IngestCatalog, batch_id: str, item_ids: Sequence[str] | None,
                     timeout: float | None, *, on_progress: Callable[[int], None] | None = None,
                     min_pause: float = MIN_PAUSE, max_pause: float = 1.0,
                     sleep: Callable[[float], None] = time.sleep,
                     monotonic: Callable[[], float] = time.monotonic,
                     stop: StopFlag | None = None) -> bool:
    """Poll the catalog until every one of ``item_ids`` (every item of the batch
    when None) is final; False when ``timeout`` seconds passed first, or a
    ``stop`` was asked for (the items go on with the workers).

    The pause between looks follows what a look costs: ``PAUSE_PER_LOOK`` times
    as long, at least ``min_pause`` and at most ``max_pause`` seconds. A small
    batch (a look of a few milliseconds) is thus seen final within about a
    twentieth of a second of its last item; a batch of many thousand items,
    whose look reads them all, is looked at about once a second. A watcher
    that nobody waits on (a callback) gives a larger ``min_pause``.

    A catalog that is briefly unreachable is waited for, like the items."""
    wanted = None if item_ids is None else set(item_ids)
    deadline = None if timeout is None else monotonic() + timeout
    done = 0
    while True:
        began = monotonic()
        try:
            items = [item for item in catalog.list_items(batch_id)
                     if wanted is None or item.item_id in wanted]
            now_done = sum(1 for item in items if item.status.is_final)
            total = len(wanted) if wanted is not None else len(items)
        except CatalogUnavailable:
            now_done, total = done, None
        looked = monotonic()
        if on_progress is not None and now_done > done:
            on_progress(now_done - done)
        done = now_done
        if total is not None and done >= total:
            return True
        if deadline is not None and looked >= deadline:
            return False
        if stop is not None and stop.requested:
            return False
        pause = min_pause if total is not None else max_pause  # unreachable: no hurry
        sleep(min(max(pause, PAUSE_PER_LOOK * (looked - began)), max_pause))


def versions_to_check(catalog: IngestCatalog, package: str, number: int | None = None) -> tuple[str, list[int]]:
    """The package (by id or identifier) and the numbers of its versions a deep
    check asked for covers: ``number`` alone, or every committed version when it
    is None. Raises PackageNotFound, VersionNotFound, CatalogUnavailable."""
    package_id = catalog.resolve_package(package)
    if number is None:
        return package_id, [v.number for v in catalog.list_versions(package_id)]
    return package_id, [catalog.get_version(package_id, number).number]


def payload_octets(services: Services, item_ids: Sequence[str]) -> int | None:
    """How many payload bytes the items' folders (or staged listings) hold, as
    listed now (no payload byte is read): the whole a progress bar is drawn against. None when an item or its
    folder cannot be found. Raises CatalogUnavailable."""
    total = 0
    sources: dict[str, BatchSource] = {}
    for item_id in item_ids:
        try:
            item = services.catalog.get_item(item_id)
            if item.batch_id not in sources:
                sources[item.batch_id] = source_of(services.catalog.get_batch(item.batch_id),
                                                   services.staging_store)
        except NotFound:
            return None
        try:
            scan = sources[item.batch_id].scan(item.name, services.skip_system_files,
                                               item.staged_sha256)
        except (OSError, StorageUnavailable):
            return None
        total += sum(entry.size for entry in scan.payload)
    return total


def check_versions(dispatcher: Dispatcher, package_id: str, numbers: Sequence[int]) -> None:
    """Have versions of a package deep-checked, then close the dispatcher.
    Raises QueueUnavailable, and what the dispatcher's checks raise."""
    try:
        for number in numbers:
            dispatcher.verify_version(package_id, number)
    finally:
        dispatcher.close()


__all__ = ["HandOver", "check_versions", "hand_over", "payload_octets", "versions_to_check", "wait_until_final"]
