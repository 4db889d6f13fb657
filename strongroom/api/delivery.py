"""Serving stored bytes over HTTP, each checked against the catalog on the way out.

A whole bag goes out as one tar (``ingest.retrieval.write_tar``) or zip,
produced on a thread into a small bounded queue and streamed from there: no
temporary file of the bag, and a slow client slows the reading, not the memory.
One file goes out whole or as one byte range; the whole object is read and
hashed either way, and the last piece of the response is held back until the
digests match, so a damaged file never arrives complete.

When stored bytes do not match, the response is cut short (the client sees a
broken transfer, never a valid-looking archive or file), and the damage is
recorded as a failed PREMIS fixity-check event on the version.
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import zipfile
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from ingest.errors import ObjectNotFound
from ingest.findings import Finding
from ingest.fixity import Digests
from ingest.fixity_audit import version_prefix
from ingest.models import EventType, NewEvent, Outcome, StoredFile, VersionRecord
from ingest.pipeline import Services
from ingest.retrieval import write_tar
from ingest.verification import check_digests, verify_stream

CHUNK = 256 * 1024
_log = logging.getLogger("strongroom.api")


class DeliveryAborted(Exception):
    """Stored bytes did not match the catalog: the response was cut short."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        super().__init__("; ".join(f.message for f in findings))
        self.findings = tuple(findings)


def record_damage(services: Services, package_id: str, number: int,
                  findings: Sequence[Finding]) -> None:
    """Write a failed fixity-check event for damage found while serving a version."""
    now = services.clock.now()
    event = NewEvent(
        event_type=EventType.FIXITY_CHECK,
        outcome=Outcome.FAILURE,
        agent=services.agent,
        actor=services.actor,
        occurred_at=now,
        package_id=package_id,
        version=number,
        detail={"location": services.store.location, "tier": "delivery",
                "findings": [f.to_dict() for f in findings]},
    )
    services.catalog.record_fixity(package_id, number, now, "failed", [event])
    _log.warning("damage found while serving %s v%s: %s", package_id, number,
                 ", ".join(f.code for f in findings))


# --------------------------------------------------------------------------- whole bags


def write_zip(services: Services, package_id: str, number: int,
              out: BinaryIO) -> tuple[VersionRecord, list[Finding]]:
    """Stream one version's bag as a zip (stored, not compressed) to ``out``.

    Members are ``{package_id}_v{N}/{bag path}``, as in the tar. Stops at the
    first damaged or missing file without writing the zip's central directory,
    so no reader takes the result for a whole bag, and returns that finding.
    Raises PackageNotFound, VersionNotFound, StorageUnavailable.
    """
    version = services.catalog.get_version(package_id, number)
    prefix = version_prefix(package_id, version.number)
    top = f"{package_id}_v{version.number}"
    stamp = version.created_at.timetuple()[:6]
    archive = zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED, allowZip64=True)
    for f in version.files:
        info = zipfile.ZipInfo(f"{top}/{f.path}", date_time=max(stamp, (1980, 1, 1, 0, 0, 0)))
        info.file_size = f.size
        info.external_attr = 0o644 << 16
        try:
            with services.store.open(prefix + f.path) as source:
                entry = archive.open(info, "w", force_zip64=f.size >= zipfile.ZIP64_LIMIT)
                problems = verify_stream(source, f, entry.write)
        except ObjectNotFound:
            return version, [Finding("FILE_MISSING", path=f.path)]
        if problems:
            return version, problems
        entry.close()
    archive.close()
    return version, []


class _Cancelled(Exception):
    """The client went away; the producer stops."""


class _QueueWriter:
    """A write-only file whose bytes go, in chunks, into a bounded queue."""

    def __init__(self, chunks: queue.Queue[object], cancelled: threading.Event) -> None:
        self.chunks = chunks
        self.cancelled = cancelled
        self.buffer = bytearray()
        self.closed = False

    def write(self, data: bytes | memoryview) -> int:
        if self.closed:
            raise OSError("the delivery was stopped")
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self.flush()
        return len(data)

    def flush(self) -> None:
        if self.buffer:
            self.put(bytes(self.buffer))
            self.buffer.clear()

    def put(self, item: object) -> None:
        while True:
            if self.cancelled.is_set():
                raise _Cancelled()
            try:
                self.chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


_DONE = object()


def bag_chunks(services: Services, version: VersionRecord, fmt: str) -> Iterator[bytes]:
    """The bytes of one version's bag as a tar or zip; raises DeliveryAborted
    (after the bytes sent so far) when a stored file does not match."""
    chunks: queue.Queue[object] = queue.Queue(maxsize=8)
    cancelled = threading.Event()
    writer = _QueueWriter(chunks, cancelled)
    produce: Callable[..., tuple[VersionRecord, list[Finding]]] = (
        write_tar if fmt == "tar" else write_zip)

    def run() -> None:
        try:
            _, findings = produce(services, version.package_id, version.number, writer)
            if findings:
                writer.flush()
                writer.closed = True
                record_damage(services, version.package_id, version.number, findings)
                writer.put(DeliveryAborted(findings))
            else:
                writer.flush()
                writer.put(_DONE)
        except _Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001  (handed to the response, which is cut short)
            try:
                writer.put(exc)
            except _Cancelled:
                pass

    producer = threading.Thread(target=run, name="bag-delivery", daemon=True)
    producer.start()
    try:
        while True:
            item = chunks.get()
            if isinstance(item, bytes):
                yield item
            elif item is _DONE:
                return
            else:
                raise item  # type: ignore[misc]
    finally:
        cancelled.set()


# --------------------------------------------------------------------------- one file


def file_chunks(services: Services, version: VersionRecord, f: StoredFile,
                first: int, last: int) -> Iterator[bytes]:
    """Bytes ``first``..``last`` (inclusive) of one stored file.

    The whole object is read and hashed; the last piece is sent only once the
    digests match. Raises DeliveryAborted on a mismatch or a missing object.
    """
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    position = 0
    held: bytes | None = None
    try:
        with services.store.open(version_prefix(version.package_id, version.number) + f.path) as src:
            while chunk := src.read(CHUNK):
                sha256.update(chunk)
                sha512.update(chunk)
                start, position = position, position + len(chunk)
                piece = chunk[max(first - start, 0):max(min(last + 1, position) - start, 0)]
                if piece:
                    if held is not None:
                        yield held
                    held = piece
    except ObjectNotFound:
        problems = [Finding("FILE_MISSING", path=f.path)]
    else:
        problems = check_digests(f, Digests(position, sha256.hexdigest(), sha512.hexdigest()))
    if problems:
        record_damage(services, version.package_id, version.number, problems)
        raise DeliveryAborted(problems)
    if held is not None:
        yield held
