"""Multipart-aware, checksummed S3 uploads: the writer behind ``S3ObjectStore.writer``.

See ``storage.s3`` for the whole design; this module holds S3's multipart
limits, the part-size schedule, the composite checksum and the writer itself.

Memory and overlap. Bytes are copied once, from the caller's chunk into the
buffer of the part being filled; that buffer is then the request body, with no
further copy. A full part is hashed and sent on a thread of the writer's own
while the caller fills the next one, so the server's work (and the network)
overlaps ours; up to ``parts_in_flight`` parts (a setting of the store, default
4) are on their way at once, each on its own connection. A writer holds at most
``parts_in_flight`` part buffers in flight plus the one filling: when that many
are in flight, the next full part waits for the oldest to be answered, and a
buffer whose part was answered is filled again. Before an object is known to be
larger than ``multipart_threshold`` its parts wait in memory (it may still
become one PutObject), so a writer holds at most the larger of those parts and
the threshold plus one part.

The object's own SHA-256 (compared with the caller's at commit: it proves the
parts hold the bytes the caller hashed) is fed part by part in order: each
part's thread hashes its part for the server, then waits until the part before
it has been added to the object's SHA-256, adds its own, and only then sends.
Parts therefore hash side by side and reach the server side by side, and the
object's digest still sees every byte once, in order.

A failed part send is raised by the next ``write`` or by ``commit``, as the
same domain exception (``StorageUnavailable``, ``ChecksumRefused``, …), and the
upload is aborted then; ``abort`` waits for every part in flight before it
aborts the upload, so no part can land after it.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any, Protocol

from ingest.errors import ChecksumRefused
from ingest.ports import ObjectInfo

MiB = 1024 * 1024
GiB = 1024 * MiB

#: S3's limits on multipart uploads.
MIN_PART_SIZE = 5 * MiB
MAX_PART_SIZE = 5 * GiB
MAX_PARTS = 10_000
#: Part sizes double after this many parts (see ``part_size_for``).
PARTS_PER_DOUBLING = 1_000
#: The largest object one PutObject may carry.
MAX_SINGLE_PUT = 5 * GiB
#: Parts of one multipart upload sent at once, unless the store says otherwise.
DEFAULT_PARTS_IN_FLIGHT = 4
#: Seconds between looks at whether the writer was aborted, while a part waits
#: for the one before it to be added to the object's SHA-256.
_ORDER_POLL = 0.1


def part_size_for(number: int, base: int) -> int:
    """Size of part ``number`` (counted from 1) when parts start at ``base`` bytes:
    doubled every 1,000 parts, at most 5 GiB. Raises ValueError past part 10,000."""
    if not 1 <= number <= MAX_PARTS:
        raise ValueError(f"an S3 multipart upload has parts 1 to {MAX_PARTS}, not {number}")
    return min(base << ((number - 1) // PARTS_PER_DOUBLING), MAX_PART_SIZE)


def composite_sha256(part_digests: list[bytes]) -> str:
    """The checksum S3 reports for a multipart object: base64 of the SHA-256 of the
    parts' raw SHA-256 digests, then ``-`` and the number of parts."""
    whole = hashlib.sha256(b"".join(part_digests)).digest()
    return f"{base64.b64encode(whole).decode()}-{len(part_digests)}"


def _b64(digest: bytes) -> str:
    return base64.b64encode(digest).decode()


def _b64_of_hex(sha256_hex: str) -> str:
    try:
        digest = bytes.fromhex(sha256_hex)
    except ValueError as exc:
        raise ValueError(f"{sha256_hex!r} is not a hex SHA-256") from exc
    if len(digest) != 32:
        raise ValueError(f"{sha256_hex!r} is not a hex SHA-256")
    return _b64(digest)


