"""S3 Object Lock for an S3 store: retention on every write, the bucket's lock, every version.

With ``STRONGROOM_S3_OBJECT_LOCK`` set, an ``S3ObjectStore`` holds an
``ObjectLock`` (a mode and a number of days) and:

- writes every object, in one PutObject or as a multipart upload, with
  ``ObjectLockMode`` and ``ObjectLockRetainUntilDate`` (the day of the write
  plus the retention): until then the server refuses to delete or overwrite
  that object version, whoever asks (COMPLIANCE), or anyone without the
  right to bypass it (GOVERNANCE);
- creates its bucket with object lock (which turns versioning on) when
  ``strongroom init`` creates it, and refuses an existing bucket without it
  (``check_bucket``): objects sent with retention to such a bucket are refused
  by the server anyway, with a message that does not say why;
- deletes an object by deleting every version of its key (``delete_versions``):
  in a versioned bucket a plain DELETE only hides the object behind a delete
  marker, and its bytes would stay;
- answers until when any version of a key is retained (``retained_until``), so
  that a deaccession can be refused before anything is deleted.

A PUT over an existing key makes a new version; the older one stays, retained.
That is how a damaged retained object is repaired: the repair writes a new
version and the catalog records its version id, which reads of that copy then
ask for (``ingest.object_versions``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ingest.errors import ObjectRetained, StorageError

#: The modes S3 knows, as S3 spells them.
MODES = ("GOVERNANCE", "COMPLIANCE")

_NO_LOCK_CODES = frozenset({"ObjectLockConfigurationNotFoundError",
                            "ObjectLockConfigurationNotFound"})


@dataclass(frozen=True)
class ObjectLock:
    """The retention every object written gets: ``mode`` for ``days`` from its write."""

    mode: str
    days: int

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"object lock mode must be one of {', '.join(MODES)}, not {self.mode!r}")
        if self.days < 1:
            raise ValueError("an object lock retention is at least one day")

    def put_parameters(self, now: datetime | None = None) -> dict[str, Any]:
        """The PutObject / CreateMultipartUpload parameters of a write made ``now``."""
        written = now or datetime.now(UTC)
        return {"ObjectLockMode": self.mode,
                "ObjectLockRetainUntilDate": written + timedelta(days=self.days)}


def bucket_create_parameters(lock: ObjectLock | None) -> dict[str, Any]:
    """Extra CreateBucket parameters: object lock (and with it versioning) when asked."""
    return {"ObjectLockEnabledForBucket": True} if lock is not None else {}


def check_bucket(client: Any, bucket: str, lock: ObjectLock, where: str) -> None:
    """Raise StorageError, saying what to do, unless ``bucket`` has object lock
    enabled. Raises ClientError for any other refusal (translated by the caller)."""
    from botocore.exceptions import ClientError  # with the client already made

    try:
        answer = client.get_object_lock_configuration(Bucket=bucket)
        enabled = answer.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") not in _NO_LOCK_CODES:
            raise
        enabled = False
    if not enabled:
        raise StorageError(
            f"the bucket {bucket!r} at {where} has no S3 Object Lock, which "
            f"STRONGROOM_S3_OBJECT_LOCK={lock.mode.lower()} needs: nothing was written. Point "
            f"STRONGROOM_STORAGE_URL at a bucket that does not exist yet (`strongroom init` "
            f"creates it with object lock), or turn on versioning and then object lock for "
            f"{bucket!r} (aws s3api put-bucket-versioning and put-object-lock-configuration), "
            f"or unset STRONGROOM_S3_OBJECT_LOCK")


def key_versions(client: Any, bucket: str, object_key: str) -> list[tuple[str, bool]]:
    """(version id, is a delete marker) of every version of exactly ``object_key``."""
    found: list[tuple[str, bool]] = []
    pages = client.get_paginator("list_object_versions").paginate(Bucket=bucket, Prefix=object_key)
    for page in pages:
        found.extend((v["VersionId"], False) for v in page.get("Versions", ())
                     if v["Key"] == object_key)
        found.extend((m["VersionId"], True) for m in page.get("DeleteMarkers", ())
                     if m["Key"] == object_key)
    return found


def retained_until(client: Any, bucket: str, object_key: str, *, every_version: bool,
                   now: datetime | None = None) -> datetime | None:
    """The latest retain-until date after ``now`` of the object (of any of its
    versions with ``every_version``), or None when nothing of it is retained.
    Raises ClientError."""
    from botocore.exceptions import ClientError  # with the client already made

    now = now or datetime.now(UTC)
    if every_version:
        heads = [client.head_object(Bucket=bucket, Key=object_key, VersionId=version_id)
                 for version_id, marker in key_versions(client, bucket, object_key) if not marker]
    else:
        try:
            heads = [client.head_object(Bucket=bucket, Key=object_key)]
        except ClientError as exc:
            if exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") == 404:
                return None
            raise
    dates = [head["ObjectLockRetainUntilDate"] for head in heads
             if head.get("ObjectLockMode") and head.get("ObjectLockRetainUntilDate")]
    latest = max((d if d.tzinfo else d.replace(tzinfo=UTC) for d in dates), default=None)
    return latest if latest is not None and latest > now else None


def delete_versions(client: Any, bucket: str, object_key: str, key: str) -> None:
    """Delete every version and delete marker of ``object_key``. Raises
    ObjectRetained when the server refuses to delete a version (its retention or
    a legal hold), ClientError otherwise."""
    from botocore.exceptions import ClientError  # with the client already made

    for version_id, _ in key_versions(client, bucket, object_key):
        try:
            client.delete_object(Bucket=bucket, Key=object_key, VersionId=version_id)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "AccessDenied":
                raise
            until = retained_until(client, bucket, object_key, every_version=True)
            raise ObjectRetained(key, until) from exc
