"""Re-verifying stored packages: the preservation officer's fixity check of one copy.

A *copy* is one version's bag in one storage location (``services.locations``:
the primary, then the replicas). Two tiers:

- **deep** (``verify_version``): every byte and tag file is re-read and
  re-hashed (sha256 and sha512), compared with the bag's own manifests and
  with the catalog's record of the version (``ingest.verification.verify_bag``),
  and the manifests, as read, with the digests sealed in the audit chain when
  the version was stored (its ``sealing`` event);
- **shallow** (``shallow_check``): one ``stat`` (a HEAD) per catalog file:
  FILE_MISSING, SIZE_MISMATCH, and FIXITY_MISMATCH when the store keeps its own
  SHA-256 of the object and it is not ours; plus UNEXPECTED_FILE for any object
  under the version's prefix that the catalog does not list. It reads no bytes.

Either way the outcome is recorded in the catalog, with a PREMIS fixity-check
event naming the location and tier, in one transaction — pass or fail. Every
finding names its location.

When the fixity policy allows it (``auto_repair``), a scheduled deep check
(``run_fixity_check``, the path of ``run_due`` and of the fixity queue's task) that
finds a copy damaged repairs the version at once (``ingest.repair``), which
re-verifies every copy before it copies anything.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import partial

from ingest.commit_records import commit_record_key, write_commit_record
from ingest.copy_checks import VersionCheck, record_copy_check
from ingest.errors import (
    ChecksumRefused,
    LocationNotFound,
    NotFound,
    ObjectNotFound,
    StorageUnavailable,
)
from ingest.findings import Finding
from ingest.fixity_policy import (
    DEEP,
    SHALLOW,
    FixityPolicy,
)
from ingest.layout import object_key, version_prefix
from ingest.models import StoredFile, VersionRecord
from ingest.object_versions import copy_view
from ingest.ports import ObjectInfo, ObjectStore
from ingest.repair import repair_version
from ingest.replication import requests_in_flight, side_by_side
from ingest.services import Services
from ingest.verification import digest_mismatch, verify_bag

_log = logging.getLogger("strongroom.fixity")


def location_store(services: Services, location: str | None) -> ObjectStore:
    """The store of ``location`` (a location URL) among ``services.locations``; the
    primary when None. Raises LocationNotFound for a location not configured."""
    if location is None:
        return services.store
    for store in services.locations:
        if store.location == location:
            return store
    raise LocationNotFound(f"no storage location {location!r} is configured")


def verify_version(services: Services, package_id: str, number: int,
                   location: str | None = None, *, in_cycle: bool = False) -> VersionCheck:
    """Deep-check one committed version in one location (the primary when None) and
    record the result.

    Every object the version is made of is read, those it shares with earlier
    versions too; ``in_cycle`` (the fixity schedule's checks) only looks at the
    shared objects whose version is still committed, which that version's own
    check of the same cycle reads: each object is read once per cycle.

    Raises PackageNotFound, VersionNotFound, LocationNotFound, StorageUnavailable
    (nothing is recorded then: an unreachable store is not evidence about the bytes).
    """
    version = services.catalog.get_version(package_id, number)
    store = copy_view(services.catalog, location_store(services, location), package_id)
    prefix = version_prefix(package_id, number)
    sealing = services.catalog.sealing_event(package_id, number)
    progress = services.progress
    key = f"{prefix}@{store.location}"
    progress.item_started(key, f"{version.identifier} v{number}",
                          sum(f.size for f in version.files))
    vouched = _committed_holders(services, version) if in_cycle else set()
    if vouched:
        # A holder whose own copy here failed its last deep check vouches for
        # nothing: its shared objects are read again, as part of this version.
        vouched -= {n for p, n in services.catalog.failing_copies(store.location)
                    if p == package_id}
    try:
        # the manifests are held to the audit chain as they are read: once
        raw = verify_bag(store, prefix, expected=version.files,
                         on_bytes=lambda octets: progress.bytes_done(key, octets), vouched=vouched,
                         sealing=sealing)
    finally:
        progress.item_finished(key)
    # shared objects vouched for by their holder's check were only looked at
    looked_at = sum(1 for f in version.files if f.held_by is not None and f.held_by in vouched)
    return record_copy_check(services, version, store.location, DEEP,
                             [*raw, *_commit_record_findings(store, version, whole=not raw)],
                             digests_compared=len(version.files) - looked_at)


def _commit_record_findings(store: ObjectStore, version: VersionRecord, *,
                            whole: bool) -> list[Finding]:
    """Make sure the copy's location holds the record that says the version was
    committed (a catalog rebuilt from that location would leave the version out
    without it). One lost — an outage when the version was committed, a careless
    hand — is written back here, as ``fixity reconcile`` would, since the catalog
    holds the version committed, but only where the check found the copy
    ``whole``: a record beside a copy that is damaged or not there would say a
    version is stored where it is not (``repair`` writes it with the copy). Not
    written, it is a finding, COMMIT_RECORD_MISSING. Before, no check looked,
    and the first to notice was the rebuild."""
    key = commit_record_key(version.package_id, version.number)
    try:
        store.stat(key)
        return []
    except ObjectNotFound:
        pass
    if not whole:
        return [Finding("COMMIT_RECORD_MISSING", path=key, params={
            "detail": "not written again beside a copy that is not whole: `strongroom repair` "
                      "writes it with the copy"})]
    try:
        write_commit_record(store, version)
    except (StorageUnavailable, ChecksumRefused) as exc:
        return [Finding("COMMIT_RECORD_MISSING", path=key, params={
            "detail": f"it could not be written again: {exc}; `strongroom fixity reconcile` "
                      "or `strongroom repair` writes it once the location takes writes"})]
    _log.warning("commit record %s was missing in %s: written again", key, store.location)
    return []


def _committed_holders(services: Services, version: VersionRecord) -> set[int]:
    """The earlier versions holding files of ``version`` that are still committed
    (a deaccessioned one's objects, kept for later versions, have no check of their own)."""
    committed = set()
    for number in {f.held_by for f in version.files if f.held_by is not None}:
        try:
            services.catalog.get_version(version.package_id, number)
        except NotFound:
            continue
        committed.add(number)
    return committed


def shallow_check(services: Services, package_id: str, number: int,
                  location: str | None = None) -> VersionCheck:
    """Shallow-check one committed version in one location (see the module
    docstring) and record the result. Raises as ``verify_version`` does."""
    version = services.catalog.get_version(package_id, number)
    store = copy_view(services.catalog, location_store(services, location), package_id)
    prefix = version_prefix(package_id, number)
    findings: list[Finding] = []

    def look(f: StoredFile) -> ObjectInfo | None:
        try:
            return store.stat(object_key(package_id, number, f))
        except ObjectNotFound:
            return None
    # one HEAD per file, side by side to a store over a network (requests_in_flight)
    infos = side_by_side([partial(look, f) for f in version.files], requests_in_flight(store))
    for f, info in zip(version.files, infos, strict=True):
        if info is None:
            findings.append(Finding("FILE_MISSING", path=f.path))
            continue
        if info.size != f.size:
            findings.append(Finding("SIZE_MISMATCH", path=f.path, expected=f.size,
                                    found=info.size))
        elif info.sha256 is not None and info.sha256.lower() != f.sha256:
            findings.append(digest_mismatch(f.path, {"sha256": f.sha256}, {"sha256": info.sha256}))
    known = {f.path for f in version.files if f.held_by is None}
    findings.extend(Finding("UNEXPECTED_FILE", path=info.key[len(prefix):])
                    for info in store.list(prefix) if info.key[len(prefix):] not in known)
    # A shallow look sees presence and size: whole enough for the record only while
    # the copy's last deep check did not find it damaged.
    whole = not findings and (package_id, number) not in services.catalog.failing_copies(
        store.location)
    findings += _commit_record_findings(store, version, whole=whole)
    return record_copy_check(services, version, store.location, SHALLOW, findings,
                             digests_compared=sum(1 for info in infos
                                                  if info is not None and info.sha256 is not None))


def run_fixity_check(services: Services, package_id: str, number: int, location: str | None,
                     tier: str, policy: FixityPolicy | None = None) -> VersionCheck:
    """Run the ``tier`` check (``deep`` or ``shallow``) of one copy and record it.

    When a deep check finds damage and ``policy.auto_repair`` is on, the version
    is then repaired (``ingest.repair.repair_version``: every copy re-verified,
    damaged ones rewritten only from one just verified good) and the result is
    the returned check's ``repair``. Raises ValueError for another tier, and as
    ``verify_version`` does; the repair raises CatalogUnavailable.
    """
    if tier == DEEP:
        check = verify_version(services, package_id, number, location, in_cycle=True)
    elif tier == SHALLOW:
        # A shallow finding is not proof enough to rewrite bytes: the deep check
        # that follows it decides.
        return shallow_check(services, package_id, number, location)
    else:
        raise ValueError(f"no fixity tier {tier!r}")
    if check.findings and policy is not None and policy.auto_repair:
        check = replace(check, repair=repair_version(services, package_id, number))
    return check


def verify_packages(services: Services, refs: Iterable[str] | None = None,
                    concurrency: int = 1, tier: str = DEEP) -> list[VersionCheck]:
    """Deep-check (``tier`` SHALLOW: shallow-check, ``shallow_check``) every version
    of the named packages (ids or identifiers), or of all, in every location (the
    primary first); results in that order.

    Up to ``concurrency`` copies are checked at once, on threads: one stream is
    held to one core's SHA-512, so checking copies side by side is what lets a
    verify use every core (and overlap one object store's latency with another
    copy's hashing). Each check records its own result in its own transaction,
    so a verify stopped half-way keeps what it checked.

    Raises PackageNotFound for an unknown reference before checking anything;
    StorageUnavailable or CatalogUnavailable stop the run (copies not yet
    started are not checked; those finished are recorded); ValueError for
    another tier.
    """
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, not {concurrency}")
    if tier not in (DEEP, SHALLOW):
        raise ValueError(f"no fixity tier {tier!r}")
    catalog = services.catalog
    if refs is None:
        package_ids = [p.package_id for p in catalog.list_packages()]
    else:
        package_ids = [catalog.resolve_package(ref) for ref in refs]
    versions = [version for package_id in package_ids
                for version in catalog.list_versions(package_id)]
    copies = [(version.package_id, version.number, store.location)
              for version in versions for store in services.locations]
    services.progress.plan(len(copies), 0 if tier == SHALLOW else len(services.locations) * sum(
        f.size for version in versions for f in version.files))
    check = verify_version if tier == DEEP else _shallow_with_progress
    if concurrency == 1 or len(copies) < 2:
        return [check(services, *copy) for copy in copies]
    pool = ThreadPoolExecutor(max_workers=min(concurrency, len(copies)),
                              thread_name_prefix="verify")
    try:
        futures = [pool.submit(check, services, *copy) for copy in copies]
        return [future.result() for future in futures]
    finally:
        # On an error, copies not yet started are not checked.
        pool.shutdown(wait=True, cancel_futures=True)


def _shallow_with_progress(services: Services, package_id: str, number: int,
                           location: str | None) -> VersionCheck:
    """``shallow_check``, told to ``services.progress`` as one item of no bytes."""
    key = f"{SHALLOW}:{package_id}/v{number}@{location}"
    services.progress.item_started(key, f"{package_id} v{number}", 0)
    try:
        return shallow_check(services, package_id, number, location)
    finally:
        services.progress.item_finished(key)


