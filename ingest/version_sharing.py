"""What a new version of a package shares with the latest one (``ingest.layout``).

The pipeline reads first, once each, the payload files the latest version
holds under the same path with the same size (``candidates``): most likely
unchanged. From their digests it learns whether the submission is identical
(``is_unchanged``: nothing stored, the item is ``unchanged``) and which files
the new version shares (``shared_files``: listed in its fetch.txt, not stored
again). Every other file is stored as it is read. Each lookup is by path in a
table made once per version, so an item of many files costs no more per file.

Nothing is shared from a version the archive does not hold whole
(``not_whole_holders``). Damage that kept an object's size shows in no listing:
an object whose copy no deep check has found whole within the fixity window
(never, for a version not yet reached by the schedule) is read once in that
location before it is shared, and compared with the submission's digests. The
cost is a read of the shared bytes per such location — what sharing saves in
writes, not in reads — paid only by corrections made before the schedule's
first deep check of the earlier version, or after its checks fell behind; it
buys that good bytes in hand are never thrown away for damaged ones.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from ingest.bag import RECORD_JSON
from ingest.batch import ItemScan, PayloadEntry
from ingest.copies import DAMAGED
from ingest.errors import ObjectNotFound
from ingest.findings import Finding
from ingest.fixity import Digests, digest_stream
from ingest.format_identification import IdentifiedFormat
from ingest.layout import FETCH_TXT, version_prefix
from ingest.models import StoredFile, VersionRecord
from ingest.object_versions import copy_view
from ingest.ports import Catalog, ObjectStore

#: What the first read of a candidate gives: its digests and its format.
Hashed = Mapping[str, tuple[Digests, IdentifiedFormat | None]]


def candidates(latest: VersionRecord, scan: ItemScan) -> list[PayloadEntry]:
    """The payload entries the latest version holds under the same path with
    the same size, in the scan's order."""
    sizes = {f.path: f.size for f in latest.payload}
    return [entry for entry in scan.payload if sizes.get("data/" + entry.path) == entry.size]


def is_unchanged(latest: VersionRecord, scan: ItemScan, record_json: bytes, hashed: Hashed) -> bool:
    """True when the submission is the latest version again: the same record and
    every payload file a candidate whose digests match, and no other file."""
    record = next((f for f in latest.files if f.path == RECORD_JSON), None)
    if record is None or hashlib.sha256(record_json).hexdigest() != record.sha256:
        return False
    if len(scan.payload) != len(latest.payload):
        return False
    matching = shared_files(latest, hashed)
    return all("data/" + entry.path in matching for entry in scan.payload)


def shared_files(latest: VersionRecord | None, hashed: Hashed) -> dict[str, StoredFile]:
    """The payload files of the new version that ``latest`` holds already, by bag
    path: same path, size and digests. Each names the version whose object
    holds its bytes (``latest``, or the earlier one ``latest`` shares it with)."""
    if latest is None:
        return {}
    by_path = {f.path: f for f in latest.payload}
    shared = {}
    for path, (digests, found) in hashed.items():
        held = by_path.get("data/" + path)
        if held is not None and (held.size, held.sha256, held.sha512) == (
                digests.size, digests.sha256, digests.sha512):
            shared[held.path] = StoredFile(held.path, held.size, held.sha256, held.sha512,
                                           format=found or held.format,
                                           held_by=held.held_by or latest.number)
    return shared


