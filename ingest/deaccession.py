"""Governed deaccession: a package (or one version) removed from every location by
the decision of two people, leaving a tombstone.

One admin asks (``request_deaccession``, with a reason); another approves
(``approve_deaccession``) or rejects (``reject_deaccession``). The person who
asked can never approve: the two-person rule holds at the command line, in the
API and in the console alike, because it is written here once
(DEACCESSION_SAME_PERSON).

The order of an approval, chosen so that a failure at any point leaves a state
that says what is true and can be finished (``resume_deaccession``, or running
approve again):

1. **Catalog** (one transaction): the request becomes ``deleting``; the
   tombstone of each version it covers is kept (files, sizes, digests); the
   versions are withdrawn (readers get ``Deaccessioned``, fixity plans them no
   more); the PREMIS ``deaccession`` event is appended. Nothing has been
   deleted yet, and the request says so.
2. **Tombstones in the store**: ``_tombstones/{package_id}/v{N}.json`` written
   (checked put, synced) to every location, before any object goes, so that a
   ``catalog rebuild`` never takes the version back in, from whichever location.
3. **Objects**: in each location, every object of each withdrawn version
   (its prefix listed, and every file the tombstone names) is deleted unless a
   remaining version references it (``ingest.layout.objects_referenced``); then
   its commit record. A location out of reach is reported and skipped, with a
   failed ``deletion`` event; the request stays ``deleting``.
4. **Done**: only when every location answered, the request becomes
   ``deaccessioned``, with a ``deletion`` event per location and a
   ``deaccession`` event per version naming what was removed.

A location that was not configured during the deletion (or was restored from a
backup) may still hold objects: ``fixity reconcile`` reports them as
``DEACCESSIONED_LEFTOVER`` and removes them with ``--remove-deaccessioned``.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ingest.commit_records import commit_record_key
from ingest.errors import (
    ChecksumRefused,
    DeaccessionRefused,
    NotFound,
    ObjectRetained,
    StorageUnavailable,
    VersionNotFound,
)
from ingest.findings import Finding
from ingest.identities import two_people
from ingest.layout import objects_referenced, version_prefix
from ingest.models import Actor, EventType, NewEvent, Outcome, StoredFile
from ingest.ports import ObjectStore
from ingest.services import Services
from ingest.tombstones import (
    DEACCESSIONED,
    DELETING,
    REQUESTED,
    DeaccessionRequest,
    tombstone_body,
    tombstone_key,
)


@dataclass(frozen=True)
class LocationDeletion:
    """What the deletion did in one location."""

    location: str
    deleted: int = 0
    kept: int = 0
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"location": self.location, "deleted": self.deleted, "kept": self.kept,
                "error": self.error}


@dataclass(frozen=True)
class DeaccessionOutcome:
    """A request after an approval or a resume, and what each location did."""

    request: DeaccessionRequest
    locations: tuple[LocationDeletion, ...] = field(default=())

    @property
    def finished(self) -> bool:
        return self.request.state == DEACCESSIONED

    def to_dict(self) -> dict[str, Any]:
        return {"request": self.request.to_dict(),
                "locations": [loc.to_dict() for loc in self.locations],
                "finished": self.finished}


def _actor(services: Services) -> Actor:
    if services.actor is None:
        raise ValueError("a deaccession step needs to know who takes it (Services.actor)")
    return services.actor


def request_deaccession(services: Services, package_ref: str, version: int | None,
                        reason: str) -> DeaccessionRequest:
    """Ask for the deaccession of a package (``version`` None) or one version of it,
    as ``services.actor``. Raises DeaccessionRefused (DEACCESSION_REASON_MISSING,
    DEACCESSION_PENDING), PackageNotFound, VersionNotFound, Deaccessioned,
    CatalogUnavailable."""
    who = _actor(services)
    reason = reason.strip()
    if not reason:
        raise DeaccessionRefused(Finding("DEACCESSION_REASON_MISSING"))
    catalog = services.catalog
    package_id = catalog.resolve_package(package_ref)
    try:
        record = catalog.get_version(package_id, version)
    except VersionNotFound as exc:  # named as the person named it, not by its internal id
        raise VersionNotFound(f"package {package_ref} has no version {version}") from exc
    now = services.clock.now()
    request = DeaccessionRequest(
        request_id=str(uuid.uuid4()), package_id=package_id, identifier=record.identifier,
        version=version, reason=reason, requested_by=who, requested_at=now)
    event = services.event(EventType.DEACCESSION, Outcome.SUCCESS, occurred_at=now,
                           package_id=package_id, version=version,
                           detail={"stage": "requested", "request_id": request.request_id,
                                   "scope": request.scope, "reason": reason})
    catalog.add_deaccession_request(request, [event])
    return request


def reject_deaccession(services: Services, request_id: str,
                       note: str | None = None) -> DeaccessionRequest:
    """Reject a waiting request, as ``services.actor`` (the requester may withdraw
    their own). Raises DeaccessionRequestNotFound, DeaccessionRefused
    (DEACCESSION_DECIDED), CatalogUnavailable."""
    who = _actor(services)
    request = services.catalog.get_deaccession_request(request_id)
    now = services.clock.now()
    note = note.strip() if note and note.strip() else None
    event = services.event(EventType.DEACCESSION, Outcome.FAILURE, occurred_at=now,
                           package_id=request.package_id, version=request.version,
                           detail={"stage": "rejected", "request_id": request_id,
                                   "scope": request.scope, "reason": request.reason,
                                   "note": note})
    return services.catalog.reject_deaccession(request_id, who, now, note, [event])


def approve_deaccession(services: Services, request_id: str) -> DeaccessionOutcome:
    """Approve a waiting request as ``services.actor``, who must not be the person
    who asked, then delete (see the module docstring). Approving a request that
    is ``deleting`` finishes its deletion (like ``resume_deaccession``).

    Raises DeaccessionRequestNotFound, DeaccessionRefused (DEACCESSION_SAME_PERSON,
    DEACCESSION_DECIDED, OBJECT_RETAINED), CatalogUnavailable. A location out of reach is no
    error: the outcome names it and the request stays ``deleting``.

    An object of the request that S3 Object Lock still retains (``OBJECT_RETAINED``,
    naming the object and the date) refuses the approval before anything
    changes: the request stays ``requested`` and the package stays readable.
    An archivist expects a package either whole or gone: approving would
    withdraw it from readers at once while its bytes stayed for years, and the
    request would sit ``deleting`` with nothing to do about it until then.
    Refused, the decision waits for the date the finding names; the same
    request is approved then. Raises StorageUnavailable when a location cannot
    say what it retains."""
    who = _actor(services)
    request = services.catalog.get_deaccession_request(request_id)
    if request.state == DELETING:
        return _delete_everywhere(services, request)
    if request.state != REQUESTED:
        raise DeaccessionRefused(Finding("DEACCESSION_DECIDED", path=request_id,
                                         found=request.state))
    if not two_people(services, request.requested_by, who):
        raise DeaccessionRefused(Finding("DEACCESSION_SAME_PERSON", path=request_id,
                                         found=who.name))
    refuse_if_retained(services, request)
    now = services.clock.now()
    event = services.event(EventType.DEACCESSION, Outcome.SUCCESS, occurred_at=now,
                           package_id=request.package_id, version=request.version,
                           detail={"stage": "approved", "request_id": request_id,
                                   "scope": request.scope, "reason": request.reason,
                                   "requested_by": request.requested_by.to_dict()})
    request = services.catalog.begin_deaccession(request_id, who, now, [event])
    return _delete_everywhere(services, request)


def resume_deaccession(services: Services, request_id: str) -> DeaccessionOutcome:
    """Finish the deletion of an approved request left ``deleting`` (a location was
    out of reach). A request already deaccessioned is returned as it is.
    Raises DeaccessionRequestNotFound, DeaccessionRefused (a request not yet
    approved, or rejected), CatalogUnavailable."""
    request = services.catalog.get_deaccession_request(request_id)
    if request.state == DEACCESSIONED:
        return DeaccessionOutcome(request)
    if request.state != DELETING:
        raise DeaccessionRefused(Finding("DEACCESSION_DECIDED", path=request_id,
                                         found=request.state))
    return _delete_everywhere(services, request)


def list_deaccessions(services: Services) -> list[DeaccessionRequest]:
    """Every request, newest first. Raises CatalogUnavailable."""
    return services.catalog.list_deaccession_requests()


def may_approve(services: Services, request: DeaccessionRequest) -> bool:
    """Whether ``services.actor`` may approve ``request`` now, by the rule
    ``approve_deaccession`` applies (waiting, and not asked for by whoever stands
    behind this credential): what a page offers, and what it does not."""
    if request.state != REQUESTED:
        return False
    return two_people(services, request.requested_by, _actor(services))


# --------------------------------------------------------------------------- deletion


def referenced_by_remaining(services: Services, package_id: str) -> set[str]:
    """Every object key the package's remaining committed versions reference."""
    try:
        remaining = services.catalog.list_versions(package_id)
    except NotFound:  # every version withdrawn
        return set()
    kept: set[str] = set()
    for version in remaining:
        kept |= objects_referenced(package_id, version.number, version.files)
    return kept


