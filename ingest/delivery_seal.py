"""Holding the catalog to the audit chain before a byte of a version leaves.

Every byte a delivery sends (``ingest.retrieval``: a folder, a tar, a zip, a
file or a range of one, a presigned URL's digests) is checked against the
catalog's digests. ``held_to_seal`` makes sure those digests are the ones the
version's ingestion event sealed, so that a bag rewritten in a store and in the
catalog is refused rather than delivered as whole.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict

from ingest.bag import parse_manifest
from ingest.errors import ObjectNotFound
from ingest.findings import Finding
from ingest.fixity import CHUNK_SIZE
from ingest.layout import FETCH_TXT, object_key
from ingest.models import StoredFile, VersionRecord
from ingest.object_versions import open_object
from ingest.ports import ObjectStore
from ingest.services import Services
from ingest.verification import SEALED_MANIFESTS, digest_mismatch


def held_to_seal(services: Services, version: VersionRecord) -> list[Finding]:
    """Before a byte leaves, the catalog itself is held to the audit chain. Every
    byte delivered is checked against the catalog's digests; these checks make
    sure those digests are the ones the version's ingestion event sealed:

    - the catalog's digests of the manifests (and fetch.txt) are the sealed ones;
    - every other file's digest in the catalog is the one its manifest (payload)
      or tag manifest (tag files) lists, each manifest streamed from the primary
      once and held to its sealed digest as it is read (memory: one line).

    So a bag rewritten in the store and in the catalog's rows, consistently or
    not, is refused (MANIFEST_NOT_AS_SEALED, FIXITY_MISMATCH, UNEXPECTED_FILE),
    never delivered as whole. A version whose catalog rows were found as sealed
    is not read again while they stay as they were (``_AS_SEALED``: their digest
    and the seal, for the next delivery). A version sealed before seals held the
    manifests' digests is delivered as before."""
    sealing = services.catalog.sealing_event(version.package_id, version.number)
    if sealing is None:
        return []
    files = {f.path: f for f in version.files}
    findings: list[Finding] = []
    manifests = []
    for name, key in SEALED_MANIFESTS:
        sealed, held = sealing.detail.get(key), files.get(name)
        if not isinstance(sealed, str):
            continue  # sealed before seals held it
        if held is None:  # sealed, and the catalog no longer has it: nothing can vouch
            findings.append(Finding("MANIFEST_NOT_AS_SEALED", path=name, expected=sealed,
                                    found="none in the catalog", params={"seq": sealing.seq}))
            continue
        if held.sha256 != sealed:
            findings.append(Finding("MANIFEST_NOT_AS_SEALED", path=name, expected=sealed,
                                    found=held.sha256, params={"seq": sealing.seq}))
        elif name != FETCH_TXT:
            manifests.append(held)
    if findings or not manifests:
        return findings
    rows = hashlib.sha256("".join(f"{f.sha256} {f.path}\n" for f in sorted(
        version.files, key=lambda f: f.path)).encode("utf-8", "surrogateescape")).hexdigest()
    remembered = (version.package_id, str(version.number), rows,
                  *(m.sha256 for m in manifests))
    with _AS_SEALED_LOCK:
        if remembered in _AS_SEALED:
            _AS_SEALED.move_to_end(remembered)
            return []
    listed: set[str] = set()
    for manifest in manifests:
        _against_listing(services, version, manifest, files, listed, sealing.seq, findings)
    if not findings:
        # Both ways: the catalog's files are the manifests' files, none more, none less.
        unlisted = [path for path in files if path not in listed and path not in _UNLISTED
                    and not path.startswith("tagmanifest-")]
        findings += [Finding("UNEXPECTED_FILE", path=path) for path in sorted(unlisted)]
        findings += [Finding("FILE_MISSING", path=path) for path in sorted(listed - set(files))]
    if not findings:
        with _AS_SEALED_LOCK:
            _AS_SEALED[remembered] = None
            while len(_AS_SEALED) > _AS_SEALED_KEPT:
                _AS_SEALED.popitem(last=False)
    return findings


#: files no (tag) manifest lists: fetch.txt (sealed apart) and the tag manifests
_UNLISTED = {FETCH_TXT}

#: versions found as sealed: (package, number, digest of the catalog's rows, the
#: manifests' sealed digests). A row changed since gives another key.
_AS_SEALED: OrderedDict[tuple[str, ...], None] = OrderedDict()
_AS_SEALED_KEPT = 4096
_AS_SEALED_LOCK = threading.Lock()  # deliveries run on several threads of one server


def _against_listing(services: Services, version: VersionRecord, manifest: StoredFile,
                     files: dict[str, StoredFile], listed: set[str], seq: int,
                     findings: list[Finding]) -> None:
    """Stream one sealed manifest of ``version``, line by line: each entry held to
    the catalog's digest of that file (its path added to ``listed``), the whole to
    the manifest's sealed digest (already the catalog's). Read from the primary,
    else from the first replica whose copy reads as sealed: a manifest damaged in
    one location says nothing against the catalog (the check of that copy says it),
    and the answer does not depend on which location was read last."""
    key = object_key(version.package_id, version.number, manifest)
    damaged: list[Finding] = []
    for store in services.locations:
        try:
            found, seen, mismatched = _read_listing(services, store, key, manifest, files)
        except ObjectNotFound:
            damaged.append(Finding("FILE_MISSING", path=manifest.path, location=store.location))
            continue
        if found == manifest.sha256:
            listed |= seen
            findings += mismatched
            return
        damaged.append(Finding("MANIFEST_NOT_AS_SEALED", path=manifest.path, location=store.location,
                               expected=manifest.sha256, found=found, params={"seq": seq}))
    findings += damaged  # no location holds it as sealed


def _read_listing(services: Services, store: ObjectStore, key: str, manifest: StoredFile,
                  files: dict[str, StoredFile]) -> tuple[str, set[str], list[Finding]]:
    """(SHA-256 read, paths listed, entries whose digest is not the catalog's) of one
    manifest in ``store``. Raises ObjectNotFound, StorageUnavailable."""
    running = hashlib.sha256()
    pending = b""
    seen: set[str] = set()
    mismatched: list[Finding] = []

    def take(lines: list[bytes]) -> None:
        for line in lines:
            if not line.strip():
                continue
            entries, _ = parse_manifest(line, manifest.path)
            for path, digest in entries.items():
                seen.add(path)
                row = files.get(path)
                if row is not None and row.sha256 != digest:
                    mismatched.append(digest_mismatch(path, {"sha256": digest},
                                                      {"sha256": row.sha256}))
    with open_object(services.catalog, store, key) as source:
        while chunk := source.read(CHUNK_SIZE):
            running.update(chunk)
            # lines end in LF (a CR before it, or a CR alone, parse_manifest takes
            # as it always does); the unfinished last one waits
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            take(lines)
    take([pending])
    return running.hexdigest(), seen, mismatched


__all__ = ["held_to_seal"]
