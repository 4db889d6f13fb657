"""Catalog rebuild: packages, versions and files reconstructed from the bags in the store alone.

Every version's bag is self-describing (DESIGN: "the catalog can be rebuilt
from the object store alone"):

=====================  ==========================================================
package id, version    the key: ``{package_id}/v{N}/``; the id must be
                       uuid5(PACKAGE_NAMESPACE, identifier), or the bag is
                       skipped (BAG_UNUSABLE); the version must have a commit
                       record (see below)
identifier             ``metadata/record.json``'s ``identifier``, else bag-info.txt
                       ``External-Identifier`` (percent-decoded if need be)
record, title          ``metadata/record.json`` (the validated record); its title
batch id               bag-info.txt ``Bag-Group-Identifier``
files, sizes, digests  the manifests (payload) and tag manifests (tag files), the
                       tag manifests' own digests computed; sizes from the store
created_at             bag-info.txt ``Bagging-Date``: the day only, at 00:00 UTC
copies                 every location holding the bag, verified or damaged
=====================  ==========================================================

Not rebuilt, because no bag holds them: batches and items (their findings,
statuses, attempts), a version's ``item_id`` (None), the time of day it was
created, last fixity results, and the audit events. The new catalog has a new
audit log (its own ``log_id``, see ingest.anchoring), which starts with one
ingestion event per version taken in, sealing the digests of its manifests
(``manifest_sha256``, ``tagmanifest_sha256``) as ``verify`` later holds the bag
to them; its head is anchored at the end. The anchors of the old logs stay in
the store, and the rebuild writes a record of what it found
(``_audit/rebuilds/{rebuild_id}.json``) and notes its id in the new catalog, so
that ``audit verify`` *of that catalog* reports them as belonging to a log
that was lost.

A version withdrawn by a deaccession is never taken in: its tombstone
(``_tombstones/{package_id}/v{N}.json``, ``ingest.tombstones``) in any
location outweighs its bag and commit record in every other (a location out of
reach during the deletion keeps them). The tombstones themselves are taken into
the new catalog, so that it answers that the version was deaccessioned, when
and why; the rebuild lists the versions as ``deaccessioned``.

Only committed versions are taken in: those with a commit record
(``_commits/{package_id}/v{N}.json``, ``ingest.commit_records``) in some
location, and those a committed version's fetch.txt reads files from. A
version shares the unchanged files of the version before it only once that one
is committed (``ingest.layout``), and its fetch.txt is sealed by its tag
manifest: a reference from a committed version is as good a proof of commit as
the record, so such a version is taken in (``records_lost``, its record
written again), damaged or not, like any committed version; left out, its
committed successor's files would be read under the prefix of a version the
catalog does not know, and its own tag files taken for a crash's leftovers.

A complete bag with neither is what a crash just before the catalog commit
leaves, or a committed version whose every record was lost: no bag tells them
apart, so it is listed as ``uncommitted``, left in the store untouched, and the
report has problems (``catalog rebuild`` exits 1) for a person to decide; a
version they know was committed is taken in when named (``committed``), and
its record written. A store with bags but no commit record at all was written
before records existed: the rebuild refuses it (CommitRecordsMissing) unless
told to trust every bag it finds (``trust_unmarked``); it then writes the
records of the versions it took in.

Each bag is deep-verified against its own manifests before it is taken in;
one that verifies in no location is still taken from the first location where
it can be read (its findings reported, for ``repair``), unless its
bag-info.txt, record or manifests cannot be read at all (BAG_UNUSABLE).
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from ingest.anchoring import (
    AUDIT_PREFIX,
    REBUILD_PREFIX,
    Anchor,
    anchor_audit_head,
    read_all_anchors,
)
from ingest.commit_records import COMMIT_PREFIX, version_of_record, write_commit_record
from ingest.copies import DAMAGED, VERIFIED, CopyRecord
from ingest.errors import CatalogNotEmpty, CommitRecordsMissing, InputError
from ingest.findings import Finding
from ingest.layout import FETCH_TXT, STAGING_PREFIX, version_prefix
from ingest.models import EventType, NewEvent, Outcome, VersionRecord
from ingest.ports import ObjectStore
from ingest.rebuild_evidence import read_tombstone, record_says_otherwise, referenced_by
from ingest.reconciliation import version_of_key
from ingest.services import Services
from ingest.stored_version import BagUnusable, read_version
from ingest.tombstones import TOMBSTONE_PREFIX, DeaccessionRequest
from ingest.verification import digest_mismatch, verify_bag


@dataclass
class RebuildReport:
    """What ``rebuild_catalog`` took in, skipped and found."""

    versions: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[Finding] = field(default_factory=list)
    strangers: list[dict[str, str]] = field(default_factory=list)
    #: bags without a commit record in any location: not taken in
    uncommitted: list[dict[str, Any]] = field(default_factory=list)
    #: versions without a commit record that committed versions read files from
    #: (``referenced_by``, their numbers): taken in, their records written again
    records_lost: list[dict[str, Any]] = field(default_factory=list)
    #: versions a commit record says were committed, with no bag in any location:
    #: lost (a rebuild cannot bring them back; only a backup of the store can)
    lost: list[dict[str, Any]] = field(default_factory=list)
    #: versions a tombstone withdrew: not taken in, whatever a location still holds;
    #: ``locations`` where its bag was left (not only objects a later version shares)
    deaccessioned: list[dict[str, Any]] = field(default_factory=list)
    anchors: list[Anchor] = field(default_factory=list)
    rebuild_id: str | None = None

    @property
    def has_problems(self) -> bool:
        # A version withdrawn by a tombstone while a location still holds its bag:
        # a deletion left unfinished, or a tombstone that belongs elsewhere (copied
        # in from another archive, it withdrew a committed package in silence).
        return (bool(self.skipped) or bool(self.lost) or bool(self.uncommitted)
                or bool(self.records_lost) or any(v["findings"] for v in self.versions)
                or any(d["locations"] for d in self.deaccessioned))

    def to_dict(self) -> dict[str, Any]:
        return {
            "packages": len({v["package_id"] for v in self.versions}),
            "versions": self.versions,
            "skipped": [f.to_dict() for f in self.skipped],
            "strangers": self.strangers,
            "uncommitted": self.uncommitted,
            "records_lost": self.records_lost,
            "lost": self.lost,
            "deaccessioned": self.deaccessioned,
            "anchors": [{"seq": a.seq, "hash": a.hash, "log_id": a.log_id}
                        for a in self.anchors],
            "rebuild_id": self.rebuild_id,
            "not_rebuilt": list(NOT_REBUILT),
        }


#: What a rebuilt catalog lacks, by the name ``show --json`` / ``status`` use.
NOT_REBUILT = ("batches", "items", "versions[].item_id", "versions[].created_at (time of day)",
               "versions[].last_fixity", "audit events")


def rebuild_catalog(services: Services, *, trust_unmarked: bool = False,
                    committed: Collection[tuple[str, int]] = ()) -> RebuildReport:
    """Fill the empty catalog of ``services`` from the committed versions' bags in
    its locations (see the module docstring); ``committed`` names (package id,
    number) of versions a person knows were committed though no record says so;
    with ``trust_unmarked``, from every bag, committed or not.

    Raises CatalogNotEmpty when the catalog holds anything already (a rebuild
    never merges), CommitRecordsMissing when bags but no commit record were found
    and ``trust_unmarked`` is not given, InputError when no location holds a bag
    of a version ``committed`` names, StorageUnavailable, CatalogUnavailable.
    """
    if not services.catalog.is_empty():
        raise CatalogNotEmpty("the catalog database is not empty; a rebuild needs an empty one")
    report = RebuildReport()
    found: dict[tuple[str, int], list[ObjectStore]] = {}
    recorded: set[tuple[str, int]] = set()
    #: where each commit record was found
    recorded_in: dict[tuple[str, int], list[str]] = {}
    #: bytes of each version's bag in each location, from the listing (for the progress)
    sizes: dict[tuple[str, int, str], int] = {}
    tombstones: dict[str, DeaccessionRequest] = {}
    #: (package, number, location) holding tag files of a bag: what is left of a
    #: withdrawn version beyond payload objects a later version shares (ingest.layout)
    bag_left: set[tuple[str, int, str]] = set()
    #: a location holding each version's fetch.txt
    fetches: dict[tuple[str, int], ObjectStore] = {}
    for store in services.locations:
        for info in store.list(""):
            if info.key.startswith((AUDIT_PREFIX, STAGING_PREFIX)):
                continue  # the audit anchors, and batches staged for the workers
            if info.key.startswith(TOMBSTONE_PREFIX):
                if not read_tombstone(store, info.key, tombstones):
                    report.strangers.append({"key": info.key, "location": store.location})
                continue
            if info.key.startswith(COMMIT_PREFIX):
                record = version_of_record(info.key)
                if record is None:
                    report.strangers.append({"key": info.key, "location": store.location})
                elif (unreadable := record_says_otherwise(store, info.key, record)) is not None:
                    # An empty or foreign file under a record's name vouches for nothing.
                    report.skipped.append(Finding("COMMIT_RECORD_UNREADABLE", path=info.key,
                                                  location=store.location,
                                                  params={"detail": unreadable}))
                else:
                    recorded.add(record)
                    recorded_in.setdefault(record, []).append(store.location)
                continue
            parts = version_of_key(info.key)
            if parts is None:
                report.strangers.append({"key": info.key, "location": store.location})
                continue
            holders = found.setdefault(parts[:2], [])
            if store not in holders:
                holders.append(store)
            copy = (parts[0], parts[1], store.location)
            if not parts[2].startswith("data/"):
                bag_left.add(copy)
            if parts[2] == FETCH_TXT:
                fetches.setdefault(parts[:2], store)
            sizes[copy] = sizes.get(copy, 0) + info.size
    if found and not recorded and not trust_unmarked:
        raise CommitRecordsMissing(
            f"the store holds the bags of {len(found)} version(s) but no commit record"
            f" ({COMMIT_PREFIX}…) in any location: it was written before commit records"
            " existed, so committed versions cannot be told from what a crash left. Run"
            " `strongroom fixity reconcile` against the old catalog if you still have it"
            " (it writes the records), or rebuild with --trust-unmarked to take every"
            " complete bag as committed")
    withdrawn = {(t.package_id, v.number): t for t in tombstones.values() for v in t.versions}
    unheld = sorted(set(committed) - set(found) - set(withdrawn))
    if unheld:
        raise InputError("no location holds a bag of " + ", ".join(
            f"{package_id}/v{number}" for package_id, number in unheld)
            + ": only a bag in the store can be taken in as committed")
    for (package_id, number), tombstone in sorted(withdrawn.items()):
        report.deaccessioned.append({
            "package_id": package_id, "version": number, "request_id": tombstone.request_id,
            "locations": [s.location for s in found.pop((package_id, number), [])
                          if (package_id, number, s.location) in bag_left]})
    now = services.clock.now()
    for tombstone in tombstones.values():
        services.catalog.import_tombstone(tombstone)
    vouched = {v for v in found if v in recorded or v in committed or trust_unmarked}
    referenced = referenced_by(fetches, vouched, set(found))
    taken = [(version, holders) for version, holders in found.items()
             if version in vouched or version in referenced]
    services.progress.plan(sum(len(holders) for _, holders in taken),
                           sum(sizes.get((*version, s.location), 0)
                               for version, holders in taken for s in holders))
    for (package_id, number), holders in sorted(found.items()):
        locations = [s.location for s in holders]
        if (package_id, number) not in vouched and (package_id, number) not in referenced:
            report.uncommitted.append({"package_id": package_id, "version": number,
                                       "locations": locations})
            continue
        version = _take_in(services, package_id, number, holders, now, report, sizes)
        if (package_id, number) not in vouched:
            report.records_lost.append({"package_id": package_id, "version": number,
                                        "referenced_by": referenced[(package_id, number)],
                                        "locations": locations,
                                        "taken_in": version is not None})
        if version is not None and (package_id, number) not in recorded:
            for store in holders:  # vouched for: now it is committed, say so
                write_commit_record(store, version)
    for package_id, number in sorted(recorded - set(found) - set(withdrawn)):
        # Committed, by its record, and no bag of it anywhere: said, never passed over.
        report.lost.append({"package_id": package_id, "version": number,
                            "records_in": recorded_in[(package_id, number)]})
    report.anchors, _ = read_all_anchors(services.locations)
    report.rebuild_id = _note_lost_log(services, report.anchors, now)
    anchor_audit_head(services)  # the new log's seals, outside the database too
    return report


def _take_in(services: Services, package_id: str, number: int, holders: Sequence[ObjectStore],
             now: datetime, report: RebuildReport,
             sizes: dict[tuple[str, int, str], int]) -> VersionRecord | None:
    prefix = version_prefix(package_id, number)
    read: list[tuple[ObjectStore, VersionRecord, list[Finding]]] = []
    progress = services.progress
    for store in holders:
        key = f"{prefix}@{store.location}"

        def counted(octets: int, key: str = key) -> None:
            progress.bytes_done(key, octets)
        progress.item_started(key, f"{package_id} v{number}",
                              sizes.get((package_id, number, store.location)))
        try:
            try:
                version = read_version(store, package_id, number)
            except BagUnusable as exc:
                report.skipped.append(Finding("BAG_UNUSABLE", path=prefix,
                                              location=store.location,
                                              params={"detail": str(exc)}))
                continue
            read.append((store, version, verify_bag(
                store, prefix, expected=version.files,
                on_bytes=counted)))
        finally:
            progress.item_finished(key)
    if not read:
        return None
    chosen = next(((s, v, f) for s, v, f in read if not f), read[0])
    store, version, findings = chosen
    copies = [CopyRecord(s.location, VERIFIED if not f and v.files == version.files else DAMAGED, now)
              for s, v, f in read]
    services.catalog.import_version(version, copies,
                                    [_sealing_event(services, version, store, now)])
    # Every copy's findings, not the chosen one's alone: a copy left out as
    # damaged, or one whole by itself that differs from the copy taken in (no bag
    # says which of two whole copies is the genuine one), is for a person to
    # look at before `repair` rewrites it from the copy taken in.
    said = [replace(x, location=store.location) for x in findings]
    for absent in services.locations:
        if absent not in holders:  # a location that lost every object of the version
            said.append(Finding("BAG_UNUSABLE", path=prefix, location=absent.location, params={
                "detail": "this location holds nothing of it, though another does"}))
    for other, other_version, other_findings in read:
        if other is store:
            continue
        if other_findings:
            said += [replace(x, location=other.location) for x in other_findings]
        elif other_version.files != version.files:
            said += _differences(version, other_version, other.location)
    report.versions.append({
        "package_id": package_id, "version": number, "identifier": version.identifier,
        "location": store.location,
        "copies": [{"location": c.location, "state": c.state} for c in copies],
        "findings": [x.to_dict() for x in said],
    })
    return version


def _differences(taken: VersionRecord, other: VersionRecord, location: str) -> list[Finding]:
    """How a copy that is whole by its own manifests differs from the copy taken in:
    each file it lacks, holds besides, or holds with other bytes, at ``location``."""
    mine = {f.path: f for f in taken.files}
    theirs = {f.path: f for f in other.files}
    detail = "this copy is whole by its own manifests but differs from the copy taken in"
    found: list[Finding] = []
    for path in sorted(mine.keys() | theirs.keys()):
        a, b = mine.get(path), theirs.get(path)
        if b is None:
            found.append(Finding("FILE_MISSING", path=path, location=location,
                                 params={"detail": detail}))
        elif a is None:
            found.append(Finding("UNEXPECTED_FILE", path=path, location=location,
                                 params={"detail": detail}))
        elif (a.size, a.sha256, a.sha512) != (b.size, b.sha256, b.sha512):
            mismatch = digest_mismatch(path, {"sha256": a.sha256, "sha512": a.sha512},
                                       {"sha256": b.sha256, "sha512": b.sha512})
            found.append(replace(mismatch, location=location,
                                 params={**mismatch.params, "detail": detail}))
    return found


def _sealing_event(services: Services, version: VersionRecord, store: ObjectStore,
                   now: datetime) -> NewEvent:
    """The ingestion event that takes a rebuilt version into the new log, sealing
    the digests of its manifests as they are stored now (see ingest.verification)."""
    digests = {f.path: f.sha256 for f in version.files}
    payload = [f for f in version.files if f.path.startswith("data/")]
    return services.event(
        EventType.INGESTION, Outcome.SUCCESS,
        occurred_at=now, batch_id=version.batch_id, package_id=version.package_id,
        version=version.number,
        detail={"reason": "catalog rebuild", "location": store.location,
                "key_prefix": version_prefix(version.package_id, version.number),
                "files": len(version.files),
                "payload_oxum": f"{sum(f.size for f in payload)}.{len(payload)}",
                "manifest_sha256": digests.get("manifest-sha256.txt"),
                "tagmanifest_sha256": digests.get("tagmanifest-sha256.txt"),
                **({"fetch_sha256": digests[FETCH_TXT]} if FETCH_TXT in digests else {})})


def _note_lost_log(services: Services, anchors: Sequence[Anchor], now: datetime) -> str | None:
    """Record in every location the anchors found (by log: ``logs``, legacy ones
    under "legacy"), those of the logs this rebuild lost, and note the record's
    id in the new catalog (see ingest.anchoring)."""
    if not anchors:
        return None
    rebuild_id = f"{now.astimezone(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}"
    logs: dict[str, list[list[Any]]] = {}
    for a in anchors:
        logs.setdefault(a.log_id or "legacy", []).append([a.seq, a.hash])
    body = json.dumps({"rebuild_id": rebuild_id,
                       "rebuilt_at": now.astimezone(UTC).isoformat(),
                       "superseded": [[a.seq, a.hash] for a in anchors],
                       "logs": logs},
                      sort_keys=True).encode("utf-8")
    sha256 = hashlib.sha256(body).hexdigest()
    key = f"{REBUILD_PREFIX}{rebuild_id}.json"
    for store in services.locations:
        store.put_bytes(key, body, sha256)
        store.sync(key)  # on disk before the new catalog relies on it
    services.catalog.record_rebuild(rebuild_id, now)
    return rebuild_id


__all__ = ["NOT_REBUILT", "RebuildReport", "rebuild_catalog"]