def objects_to_delete(services: Services, request: DeaccessionRequest,
                      store: ObjectStore) -> set[str]:
    """The keys an approval of ``request`` would delete from ``store``, as the
    catalog has the package now: the objects of the versions it covers (those
    the catalog names, and whatever else is under their prefixes) and their
    commit records, except those a version it leaves references.
    Raises CatalogUnavailable, StorageUnavailable."""
    versions = services.catalog.list_versions(request.package_id)
    kept: set[str] = set()
    keys: set[str] = set()
    for v in versions:
        if request.version not in (None, v.number):
            kept |= objects_referenced(request.package_id, v.number, v.files)
            continue
        keys |= objects_referenced(request.package_id, v.number, v.files)
        keys |= {info.key for info in store.list(version_prefix(request.package_id, v.number))}
        keys.add(commit_record_key(request.package_id, v.number))
    return keys - kept


def refuse_if_retained(services: Services, request: DeaccessionRequest) -> None:
    """Raise DeaccessionRefused (``OBJECT_RETAINED``, naming the object retained the
    longest, its location and the date) when any location retains an object the
    request would delete. Raises StorageUnavailable, CatalogUnavailable."""
    retained: list[tuple[datetime, str, str]] = []
    for store in services.locations:
        for key in sorted(objects_to_delete(services, request, store)):
            until = store.retained_until(key)
            if until is not None:
                retained.append((until, key, store.location))
    if not retained:
        return
    until, key, location = max(retained)
    others = len(retained) - 1
    raise DeaccessionRefused(Finding(
        "OBJECT_RETAINED", path=key, found=until.astimezone(UTC).isoformat(), location=location,
        params={"place": location, "until": _in_words(until), "request": request.request_id,
                "others": (f" (and {others} other object{'s' if others > 1 else ''}, retained "
                           f"no longer)") if others else ""}))


