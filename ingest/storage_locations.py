"""A storage location's life: which locations hold what, filling a new one,
retiring an old one.

Moving an archive to new storage is the routine of preservation (media age,
providers change): name the new location in the settings (a replica, or the new
primary with the old one as a replica), **fill** it, take the old one out of
the settings, then **retire** it.

- ``locations_overview``: every location the settings name or the catalog notes
  copies in, with its copies, damaged ones, the versions it lacks and, for a
  retired one, who retired it, when and why.
- ``fill_location``: every committed version the location does not hold whole
  (no copy noted, a copy noted damaged, or one failing its last check) is
  repaired as ``strongroom repair`` would (``ingest.repair.repair_version``):
  every copy deep-verified, the missing or damaged one written only from a copy
  verified good moments before, hashed again on the way, checked after, each
  step an audit event. Paged through the catalog (memory stays flat at a
  million versions); stops between versions when asked.
- ``retire_location``: refused while the settings still name the location, and
  while any committed version it holds is not held whole in every configured
  location (those are listed); otherwise the catalog forgets its copies and
  planned checks in one transaction with a ``policy assignment`` event naming
  who retired it and why. No byte is deleted: what becomes of the medium is
  the operator's decision, and a location named again later is a new location.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.copy_checks import OK, REPAIRED, RepairResult
from ingest.errors import Deaccessioned, InputError, LocationNotFound
from ingest.location_records import LocationGap, RetiredLocationRecord
from ingest.models import EventType, Outcome
from ingest.services import Services

#: versions read from the catalog at a time while filling
_PAGE = 200
#: versions a refused retirement lists
_GAPS_LISTED = 20

PRIMARY = "primary"
REPLICA = "replica"
NOT_CONFIGURED = "not configured"
RETIRED = "retired"


class LocationStillConfigured(InputError):
    """A location the settings name cannot be retired."""


# --------------------------------------------------------------------------- overview


@dataclass(frozen=True)
class LocationRow:
    location: str
    role: str
    #: copies of committed versions the catalog notes there, of which damaged or failing
    copies: int
    damaged: int
    #: committed versions it does not hold whole (configured locations only)
    lacking: int | None
    retired: RetiredLocationRecord | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "role": self.role, "copies": self.copies,
                "damaged": self.damaged, "lacking": self.lacking,
                "retired": self.retired.to_dict() if self.retired else None}


def locations_overview(services: Services) -> tuple[int, list[LocationRow]]:
    """(committed versions, one row per location): the configured ones in the
    settings' order, then those only the catalog notes, then the retired ones.
    Raises CatalogUnavailable."""
    catalog = services.catalog
    versions = catalog.committed_version_count()
    noted = catalog.copy_locations()
    rows: list[LocationRow] = []
    for index, store in enumerate(services.locations):
        copies, damaged = noted.get(store.location, (0, 0))
        rows.append(LocationRow(store.location, PRIMARY if index == 0 else REPLICA, copies, damaged,
                                lacking=versions - (copies - damaged)))
    configured = {store.location for store in services.locations}
    for location in sorted(set(noted) - configured):
        copies, damaged = noted[location]
        rows.append(LocationRow(location, NOT_CONFIGURED, copies, damaged, lacking=None))
    for retired in catalog.retired_locations():
        if retired.location not in configured and retired.location not in noted:
            rows.append(LocationRow(retired.location, RETIRED, 0, 0, None, retired))
    return versions, rows


# --------------------------------------------------------------------------- fill


@dataclass
class FillResult:
    location: str
    #: versions whose copy there was made or mended
    made: list[tuple[str, int]] = field(default_factory=list)
    #: versions found whole there after all (noted late, or mended by another run)
    whole: list[tuple[str, int]] = field(default_factory=list)
    #: versions whose copy there could not be made (no good copy, a location out of reach)
    failed: list[RepairResult] = field(default_factory=list)
    #: versions deaccessioned while the fill went on: nothing of them is written
    withdrawn: list[tuple[str, int]] = field(default_factory=list)
    stopped: bool = False

    @property
    def has_problems(self) -> bool:
        return bool(self.failed) or self.stopped

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "stopped": self.stopped,
                "made": [{"package_id": p, "version": n} for p, n in self.made],
                "whole": [{"package_id": p, "version": n} for p, n in self.whole],
                "failed": [r.to_dict() for r in self.failed],
                "withdrawn": [{"package_id": p, "version": n} for p, n in self.withdrawn]}


def fill_location(services: Services, location: str) -> FillResult:
    """Make ``location`` (one the settings name) hold every committed version whole.

    Raises LocationNotFound for a location the settings do not name,
    CatalogUnavailable.
    """
    from ingest.repair import repair_version  # the repair machinery, loaded when filling

    if location not in {store.location for store in services.locations}:
        raise LocationNotFound(
            f"{location} is not a location the settings name; fill one named in "
            f"STRONGROOM_STORAGE_URL or STRONGROOM_REPLICAS: "
            f"{', '.join(store.location for store in services.locations)}")
    catalog = services.catalog
    result = FillResult(location)
    after: tuple[str, int] | None = None
    while True:
        page = catalog.versions_not_held_whole(location, after=after, limit=_PAGE)
        if not page:
            return result
        for package_id, number in page:
            if services.stop.requested:
                result.stopped = True
                return result
            try:
                repaired = repair_version(services, package_id, number,
                                          progress=services.progress)
            except Deaccessioned:
                result.withdrawn.append((package_id, number))
                continue
            mine = next(c for c in repaired.copies if c.location == location)
            if mine.status == REPAIRED:
                result.made.append((package_id, number))
            elif mine.status == OK:
                result.whole.append((package_id, number))
            else:
                result.failed.append(repaired)
        after = page[-1]


# --------------------------------------------------------------------------- retire


@dataclass(frozen=True)
class RetireResult:
    location: str
    retired: bool
    copies: int
    #: what stopped it: the first versions not held whole elsewhere, and how many
    gaps: tuple[LocationGap, ...]
    gaps_total: int
    event_seq: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "retired": self.retired, "copies": self.copies,
                "gaps": [g.to_dict() for g in self.gaps], "gaps_total": self.gaps_total,
                "event_seq": self.event_seq}


def retire_location(services: Services, location: str, reason: str) -> RetireResult:
    """Take ``location`` out of service, if every committed version it holds is
    held whole in every configured location.

    Raises LocationStillConfigured while the settings name it, LocationNotFound
    when the catalog notes nothing there, InputError without a reason,
    CatalogUnavailable.
    """
    configured = [store.location for store in services.locations]
    if location in configured:
        raise LocationStillConfigured(
            f"{location} is still named in the settings (STRONGROOM_STORAGE_URL or "
            "STRONGROOM_REPLICAS): take it out of them on every host first, so that nothing "
            "writes a new version there, then retire it")
    if not reason.strip():
        raise InputError("say why the location is retired (--reason): the audit log keeps it")
    catalog = services.catalog
    noted = catalog.copy_locations()
    if location not in noted:
        retired = {r.location for r in catalog.retired_locations()}
        known = sorted(set(noted) - set(configured))
        already = " (it was retired already)" if location in retired else ""
        raise LocationNotFound(
            f"the catalog notes no copy in {location}{already}; locations holding copies that "
            f"the settings do not name: {', '.join(known) if known else 'none'}")
    gaps, total = catalog.retirement_gaps(location, configured, limit=_GAPS_LISTED)
    if gaps:
        return RetireResult(location, False, noted[location][0], tuple(gaps), total, None)
    event = services.event(EventType.POLICY_ASSIGNMENT, Outcome.SUCCESS, detail={
        "action": "location retired", "location": location, "reason": reason,
        "copies": noted[location][0], "held_whole_in": configured})
    sealed, copies, late = catalog.retire_location(location, configured, event, reason)
    if sealed is None:  # a copy went bad between the look and the lock
        return RetireResult(location, False, noted[location][0], tuple(late), len(late), None)
    return RetireResult(location, True, copies, (), 0, sealed.seq)


__all__ = [
    "NOT_CONFIGURED", "PRIMARY", "REPLICA", "RETIRED", "FillResult", "LocationGap", "LocationRow",
    "LocationStillConfigured", "RetireResult", "RetiredLocationRecord",
    "fill_location", "locations_overview", "retire_location",
]
