"""What fixity audits, reconciliation and repair need from the catalog, as a Protocol.

Part of the catalog's ports (``ingest.ports.Catalog`` includes it), kept apart:
the fixity schedule, the checks of every copy and the notes on copies.
``storage.catalog`` implements it; tests implement it in memory. Every method
documents the domain errors it may raise; adapters raise nothing else.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Protocol

from ingest.copies import CopyRecord
from ingest.fixity_policy import (
    CopyState,
    CopyTally,
    OrderKey,
    PlannedCheck,
    RecordedCheck,
)
from ingest.models import NewEvent


class FixityCatalog(Protocol):
    """The fixity schedule, the checks of every copy and the notes on copies:
    what fixity audits, reconciliation and repair need."""

    # -- copies per location and audit anchors (ingest.replication, ingest.anchoring)

    def record_copies(self, package_id: str, number: int, copies: Sequence[CopyRecord],
                      events: Sequence[NewEvent] = ()) -> None:
        """Note the state of copies of a version (claimed or committed) per location,
        with ``events``. Raises VersionNotFound."""

    def list_copies(self, package_id: str, number: int) -> list[CopyRecord]:
        """The noted copies of one version, by location."""

    def copy_locations(self) -> dict[str, tuple[int, int]]:
        """Every location noted as holding copies of committed versions: location ->
        (copies, of which damaged: so noted, or failing their last deep check)."""

    def record_object_versions(self, package_id: str, location: str,
                               versions: Mapping[str, str]) -> None:
        """Note which object version to read (``versions``: object key -> version id)
        for objects of a package in ``location`` (``ingest.object_versions``),
        replacing earlier notes on those objects."""

    def object_versions(self, package_id: str, location: str) -> dict[str, str]:
        """The object versions noted for objects of a package in ``location``
        (object key -> version id)."""

    def objects_with_digests(self, size: int, sha256: str, sha512: str, *,
                             package_id: str | None = None,
                             limit: int = 8) -> list[tuple[str, int, str]]:
        """The stored objects of committed versions recorded with this size and
        these digests, as (package id, number of the version whose prefix holds
        the object, ``ingest.layout``; bag path), each once: at most ``limit`` of
        ``package_id``'s, then at most ``limit`` of other packages. A lookup by
        digest, from an index: where ``ingest.repair`` may find the same bytes."""

    def fixity_backlog(self, locations: Sequence[str],
                       collapse_before: datetime) -> list[tuple[datetime, int]]:
        """Bytes of every copy by when its deep deadline counts from, earliest first
        (``ingest.fixity_planner.DueSource``)."""

    def fixity_oldest(self, locations: Sequence[str], stale_before: datetime | None,
                      larger_than: int | None = None, at_most: int | None = None,
                      after: OrderKey | None = None) -> Iterator[CopyState]:
        """Copies not queued for a deep check since ``stale_before``, earliest deep
        deadline first, by size when asked, read a page at a time (``DueSource``)."""

    def fixity_shallow_due(self, locations: Sequence[str], checked_before: datetime,
                           stale_before: datetime) -> Iterator[CopyState]:
        """Copies unchecked since ``checked_before`` and not queued, longest
        unchecked first, read a page at a time (``DueSource``)."""

    def fixity_tally(self, locations: Sequence[str], verified_since: datetime,
                     due_before: datetime) -> CopyTally:
        """Counts of covered and overdue copies and versions, summed in the catalog."""

    def fixity_failures(self, locations: Sequence[str], since: datetime | None = None,
                        limit: int | None = None) -> tuple[list[RecordedCheck], int]:
        """The first ``limit`` failed checks (each copy's current failures when
        ``since`` is None), oldest first, and how many there are."""

    def copies_verified_at(self, package_id: str,
                           numbers: Sequence[int]) -> dict[tuple[int, str], datetime | None]:
        """When a deep check last found each copy of versions ``numbers`` of a
        package whole, by (version, location); None: never. Copies the fixity
        schedule does not track yet are left out."""

    def failing_copies(self, location: str) -> set[tuple[str, int]]:
        """(package id, version) of each copy in ``location`` whose last deep check
        found it damaged (the copies ``fixity report`` lists as failing there)."""

    def enqueue_checks(self, planned: Sequence[PlannedCheck], queued_at: datetime,
                       stale_before: datetime) -> list[PlannedCheck]:
        """Mark checks queued; returns those not already queued since ``stale_before``."""

    def record_check_of_copy(self, check: RecordedCheck, events: Sequence[NewEvent] = ()) -> None:
        """Keep one check of one copy with its events (the fixity report lists it), move
        the copy on the schedule and finish its queue entry; a deep check also becomes
        the version's last fixity result. Raises VersionNotFound."""

    def fixity_checks(self, since: datetime | None = None,
                      failed_only: bool = False) -> list[RecordedCheck]:
        """Recorded checks, oldest first."""

    def fixity_checks_per_day(self, since: datetime,
                              until: datetime) -> list[tuple[date, str, str, int]]:
        """Checks recorded per UTC day in [since, until), by tier and outcome:
        (day, tier, outcome, checks), days in order; days without a check left out."""

    def version_states(self) -> dict[tuple[str, int], str]:
        """Every version row's state (pending or committed) by (package id, number)."""

    def committed_paths(self) -> dict[tuple[str, int], set[str]]:
        """The paths of the objects committed versions are made of, by (package id,
        number of the version whose prefix holds them, ``ingest.layout``)."""


__all__ = ["FixityCatalog"]
