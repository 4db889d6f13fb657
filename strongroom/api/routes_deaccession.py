"""Deaccession over HTTP (admin): request, approve (another admin), reject, resume, list.

Each route acts as the request's token (or signed-in person) and calls one use
case of ``ingest.deaccession``; the two-person rule is the use case's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from ingest.deaccession import (
    approve_deaccession,
    list_deaccessions,
    reject_deaccession,
    request_deaccession,
    resume_deaccession,
)
from strongroom.api.auth import Permission, acting_services, require
from strongroom.api.models import (
    DeaccessionListOut,
    DeaccessionOut,
    DeaccessionOutcomeOut,
    DeaccessionRejectIn,
    DeaccessionRequestIn,
)
from strongroom.api.problems import documented

router = APIRouter(tags=["deaccession"], dependencies=[Depends(require(Permission.ADMINISTER))])

RequestRef = Annotated[str, Path(min_length=1, max_length=200, description="a request id")]

_REFUSED = {409: "The step was refused; the finding's code says why "
                 "(DEACCESSION_SAME_PERSON, DEACCESSION_DECIDED, DEACCESSION_PENDING)"}


@router.get("/deaccessions", response_model=DeaccessionListOut, responses=documented(),
            summary="Every deaccession request, newest first")
def list_requests(request: Request) -> dict[str, Any]:
    """Requests in every state; tombstones with each withdrawn file's size and digests."""
    return {"requests": [r.to_dict() for r in list_deaccessions(acting_services(request))]}


@router.post("/deaccessions", status_code=201, response_model=DeaccessionOut,
             responses=documented(404, 410, described=_REFUSED),
             summary="Ask for the deaccession of a package or one version")
async def create_request(request: Request, response: Response,
                         body: Annotated[DeaccessionRequestIn, Body()]) -> dict[str, Any]:
    """Another admin must approve it; nothing is deleted until then. ``Location``
    names the new request."""
    made = await run_in_threadpool(request_deaccession, acting_services(request), body.package,
                                   body.version, body.reason)
    response.headers["Location"] = f"/deaccessions/{made.request_id}"
    return made.to_dict()


@router.get("/deaccessions/{request_id}", response_model=DeaccessionOut,
            responses=documented(404), summary="One deaccession request")
def get_request(request: Request, request_id: RequestRef) -> dict[str, Any]:
    return acting_services(request).catalog.get_deaccession_request(request_id).to_dict()


@router.post("/deaccessions/{request_id}/approve", response_model=DeaccessionOutcomeOut,
             responses=documented(404, described=_REFUSED),
             summary="Approve (not the requester) and delete from every location")
async def approve_request(request: Request, request_id: RequestRef) -> dict[str, Any]:
    """The objects go from every location; `finished` is false when one was out of
    reach (approve again, or resume, later)."""
    outcome = await run_in_threadpool(approve_deaccession, acting_services(request), request_id)
    return outcome.to_dict()


@router.post("/deaccessions/{request_id}/resume", response_model=DeaccessionOutcomeOut,
             responses=documented(404, described=_REFUSED),
             summary="Finish the deletion of an approved request")
async def resume_request(request: Request, request_id: RequestRef) -> dict[str, Any]:
    outcome = await run_in_threadpool(resume_deaccession, acting_services(request), request_id)
    return outcome.to_dict()


@router.post("/deaccessions/{request_id}/reject", response_model=DeaccessionOut,
             responses=documented(404, described=_REFUSED),
             summary="Reject a request: nothing is deleted")
async def reject_request(request: Request, request_id: RequestRef,
                         body: Annotated[DeaccessionRejectIn | None, Body()] = None) -> dict[str, Any]:
    rejected = await run_in_threadpool(reject_deaccession, acting_services(request), request_id,
                                       body.reason if body else None)
    return rejected.to_dict()
