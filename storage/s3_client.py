"""The S3 client of a store: its settings, and one shared loader of API models.

Every ``S3ObjectStore`` makes its client here, on first use (see ``storage.s3``).
The client is botocore's own: boto3 adds to it only the managed transfers of
s3transfer (``upload_file`` and the like), which the store does not use, and
importing boto3 loads them all (about 40 ms of every command that opens an S3
store).
"""

from __future__ import annotations

import logging
from typing import Any

import botocore.loaders
import botocore.session
from botocore.config import Config

_log = logging.getLogger(__name__)

#: botocore's reader of its bundled API descriptions, shared by every client.
_MODEL_LOADER = botocore.loaders.create_loader()


def make_client(endpoint_url: str | None = None, region: str | None = None, *,
                max_attempts: int = 4, connect_timeout: float = 5,
                read_timeout: float = 60) -> Any:
    """An S3 client (botocore's, of which boto3's is made) for the store:
    standard retries, path-style addressing, SigV4 with unsigned payloads,
    botocore's default request checksums. Credentials come from the AWS chain."""
    config = Config(
        retries={"mode": "standard", "max_attempts": max_attempts},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        signature_version="s3v4",
        # No SHA-256 of the body in the signature: every write of ours carries its
        # SHA-256 in a signed x-amz-checksum-sha256 header that the server checks,
        # so on plain http (where botocore would otherwise sign every body) that
        # would hash each byte once more for nothing; on https botocore already
        # leaves such bodies unsigned.
        s3={"addressing_style": "path", "payload_signing_enabled": False},
        # The fixity audit checks what it reads itself (see the module docstring).
        response_checksum_validation="when_required",
    )
    # A session per client: a shared session is not safe to use from several
    # threads while clients are being made, and each resolves its own
    # credentials. The loader of API models is shared: loading them is most of
    # the cost of a new session, and they never change.
    core = botocore.session.Session()
    core.register_component("data_loader", _MODEL_LOADER)
    # No region: the AWS chain's (AWS_DEFAULT_REGION, config files), else us-east-1.
    client = core.create_client("s3", endpoint_url=endpoint_url, region_name=region or None,
                                config=config)
    client.meta.events.register("needs-retry.s3", _fresh_connections_after_a_stale_one)
    return client


def is_connection_fault(exc: BaseException | None) -> bool:
    """Whether ``exc`` says a connection to the store failed (refused, reset,
    closed, timed out, cut short while reading), rather than that the store
    answered."""
    from botocore.exceptions import ConnectionError, HTTPClientError, IncompleteReadError

    return isinstance(exc, (ConnectionError, HTTPClientError, IncompleteReadError))


def _fresh_connections_after_a_stale_one(caught_exception: BaseException | None = None,
                                         endpoint: Any = None, **_: Any) -> None:
    """Before botocore retries a request whose connection failed, close every
    connection its client keeps idle, so that the retry, and every request
    after it, opens a new one.

    After a long pause (a worker stopped with SIGSTOP, a suspended host) every
    pooled connection may be stale. One the server closed is noticed by urllib3
    before it is reused, and one that a middlebox forgot answers with a reset
    and is replaced on the next try; but one that was dropped without a word
    (a firewall's or NAT's idle timeout) answers nothing, and each request that
    took one waited out the whole read timeout (a minute) before its retry,
    one after another or several at once. The first such failure is taken for
    what it says of the others. Requests under way keep their connections;
    returns None, so botocore's retry decision is its own."""
    if endpoint is not None and is_connection_fault(caught_exception):
        endpoint.close()


def drop_idle_connections(client: Any, exc: BaseException) -> None:
    """After a connection fault that botocore's retries did not get past (or a
    read cut short, which they never see), close the connections ``client``
    keeps idle: the next attempt (a retry of the item, the next check) opens new
    ones rather than meeting another that went stale with the one that failed.
    Requests under way keep theirs. Never raises."""
    if is_connection_fault(exc):
        try:
            client.close()
        except Exception:  # noqa: BLE001 - closing idle sockets is best effort
            _log.debug("idle S3 connections not closed", exc_info=True)
