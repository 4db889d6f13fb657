"""The first page after signing in: recent batches, coverage, what needs a person."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ingest.access import Permission, may
from ingest.accounts import SessionInfo
from ingest.batch_progress import recent_batches_for
from ingest.batch_readers import READ_EVERY_BATCH
from ingest.batches_list import batch_entry
from ingest.fixity_report import fixity_report
from strongroom.settings import fixity_policy
from strongroom.web.guard import person
from strongroom.web.render import render

router = APIRouter()

#: batches shown on the home page
RECENT = 10


def may_read_every_batch(role: str) -> bool:
    return role in READ_EVERY_BATCH


@router.get("/console/")
def home(request: Request, session: Annotated[SessionInfo, Depends(person())]) -> Response:
    state = request.app.state.strongroom
    services = state.services
    role = session.account.role
    batches: list[dict[str, Any]] = []
    if may(role, Permission.READ_BATCHES):
        # a submitter sees the batches they submitted; auditors and admins every batch
        batches = [batch_entry(summary) for summary in
                   recent_batches_for(services.catalog, session.account.actor(), RECENT)]
    report = None
    if may(role, Permission.PRESERVE):
        report = fixity_report(services, fixity_policy(state.settings), reconcile_stores=False, limit=10)
    return render(request, "home.html", title="Home", batches=batches, report=report,
                  every_batch=may_read_every_batch(role))