def not_whole_holders(catalog: Catalog, locations: Sequence[ObjectStore], package_id: str,
                      latest: VersionRecord, shared: Mapping[str, StoredFile],
                      unchecked_before: datetime | None = None) -> dict[int, str]:
    """The versions a new version would lean on (``latest`` and those holding its
    ``shared`` files) that the archive does not hold whole as far as it knows, each
    with why: a copy in some location found damaged by its last check, a shared
    file's object missing (or of another size) in some location now, or, with
    ``unchecked_before``, a shared object not as recorded when read now in a
    location whose copy no deep check has found whole since then (damage that kept
    the size, which no listing shows). A new version shares nothing from such a
    version, and a submission is not ``unchanged`` against it: the bytes just
    received are stored again, not thrown away while the only copy the archive
    keeps of them is damaged. One catalog read per location, one listing per holder
    and location, and one read of each shared object in each location whose copy
    was not deep-verified since ``unchecked_before``."""
    holders = {f.held_by for f in shared.values() if f.held_by is not None} | {latest.number}
    reasons: dict[int, str] = {}
    for store in locations:
        failing = catalog.failing_copies(store.location)
        for number in sorted(holders):
            if (package_id, number) in failing:
                reasons.setdefault(number, f"failed its last fixity check in {store.location}")
    for number in sorted(holders - set(reasons)):
        damaged = [c.location for c in catalog.list_copies(package_id, number) if c.state == DAMAGED]
        if damaged:
            reasons[number] = f"is noted damaged in {damaged[0]}"
    for number in sorted(holders - set(reasons)):
        held = [f for f in shared.values() if f.held_by == number]
        if not held:
            continue
        prefix = version_prefix(package_id, number)
        for store in locations:
            sizes = {info.key: info.size for info in store.list(prefix + "data/")}
            gone = next((f for f in held if sizes.get(prefix + f.path) != f.size), None)
            if gone is not None:
                found = sizes.get(prefix + gone.path)
                reasons[number] = (f"has no object {gone.path!r} in {store.location}" if found is None
                                   else f"has {found} bytes of {gone.path!r} in {store.location}, "
                                        f"not {gone.size}")
                break
    if unchecked_before is not None:
        reasons.update(_unvouched_damage(catalog, locations, package_id, shared,
                                         holders - set(reasons), unchecked_before))
    return reasons


def _unvouched_damage(catalog: Catalog, locations: Sequence[ObjectStore], package_id: str,
                      shared: Mapping[str, StoredFile], holders: set[int],
                      unchecked_before: datetime) -> dict[int, str]:
    """The holders among ``holders`` of which a shared object, read once now in a
    location whose copy no deep check found whole since ``unchecked_before``, is
    not as recorded (its digests are the submission's, ``shared_files``), with why.
    A copy deep-verified whole since then is not read: the fixity schedule vouches
    for it."""
    held = {n: [f for f in shared.values() if f.held_by == n] for n in sorted(holders)}
    held = {n: files for n, files in held.items() if files}
    if not held:
        return {}
    verified = catalog.copies_verified_at(package_id, sorted(held))
    reasons: dict[int, str] = {}
    for number, files in held.items():
        prefix = version_prefix(package_id, number)
        for store in locations:
            at = verified.get((number, store.location))
            if at is not None and at >= unchecked_before:
                continue
            view = copy_view(catalog, store, package_id)
            bad = next((f for f in files if not _as_recorded(view, prefix + f.path, f)), None)
            if bad is not None:
                since = f"since {at.isoformat()}" if at is not None else "since it was written"
                reasons[number] = (f"has {bad.path!r} in {store.location} not as recorded (read "
                                   f"before sharing it: no deep check found that copy whole {since})")
                break
    return reasons


def _as_recorded(store: ObjectStore, key: str, f: StoredFile) -> bool:
    """Whether the object ``key`` holds ``f``'s bytes: read once, size and both
    digests compared. Raises StorageUnavailable."""
    try:
        with store.open(key) as stream:
            found = digest_stream(stream)
    except ObjectNotFound:
        return False
    return (found.size, found.sha256, found.sha512) == (f.size, f.sha256, f.sha512)


def held_copy_findings(shared: Mapping[str, StoredFile], latest: VersionRecord,
                       reasons: Mapping[int, str]) -> list[Finding]:
    """The warnings that say which files are stored again, and why (``not_whole_holders``)."""
    findings = [Finding("HELD_COPY_NOT_WHOLE", path=path, params={
                    "version": held.held_by, "detail": reasons[held.held_by]})
                for path, held in sorted(shared.items())
                if held.held_by is not None and held.held_by in reasons]
    if not findings and latest.number in reasons:
        findings.append(Finding("HELD_COPY_NOT_WHOLE", path=None, params={
            "version": latest.number, "detail": reasons[latest.number]}))
    return findings


def sharing_detail(payload: Sequence[StoredFile], tags: Sequence[StoredFile]) -> dict[str, Any]:
    """What the ingestion event records of the files a version shares with
    earlier ones: how many, their bytes, and the SHA-256 of fetch.txt, sealed
    with the manifests' (``ingest.verification.SEALED_MANIFESTS``)."""
    held = [f for f in payload if f.held_by is not None]
    if not held:
        return {}
    return {"shared_files": len(held), "shared_octets": sum(f.size for f in held),
            "fetch_sha256": next(t.sha256 for t in tags if t.path == FETCH_TXT)}


__all__ = ["Hashed", "candidates", "held_copy_findings", "is_unchanged", "not_whole_holders",
           "shared_files", "sharing_detail"]
