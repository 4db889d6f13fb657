"""Handing items to whoever ingests them: this process, or the Celery workers.

The entry points call a dispatcher only after the batch and item rows are
committed (``submit_batch`` returns after its commit): a worker must never
receive an id the catalog does not yet hold.

- ``InProcessDispatcher`` ingests the items itself, on a thread pool, and
  returns when every item is final (the embedded shape).
- ``CeleryDispatcher`` sends one message per item id to the ``ingest`` queue
  and returns at once; the catalog tells when the items are done.

Both implement ``ingest.ports.Dispatcher``; ``make_dispatcher`` chooses one.
Celery and kombu (through ``workers.reliability``) are imported only when a
``CeleryDispatcher`` is made: the embedded shape never loads them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ingest.errors import QueueUnavailable
from ingest.fixity_audit import verify_version
from ingest.location_fill import fill_version
from ingest.models import Actor
from ingest.pipeline import IngestResult
from ingest.ports import Dispatcher
from ingest.services import Services
from workers.actors import requester_kwargs
from workers.inprocess import run_items

if TYPE_CHECKING:
    from workers.reliability import WorkerSettings


class InProcessDispatcher:
    """Ingest items here and now, ``concurrency`` at a time, with retries."""

    finishes_items = True

    def __init__(self, services: Services, *, concurrency: int = 2, max_attempts: int = 5,
                 backoff: float = 1.0,
                 on_result: Callable[[IngestResult], None] | None = None) -> None:
        self.services = services
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.on_result = on_result

    def ingest(self, item_ids: Sequence[str]) -> None:
        """Run every item to a final status. Raises CatalogUnavailable when the
        catalog cannot say what an item is."""
        run_items(item_ids, self.services, concurrency=self.concurrency,
                  max_attempts=self.max_attempts, backoff=self.backoff,
                  on_result=self.on_result)

    def verify_version(self, package_id: str, number: int) -> None:
        """Deep-check the version here and now and record the result. Raises
        NotFound, StorageUnavailable, CatalogUnavailable."""
        verify_version(self.services, package_id, number)

    def fill_versions(self, location: str, versions: Sequence[tuple[str, int]]) -> None:
        """Copy each version into ``location`` here and now, one after another.
        Raises NotFound, CatalogUnavailable."""
        for package_id, number in versions:
            fill_version(self.services, package_id, number, location)

    def close(self) -> None:
        """Nothing to release: the services belong to the caller."""


class CeleryDispatcher:
    """Send items and fixity checks to the Celery workers, by task name."""

    finishes_items = False

    def __init__(self, settings: WorkerSettings, *, requested_by: Actor | None = None) -> None:
        from workers.celery_app import create_app

        # A sending-only app: same broker, routes and serializer as the workers.
        self.app = create_app(settings)
        #: who asks for the work: each message carries it, the workers act for it
        self.requested_by = requested_by

    def ingest(self, item_ids: Sequence[str]) -> None:
        """Send one ``ingest`` message per id, in order, on one connection.

        Raises QueueUnavailable when the broker cannot be reached (after the
        publish retry policy); ids sent before the failure stay sent.
        """
        from workers.reliability import QUEUE_INGEST, TASK_INGEST_ITEM

        self._send(TASK_INGEST_ITEM, QUEUE_INGEST, [[item_id] for item_id in item_ids])

    def verify_version(self, package_id: str, number: int) -> None:
        """Send one deep fixity check to the ``fixity`` queue. Raises QueueUnavailable."""
        from workers.reliability import QUEUE_FIXITY, TASK_VERIFY_VERSION

        self._send(TASK_VERIFY_VERSION, QUEUE_FIXITY, [[package_id, number]])

    def fill_versions(self, location: str, versions: Sequence[tuple[str, int]]) -> None:
        """Send one ``fill_copy`` task per version to the ``fixity`` queue, on one
        connection. Raises QueueUnavailable."""
        from workers.reliability import QUEUE_FIXITY, TASK_FILL_COPY

        self._send(TASK_FILL_COPY, QUEUE_FIXITY,
                   [[package_id, number, location] for package_id, number in versions])

    def _send(self, task_name: str, queue: str, arguments: Sequence[list[object]]) -> None:
        from kombu.exceptions import OperationalError

        if not arguments:
            return
        kwargs = requester_kwargs(self.requested_by)
        try:
            with self.app.producer_or_acquire() as producer:
                for args in arguments:
                    self.app.send_task(task_name, args=args, kwargs=kwargs, queue=queue,
                                       producer=producer)
        except (OperationalError, ConnectionError, OSError) as exc:
            raise QueueUnavailable(f"the broker cannot be reached ({exc})") from exc

    def close(self) -> None:
        """Release the broker connections of this process."""
        self.app.close()


def make_dispatcher(services: Services, broker: WorkerSettings | None, *, concurrency: int = 2,
                    max_attempts: int = 5, backoff: float = 1.0,
                    on_result: Callable[[IngestResult], None] | None = None) -> Dispatcher:
    """The workers' queues when a broker is configured (``broker``), else this
    process. The work is done for ``services.actor``."""
    if broker is not None:
        return CeleryDispatcher(broker, requested_by=services.actor)
    return InProcessDispatcher(services, concurrency=concurrency, max_attempts=max_attempts,
                               backoff=backoff, on_result=on_result)
