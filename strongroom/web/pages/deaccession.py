"""Deaccession: ask for a package (or one version) to be removed, and approve or
reject what another admin asked; finish a deletion a location held up.

The same use cases as ``strongroom deaccession request|approve|reject|resume|list``
(``ingest.deaccession``), acting as the signed-in person: the person who asked
is refused as approver there, not here (DEACCESSION_SAME_PERSON).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ingest.access import Permission
from ingest.accounts import SessionInfo
from ingest.deaccession import (
    DeaccessionOutcome,
    approve_deaccession,
    list_deaccessions,
    may_approve,
    reject_deaccession,
    request_deaccession,
    resume_deaccession,
)
from ingest.errors import DeaccessionRefused, NotFound, StrongroomError
from strongroom.api.auth import acting_services
from strongroom.web.guard import check_form, person
from strongroom.web.render import render

if TYPE_CHECKING:
    from ingest.services import Services

router = APIRouter()

ADMIN = Depends(person(Permission.ADMINISTER))

#: what the page says after a change (``?done=``), never anything the request made up
DONE = {
    "requested": "The deaccession was requested. Another admin must approve it; nothing is deleted until then.",
    "approved": "The deaccession was approved: the objects are gone from every location and the tombstone is kept.",
    "rejected": "The request was rejected: nothing was deleted.",
    "resumed": "The deletion was finished in every location.",
}


def _page(request: Request, *, status: int = 200, error: str | None = None, field: str | None = None,
          form: dict[str, str] | None = None, outcome: dict[str, Any] | None = None) -> Response:
    services = acting_services(request)
    listed = list_deaccessions(services)
    # what each request would delete, by title, while the package is still there (one query)
    packages = services.catalog.package_summaries({r.package_id for r in listed})
    requests = [{**r.to_dict(), "may_approve": may_approve(services, r),
                 "package": packages.get(r.package_id)} for r in listed]
    return render(request, "deaccessions.html", status=status, title="Deaccession",
                  requests=requests, done=DONE.get(request.query_params.get("done", "")),
                  error=error, field=field, form=form or {}, outcome=outcome)


def _sentence(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _refused(request: Request, exc: StrongroomError, field: str | None = None,
             form: dict[str, str] | None = None) -> Response:
    if isinstance(exc, DeaccessionRefused):
        return _page(request, status=409, field=field, form=form,
                     error=f"{_sentence(exc)} ({exc.finding.code})")
    status = 404 if isinstance(exc, NotFound) else 503
    return _page(request, status=status, field=field, form=form, error=_sentence(exc))


@router.get("/console/deaccessions")
def deaccessions(request: Request, session: Annotated[SessionInfo, ADMIN]) -> Response:
    return _page(request)


@router.post("/console/deaccessions/request")
def ask(request: Request, session: Annotated[SessionInfo, ADMIN],
        csrf: Annotated[str, Form(max_length=200)] = "",
        package: Annotated[str, Form(max_length=2000)] = "",
        version: Annotated[str, Form(max_length=20)] = "",
        reason: Annotated[str, Form(max_length=4000)] = "") -> Response:
    check_form(request, session, csrf)
    form = {"package": package, "version": version, "reason": reason}
    if not package.strip():
        return _page(request, status=400, field="deaccession-package", form=form,
                     error="Name the package: its id or its identifier.")
    text = version.strip()
    if text and (not text.isdigit() or not 1 <= int(text) < 2**31):
        return _page(request, status=400, field="deaccession-version", form=form,
                     error="The version is a number from 1, or empty for the whole package.")
    if not reason.strip():
        return _page(request, status=400, field="deaccession-reason", form=form,
                     error="Say why, in words a later reader will understand.")
    try:
        request_deaccession(acting_services(request), package.strip(), int(text) if text else None,
                            reason)
    except StrongroomError as exc:
        return _refused(request, exc, "deaccession-package", form)
    return RedirectResponse("/console/deaccessions?done=requested", status_code=303)


@router.post("/console/deaccessions/approve")
def approve(request: Request, session: Annotated[SessionInfo, ADMIN],
            csrf: Annotated[str, Form(max_length=200)] = "",
            request_id: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_form(request, session, csrf)
    return _delete(request, approve_deaccession, request_id, "approved",
                   "Approved, but a location could not be reached: the deletion is not "
                   "finished there. Finish it once it can be reached.")


@router.post("/console/deaccessions/resume")
def resume(request: Request, session: Annotated[SessionInfo, ADMIN],
           csrf: Annotated[str, Form(max_length=200)] = "",
           request_id: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_form(request, session, csrf)
    return _delete(request, resume_deaccession, request_id, "resumed",
                   "A location still could not be reached: the deletion is not finished there.")


def _delete(request: Request, use_case: Callable[[Services, str], DeaccessionOutcome],
            request_id: str, done: str, unfinished: str) -> Response:
    """Run an approval or a resumption as the signed-in person: back to the page
    when done, the page with ``unfinished`` (503) while a location was out of reach."""
    try:
        outcome = use_case(acting_services(request), request_id)
    except StrongroomError as exc:
        return _refused(request, exc)
    if not outcome.finished:
        return _page(request, status=503, outcome=outcome.to_dict(), error=unfinished)
    return RedirectResponse(f"/console/deaccessions?done={done}", status_code=303)


@router.post("/console/deaccessions/reject")
def reject(request: Request, session: Annotated[SessionInfo, ADMIN],
           csrf: Annotated[str, Form(max_length=200)] = "",
           request_id: Annotated[str, Form(max_length=200)] = "",
           note: Annotated[str, Form(max_length=4000)] = "") -> Response:
    check_form(request, session, csrf)
    try:
        reject_deaccession(acting_services(request), request_id, note)
    except StrongroomError as exc:
        return _refused(request, exc)
    return RedirectResponse("/console/deaccessions?done=rejected", status_code=303)
