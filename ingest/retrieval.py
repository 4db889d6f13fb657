"""Fetching a package version back out: as a folder, a tar or zip stream, a tar
file, or one file (whole or a byte range).

Nothing damaged leaves looking whole. Every byte is checked against the
catalog's size and digests on its way out, and a **hold-back gate** keeps the
end of each file back until both digests of the whole file matched:

- a stream (tar, zip, one file) passes a file's bytes on except the last
  ``HOLD_BACK`` bytes of its entry; when the file matches they follow, and when
  it does not the stream is cut *inside that entry* (the tar's end blocks and
  the zip's central directory are never written), so tar, unzip, zipfile,
  tarfile and an HTTP client all see a broken archive, never a complete one.
  An empty file's entry is cut inside its header: every tar entry carries a
  PAX header, so even a cut before the data breaks every reader;
- a folder or a tar file on this machine (``ingest.local_targets``) appears
  under its name only once every file matched; on failure nothing is left
  under either name.

A version that shares files with earlier versions (``ingest.layout``) leaves
as a complete bag all the same: each shared file is read from the object that
holds it, and fetch.txt is left out.

Each refused delivery is recorded as a failed PREMIS fixity-check event on the
version, naming the copy (the store's location) it was read from.
"""

from __future__ import annotations

import logging
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import BinaryIO

from ingest.delivery_seal import held_to_seal
from ingest.errors import (
    DeliveryRefused,
    ObjectNotFound,
    VersionNotFound,
)
from ingest.findings import Finding
from ingest.fixity import RunningDigests
from ingest.fixity_policy import DELIVERY, RecordedCheck
from ingest.layout import delivered_files, object_key
from ingest.models import EventType, Outcome, StoredFile, VersionRecord
from ingest.object_versions import copy_view, open_object, presigned_object
from ingest.ports import ObjectStore
from ingest.services import Services
from ingest.verification import check_digests, verify_stream

#: Bytes of each file kept back until its digests match: more than a tar
#: entry's padding (511) and a zip data descriptor, so a cut is always inside.
HOLD_BACK = 64 * 1024
#: Bytes passed on at a time past the held part.
PASS_ON = 256 * 1024

_log = logging.getLogger("strongroom.delivery")


def record_damage(services: Services, version: VersionRecord,
                  findings: Sequence[Finding]) -> None:
    """Record damage found while delivering ``version`` as a failed check of the
    primary's copy, of its own tier ``DELIVERY`` (never a deep check: see
    ``ingest.fixity_policy.DELIVERY``), with a PREMIS fixity-check event of that
    tier. So ``fixity report`` lists the copy as failing (and exits 1), ``show``
    says the version failed, until a repair or a deep check finds the copy whole
    again; the copy's deep deadline and coverage are left to its deep checks.
    A file the version shares with an earlier one (``held_by``) is that version's
    object: its damage is recorded on the holder too, whose own copy it is."""
    held_by = {f.path: f.held_by for f in version.files if f.held_by is not None}
    holders = sorted({held_by[f.path] for f in findings if f.path in held_by})
    _record_failed_delivery(services, version.package_id, version.number, findings)
    for number in holders:
        try:
            _record_failed_delivery(services, version.package_id, number, findings)
        except VersionNotFound:
            pass  # withdrawn, its object kept for this version: this version's record says it
    _log.warning("damage found while delivering %s v%s: %s", version.package_id, version.number,
                 ", ".join(f.code for f in findings))


def _record_failed_delivery(services: Services, package_id: str, number: int,
                            findings: Sequence[Finding]) -> None:
    now = services.clock.now()
    location = services.store.location
    located = tuple(replace(f, location=location) for f in findings)
    event = services.event(
        EventType.FIXITY_CHECK,
        Outcome.FAILURE,
        occurred_at=now,
        package_id=package_id,
        version=number,
        detail={"location": location, "tier": DELIVERY,
                "findings": [f.to_dict() for f in located]},
    )
    services.catalog.record_check_of_copy(
        RecordedCheck(package_id, number, location, DELIVERY, now, located), [event])


# --------------------------------------------------------------------------- the gate


class _Refused(OSError):
    """A write after the gate cut the stream (an archive writer tidying up)."""


