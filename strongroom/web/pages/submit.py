"""Submitting a batch from the browser: a folder picked, or a zip or tar, with
optional batch fields; then the batch's page.

The upload takes the API's one path (``strongroom.api.intake``): the same
staging, limits, name checks and registration, as submitted by the person
signed in. The form's CSRF token travels first in the form and is checked
before any file is written.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ingest.access import Permission
from ingest.accounts import SessionInfo
from ingest.batch_files import check_batch_fields
from ingest.errors import ArchiveRefused
from strongroom.api.auth import acting_services
from strongroom.api.intake import MULTIPART, receive_upload, register_upload
from strongroom.api.problems import ApiProblem
from strongroom.api.session import same_origin
from strongroom.api.upload import NoFileSent
from strongroom.web.guard import FormRefused, check_form, person
from strongroom.web.render import render

router = APIRouter()

#: the form's batch fields, as batch.json names them, and their labels
BATCH_FIELDS = {"collection": "Collection", "description": "Description"}


def _page(request: Request, *, status: int = 200, fields: Mapping[str, str] | None = None,
          errors: list[dict[str, str]] | None = None,
          refused: list[dict[str, object]] | None = None) -> Response:
    settings = request.app.state.strongroom.settings
    return render(request, "submit.html", status=status, title="Submit a batch",
                  max_bytes=settings.api_max_upload_bytes, max_files=settings.api_max_files,
                  fields={name: (fields or {}).get(name, "") for name in BATCH_FIELDS},
                  errors=errors or [], refused=refused or [], labels=BATCH_FIELDS)


@router.get("/console/submit")
def submit_form(request: Request,
                session: Annotated[SessionInfo, Depends(person(Permission.SUBMIT))]) -> Response:
    return _page(request)


@router.post("/console/submit")
async def submit_upload(request: Request,
                        session: Annotated[SessionInfo, Depends(person(Permission.SUBMIT))]) -> Response:
    def checked(form: Mapping[str, str]) -> None:
        check_form(request, session, form.get("csrf"))

    if not same_origin(request) or not request.headers.get("content-type", "").lower().startswith(
            MULTIPART):
        raise FormRefused()  # before a byte of the body is read: the form is always multipart
    try:
        upload = await receive_upload(request, fields=("csrf", *BATCH_FIELDS), archive_part=True,
                                      before_files=checked)
    except NoFileSent:
        return _page(request, status=422, errors=[{
            "field": "folder", "text": "Choose a batch folder, or a zip or tar of one, to send."}])
    except ArchiveRefused as exc:
        unreadable = all(f.code == "ARCHIVE_UNREADABLE" for f in exc.findings)
        what = ("The zip or tar could not be read, so nothing of it was kept. Make it again "
                "(or send the folder itself) and send it again." if unreadable else
                "The upload was refused: nothing of it was kept. Fix what is listed below "
                "and send it again.")
        return _page(request, status=422, errors=[{"field": "archive", "text": what}],
            refused=[f.to_dict() for f in exc.findings])
    except ApiProblem as exc:
        text = exc.title + (f": {exc.detail}" if exc.detail else "") + "."
        return _page(request, status=exc.status, errors=[{"field": "folder", "text": text}])
    fields = {name: upload.fields.get(name, "").strip() for name in BATCH_FIELDS}
    problems = check_batch_fields(fields)
    if problems:
        await run_in_threadpool(upload.discard)
        return _page(request, status=400, fields=fields, errors=[
            {"field": (p.pointer or "/").lstrip("/") or "collection",
             "text": f"{BATCH_FIELDS.get((p.pointer or '').lstrip('/'), 'A field')}: "
                     f"{p.params.get('detail') or p.message}. Choose the files again."}
            for p in problems])
    registered = await register_upload(request, acting_services(request), upload, fields=fields)
    return RedirectResponse(f"/console/batches/{registered.batch_id}", status_code=303)