class _Part:
    """The buffer of one part, filled from the front: either empty and growing
    as bytes come, or made at the part's size (a new one, or that of a sent
    part) and overwritten in place."""

    __slots__ = ("buffer", "filled", "number", "size")

    def __init__(self, number: int, size: int, buffer: bytearray | None = None) -> None:
        self.number = number
        self.size = size
        self.buffer = bytearray() if buffer is None else buffer
        self.filled = 0

    @property
    def full(self) -> bool:
        return self.filled == self.size

    def fill(self, view: memoryview) -> int:
        """Copy as much of ``view`` as fits; return how many bytes were taken."""
        take = min(self.size - self.filled, len(view))
        end = self.filled + take
        if len(self.buffer) == self.filled:
            self.buffer += view[:take]
        else:
            # Through a memoryview: bytearray slice assignment would first copy
            # anything that is not a bytearray into a new one.
            with memoryview(self.buffer) as target:
                target[self.filled:end] = view[:take]
        self.filled = end
        return take

    def body(self) -> bytearray:
        """The part's bytes, as the buffer itself (cut to what was filled)."""
        if len(self.buffer) != self.filled:
            del self.buffer[self.filled:]
        return self.buffer


class UploadTarget(Protocol):
    """What a writer needs of its store (``storage.s3.S3ObjectStore``): the client,
    bucket and part sizes, the key mapping and the translation of boto3's errors."""

    bucket: str
    multipart_threshold: int
    part_size: int
    parts_in_flight: int

    @property
    def _client(self) -> Any: ...

    def _object_key(self, key: str) -> str: ...

    def _where(self) -> str: ...

    def _translate(self, key: str | None = None) -> AbstractContextManager[None]: ...

    def lock_parameters(self) -> dict[str, Any]: ...


