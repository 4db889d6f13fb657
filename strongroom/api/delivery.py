"""Serving stored bytes over HTTP, each checked against the catalog on the way out.

A whole bag goes out as one tar or zip (``ingest.retrieval.write_tar`` /
``write_zip``), produced on a thread into a small bounded queue and streamed
from there: no temporary file of the bag, and a slow client slows the reading,
not the memory. One file goes out whole or as one byte range
(``ingest.retrieval.file_range``).

The domain core holds the end of each file back until its digests match. When
stored bytes do not match, the generator raises DeliveryRefused: the server
then closes the connection without the final chunk (or short of the
Content-Length), so the client sees a broken transfer, never a valid-looking
archive or file; the damage is recorded as a failed fixity-check event.
``primed`` runs a stream to its first piece before the response starts, so a
damage found before any byte could go out gets a problem response instead.
"""

from __future__ import annotations

import itertools
import queue
import threading
from collections.abc import Callable, Iterator

from ingest.errors import DeliveryRefused
from ingest.findings import Finding
from ingest.models import VersionRecord
from ingest.retrieval import write_tar, write_zip
from ingest.services import Services

CHUNK = 256 * 1024


class DeliveryAborted(Exception):
    """Stored bytes did not match the catalog after the response had started: it
    is cut short. Deliberately no StrongroomError, which would ask for a problem
    response that can no longer be sent; the server closes the connection."""

    def __init__(self, refused: DeliveryRefused) -> None:
        super().__init__(str(refused))
        self.findings = refused.findings


def primed(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks`` run to their first piece now, before any header is sent: what
    they raise by then (a damaged file small enough to be held back whole, a
    missing object) becomes a problem response rather than a response cut short.
    Later, a DeliveryRefused becomes DeliveryAborted."""
    try:
        first = next(chunks)
    except StopIteration:
        return iter(())
    return _cut_short_on_damage(itertools.chain([first], chunks))


def _cut_short_on_damage(chunks: Iterator[bytes]) -> Iterator[bytes]:
    try:
        yield from chunks
    except DeliveryRefused as exc:
        raise DeliveryAborted(exc) from exc


class _Cancelled(Exception):
    """The client went away; the producer stops."""


class _QueueWriter:
    """A write-only file whose bytes go, in chunks, into a bounded queue."""

    def __init__(self, chunks: queue.Queue[object], cancelled: threading.Event) -> None:
        self.chunks = chunks
        self.cancelled = cancelled
        self.buffer = bytearray()
        self.closed = False
        self.sent = False  # whether any bytes went into the queue yet

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
            self.sent = True

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
    """The bytes of one version's bag as a tar or zip; raises DeliveryRefused
    (after the bytes sent so far) when a stored file does not match."""
    chunks: queue.Queue[object] = queue.Queue(maxsize=8)
    cancelled = threading.Event()
    writer = _QueueWriter(chunks, cancelled)
    produce: Callable[..., tuple[VersionRecord, list[Finding]]] = (
        write_tar if fmt == "tar" else write_zip)

    def run() -> None:
        try:
            _, findings = produce(services, version.package_id, version.number, writer)
            if findings:  # already cut inside the damaged entry, and recorded
                if writer.sent:  # the response has started: send the cut archive
                    writer.flush()
                writer.closed = True
                writer.put(DeliveryRefused(findings))
            else:
                writer.flush()
                writer.put(_DONE)
        except _Cancelled:
            pass
        except BaseException as exc:  # noqa: BLE001  (handed to the response, which is cut short)
            try:
                # The archive was cut inside the entry it was writing (a store
                # failing, a stop asked for): what was written of that entry goes
                # out first, or the response would end where this buffer was last
                # emptied, perhaps at the end of a whole entry. Before any byte
                # went out the failure becomes a problem response instead.
                if writer.sent:
                    writer.flush()
                writer.closed = True
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
