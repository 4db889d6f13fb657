"""A storage location's life: which locations hold what, filling a new one,
retiring an old one.

Moving an archive to new storage is the routine of preservation (media age,
providers change): name the new location in the settings (a replica, or the new
primary with the old one as a replica), **fill** it, take the old one out of
the settings, then **retire** it.

- ``locations_overview``: every location the settings name or the catalog notes
  copies in, with its copies, damaged ones, the versions it lacks, those queued
  to be filled there and, for a retired one, who retired it, when and why.
- ``fill_location``: every committed version the location does not hold whole
  (no copy noted, a copy noted damaged, or one failing its last check) is
  copied there in this process (``ingest.location_fill.fill_version``: only
  the source it is copied from is verified, chosen as ``repair`` chooses, then
  the copy after writing; each step an audit event). Paged through the catalog
  (memory stays flat at a million versions); stops between versions when asked.
- ``queue_fill``: the same versions, one task each for the workers, each noted
  queued in the catalog before it is sent, so that none is sent twice while it
  waits (as due fixity checks are queued).
- ``retire_location``: refused while the settings still name the location, and
  while any committed version it holds is not held whole in every configured
  location (those are listed), by the catalog's notes and then by a shallow
  check of each of those copies made there and then (the notes may be months
  old, and the location being retired may hold the last good copy); otherwise the catalog forgets its copies and
  planned checks in one transaction with a ``policy assignment`` event naming
  who retired it and why. No byte is deleted: what becomes of the medium is
  the operator's decision, and a location named again later is a new location.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ingest.copy_checks import OK, REPAIRED, RepairResult
from ingest.errors import Deaccessioned, InputError, LocationNotFound, QueueUnavailable
from ingest.fixity_policy import FixityPolicy
from ingest.location_records import LocationGap, RetiredLocationRecord
from ingest.models import EventType, Outcome
from ingest.ports import Dispatcher
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
    #: versions sent to the workers to be filled there and not finished yet
    queued: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "role": self.role, "copies": self.copies,
                "damaged": self.damaged, "lacking": self.lacking, "queued": self.queued,
                "retired": self.retired.to_dict() if self.retired else None}


def locations_overview(services: Services, requeue_after: timedelta = FixityPolicy.requeue_after
                       ) -> tuple[int, list[LocationRow]]:
    """(committed versions, one row per location): the configured ones in the
    settings' order, then those only the catalog notes, then the retired ones.
    A version queued to be filled more than ``requeue_after`` ago counts no
    longer as queued (its task is taken for lost, as a queued check is).
    Raises CatalogUnavailable."""
    catalog = services.catalog
    versions = catalog.committed_version_count()
    noted = catalog.copy_locations()
    queued = catalog.fills_queued(services.clock.now() - requeue_after)
    rows: list[LocationRow] = []
    for index, store in enumerate(services.locations):
        copies, damaged = noted.get(store.location, (0, 0))
        rows.append(LocationRow(store.location, PRIMARY if index == 0 else REPLICA, copies, damaged,
                                lacking=versions - (copies - damaged),
                                queued=queued.get(store.location, 0)))
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
    #: versions whose copy there was made or mended: (package id, number, identifier)
    made: list[tuple[str, int, str | None]] = field(default_factory=list)
    #: versions found whole there after all (noted late, or mended by another run)
    whole: list[tuple[str, int, str | None]] = field(default_factory=list)
    #: versions whose copy there could not be made (no good copy, a location out of reach)
    failed: list[RepairResult] = field(default_factory=list)
    #: versions deaccessioned while the fill went on: nothing of them is kept there
    withdrawn: list[tuple[str, int]] = field(default_factory=list)
    stopped: bool = False

    @property
    def has_problems(self) -> bool:
        return bool(self.failed) or self.stopped

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "stopped": self.stopped,
                "made": [{"package_id": p, "identifier": i, "version": n}
                         for p, n, i in self.made],
                "whole": [{"package_id": p, "identifier": i, "version": n}
                          for p, n, i in self.whole],
                "failed": [r.to_dict() for r in self.failed],
                "withdrawn": [{"package_id": p, "version": n} for p, n in self.withdrawn]}


def _configured(services: Services, location: str) -> None:
    """Raises LocationNotFound unless the settings name ``location``."""
    if location not in {store.location for store in services.locations}:
        raise LocationNotFound(
            f"{location} is not a location the settings name; fill one named in "
            f"STRONGROOM_STORAGE_URL or STRONGROOM_REPLICAS: "
            f"{', '.join(store.location for store in services.locations)}")


def check_fillable(services: Services, location: str) -> None:
    """Raise now what a fill of ``location`` would stop at before any version
    (``fill_location``, ``queue_fill``): LocationNotFound, StorageUnavailable."""
    _usable(services, location)


def _usable(services: Services, location: str) -> None:
    """``location`` is named by the settings and can be used now (its folder is
    there and writable, its bucket answers): tried once, before any version, so
    that a disk not mounted is one sentence, not a failure and a fixity record
    for every version. Raises LocationNotFound, StorageUnavailable."""
    _configured(services, location)
    next(store for store in services.locations if store.location == location).probe()


def _versions_to_fill(services: Services, location: str) -> Iterator[list[tuple[str, int]]]:
    """The committed versions ``location`` does not hold whole, a page at a time
    (memory stays flat at a million versions)."""
    after: tuple[str, int] | None = None
    while page := services.catalog.versions_not_held_whole(location, after=after, limit=_PAGE):
        yield page
        after = page[-1]


def fill_location(services: Services, location: str) -> FillResult:
    """Make ``location`` (one the settings name) hold every committed version
    whole, here and now, a version at a time (``ingest.location_fill``); stops
    between versions when asked.

    Raises LocationNotFound for a location the settings do not name,
    StorageUnavailable when it cannot be used (nothing is checked or written),
    CatalogUnavailable.
    """
    from ingest.location_fill import fill_version  # the repair machinery, loaded when filling

    _usable(services, location)
    result = FillResult(location)
    for page in _versions_to_fill(services, location):
        for package_id, number in page:
            if services.stop.requested:
                result.stopped = True
                return result
            try:
                filled = fill_version(services, package_id, number, location)
            except Deaccessioned:
                result.withdrawn.append((package_id, number))
                continue
            mine = filled.copies[-1]
            if mine.status == REPAIRED:
                result.made.append((package_id, number, filled.identifier))
            elif mine.status == OK:
                result.whole.append((package_id, number, filled.identifier))
            else:
                result.failed.append(filled)
    return result


@dataclass(frozen=True)
class FillQueued:
    """What ``queue_fill`` sent to the workers."""

    location: str
    #: versions sent, one task each
    sent: int
    #: versions left out: sent by an earlier fill and not finished yet
    already_queued: int

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "queued": True, "sent": self.sent,
                "already_queued": self.already_queued}


def queue_fill(services: Services, dispatcher: Dispatcher, location: str,
               requeue_after: timedelta) -> FillQueued:
    """Send one task per committed version ``location`` does not hold whole to the
    workers (``Dispatcher.fill_versions``), each once it is noted queued in the
    catalog: a version queued by a fill in the last ``requeue_after`` and not
    finished is not sent again. ``strongroom locations`` shows the fill go on.

    Raises LocationNotFound for a location the settings do not name,
    StorageUnavailable when it cannot be used (nothing is sent), QueueUnavailable
    (what was not sent is not noted queued), CatalogUnavailable.
    """
    _usable(services, location)
    catalog = services.catalog
    sent = already = 0
    for page in _versions_to_fill(services, location):
        now = services.clock.now()
        taken = catalog.queue_fills(location, page, queued_at=now,
                                    stale_before=now - requeue_after)
        try:
            dispatcher.fill_versions(location, taken)
        except QueueUnavailable:
            catalog.finish_fill(location, taken)
            raise
        sent += len(taken)
        already += len(page) - len(taken)
    return FillQueued(location, sent, already)


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
    if not gaps:
        # The notes say every copy elsewhere was whole when last checked; look
        # again now, as the location holding the last good copy is forgotten.
        _look_at_copies_elsewhere(services, location)
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


def _look_at_copies_elsewhere(services: Services, location: str) -> None:
    """Shallow-check (``ingest.fixity_audit.shallow_check``: every object there, of
    its recorded size; each check recorded) the copy in every configured location
    of each committed version ``location`` holds, so that a file gone since a
    copy's last check makes it a gap. Raises StorageUnavailable (a location
    that cannot be looked at cannot vouch for anything), CatalogUnavailable."""
    from ingest.fixity_audit import shallow_check  # loaded when retiring

    after: tuple[str, int] | None = None
    while page := services.catalog.versions_held(location, after=after, limit=_PAGE):
        for package_id, number in page:
            for store in services.locations:
                shallow_check(services, package_id, number, store.location)
        after = page[-1]


__all__ = [
    "NOT_CONFIGURED", "PRIMARY", "REPLICA", "RETIRED", "FillResult", "LocationGap", "LocationRow",
    "LocationStillConfigured", "RetireResult", "RetiredLocationRecord",
    "check_fillable", "fill_location", "locations_overview", "queue_fill", "retire_location",
]
