"""Multipart-aware, checksummed S3 uploads: the writer behind ``S3ObjectStore.writer``.

See ``storage.s3`` for the whole design; this module holds S3's multipart
limits, the part-size schedule, the composite checksum and the writer itself.
"""

from __future__ import annotations

import base64
import hashlib
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
)

from ingest.errors import ChecksumRefused
from ingest.ports import ObjectInfo

if TYPE_CHECKING:
    from storage.s3 import S3ObjectStore

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


class S3ObjectWriter:
    """Bytes of one object: buffered, then one PutObject or a multipart upload.
    See ``ingest.ports.ObjectWriter`` and the module docstring."""

    def __init__(self, store: S3ObjectStore, key: str) -> None:
        self._store = store
        self._client = store._client
        self._key = key
        self._object_key = store._object_key(key)
        self._buffer = bytearray()
        self._size = 0
        self._upload_id: str | None = None
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
        uploaded at once. Raises StorageUnavailable, ChecksumRefused (the upload is
        aborted then), ValueError after commit or abort."""
        if self._done:
            raise ValueError(f"writer of {self._key!r} is already closed")
        self._buffer += chunk
        self._size += len(chunk) if isinstance(chunk, bytes) else memoryview(chunk).nbytes
        if self._upload_id is None and len(self._buffer) <= self._store.multipart_threshold:
            return
        try:
            if self._upload_id is None:
                self._start_upload()
            while len(self._buffer) >= self._next_part_size():
                self._send_part(self._next_part_size())
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
            if self._upload_id is None:
                with self._store._translate():
                    self._client.put_object(Bucket=self._store.bucket, Key=self._object_key,
                                            Body=self._buffer, ChecksumSHA256=checksum)
                self._buffer = bytearray()
                self._done = True
                return ObjectInfo(key=self._key, size=self._size, sha256=sha256.lower())
            if self._buffer:
                self._send_part(len(self._buffer))
            self._complete(sha256.lower())
        except BaseException:
            self.abort()
            raise
        self._done = True
        return ObjectInfo(key=self._key, size=self._size)

    def abort(self) -> None:
        """Drop everything written and abort the multipart upload, if any; never raises."""
        if self._done:
            return
        self._done = True
        self._buffer = bytearray()
        upload_id, self._upload_id = self._upload_id, None
        if upload_id is None:
            return
        try:
            self._client.abort_multipart_upload(Bucket=self._store.bucket, Key=self._object_key,
                                                UploadId=upload_id)
        except (BotoCoreError, ClientError):
            # The server drops it by itself only if a lifecycle rule says so; the
            # bytes were never visible under the key either way.
            pass

    # ------------------------------------------------------------------ multipart

    def _next_part_size(self) -> int:
        return part_size_for(len(self._parts) + 1, self._store.part_size)

    def _start_upload(self) -> None:
        with self._store._translate():
            response = self._client.create_multipart_upload(
                Bucket=self._store.bucket, Key=self._object_key, ChecksumAlgorithm="SHA256")
        self._upload_id = response["UploadId"]

    def _send_part(self, size: int) -> None:
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise ValueError(f"{self._key!r} needs more than {MAX_PARTS} parts")
        # Hand the buffer itself over as the part and keep only what follows it:
        # no copy of the part, so memory holds one part (and one chunk) at most.
        part, self._buffer = self._buffer, self._buffer[size:]
        del part[size:]
        digest = hashlib.sha256(part).digest()
        self._whole.update(part)
        with self._store._translate():
            response = self._client.upload_part(
                Bucket=self._store.bucket, Key=self._object_key, UploadId=self._upload_id,
                PartNumber=number, Body=part, ChecksumAlgorithm="SHA256",
                ChecksumSHA256=_b64(digest))
        self._parts.append({"PartNumber": number, "ETag": response["ETag"],
                            "ChecksumSHA256": _b64(digest)})
        self._part_digests.append(digest)

    def _complete(self, sha256: str) -> None:
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
        if reported is None:
            with self._store._translate():
                reported = self._client.head_object(
                    Bucket=self._store.bucket, Key=self._object_key,
                    ChecksumMode="ENABLED").get("ChecksumSHA256")
        # A server that keeps no checksum at all has still checked every part.
        if reported is not None and reported != expected:
            try:
                self._client.delete_object(Bucket=self._store.bucket, Key=self._object_key)
            except (BotoCoreError, ClientError):
                pass
            raise ChecksumRefused(
                f"{self._store._where()} assembled {self._key!r} with checksum {reported}, "
                f"not {expected}; the object was deleted")
