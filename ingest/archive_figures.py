"""The archive's state in figures, for monitoring: read from the catalog when asked.

What ``GET /metrics`` reports as gauges at each scrape: items by status, stuck
items, fixity coverage per location, failures outstanding, bytes due for a deep
check, and the audit chain's head and newest anchor. The catalog is the one
source of these figures, so any process (the API, a second replica of it) gives
the same answer; each is one aggregate query, whatever the number of packages:
no package, version or copy is read one at a time.

The same rules as ``strongroom fixity report`` (``ingest.fixity_report``) and the
stuck-item sweep (``ingest.stuck``) decide what counts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ingest.fixity_policy import FixityPolicy, tally_cutoffs
from ingest.services import Services
from ingest.stuck import stuck_before


@dataclass(frozen=True)
class LocationCoverage:
    """One storage location: its copies, and those deep-verified whole in the window."""

    location: str
    copies: int
    covered: int

    @property
    def share(self) -> float:
        """Covered copies over copies; 1.0 for a location that holds none yet."""
        return self.covered / self.copies if self.copies else 1.0


@dataclass(frozen=True)
class ArchiveFigures:
    as_of: datetime
    #: item status -> items in it (every status, 0 when none)
    items_by_status: dict[str, int]
    #: accepted items without progress for ``stuck_after`` seconds
    stuck_items: int
    #: every configured location, the primary first
    coverage: tuple[LocationCoverage, ...]
    #: versions, and those covered in every location
    versions: int
    versions_covered: int
    #: copies whose deep deadline has passed
    copies_overdue: int
    #: bytes of the copies whose deep check is due now (deadline passed)
    octets_due_deep: int
    #: copies whose last check (of either tier) failed: what is wrong now
    failures_outstanding: int
    #: sequence number of the last event of the audit chain (0: empty)
    audit_head_seq: int
    #: the newest anchor of the chain's head: its sequence and age in seconds; None: never anchored
    anchor_seq: int | None
    anchor_age_seconds: float | None


def archive_figures(services: Services, policy: FixityPolicy) -> ArchiveFigures:
    """The archive's figures as of ``services.clock.now()``, from a handful of
    aggregate queries. Raises CatalogUnavailable."""
    as_of = services.clock.now()
    catalog = services.catalog
    locations = [store.location for store in services.locations]
    items = catalog.item_tally(stuck_before(as_of, services.stuck_after))
    verified_since, due_before = tally_cutoffs(policy, as_of)
    tally = catalog.fixity_tally(locations, verified_since, due_before)
    # Bytes by the hour their deep deadline counts from; the hours before the
    # cutoff come summed in the first pair.
    due = sum(octets for since, octets in catalog.fixity_backlog(locations, due_before)
              if since < due_before)
    _, failures = catalog.fixity_failures(locations, limit=0)
    head_seq, _ = catalog.audit_head()
    anchor = catalog.newest_anchor()
    coverage = tuple(LocationCoverage(location, *reversed(tally.per_location.get(location, (0, 0))))
                     for location in locations)
    return ArchiveFigures(
        as_of=as_of,
        items_by_status=dict(items.by_status),
        stuck_items=items.stuck,
        coverage=coverage,
        versions=tally.versions,
        versions_covered=tally.covered,
        copies_overdue=tally.overdue,
        octets_due_deep=due,
        failures_outstanding=failures,
        audit_head_seq=head_seq,
        anchor_seq=anchor[0] if anchor else None,
        anchor_age_seconds=max(0.0, (as_of - anchor[1]).total_seconds()) if anchor else None,
    )


__all__ = ["ArchiveFigures", "LocationCoverage", "archive_figures"]