class _HoldBackGate:
    """A write-only stream to ``out`` that keeps the last ``HOLD_BACK`` bytes
    written since the last ``release()`` back. ``refuse(upto)`` passes on what
    lies before stream position ``upto`` and drops the rest for good."""

    def __init__(self, out: BinaryIO) -> None:
        self.out = out
        self.held = bytearray()
        self.position = 0
        self.refused = False

    def write(self, data: bytes | memoryview) -> int:
        if self.refused:
            raise _Refused("the delivery was cut short")
        self.held += data
        self.position += len(data)
        if len(self.held) >= HOLD_BACK + PASS_ON:
            cut = len(self.held) - HOLD_BACK
            self.out.write(bytes(self.held[:cut]))
            del self.held[:cut]
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        """Held bytes stay held: only ``release`` lets them go."""

    def release(self) -> None:
        """Everything written so far has been checked: pass it on."""
        if self.held:
            self.out.write(bytes(self.held))
            self.held.clear()

    def refuse(self, upto: int) -> None:
        """Cut the stream at position ``upto`` (or where it already is, if later)."""
        passed = self.position - len(self.held)
        keep = min(max(upto - passed, 0), len(self.held))
        if keep:
            self.out.write(bytes(self.held[:keep]))
        self.held.clear()
        self.refused = True


class _Capped:
    """Passes on at most ``limit`` bytes: an object longer than the catalog says
    must not spill past its entry (it is refused anyway)."""

    def __init__(self, write: Callable[[bytes | memoryview], object], limit: int) -> None:
        self.write, self.left = write, limit

    def __call__(self, data: memoryview) -> None:
        if self.left > 0:
            piece = data[:self.left]
            self.left -= len(piece)
            self.write(piece)


def deliver_checked(services: Services, primary: ObjectStore, key: str, f: StoredFile,
                  write: Callable[[bytes | memoryview], object]) -> list[Finding]:
    """Read one stored object of ``primary`` (``primary_copy``) once, passing at most its
    catalog size on (and telling ``services.progress`` of it); its findings."""
    progress = services.progress

    def counted(data: bytes | memoryview) -> None:
        write(data)
        progress.bytes_done(f.path, len(data))
    progress.item_started(f.path, f.path, f.size)
    try:
        with primary.open(key) as source:
            return verify_stream(source, f, _Capped(counted, f.size))
    except ObjectNotFound:
        return [Finding("FILE_MISSING", path=f.path)]
    finally:
        progress.item_finished(f.path)


def primary_copy(services: Services, version: VersionRecord) -> ObjectStore:
    """The primary location as deliveries of ``version`` read it: each object in the
    object version the catalog notes for it (``ingest.object_versions``)."""
    return copy_view(services.catalog, services.store, version.package_id)


def plan_delivery(services: Services, version: VersionRecord) -> list[Finding]:
    """Before a delivery starts: what stops it (``ingest.delivery_seal.held_to_seal``), else the
    progress told how much is to come."""
    refused = held_to_seal(services, version)
    if not refused:
        files = delivered_files(version.files)
        services.progress.plan(len(files), sum(f.size for f in files))
    return refused


@contextmanager
def _cut_on_failure(gate: _HoldBackGate, entry_start: int, header_size: int, f: StoredFile,
                    tidy: Sequence[Callable[[], object]] = ()) -> Iterator[None]:
    """Whatever stops the copy of an entry's bytes (a store out of reach, an I/O
    error, a stop asked for) cuts the stream inside that entry before it goes on
    up: the bytes held back would otherwise be dropped at the end of the last
    whole entry, and an archive that ends between two entries reads as whole.
    ``tidy`` (an archive writer's closing) then runs, writing nothing more."""
    try:
        yield
    except BaseException:
        gate.refuse(_cut_inside(entry_start, header_size, f))
        for close in tidy:
            try:
                close()
            except _Refused:
                pass
        raise


def _cut_inside(entry_start: int, header_size: int, f: StoredFile) -> int:
    """Where to cut a refused entry: halfway through its data, or through its
    header when it has no data, so that no reader finds the entry complete."""
    if f.size:
        return entry_start + header_size + f.size // 2
    return entry_start + header_size // 2


# --------------------------------------------------------------------------- streams


def write_tar(services: Services, package_id: str, number: int | None,
              out: BinaryIO) -> tuple[VersionRecord, list[Finding]]:
    """Stream one version's bag as an uncompressed (PAX) tar to ``out``; no temp file.

    Members are ``{package_id}_v{N}/{bag path}``. At the first damaged or missing
    file the stream is cut inside that file's entry (see the module docstring),
    the damage is recorded, and the findings are returned. Raises
    PackageNotFound, VersionNotFound, StorageUnavailable; whatever ``out.write``
    raises propagates.
    """
    version = services.catalog.get_version(package_id, number)
    refused = plan_delivery(services, version)
    if refused:  # nothing written
        record_damage(services, version, refused)
        return version, refused
    primary = primary_copy(services, version)
    top = f"{package_id}_v{version.number}"
    mtime = int(version.created_at.timestamp())
    gate = _HoldBackGate(out)
    for f in delivered_files(version.files):
        info = tarfile.TarInfo(f"{top}/{f.path}")
        info.size = f.size
        info.mtime = mtime
        info.mode = 0o644
        # Always a PAX header (a standard ``path`` record): an entry cut before its
        # data is then still broken for every reader, Python's tarfile included.
        info.pax_headers = {"path": info.name}
        header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        start = gate.tell()
        gate.write(header)
        with _cut_on_failure(gate, start, len(header), f):
            problems = deliver_checked(services, primary,
                                     object_key(version.package_id, version.number, f), f, gate.write)
        if problems:
            gate.refuse(_cut_inside(start, len(header), f))
            record_damage(services, version, problems)
            return version, problems
        padding = -f.size % tarfile.BLOCKSIZE
        gate.write(tarfile.NUL * padding)
        gate.release()
    gate.write(tarfile.NUL * (2 * tarfile.BLOCKSIZE))
    gate.write(tarfile.NUL * (-gate.tell() % tarfile.RECORDSIZE))
    gate.release()
    return version, []


