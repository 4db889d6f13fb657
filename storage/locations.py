"""Object stores from location URLs: ``file:///absolute/path`` or ``s3://bucket/prefix``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse

from ingest.ports import ObjectStore


def store_from_url(url: str, *, s3_endpoint_url: str | None = None,
                   s3_region: str | None = None, create: bool = True,
                   s3_parts_in_flight: int | None = None, s3_object_lock: str | None = None,
                   s3_retention_days: int | None = None) -> ObjectStore:
    """Open the object store a URL names; a folder is created unless ``create``
    is False. ``s3_parts_in_flight``: parts of one object an S3 store sends at
    once (default ``storage.s3_upload.DEFAULT_PARTS_IN_FLIGHT``).
    ``s3_object_lock`` (GOVERNANCE or COMPLIANCE) and ``s3_retention_days``: the
    S3 Object Lock retention of every object an S3 store writes
    (``storage.s3_object_lock``); a folder has none. Raises ValueError for an
    unknown scheme, or a lock mode without a retention."""
    parsed = urlparse(url)
    if parsed.scheme == "file":
        from storage.filesystem import FilesystemObjectStore

        return FilesystemObjectStore(Path(unquote(parsed.path)), create=create)
    if parsed.scheme == "s3":
        from storage.s3 import S3ObjectStore
        from storage.s3_object_lock import ObjectLock
        from storage.s3_upload import DEFAULT_PARTS_IN_FLIGHT

        lock = None
        if s3_object_lock is not None:
            if s3_retention_days is None:
                raise ValueError("an S3 object lock needs a retention in days")
            lock = ObjectLock(s3_object_lock.upper(), s3_retention_days)
        return S3ObjectStore(bucket=parsed.netloc, prefix=parsed.path.lstrip("/"),
                             endpoint_url=s3_endpoint_url, region=s3_region,
                             parts_in_flight=s3_parts_in_flight or DEFAULT_PARTS_IN_FLIGHT,
                             object_lock=lock)
    raise ValueError(f"unknown storage location {url!r}: use file:///… or s3://…")
