"""Filling one version into a storage location: the work of ``strongroom locations
fill``, one version at a time (in this process, or one task per version on the
workers).

Only what the copy needs is read:

1. what the location holds of the version: for a copy the catalog notes there
   (noted damaged, or failing its last check), a deep check of it, since only
   that says which objects are damaged; for a copy it does not note, a listing
   (the objects missing, or of another size), unless every object is there
   (left by a fill cut short), when a deep check says whether it is whole;
2. when something is missing or damaged, the source chosen as ``repair``
   chooses: the first other location, in the settings' order, whose copy a deep
   check finds whole; each location checked on the way is read once, and only
   until one is good (``repair`` reads every copy);
3. the objects missing or damaged, written from that copy (else from another
   stored object with the same recorded digests, ``ingest.repair_sources``),
   every byte hashed again on its way and the write refused unless both digests
   match; the copy synced and deep-checked after the writing.

Each deep check is recorded as a fixity check of its copy, each copy written as a
PREMIS ``replication`` event (``detail["reason"] == "fill"``, naming its source
and what each file was copied from), each event naming who acted; then the
copies' states. A version already held whole there (filled by an earlier run, or
a duplicate task) is left alone without a read: safe to run again.
"""

from __future__ import annotations

from ingest.copies import DAMAGED, VERIFIED, CopyRecord
from ingest.copy_checks import (
    DAMAGED_LEFT,
    OK,
    REPAIRED,
    UNREACHABLE,
    CopyOutcome,
    RepairResult,
    record_copy_check,
    what_a_copy_had,
)
from ingest.errors import LocationNotFound, ObjectNotFound, StorageUnavailable
from ingest.findings import Finding
from ingest.fixity_policy import DEEP
from ingest.layout import object_key, version_prefix
from ingest.models import EventType, Outcome, VersionRecord
from ingest.object_versions import PinnedCopy, copy_view
from ingest.repair import (
    catalog_as_sealed,
    deep_check_copy,
    ensure_commit_records,
    nothing_to_repair_from,
    rewrite_copy,
)
from ingest.repair_sources import Sources
from ingest.services import Services

#: why a replication event was written
FILL = "fill"


def fill_version(services: Services, package_id: str, number: int,
                 location: str) -> RepairResult:
    """Make ``location`` (one ``services.locations`` names) hold the committed
    version whole, reading only what it needs; record each check and write.

    The result's copies are the sources checked, then the location's own copy:
    its status ``ok`` (held whole already), ``repaired`` (made whole),
    ``damaged`` or ``unreachable``; the result's status ``refused`` when nothing
    held the bytes. Done or not, the copy is no longer queued to be filled.
    Raises PackageNotFound, VersionNotFound, LocationNotFound, CatalogUnavailable.
    """
    if location not in {store.location for store in services.locations}:
        raise LocationNotFound(f"no storage location {location!r} is configured")
    catalog = services.catalog
    version = catalog.get_version(package_id, number)
    if catalog.holds_whole(location, package_id, number):
        result = RepairResult(package_id, number, OK, (CopyOutcome(location),),
                              identifier=version.identifier)
    else:
        result = _fill(services, version, location)
    catalog.finish_fill(location, [(package_id, number)])
    return result


def _fill(services: Services, version: VersionRecord, location: str) -> RepairResult:
    catalog = services.catalog
    prefix = version_prefix(version.package_id, version.number)
    stores = [copy_view(catalog, store, version.package_id) for store in services.locations]
    [target] = [store for store in stores if store.location == location]
    sealing = catalog.sealing_event(version.package_id, version.number)
    progress = services.progress

    noted = any(c.location == location
                for c in catalog.list_copies(version.package_id, version.number))
    mine = CopyOutcome(location)
    checked_mine = noted
    if not noted:
        try:
            mine.findings = _missing(target, prefix, version)
        except StorageUnavailable as exc:
            mine.status, mine.detail = UNREACHABLE, str(exc)
            return _finish(services, version, stores, [], mine, False)
        checked_mine = not mine.findings  # every object there: is each as recorded?
    if checked_mine:
        mine = deep_check_copy(target, prefix, version, sealing, progress)
        _record_check(services, version, mine)
        if mine.status != DAMAGED_LEFT:  # whole already, or out of reach: nothing to write
            return _finish(services, version, stores, [], mine, checked_mine)
    else:
        mine.status = DAMAGED_LEFT  # objects missing: copied in below

    sources: list[CopyOutcome] = []
    good: PinnedCopy | None = None
    for store in stores:
        if store.location == location:
            continue
        outcome = deep_check_copy(store, prefix, version, sealing, progress)
        _record_check(services, version, outcome)
        sources.append(outcome)
        if outcome.status == OK:
            good = store
            break
    unreachable = frozenset(c.location for c in sources if c.status == UNREACHABLE)
    rewrite_copy(services, Sources(catalog, stores, version, good, unreachable,
                                   lambda: catalog_as_sealed(services, version)),
                 target, prefix, version, mine)
    _record_write(services, version, mine)
    if good is None and not (mine.rewritten or mine.deleted):
        result = _finish(services, version, stores, sources, mine, checked_mine)
        return RepairResult(version.package_id, version.number, "refused", result.copies,
                            nothing_to_repair_from([*sources, mine]),
                            identifier=version.identifier)
    return _finish(services, version, stores, sources, mine, checked_mine)


