"""Leases: one attempt at a time works on an item, and a dead one is noticed in a minute.

An attempt at an item begins by taking the item's lease in the catalog under a
token of its own (``Lease.take``); a thread renews it every
``heartbeat_every(stuck_after)`` seconds while the attempt works, whatever the
size of the item, and stops when the attempt ends; an attempt that leaves the
item accepted (a retry, a stop) gives the lease up, a final status clears it. A lease not renewed for
``stuck_after`` seconds has lapsed: its worker is gone (killed, cut off, paused),
the item is stuck (``ingest.stuck``) and the sweep sends it again; the next
attempt takes the lapsed lease over.

The catalog tells the holder from a stale one by the token: a claim, a commit or
a final status is written only for the attempt that holds the lease, in the same
transaction that checks it. An attempt that was paused past its lease (SIGSTOP, a
frozen VM) and wakes up finds it lost at its next step (``Lease.check``: the
thread says so, or, when a renewal is overdue, a synchronous renewal does) and
writes nothing more: no object, no deletion, no claim, no event. What it wrote
under the version's keys before noticing is byte for byte what the new holder
writes (the same source makes the same bag: its Bagging-Date is the batch's, see
``ingest.pipeline``), and the new holder's read-back checks every object before
its commit.

The limit, said plainly: the store cannot check a lease, so an object put in
flight at the very moment of the pause (after the last check, before the store
answered) may still land later. It lands with the new holder's bytes unless the
submitted file itself was changed between the two attempts; then the next
fixity check reports the object as damaged (and ``auto_repair`` restores it
from a replica).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

from ingest.errors import LeaseLost, StrongroomError
from ingest.ports import IngestCatalog
from ingest.stuck import heartbeat_every

_log = logging.getLogger("strongroom.lease")


class Lease:
    """One attempt's lease on one item: taken, renewed by a thread, checked."""

    def __init__(self, catalog: IngestCatalog, item_id: str, stuck_after: float, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.catalog = catalog
        self.item_id = item_id
        #: the token of this attempt, written in the item's row while it holds it
        self.holder = str(uuid.uuid4())
        self.every = heartbeat_every(stuck_after)
        self._clock = clock
        self._confirmed = clock()
        self._lost = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def take(self, expired_before: datetime) -> int:
        """Take the item's lease (free, or lapsed before ``expired_before``) and
        count the attempt; returns the attempts. Raises LeaseHeld, ItemFinished,
        NotFound, CatalogUnavailable."""
        attempts = self.catalog.take_lease(self.item_id, self.holder, expired_before)
        self._confirmed = self._clock()
        return attempts

    def __enter__(self) -> Lease:
        self._thread = threading.Thread(target=self._renew_until_done, daemon=True,
                                        name=f"lease-{self.item_id[:8]}")
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()

    def give_up(self) -> None:
        """End of an attempt that left the item accepted (a retry, a stop): the
        next attempt takes the item at once. A final status clears the lease by
        itself. Never raises: a lease not given up lapses after stuck_after."""
        if self._lost:
            return
        try:
            self.catalog.release_lease(self.item_id, self.holder)
        except StrongroomError as error:
            _log.warning("lease on item %s not released: %s", self.item_id, error)

    def _renew_until_done(self) -> None:
        while not self._done.wait(self.every):
            try:
                self._renew()
            except StrongroomError as error:  # the catalog unreachable: try again next beat
                _log.warning("lease on item %s not renewed: %s", self.item_id, error)
            if self._lost:
                return

    def _renew(self) -> bool:
        if self._lost:
            return False
        if self.catalog.renew_lease(self.item_id, self.holder):
            self._confirmed = self._clock()
            return True
        self._lost = True
        _log.warning("item %s was taken over by another attempt: this one stops",
                     self.item_id, extra={"event": "lease"})
        return False

    @property
    def lost(self) -> bool:
        return self._lost

    def check(self) -> None:
        """Raise LeaseLost when the lease is known to be lost, or when a renewal is
        overdue (this attempt may have been paused) and renewing it now fails.
        Cheap otherwise: no query. Raises CatalogUnavailable too."""
        if self._lost:
            raise LeaseLost(f"item {self.item_id} was taken over by another attempt")
        if self._clock() - self._confirmed > self.every * 1.5 and not self._renew():
            raise LeaseLost(f"item {self.item_id} was taken over by another attempt")

    def confirm(self) -> None:
        """Renew now, before a step that must not be done by a stale holder (a
        deletion). Raises LeaseLost, CatalogUnavailable."""
        if not self._renew():
            raise LeaseLost(f"item {self.item_id} was taken over by another attempt")


__all__ = ["Lease"]
