"""Taking in an uploaded batch: the one path of the API's ``POST /batches`` and
the console's submit form.

``receive_upload`` stages what the client sends (a zip or tar body, or a
multipart form of files whose names are their paths, or of one archive) in a
fresh folder under staging; ``register_upload`` registers the batch from it as
submitted by the request's actor and starts its items. Whatever fails between
the first byte and the registration leaves nothing staged. With a broker,
nothing stays in the staging folder at all: the batch is staged in the object
store before it is registered (``ingest.staged_batch``).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from ingest.archive_intake import ArchiveLimits, batch_root, unpack_archive
from ingest.errors import QueueUnavailable
from ingest.services import Services
from ingest.submission import submit_batch
from strongroom.api.problems import ApiProblem
from strongroom.api.staging import client_view, mark
from strongroom.api.upload import receive_file, receive_multipart
from strongroom.reports import batch_report

#: Media types of a body that is one archive.
ARCHIVE_KINDS: dict[str, Literal["zip", "tar"]] = {
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/x-tar": "tar",
    "application/tar": "tar",
    "application/gzip": "tar",
    "application/x-gzip": "tar",
}
MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class Upload:
    """A staged upload: its own folder under staging, the batch folder in it, and
    the text fields of its form (only those asked for)."""

    staging: Path
    root: Path
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)


@dataclass(frozen=True)
class Registered:
    batch_id: str
    #: the batch document as a client sees it (``client_view``)
    report: dict[str, Any]
    #: how its items were started: in-process, queued, or not-sent (the queue was down)
    dispatch: str


def check_media_type(request: Request) -> str:
    """The body's media type; the 415 problem unless it is an archive or a multipart form."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ARCHIVE_KINDS and media != MULTIPART:
        raise ApiProblem(415, "unsupported-media-type", "Send a zip, a tar or a multipart form",
                         f"Content-Type {media or '(none)'} is not accepted")
    return media


async def receive_upload(request: Request, *, fields: Collection[str] = (),
                         archive_part: bool = False,
                         before_files: Callable[[Mapping[str, str]], None] | None = None) -> Upload:
    """Stage the request's body. A zip or tar body is unpacked; a multipart form's
    ``file`` parts are written at the paths their filenames give, and (with
    ``archive_part``) one ``archive`` part is unpacked as a zip or tar. The batch
    folder is the staged folder, or the one folder everything sits in (a picked
    folder, a zipped folder) unless that folder is an item. ``fields`` names the
    text fields to keep; ``before_files`` is called with them before the first
    file is written (a form's CSRF check).

    Raises the 415 problem for another media type, the 413 and 408 problems,
    ArchiveRefused (unsafe names, too many files, an unreadable archive, no
    file), and whatever ``before_files`` raises; nothing stays staged then."""
    settings = request.app.state.strongroom.settings
    media = check_media_type(request)
    staging = settings.staging / str(uuid.uuid4())
    staging.mkdir(parents=True)
    batch_dir = staging / "batch"
    limits = ArchiveLimits(max_members=settings.api_max_files,
                           max_total_bytes=settings.api_max_unpacked_bytes)
    try:
        if media == MULTIPART:
            form = await receive_multipart(
                request, batch_dir, boundary=_boundary(request.headers.get("content-type", "")),
                max_bytes=settings.api_max_upload_bytes, max_files=settings.api_max_files,
                idle_timeout=settings.api_upload_idle_timeout, fields=fields,
                archive_to=staging / "upload" if archive_part else None,
                before_files=before_files)
            if form.archive_kind is not None:
                root = await run_in_threadpool(unpack_archive, staging / "upload",
                                               form.archive_kind, batch_dir, limits,
                                               settings.skip_system_files)
                (staging / "upload").unlink()
            else:
                root = await run_in_threadpool(batch_root, batch_dir, settings.skip_system_files)
            return Upload(staging, root, form.fields)
        body = staging / "upload"
        await receive_file(request, body, settings.api_max_upload_bytes,
                           settings.api_upload_idle_timeout)
        root = await run_in_threadpool(unpack_archive, body, ARCHIVE_KINDS[media], batch_dir, limits,
                                       settings.skip_system_files)
        body.unlink()
        return Upload(staging, root)
    except BaseException:
        # Nothing of a refused, broken or abandoned upload stays staged.
        await run_in_threadpool(shutil.rmtree, staging, True)
        raise


async def register_upload(request: Request, services: Services, upload: Upload, *,
                          fields: Mapping[str, str] | None = None,
                          callback_url: str | None = None) -> Registered:
    """Register the staged batch as submitted by ``services.actor`` (with
    ``fields`` as its batch fields, see ``submit_batch``) and start its items.
    With a broker the batch is staged in the object store and its folder here
    removed (``ingest.staged_batch``): the workers need no disk of this host's.
    The queue being down leaves them accepted (``strongroom requeue`` sends
    them). Raises what ``submit_batch`` raises; nothing stays staged then."""
    state = request.app.state.strongroom
    # With a broker the workers read the batch from the store's staging area,
    # so the folder unpacked here goes as soon as the batch is registered.
    staged = bool(state.settings.broker_url)
    try:
        submitted = await run_in_threadpool(
            partial(submit_batch, upload.root, services, fields, stage=staged))
    except BaseException:
        await run_in_threadpool(upload.discard)
        raise
    batch_id = submitted.batch.batch_id
    if staged:
        await run_in_threadpool(upload.discard)
    else:
        mark(upload.staging, batch_id)  # `strongroom staging prune` reads it
    item_ids = [item.item_id for item in submitted.items]
    try:
        how = await run_in_threadpool(state.ingest, batch_id, item_ids, callback_url, services.actor,
                                      None if staged else upload.staging)
    except QueueUnavailable:
        how = "not-sent"
    report = await run_in_threadpool(batch_report, state.services.catalog, batch_id)
    return Registered(batch_id, client_view(report, state.settings.staging), how)


def _boundary(content_type: str) -> bytes:
    from python_multipart.multipart import parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary or len(boundary) > 200:
        raise ApiProblem(400, "bad-input", "The multipart form has no boundary",
                         "Content-Type multipart/form-data needs a boundary parameter of at "
                         "most 200 characters (an HTTP client library adds it)")
    return boundary
