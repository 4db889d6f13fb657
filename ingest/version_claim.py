"""The version an item claimed, from its claim to its commit (or its abandon).

An ingest claims the next version number of its package (``Catalog.reserve_version``)
and writes under that version's prefix in every location; nobody reads the
prefix before the commit. These are the steps on that prefix the ingest takes
(``ingest.pipeline``): claim (taking over the claim of an item whose process is
gone), drop what an earlier attempt left, make every copy durable, read every
copy back, or abandon it all. Each confirms the item's lease before it deletes
anything: a stale attempt never deletes what the new holder writes.
"""

from __future__ import annotations

from collections.abc import Sequence

from ingest.errors import PackageBusy
from ingest.findings import Finding
from ingest.lease import Lease
from ingest.models import EventType, Outcome, StoredFile
from ingest.replication import confirm_written_copy
from ingest.services import Services
from ingest.stuck import stuck_before


class VersionClaim:
    """The claimed version of one attempt at item ``item_id``, holding ``lease``."""

    def __init__(self, services: Services, item_id: str, lease: Lease) -> None:
        self.s = services
        self.item_id = item_id
        self.lease = lease

    def reserve(self, package_id: str, identifier: str) -> int:
        """Claim the next version; a claim held by a stuck item (its process is
        gone, ``ingest.stuck``) is taken over, the stuck item failing with
        CLAIM_TAKEN_OVER. Raises PackageBusy while the holder is at work."""
        try:
            return self.s.catalog.reserve_version(package_id, identifier, self.item_id,
                                                  holder=self.lease.holder)
        except PackageBusy as busy:
            if busy.holder is None or busy.number is None:
                raise
            finding = Finding("CLAIM_TAKEN_OVER", params={
                "version": busy.number, "by": self.item_id, "idle": self.s.stuck_after})
            event = self.s.event(
                EventType.INGESTION, Outcome.FAILURE, item_id=busy.holder, package_id=package_id,
                version=busy.number, detail={"findings": [finding.to_dict()]})
            idle_before = stuck_before(self.s.clock.now(), self.s.stuck_after)
            if not self.s.catalog.take_over_claim(package_id, busy.number, busy.holder,
                                                  idle_before, finding, [event]):
                raise
        return self.s.catalog.reserve_version(package_id, identifier, self.item_id,
                                              holder=self.lease.holder)

    def make_durable(self, prefix: str) -> None:
        """Sync the version's prefix in every location, before anything is checked
        or committed: a store may keep what it wrote where a power cut can lose
        it until then. Strays are dropped first, so that nothing left by an
        earlier attempt stands in the way. Raises StorageUnavailable (transient:
        the retry writes the version again)."""
        for store in self.s.locations:
            store.sync(prefix)

    def read_back(self, package_id: str, number: int,
                   files: Sequence[StoredFile]) -> dict[str, str]:
        """Every copy, each on its own: every object is there with our size (and our
        SHA-256, where the store keeps one), those shared with an earlier version
        too. Returns how each location was checked.

        Raises StorageUnavailable when a store holds other bytes than we sent:
        treated as a storage fault, the retry writes the version again.
        """
        return {store.location: confirm_written_copy(store, package_id, number, files)
                for store in self.s.locations}

    def drop_strays(self, prefix: str, package_id: str, number: int,
                     files: Sequence[StoredFile]) -> None:
        """Delete objects under the claimed prefix that are not files of this version.

        An earlier attempt that failed or crashed after writing (its claim now
        ours, or reused) may have left files the item no longer has; committed,
        they would sit in the bag unlisted and fail every validator. Nobody can
        read this prefix before our commit, so removing them is safe, unless a
        duplicate of this task has committed it meanwhile: then it is left alone.
        The prefix is listed first: with nothing to delete (a first attempt),
        the catalog is not asked at all.
        """
        ours = {prefix + f.path for f in files if f.held_by is None}
        strays = [(store, obj.key) for store in self.s.locations
                  for obj in list(store.list(prefix)) if obj.key not in ours]
        if not strays:
            return
        latest = self.s.catalog.latest_version(package_id)
        if latest is not None and latest.number >= number:
            return
        self.lease.confirm()  # a stale attempt deletes nothing
        for store, key in strays:
            store.delete(key)

    def abandon(self, prefix: str, package_id: str, number: int, *, holding: bool = True) -> None:
        """Delete what was written under the claimed ``prefix`` and drop the claim,
        unless the version was committed meanwhile. ``holding``: the item is still
        accepted and its lease must be ours (a stale attempt deletes nothing: the
        new holder writes here); False once the item is final. Raises LeaseLost."""
        latest = self.s.catalog.latest_version(package_id)
        if latest is not None and latest.number >= number:
            return  # a duplicate of this task committed the version meanwhile: keep it
        if holding:
            self.lease.confirm()
        for store in self.s.locations:
            for obj in list(store.list(prefix)):
                store.delete(obj.key)
        self.s.catalog.release_version(package_id, number, self.item_id,
                                       holder=self.lease.holder)


__all__ = ["VersionClaim"]