class S3ObjectWriter:
    """Bytes of one object: buffered, then one PutObject or a multipart upload.
    See ``ingest.ports.ObjectWriter`` and the module docstrings."""

    def __init__(self, store: UploadTarget, key: str) -> None:
        self._store = store
        self._client = store._client
        self._key = key
        self._object_key = store._object_key(key)
        self._filling: _Part | None = None
        self._waiting: list[_Part] = []  # full parts not sent yet, in order
        self._spares: list[bytearray] = []  # sent parts' buffers, to fill again
        self._next_number = 1
        self._size = 0
        self._upload_id: str | None = None
        self._most_in_flight = max(1, int(getattr(store, "parts_in_flight",
                                                  DEFAULT_PARTS_IN_FLIGHT)))
        self._sender: ThreadPoolExecutor | None = None
        # Parts on their way, oldest first; answers are taken in this order.
        self._in_flight: deque[tuple[_Part, Future[tuple[dict[str, Any], bytes]]]] = deque()
        # Set once the part last handed to a sender has been added to _whole.
        self._whole_after: threading.Event | None = None
        self._stopping = threading.Event()  # abort: parts waiting their turn give up
        self._parts: list[dict[str, Any]] = []
        self._part_digests: list[bytes] = []
        self._whole = hashlib.sha256()
        self._done = False

    @property
    def upload_id(self) -> str | None:
        """The multipart upload in progress, if the object became one."""
        return self._upload_id

    def write(self, chunk: bytes | memoryview) -> None:
        """Append bytes (copied: the caller may reuse its buffer). Full parts are
        sent in the background as soon as the object is known to be multipart.
        Raises StorageUnavailable, ChecksumRefused (also for an earlier part whose
        send failed; the upload is aborted then), ValueError after commit or abort."""
        if self._done:
            raise ValueError(f"writer of {self._key!r} is already closed")
        view = memoryview(chunk).cast("B")
        try:
            self._collect(block=False)
            while view:
                if self._filling is None:
                    if self._waiting and self._multipart_now(more=len(view)):
                        self._send_waiting()  # the object just outgrew one PutObject
                    self._filling = self._new_part()
                taken = self._filling.fill(view)
                view = view[taken:]
                self._size += taken
                if self._filling.full:
                    self._waiting.append(self._filling)
                    self._filling = None
                    if self._multipart_now(more=len(view)):
                        self._send_waiting()
        except BaseException:
            self.abort()
            raise

    def commit(self, sha256: str) -> ObjectInfo:
        """Make the object visible. ``sha256`` (hex) is checked by the server (one
        PutObject) or against the bytes written and the server's composite
        checksum (multipart). Raises ChecksumRefused, StorageUnavailable,
        ValueError (closed writer, not a SHA-256); nothing is left behind then."""
        if self._done:
            raise ValueError(f"writer of {self._key!r} is already closed")
        try:
            checksum = _b64_of_hex(sha256)
            if self._filling is not None and self._filling.filled:
                self._waiting.append(self._filling)
            self._filling = None
            if not self._multipart_now(more=0):
                body = self._joined()
                with self._store._translate():
                    response = self._client.put_object(
                        Bucket=self._store.bucket, Key=self._object_key, Body=body,
                        ChecksumSHA256=checksum, **self._store.lock_parameters())
                self._finish()
                return ObjectInfo(key=self._key, size=self._size, sha256=sha256.lower(),
                                  version_id=response.get("VersionId"))
            self._send_waiting()
            self._collect(block=True)
            version_id = self._complete(sha256.lower())
        except BaseException:
            self.abort()
            raise
        self._finish()
        return ObjectInfo(key=self._key, size=self._size, version_id=version_id)

    def abort(self) -> None:
        """Drop everything written and abort the multipart upload, if any; never
        raises. A part in flight is waited for first, so none lands afterwards."""
        if self._done:
            return
        self._done = True
        self._stopping.set()
        in_flight, self._in_flight = list(self._in_flight), deque()
        # Newest first: a part not started yet is called back before the one it
        # would wait for; one already started is waited for.
        for _, future in reversed(in_flight):
            future.cancel()
        for _, future in in_flight:
            try:
                future.result()
            except BaseException:  # noqa: BLE001, S110 - reported already by write or commit, or moot now
                pass
        self._drop()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._client.abort_multipart_upload(Bucket=self._store.bucket, Key=self._object_key,
                                                UploadId=upload_id)
        except (BotoCoreError, ClientError):
            # The server drops it by itself only if a lifecycle rule says so; the
            # bytes were never visible under the key either way.
            pass

    # ------------------------------------------------------------------ buffers

    def _multipart_now(self, more: int) -> bool:
        """Whether the object is (or, with ``more`` bytes to come, will be) a
        multipart upload rather than one PutObject."""
        return (self._upload_id is not None
                or self._size + more > self._store.multipart_threshold)

    def _new_part(self) -> _Part:
        number = self._next_number
        if number > MAX_PARTS:
            raise ValueError(f"{self._key!r} needs more than {MAX_PARTS} parts")
        self._next_number += 1
        size = part_size_for(number, self._store.part_size)
        spare = self._spares.pop() if self._spares else None
        if spare is not None and len(spare) != size:
            # Parts just doubled in size: no spare fits any more; let them all go.
            spare = None
            self._spares.clear()
        if spare is None:
            if self._upload_id is None:
                # Maybe one PutObject yet, and most objects are much smaller than
                # a part: the buffer grows with the bytes.
                return _Part(number, size)
            spare = bytearray(size)  # a whole part will come: no growing, no slack
        return _Part(number, size, spare)

    def _joined(self) -> bytearray:
        """Every byte written, as one buffer, for a single PutObject."""
        parts, self._waiting = self._waiting, []
        if not parts:
            return bytearray()
        whole = parts[0].body()
        for part in parts[1:]:
            whole += part.body()
        return whole

    def _drop(self) -> None:
        self._filling, self._waiting, self._spares = None, [], []
        sender, self._sender = self._sender, None
        if sender is not None:
            sender.shutdown(wait=False)

    def _finish(self) -> None:
        self._done = True
        self._drop()

    # ------------------------------------------------------------------ multipart

    def _start_upload(self) -> None:
        with self._store._translate():
            response = self._client.create_multipart_upload(
                Bucket=self._store.bucket, Key=self._object_key, ChecksumAlgorithm="SHA256",
                **self._store.lock_parameters())
        self._upload_id = response["UploadId"]

    def _send_waiting(self) -> None:
        """Send every full part not sent yet, in order, each on a sender thread;
        when ``parts_in_flight`` parts are on their way, the next waits for the
        oldest to be answered (whose buffer becomes a spare)."""
        if self._upload_id is None:
            self._start_upload()
        while self._waiting:
            while len(self._in_flight) >= self._most_in_flight:
                self._collect_oldest()
            part = self._waiting.pop(0)
            if self._sender is None:
                self._sender = ThreadPoolExecutor(max_workers=self._most_in_flight,
                                                  thread_name_prefix="s3-upload-part")
            before, mine = self._whole_after, threading.Event()
            self._whole_after = mine
            self._in_flight.append(
                (part, self._sender.submit(self._upload_part, part, before, mine)))

    def _collect(self, *, block: bool) -> None:
        """Take in the answers of the parts in flight, oldest first: those already
        answered (or, with ``block``, all of them). Re-raises the exception a
        part's send raised."""
        while self._in_flight and (block or self._in_flight[0][1].done()):
            self._collect_oldest()

    def _collect_oldest(self) -> None:
        part, future = self._in_flight[0]
        try:
            entry, digest = future.result()
        finally:
            if future.done():  # not when the wait itself was interrupted: abort waits again
                self._in_flight.popleft()
        self._parts.append(entry)
        self._part_digests.append(digest)
        if len(part.buffer) == part.size:
            self._spares.append(part.buffer)

    def _upload_part(self, part: _Part, before: threading.Event | None,
                     mine: threading.Event) -> tuple[dict[str, Any], bytes]:
        """On a sender thread: hash the part, add it to the object's SHA-256 once
        the part before it has been added (``before``; then set ``mine``), and
        upload it with its SHA-256 for the server to check."""
        try:
            body = part.body()
            digest = hashlib.sha256(body).digest()
            while before is not None and not before.wait(_ORDER_POLL):
                if self._stopping.is_set():
                    raise ValueError(f"writer of {self._key!r} was aborted")
            if self._stopping.is_set():
                raise ValueError(f"writer of {self._key!r} was aborted")
            self._whole.update(body)
        finally:
            # Also on failure: the parts after this one must not wait for ever.
            # The object's SHA-256 is then never used (the failure aborts it).
            mine.set()
        with self._store._translate():
            response = self._client.upload_part(
                Bucket=self._store.bucket, Key=self._object_key, UploadId=self._upload_id,
                PartNumber=part.number, Body=body, ChecksumAlgorithm="SHA256",
                ChecksumSHA256=_b64(digest))
        return ({"PartNumber": part.number, "ETag": response["ETag"],
                 "ChecksumSHA256": _b64(digest)}, digest)

    def _complete(self, sha256: str) -> str | None:
        """Complete the upload; return the object version it made (versioned buckets)."""
        if self._whole.hexdigest() != sha256:
            raise ChecksumRefused(
                f"{self._key!r}: the bytes written have SHA-256 {self._whole.hexdigest()}, "
                f"not {sha256}; the upload was not completed")
        expected = composite_sha256(self._part_digests)
        with self._store._translate():
            response = self._client.complete_multipart_upload(
                Bucket=self._store.bucket, Key=self._object_key, UploadId=self._upload_id,
                MultipartUpload={"Parts": self._parts})
        self._upload_id = None  # completed: nothing to abort any more
        reported = response.get("ChecksumSHA256")
        version_id: str | None = response.get("VersionId")
        if reported is None:
            with self._store._translate():
                reported = self._client.head_object(
                    Bucket=self._store.bucket, Key=self._object_key,
                    ChecksumMode="ENABLED").get("ChecksumSHA256")
        # A server that keeps no checksum at all has still checked every part.
        if reported is not None and reported != expected:
            from botocore.exceptions import BotoCoreError, ClientError

            try:
                self._client.delete_object(Bucket=self._store.bucket, Key=self._object_key)
            except (BotoCoreError, ClientError):
                pass
            raise ChecksumRefused(
                f"{self._store._where()} assembled {self._key!r} with checksum {reported}, "
                f"not {expected}; the object was deleted")
        return version_id
