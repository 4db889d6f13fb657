"""botocore's errors as the domain's, for an S3 store (``storage.s3``),
translated at the boundary (``raise … from exc``):

- no connection, timeouts, throttling, 5xx → ``StorageUnavailable`` (retry);
- a bucket that does not exist, refused credentials, no credentials at all →
  ``StorageUnavailable`` too, with a message naming the misconfiguration: the
  item is not at fault, and once the setting is fixed a retry succeeds;
- ``BadDigest`` / ``InvalidDigest`` / ``XAmzContentSHA256Mismatch`` → ``ChecksumRefused``;
- ``NoSuchKey`` / 404 → ``ObjectNotFound``;
- a request the server refuses for any other reason → ``StorageError``;
- a request botocore refuses to send (a bad parameter) → ``ValueError``.

botocore's exceptions are imported only when something was raised: a command
that never reaches the store does not load them (about 145 modules), and one
that did has them loaded with its client.
"""

from __future__ import annotations

from typing import Any, Protocol

from ingest.errors import ChecksumRefused, ObjectNotFound, StorageError, StorageUnavailable
from storage.s3_object_lock import ObjectLock

_CHECKSUM_CODES = frozenset({"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch"})
_TRANSIENT_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout",
                              "Throttling", "ThrottlingException", "RequestLimitExceeded",
                              "TooManyRequestsException", "NoSuchUpload"})
_ACCESS_CODES = frozenset({"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch",
                           "InvalidToken", "ExpiredToken"})
_ABSENT_CODES = frozenset({"NoSuchKey", "404", "NotFound"})


class ErrorSource(Protocol):
    """What the translation needs of its store (``storage.s3.S3ObjectStore``): where
    it is, whether it locks what it writes, and its client."""

    bucket: str
    location: str
    endpoint_url: str | None
    object_lock: ObjectLock | None
    #: the client once made (None before): its idle connections are dropped
    _made_client: Any

    @property
    def _client(self) -> Any: ...

    def _where(self) -> str: ...


def domain_error(store: ErrorSource, exc: Exception, key: str | None) -> Exception | None:
    """The domain's error for a botocore error ``exc``; None for any other."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        ParamValidationError,
        PartialCredentialsError,
    )

    if isinstance(exc, ClientError):
        return _client_error(store, exc, key)
    if isinstance(exc, ParamValidationError):
        return ValueError(f"{store.location}: {exc}")
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return StorageUnavailable(
            f"no usable S3 credentials for {store._where()} (a misconfiguration: set "
            f"AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or another AWS credential "
            f"source)")
    if isinstance(exc, BotoCoreError):
        # Connection refused or reset, timeouts, a response cut short.
        if store._made_client is not None:
            # The next attempt opens new connections (``storage.s3_client``).
            from storage.s3_client import drop_idle_connections

            drop_idle_connections(store._made_client, exc)
        return StorageUnavailable(f"{store._where()}: {exc}")
    return None


def _client_error(store: ErrorSource, exc: Any, key: str | None) -> StorageError | ObjectNotFound:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    message = error.get("Message") or code
    if store.object_lock is not None and code == "InvalidRequest":
        return StorageError(
            f"{store._where()} refused {key or 'an object'!s} with its object lock retention "
            f"({code}: {message}): does the bucket have S3 Object Lock? `strongroom init` "
            f"checks it")
    if code in _CHECKSUM_CODES:
        return ChecksumRefused(f"{store._where()} refused {key or 'an object'!s}: {code}: "
                               f"the bytes received do not match their SHA-256")
    if code == "NoSuchBucket":
        return no_bucket(store)
    if key is not None and code == "NoSuchKey":
        return ObjectNotFound(f"no object {key!r} in {store.location}")
    if key is not None and (code in _ABSENT_CODES or status == 404):
        return _absent_object(store, key)
    if code in _TRANSIENT_CODES or status >= 500 or status == 429:
        return StorageUnavailable(f"{store._where()}: {code}: {message}")
    if code in _ACCESS_CODES or status == 403:
        return StorageUnavailable(
            f"{store._where()} refused our credentials ({code}): a misconfiguration of "
            f"the S3 credentials or the bucket's permissions")
    return StorageError(f"{store._where()}: {code or status}: {message}")


def no_bucket(store: ErrorSource) -> StorageUnavailable:
    """The error of a store whose bucket does not exist: a misconfiguration."""
    return StorageUnavailable(
        f"the bucket {store.bucket!r} does not exist at {store.endpoint_url or 'AWS'}: a "
        f"misconfiguration of the storage URL or endpoint (create the bucket first)")


def bucket_exists(store: ErrorSource) -> bool:
    """Whether the bucket exists. Raises ClientError (other than 404), BotoCoreError."""
    from botocore.exceptions import ClientError

    try:
        store._client.head_bucket(Bucket=store.bucket)
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404 or exc.response.get("Error", {}).get("Code") in (
                "404", "NoSuchBucket", "NotFound"):
            return False
        raise
    return True


def _absent_object(store: ErrorSource, key: str) -> StorageError | ObjectNotFound:
    # A HEAD answers a bare 404 for a missing bucket as well as a missing key.
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        found = bucket_exists(store)
    except (BotoCoreError, ClientError):
        found = True  # cannot tell: report what was asked about
    if not found:
        return no_bucket(store)
    return ObjectNotFound(f"no object {key!r} in {store.location}")