def _in_words(moment: datetime) -> str:
    """``2027-12-06 19:43:24+00:00`` as ``6 December 2027, 19:43:24 UTC``."""
    utc = moment.astimezone(UTC)
    return f"{utc.day} {utc:%B %Y, %H:%M:%S} UTC"


def write_tombstones(store: ObjectStore, request: DeaccessionRequest) -> int:
    """Write the tombstone of each version of ``request`` to ``store`` and sync it;
    returns how many. Raises StorageUnavailable, ChecksumRefused."""
    for version in request.versions:
        key = tombstone_key(request.package_id, version.number)
        body = tombstone_body(request, version.number)
        store.put_bytes(key, body, hashlib.sha256(body).hexdigest())
        store.sync(key)
    return len(request.versions)


def delete_withdrawn(store: ObjectStore, request: DeaccessionRequest,
                     kept: set[str]) -> LocationDeletion:
    """Delete from ``store`` every object of the request's versions that no key in
    ``kept`` names, then their commit records. Raises StorageUnavailable."""
    deleted = spared = 0
    for version in request.versions:
        prefix = version_prefix(request.package_id, version.number)
        keys = {info.key for info in store.list(prefix)}
        keys |= objects_referenced(request.package_id, version.number, version.files)
        for key in sorted(keys):
            if key in kept:
                spared += 1
                continue
            store.delete(key)
            deleted += 1
        store.delete(commit_record_key(request.package_id, version.number))
    return LocationDeletion(store.location, deleted=deleted, kept=spared)


