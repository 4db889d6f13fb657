"""Archive staff's routes: upload a batch, follow it."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi import Path as PathParam

from ingest.batch_progress import readable_batch
from ingest.services import Services
from strongroom.api.auth import Permission, acting_services, require
from strongroom.api.callbacks import has_userinfo
from strongroom.api.intake import Upload, check_media_type, receive_upload, register_upload
from strongroom.api.models import BatchOut
from strongroom.api.problems import ApiProblem, documented
from strongroom.api.staging import client_view
from strongroom.reports import batch_report

router = APIRouter(tags=["batches"])

_BINARY = {"schema": {"type": "string", "format": "binary"}}


@router.post(
    "/batches", status_code=202, response_model=BatchOut, summary="Upload a batch",
    responses={200: {"model": BatchOut, "description": "With `check=true`: what a submission would "
                                                        "do; nothing is registered, stored or recorded"},
               **documented(408, 413, 415)},
    dependencies=[Depends(require(Permission.SUBMIT))],
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
    check: Annotated[bool, Query(
        description="a dry run: make every check and answer 200 with what a submission would "
                    "give; nothing is registered, stored or kept")] = False,
) -> dict[str, Any]:
    """Unpack a zip or tar of a batch folder (or the files of a multipart form) into a
    fresh staging folder, register the batch and start ingesting it. Answers 202 at
    once; follow the batch at the ``Location`` given, or pass a ``callback_url``.
    The batch is recorded as submitted by the request's token; batch.json's
    ``submitter`` is kept only as ``claimed_submitter``."""
    services = acting_services(request)
    check_media_type(request)
    if callback_url is not None:
        _check_callback(callback_url, request.app.state.strongroom.settings.api_callback_hosts)
    upload = await receive_upload(request)
    if check:
        response.status_code = 200
        return await _check_upload(request, services, upload)
    registered = await register_upload(request, services, upload, callback_url=callback_url)
    response.headers["Location"] = f"/batches/{registered.batch_id}"
    return {**registered.report, "dispatch": registered.dispatch}


async def _check_upload(request: Request, services: Services, upload: Upload) -> dict[str, Any]:
    """The dry run of an upload (``ingest.dry_run.check_batch``); the staged
    upload is removed whatever happens."""
    from starlette.concurrency import run_in_threadpool

    from ingest.dry_run import check_batch
    from strongroom.reports import check_report

    try:
        checked = await run_in_threadpool(check_batch, upload.root, services.schemas,
                                          catalog=services.catalog,
                                          skip=services.skip_system_files,
                                          formats=services.formats)
    finally:
        await run_in_threadpool(upload.discard)
    staging = request.app.state.strongroom.settings.staging
    return {**client_view(check_report(checked), staging), "dispatch": None}


@router.get("/batches/{batch_id}", response_model=BatchOut, responses=documented(404),
            summary="Follow a batch", dependencies=[Depends(require(Permission.READ_BATCHES))])
def batch_status(request: Request,
                 batch_id: Annotated[str, PathParam(max_length=100)]) -> dict[str, Any]:
    """Per-item status and findings, the same document as ``strongroom status --json``.

    Readable by the token that submitted the batch, auditors and admins; to any
    other token a batch answers 404, as one that does not exist."""
    catalog = request.app.state.strongroom.services.catalog
    readable_batch(catalog, request.state.actor, batch_id)  # BatchNotFound, as one that does not exist
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