def write_zip(services: Services, package_id: str, number: int | None,
              out: BinaryIO) -> tuple[VersionRecord, list[Finding]]:
    """Stream one version's bag as a zip (stored, not compressed) to ``out``.

    Members are ``{package_id}_v{N}/{bag path}``, as in the tar. At the first
    damaged or missing file the stream is cut inside that file's entry, without
    the central directory, the damage is recorded, and the findings are
    returned. Raises PackageNotFound, VersionNotFound, StorageUnavailable.
    """
    version = services.catalog.get_version(package_id, number)
    refused = plan_delivery(services, version)
    if refused:  # nothing written
        record_damage(services, version, refused)
        return version, refused
    primary = primary_copy(services, version)
    top = f"{package_id}_v{version.number}"
    stamp = version.created_at.timetuple()[:6]
    gate = _HoldBackGate(out)
    # The gate can tell but not seek: zipfile writes data descriptors, in order.
    archive = zipfile.ZipFile(gate, "w", compression=zipfile.ZIP_STORED,  # type: ignore[call-overload]  # writes only
                              allowZip64=True)
    for f in delivered_files(version.files):
        info = zipfile.ZipInfo(f"{top}/{f.path}", date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
        info.file_size = f.size
        info.external_attr = 0o644 << 16
        start = gate.tell()
        entry = archive.open(info, "w", force_zip64=f.size >= zipfile.ZIP64_LIMIT)
        header_size = gate.tell() - start
        with _cut_on_failure(gate, start, header_size, f, tidy=(entry.close, archive.close)):
            problems = deliver_checked(services, primary,
                                     object_key(version.package_id, version.number, f), f, entry.write)
        if problems:
            gate.refuse(_cut_inside(start, header_size, f))
            for tidy in (entry.close, archive.close):  # write nothing more; free them
                try:
                    tidy()
                except _Refused:
                    pass
            record_damage(services, version, problems)
            return version, problems
        entry.close()
        gate.release()
    archive.close()
    gate.release()
    return version, []


def presigned_checked(services: Services, version: VersionRecord, f: StoredFile,
                      seconds: int) -> str:
    """A presigned URL for file ``f`` of ``version`` (``ingest.object_versions``),
    handed out only while the catalog's digests of the version are those its
    ingestion event sealed (``ingest.delivery_seal.held_to_seal``): the URL's bytes bypass the check
    on the way out, and the digests given beside it are what the client checks
    them against. Raises DeliveryRefused (recorded as damage found on the way
    out), PresignUnsupported, StorageUnavailable."""
    refused = held_to_seal(services, version)
    if refused:
        record_damage(services, version, refused)
        raise DeliveryRefused(refused)
    return presigned_object(services.catalog, services.store,
                            object_key(version.package_id, version.number, f), seconds)


def file_range(services: Services, version: VersionRecord, f: StoredFile,
               first: int, last: int) -> Iterator[bytes]:
    """Bytes ``first``..``last`` (inclusive) of one stored file, in pieces.

    The whole object is read and hashed; the last ``HOLD_BACK`` bytes of the
    range are yielded only once both digests match. Raises DeliveryRefused (after
    recording the damage) on a mismatch or a missing object.
    """
    refused = held_to_seal(services, version)
    if refused:
        record_damage(services, version, refused)
        raise DeliveryRefused(refused)
    key = object_key(version.package_id, version.number, f)
    running = RunningDigests()
    held = bytearray()
    position = 0
    try:
        with open_object(services.catalog, services.store, key) as source:
            while chunk := source.read(PASS_ON):
                running.update(chunk)
                start, position = position, position + len(chunk)
                held += chunk[max(first - start, 0):max(min(last + 1, position) - start, 0)]
                if len(held) >= HOLD_BACK + PASS_ON:
                    cut = len(held) - HOLD_BACK
                    yield bytes(held[:cut])
                    del held[:cut]
    except ObjectNotFound:
        problems = [Finding("FILE_MISSING", path=f.path)]
    else:
        problems = check_digests(f, running.digests())
    if problems:
        record_damage(services, version, problems)
        raise DeliveryRefused(problems)
    if held:
        yield bytes(held)