def deletion_event(services: Services, request: DeaccessionRequest, deletion: LocationDeletion, *,
                   version: int | None = None, occurred_at: datetime | None = None,
                   **detail: Any) -> NewEvent:
    """The PREMIS ``deletion`` event of what ``deletion`` did in one location for
    ``request`` (of ``version``, else of the versions the request covers), as
    ``services.actor``: a failure when it names an error. Every deletion of a
    deaccessioned version's objects is recorded by it, the approval's and the
    later removal of what a location kept (``ingest.reconciliation``) alike;
    ``detail`` adds to the request, location and counts."""
    return services.event(
        EventType.DELETION, Outcome.FAILURE if deletion.error else Outcome.SUCCESS,
        occurred_at=occurred_at, package_id=request.package_id,
        version=request.version if version is None else version,
        detail={"request_id": request.request_id, **deletion.to_dict(), **detail})


def _sealed_digests(files: tuple[StoredFile, ...]) -> dict[str, str | None]:
    """The digests of a withdrawn bag's manifests: they seal every file's digests."""
    digests = {f.path: f.sha256 for f in files}
    return {"manifest_sha256": digests.get("manifest-sha256.txt"),
            "tagmanifest_sha256": digests.get("tagmanifest-sha256.txt")}


def _delete_everywhere(services: Services, request: DeaccessionRequest) -> DeaccessionOutcome:
    kept = referenced_by_remaining(services, request.package_id)
    done: list[LocationDeletion] = []
    failed: list[NewEvent] = []
    for store in services.locations:
        try:
            write_tombstones(store, request)  # before any object goes
            done.append(delete_withdrawn(store, request, kept))
        except (StorageUnavailable, ChecksumRefused, ObjectRetained) as exc:
            # ObjectRetained: a legal hold, or retention set after the approval.
            done.append(LocationDeletion(store.location, error=str(exc)))
            failed.append(deletion_event(services, request, done[-1]))
    if failed:
        services.catalog.append(failed)
        return DeaccessionOutcome(request, tuple(done))
    now = services.clock.now()
    events = [deletion_event(services, request, loc, occurred_at=now) for loc in done]
    events += [services.event(EventType.DEACCESSION, Outcome.SUCCESS, occurred_at=now,
                              package_id=request.package_id, version=v.number,
                              detail={"stage": "completed", "request_id": request.request_id,
                                      "reason": request.reason,
                                      "requested_by": request.requested_by.to_dict(),
                                      "approved_by": (request.decided_by.to_dict()
                                                      if request.decided_by else None),
                                      "files": len(v.files), "octets": v.octets,
                                      **_sealed_digests(v.files)})
               for v in request.versions]
    finished = services.catalog.finish_deaccession(request.request_id, now, events)
    return DeaccessionOutcome(finished, tuple(done))


__all__ = [
    "DeaccessionOutcome",
    "LocationDeletion",
    "approve_deaccession",
    "delete_withdrawn",
    "deletion_event",
    "list_deaccessions",
    "objects_to_delete",
    "referenced_by_remaining",
    "refuse_if_retained",
    "reject_deaccession",
    "request_deaccession",
    "resume_deaccession",
    "write_tombstones",
]
