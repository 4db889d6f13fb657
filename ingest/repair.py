"""Repair: rebuild a damaged or missing copy of a version from good bytes held elsewhere.

``repair_version`` deep-verifies every copy of a version (each byte re-read and
re-hashed, against the bag's manifests and the catalog: ``verify_bag``) and
then, for each damaged copy, rewrites:

1. only the objects the findings name (damaged, missing; objects the version
   does not have are deleted), then re-verifies the copy; an object the version
   shares with an earlier one is rewritten where it is held, once for all of them;
2. if that copy still has findings, every object of the version, and re-verifies.

Each object's bytes come from the first source that gives them as recorded
(``ingest.repair_sources``): the same object in a copy that passed the deep
check moments before, else any other stored object the catalog records with
the same size, SHA-256 and SHA-512 (the same object in another location, a
later version that stored the bytes again, another package). Every byte copied
is hashed again on the way and must match the catalog (sha256 and sha512),
else the write is aborted and the next source tried: damage that happens after
a check, or that a record does not show, is never spread. A rewritten copy is
synced (``ObjectStore.sync``) before it is checked again and its state
recorded. When no copy is good and no other object gives the bytes of any
damaged object, nothing is written and the result says so (``refused``).

Recorded per copy: each deep check as a fixity check of that copy
(``copy_checks.record_copy_check``: one PREMIS ``fixity check`` event each,
counted by the policy's schedule and coverage) — the first check, and for a
rewritten copy the check after the rewrite — and, for each rewritten copy, a
PREMIS ``replication`` event with ``detail["reason"] == "repair"`` (PREMIS has
no "repair" event type: a repair is a replication from a good copy), plus the
copy's state in the catalog; the event names the object each file was mended
from (``mended_from``: path -> location and key). Every copy found or made good
also gets the version's commit record if it lacks one (``ingest.commit_records``).

In a store that keeps object versions (an S3 bucket with versioning, as S3
Object Lock requires) a rewrite is a new version of the object: a damaged
object that Object Lock retains stays, and the catalog notes the version id of
each object rewritten (``ingest.object_versions``). Every check of the copy,
here and later, reads the noted versions.

``repair_version`` is also the hook for automatic repair after a scheduled
deep check finds damage, when the fixity policy allows it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from ingest.commit_records import ensure_commit_record
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
from ingest.delivery_seal import held_to_seal
from ingest.errors import ChecksumRefused, ObjectNotFound, ObjectRetained, StorageUnavailable
from ingest.findings import Finding
from ingest.fixity_policy import DEEP
from ingest.layout import object_key, version_prefix
from ingest.models import AuditEvent, EventType, Outcome, StoredFile, VersionRecord
from ingest.object_versions import PinnedCopy, copy_view
from ingest.ports import ObjectStore
from ingest.progress import NO_PROGRESS, Progress
from ingest.repair_sources import NoSource, Sources, TargetFailed, copy_from_first_good
from ingest.services import Services
from ingest.verification import verify_bag


def repair_version(services: Services, package_id: str, number: int, *,
                   progress: Progress = NO_PROGRESS) -> RepairResult:
    """Deep-verify every copy of one committed version and repair the damaged ones
    from a copy verified good just now, else from other stored objects with the
    same recorded digests (``ingest.repair_sources``); record what was found and done.

    Raises PackageNotFound, VersionNotFound, CatalogUnavailable. A location that
    cannot be reached is reported (``unreachable``) and neither repaired nor used.
    """
    version = services.catalog.get_version(package_id, number)
    prefix = version_prefix(package_id, number)
    sealing = services.catalog.sealing_event(version.package_id, version.number)
    stores = [copy_view(services.catalog, store, package_id) for store in services.locations]
    copies = [deep_check_copy(store, prefix, version, sealing, progress) for store in stores]
    good = [store for store, c in zip(stores, copies, strict=True) if c.status == OK]
    damaged = [(store, c) for store, c in zip(stores, copies, strict=True) if c.status == DAMAGED_LEFT]
    detail = None
    sources = Sources(services.catalog, stores, version, good[0] if good else None,
                      frozenset(c.location for c in copies if c.status == UNREACHABLE),
                      lambda: catalog_as_sealed(services, version))
    for store, c in damaged:
        rewrite_copy(services, sources, store, prefix, version, c)
    if damaged and not good and not any(c.rewritten or c.deleted for _, c in damaged):
        detail = nothing_to_repair_from(copies)
        status = "refused"
    else:
        ensure_commit_records(services.locations, copies, version)
        if any(c.status in (DAMAGED_LEFT, UNREACHABLE) for c in copies):
            status = "failed"
        else:
            status = "repaired" if damaged else OK
    _record(services, version, copies)
    return RepairResult(package_id, number, status, tuple(copies), detail,
                        identifier=version.identifier)


def repair_package(services: Services, package_id: str,
                   number: int | None = None) -> list[RepairResult]:
    """``repair_version`` for one version, or for every version of the package;
    the first deep check of every copy is told to ``services.progress``.
    Raises PackageNotFound, VersionNotFound, CatalogUnavailable."""
    versions = ([services.catalog.get_version(package_id, number)] if number is not None
                else services.catalog.list_versions(package_id))
    locations = len(services.locations)
    services.progress.plan(len(versions) * locations,
                           locations * sum(f.size for v in versions for f in v.files))
    return [repair_version(services, package_id, v.number, progress=services.progress)
            for v in versions]


# --------------------------------------------------------------------------- steps


def deep_check_copy(store: ObjectStore, prefix: str, version: VersionRecord,
                    sealing: AuditEvent | None, progress: Progress = NO_PROGRESS) -> CopyOutcome:
    """Deep-check the copy of ``version`` in ``store`` (every byte read and hashed,
    the manifests held to ``sealing``): ``ok``, ``damaged`` with its findings, or
    ``unreachable``. Records nothing. Raises nothing for the store."""
    outcome = CopyOutcome(store.location)
    key = f"{prefix}@{store.location}"
    progress.item_started(key, f"{version.identifier} v{version.number} at {store.location}",
                          sum(f.size for f in version.files))
    try:
        # a copy whose manifests are not as sealed in the chain is no source
        outcome.findings = _located(
            verify_bag(store, prefix, expected=version.files,
                       on_bytes=lambda octets: progress.bytes_done(key, octets), sealing=sealing),
            store)
    except StorageUnavailable as exc:
        outcome.status, outcome.detail = UNREACHABLE, str(exc)
        return outcome
    finally:
        progress.item_finished(key)
    outcome.had = what_a_copy_had([f.path for f in version.files], outcome.findings)
    if outcome.findings:
        outcome.status = DAMAGED_LEFT
    return outcome


def catalog_as_sealed(services: Services, version: VersionRecord) -> bool:
    """Whether the catalog's digests of ``version`` are those its ingestion event
    sealed (``held_to_seal``): only then may they tell good bytes in other objects."""
    try:
        return not held_to_seal(services, version)
    except StorageUnavailable:
        return False


def nothing_to_repair_from(copies: Sequence[CopyOutcome]) -> str:
    """Why a repair was refused, naming the copies checked (each copy's ``had``
    says what it held)."""
    checked = ", ".join(f"{c.location} ({c.status})" for c in copies)
    return (f"no copy verified good and no other stored object has the recorded digests of "
            f"the damaged files with its bytes intact, so there is nothing to repair from and "
            f"nothing was rewritten; {len(copies)} {'copy' if len(copies) == 1 else 'copies'} "
            f"checked: {checked}")


def rewrite_copy(services: Services, sources: Sources, target: PinnedCopy, prefix: str,
                 version: VersionRecord, outcome: CopyOutcome) -> None:
    """Rewrite in ``target`` the objects ``outcome.findings`` name damaged or
    missing from ``sources``, delete those the version lacks, sync, and deep-check
    the copy again; when that check still finds damage, write every object of
    the version and check once more. What was done and found goes into
    ``outcome`` (``rewritten``, ``mended_from``, ``findings_after``, ``status``);
    a store out of reach or a refused write ends it with ``detail``."""
    if sources.verified is not None:
        outcome.source = sources.verified.location
    written: dict[str, str] = {}  # key -> the object version each rewrite made
    files = {f.path: f for f in version.files}
    # Objects the findings show damaged or missing; other findings (a manifest
    # line, Payload-Oxum) follow from those and mend with them.
    damaged = {f.path for f in outcome.findings if f.path in files and (
        f.code in _OBJECT_DAMAGE or (f.code == "TAG_MISMATCH" and "algorithms" in f.params))}
    strays = {f.path for f in outcome.findings
              if f.code == "UNEXPECTED_FILE" and f.path is not None and f.path not in files}
    unmended: list[str] = []
    try:
        for path in sorted(damaged):
            _mend(sources, target, version, files[path], written, outcome, unmended)
        if unmended and not outcome.rewritten:
            # nothing anywhere gives these bytes: the copy is left as it is
            outcome.detail = "; ".join(unmended)
            return
        for path in sorted(strays):
            if _stored(target, prefix + path):
                target.delete(prefix + path)
                outcome.deleted.append(path)
        # Durable before it is checked, so the check (and the copy's state
        # recorded from it) speaks for what a power cut leaves.
        target.sync(prefix)
        target = _note_versions(services, version, target, written)
        after = _located(verify_bag(target, prefix, expected=version.files), target)
        if after and not unmended:
            # The findings did not name every damaged object (a manifest that
            # disagrees with a payload file, say): write the whole version.
            # A file no source gives was not found damaged: it stays as it is,
            # and the check after says whether the copy is whole.
            for f in version.files:
                if f.path not in outcome.rewritten:
                    _mend(sources, target, version, f, written, outcome, [])
            own = {f.path for f in version.files if f.held_by is None}
            for info in list(target.list(prefix)):
                path = info.key[len(prefix):]
                if path not in own:
                    target.delete(info.key)
                    outcome.deleted.append(path)
            target.sync(prefix)
            target = _note_versions(services, version, target, written)
            after = _located(verify_bag(target, prefix, expected=version.files), target)
    except (StorageUnavailable, ChecksumRefused, ObjectRetained, TargetFailed) as exc:
        outcome.detail = "; ".join([*unmended, str(exc)])
        return
    outcome.detail = "; ".join(unmended) or None
    outcome.findings_after, outcome.rechecked = after, True
    outcome.status = DAMAGED_LEFT if after else REPAIRED


def _mend(sources: Sources, target: ObjectStore, version: VersionRecord, f: StoredFile,
          written: dict[str, str], outcome: CopyOutcome, unmended: list[str]) -> None:
    """Write the object that holds file ``f`` of ``version`` (in an earlier version
    when shared, ``ingest.layout``: repaired once, for every version sharing it)
    from the first source that gives its recorded bytes; note where from, or in
    ``unmended`` why nothing did. Raises TargetFailed, ChecksumRefused, ObjectRetained."""
    key = object_key(version.package_id, version.number, f)
    try:
        source = copy_from_first_good(sources.of(f, target.location), target, key, f, written)
    except NoSource as exc:
        unmended.append(str(exc))
        return
    outcome.rewritten.append(f.path)
    outcome.mended_from[f.path] = source.to_dict()


def _note_versions(services: Services, version: VersionRecord, target: PinnedCopy,
                   written: dict[str, str]) -> PinnedCopy:
    """Note in the catalog the object versions the rewrites of ``target`` made (a
    store that keeps versions), and return the copy reading them."""
    if not written:
        return target
    services.catalog.record_object_versions(version.package_id, target.location, written)
    return target.with_pins(written)


def ensure_commit_records(stores: Sequence[ObjectStore], copies: Sequence[CopyOutcome],
                           version: VersionRecord) -> None:
    """Every good copy carries the version's commit record (ingest.commit_records),
    so that a catalog rebuild from that location alone takes it in."""
    for store, c in zip(stores, copies, strict=True):
        if c.status in (OK, REPAIRED):
            try:
                ensure_commit_record(store, version)
            except (StorageUnavailable, ChecksumRefused) as exc:
                c.detail = f"the commit record could not be written: {exc}"


_OBJECT_DAMAGE = frozenset({"FILE_MISSING", "SIZE_MISMATCH", "FIXITY_MISMATCH"})


def _stored(store: ObjectStore, key: str) -> bool:
    try:
        store.stat(key)
    except ObjectNotFound:
        return False
    return True


def _located(findings: Sequence[Finding], store: ObjectStore) -> tuple[Finding, ...]:
    return tuple(replace(f, location=store.location) for f in findings)


def _record(services: Services, version: VersionRecord, copies: Sequence[CopyOutcome]) -> None:
    """Each deep check as a check of its copy, each rewrite as a replication event
    (in the transaction of the check after it), then every copy's state."""
    now = services.clock.now()
    notes: list[CopyRecord] = []
    for c in copies:
        if c.status == UNREACHABLE:
            continue  # an unreachable store says nothing about its bytes
        record_copy_check(services, version, c.location, DEEP, c.findings)
        if c.source is not None or c.rewritten or c.deleted:
            repaired = services.event(
                EventType.REPLICATION,
                Outcome.SUCCESS if c.status == REPAIRED else Outcome.FAILURE,
                occurred_at=now,
                package_id=version.package_id,
                version=version.number,
                detail={"reason": "repair", "location": c.location, "source": c.source,
                        "rewritten": c.rewritten, "mended_from": c.mended_from,
                        "deleted": c.deleted, "detail": c.detail,
                        "findings": [f.to_dict() for f in c.findings_after]})
            if c.rechecked:
                record_copy_check(services, version, c.location, DEEP, c.findings_after,
                                  events=[repaired])
            else:
                services.catalog.record_copies(version.package_id, version.number, [],
                                               [repaired])
        notes.append(CopyRecord(c.location, VERIFIED if c.status in (OK, REPAIRED) else DAMAGED, now))
    services.catalog.record_copies(version.package_id, version.number, notes)


__all__ = ["catalog_as_sealed", "deep_check_copy", "ensure_commit_records",
           "nothing_to_repair_from", "repair_package", "repair_version", "rewrite_copy"]