def _missing(target: PinnedCopy, prefix: str, version: VersionRecord) -> tuple[Finding, ...]:
    """What a listing of ``target`` shows missing of ``version``: objects not there
    (``FILE_MISSING``) or of another size (``SIZE_MISMATCH``). Reads no object.
    Raises StorageUnavailable."""
    listed = {info.key: info.size for info in target.list(prefix)}
    findings = []
    for f in version.files:
        key = object_key(version.package_id, version.number, f)
        if key.startswith(prefix):
            size = listed.get(key)
        else:  # shared with an earlier version, held under its key
            try:
                size = target.stat(key).size
            except ObjectNotFound:
                size = None
        if size is None:
            findings.append(Finding("FILE_MISSING", path=f.path, location=target.location))
        elif size != f.size:
            findings.append(Finding("SIZE_MISMATCH", path=f.path, expected=f.size, found=size,
                                    location=target.location))
    return tuple(findings)


def _record_check(services: Services, version: VersionRecord, outcome: CopyOutcome) -> None:
    """A deep check made, as a fixity check of its copy (an unreachable store
    says nothing about its bytes: nothing is recorded)."""
    if outcome.status != UNREACHABLE:
        record_copy_check(services, version, outcome.location, DEEP, outcome.findings)


def _record_write(services: Services, version: VersionRecord, mine: CopyOutcome) -> None:
    """The writing into the location as a replication event, with the deep check
    after it in the same transaction."""
    if not (mine.source is not None or mine.rewritten or mine.deleted):
        return
    event = services.event(
        EventType.REPLICATION, Outcome.SUCCESS if mine.status == REPAIRED else Outcome.FAILURE,
        occurred_at=services.clock.now(), package_id=version.package_id,
        version=version.number,
        detail={"reason": FILL, "location": mine.location, "source": mine.source,
                "rewritten": mine.rewritten, "mended_from": mine.mended_from,
                "deleted": mine.deleted, "detail": mine.detail,
                "findings": [f.to_dict() for f in mine.findings_after]})
    if mine.rechecked:
        record_copy_check(services, version, mine.location, DEEP, mine.findings_after,
                          events=[event])
    else:
        services.catalog.record_copies(version.package_id, version.number, [], [event])


def _finish(services: Services, version: VersionRecord, stores: list[PinnedCopy],
            sources: list[CopyOutcome], mine: CopyOutcome, checked_mine: bool) -> RepairResult:
    """Give every good copy its commit record, note the copies' states, and say
    what came of the location's copy."""
    copies = [*sources, mine]
    by_location = {store.location: store for store in stores}
    ensure_commit_records([by_location[c.location] for c in copies], copies, version)
    now = services.clock.now()
    services.catalog.record_copies(version.package_id, version.number, [
        CopyRecord(c.location, VERIFIED if c.status in (OK, REPAIRED) else DAMAGED, now)
        for c in copies if c.status != UNREACHABLE and (c is not mine or checked_mine
                                                        or c.rechecked)])
    if mine.had is None and mine.findings:
        mine.had = what_a_copy_had([f.path for f in version.files], mine.findings)
    if mine.status in (OK, REPAIRED):
        status = REPAIRED if mine.status == REPAIRED else OK
    else:
        status = "failed"
    return RepairResult(version.package_id, version.number, status, tuple(copies),
                        identifier=version.identifier)


__all__ = ["FILL", "fill_version"]
