"""Archive staff's routes: upload a batch, follow it."""

from __future__ import annotations

import shutil
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam
from starlette.concurrency import run_in_threadpool

from ingest.archive_intake import ArchiveLimits, unpack_archive
from ingest.batch_readers import may_read_batch
from ingest.errors import BatchNotFound, QueueUnavailable
from ingest.pipeline import submit_batch
from strongroom.api.auth import Permission, acting_services, require
from strongroom.api.callbacks import has_userinfo
from strongroom.api.models import BatchOut
from strongroom.api.problems import ApiProblem, documented
from strongroom.api.staging import client_view, mark
from strongroom.api.upload import receive_file, receive_multipart
from strongroom.reports import batch_report

router = APIRouter(tags=["batches"])

_KINDS: dict[str, Literal["zip", "tar"]] = {
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/x-tar": "tar",
    "application/tar": "tar",
    "application/gzip": "tar",
    "application/x-gzip": "tar",
}
_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.post(
    "/batches", status_code=202, response_model=BatchOut, summary="Upload a batch",
    responses=documented(408, 413, 415), dependencies=[Depends(require(Permission.SUBMIT))],
    openapi_extra={"requestBody": {"required": True, "content": {
        "application/zip": _BINARY,
        "application/x-tar": _BINARY,
        "multipart/form-data": {"schema": {
            "type": "object",
            "required": ["file"],
            "properties": {"file": {"type": "array", "minItems": 1,
                                    "items": {"type": "string", "format": "binary"}}},
            "description": "one `file` part per file; its filename is the path "
                           "relative to the batch folder"}},
    }}},
)
async def upload_batch(
    request: Request, response: Response,
    callback_url: Annotated[str | None, Query(
        max_length=2000, pattern=r"^https?://[^\s/?#]+[^\s]*$",
        description="POSTed the batch document once every item is final")] = None,
) -> dict[str, Any]:
    """Unpack a zip or tar of a batch folder (or the files of a multipart form) into a
    fresh staging folder, register the batch and start ingesting it. Answers 202 at
    once; follow the batch at the ``Location`` given, or pass a ``callback_url``.
    The batch is recorded as submitted by the request's token; batch.json's
    ``submitter`` is kept only as ``claimed_submitter``."""
    state = request.app.state.strongroom
    services = acting_services(request)
    settings = state.settings
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in _KINDS and media != "multipart/form-data":
        raise ApiProblem(415, "unsupported-media-type", "Send a zip, a tar or a multipart form",
                         f"Content-Type {media or '(none)'} is not accepted")
    if callback_url is not None:
        _check_callback(callback_url, settings.api_callback_hosts)
    staging = settings.staging / str(uuid.uuid4())
    staging.mkdir(parents=True)
    batch_dir = staging / "batch"
    try:
        if media == "multipart/form-data":
            boundary = _boundary(request.headers.get("content-type", ""))
            await receive_multipart(request, batch_dir, boundary=boundary,
                                    max_bytes=settings.api_max_upload_bytes,
                                    max_files=settings.api_max_files,
                                    idle_timeout=settings.api_upload_idle_timeout)
            root = batch_dir
        else:
            body = staging / "upload"
            await receive_file(request, body, settings.api_max_upload_bytes,
                               settings.api_upload_idle_timeout)
            limits = ArchiveLimits(max_members=settings.api_max_files,
                                   max_total_bytes=settings.api_max_unpacked_bytes)
            root = await run_in_threadpool(unpack_archive, body, _KINDS[media], batch_dir, limits)
            body.unlink()
        submitted = await run_in_threadpool(submit_batch, root, services)
    except BaseException:
        # Nothing of a refused, broken or abandoned upload stays staged.
        await run_in_threadpool(shutil.rmtree, staging, True)
        raise
    mark(staging, submitted.batch.batch_id)  # `strongroom staging prune` reads it
    item_ids = [item.item_id for item in submitted.items]
    try:
        how = await run_in_threadpool(state.ingest, submitted.batch.batch_id, item_ids,
                                      callback_url, services.actor)
    except QueueUnavailable:
        how = "not-sent"  # the items stay accepted; `strongroom requeue` sends them
    report = await run_in_threadpool(batch_report, state.services.catalog, submitted.batch.batch_id)
    response.headers["Location"] = f"/batches/{submitted.batch.batch_id}"
    return {**client_view(report, settings.staging), "dispatch": how}


@router.get("/batches/{batch_id}", response_model=BatchOut, responses=documented(404),
            summary="Follow a batch", dependencies=[Depends(require(Permission.READ_BATCHES))])
def batch_status(request: Request,
                 batch_id: Annotated[str, PathParam(max_length=100)]) -> dict[str, Any]:
    """Per-item status and findings, the same document as ``strongroom status --json``.

    Readable by the token that submitted the batch, auditors and admins; to any
    other token a batch answers 404, as one that does not exist."""
    catalog = request.app.state.strongroom.services.catalog
    if not may_read_batch(request.state.actor, catalog.get_batch(batch_id)):
        raise BatchNotFound(f"no batch {batch_id}")
    return client_view(batch_report(catalog, batch_id), request.app.state.strongroom.settings.staging)


def _check_callback(url: str, allowed: tuple[str, ...]) -> None:
    """Refuse a callback URL that is not a plain absolute http(s) URL, or whose host
    the operator has not allowed (STRONGROOM_API_CALLBACK_HOSTS): the server makes
    that request itself, from inside the archive's network."""
    from strongroom.settings import callback_host_allowed

    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname) and parts.port != 0
    except ValueError:
        ok = False
    if not ok:
        raise ApiProblem(422, "invalid-request", "The request is not valid",
                         "callback_url must be an absolute http:// or https:// URL")
    if has_userinfo(url):  # the host checked must be the host called, with no parser between
        raise ApiProblem(422, "callback-userinfo-refused",
                         "A callback URL may not carry a user name or password",
                         "callback_url holds a user name or password before its host (…@); "
                         "put a secret for the receiver in its path or query instead")
    if not callback_host_allowed(parts.hostname or "", allowed):
        raise ApiProblem(422, "callback-not-allowed", "Callbacks to this host are not allowed",
                         f"callback_url's host {parts.hostname!r} is not among the hosts this "
                         "server may call (STRONGROOM_API_CALLBACK_HOSTS)")


def _boundary(content_type: str) -> bytes:
    from python_multipart.multipart import parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise ApiProblem(400, "bad-input", "The multipart form has no boundary")
    return boundary

