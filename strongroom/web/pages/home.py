"""The first page after signing in: recent batches, coverage, what needs a person."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from ingest.access import Permission, may
from ingest.accounts import SessionInfo
from ingest.batch_readers import may_read_batch
from ingest.batches_list import list_batches
from ingest.fixity_report import fixity_report
from strongroom.settings import fixity_policy
from strongroom.web.guard import person
from strongroom.web.render import render

router = APIRouter()

#: batches shown on the home page
RECENT = 10


@router.get("/console/")
def home(request: Request, session: Annotated[SessionInfo, Depends(person())]) -> Response:
    state = request.app.state.strongroom
    services = state.services
    role = session.account.role
    batches: list[dict[str, Any]] = []
    if may(role, Permission.READ_BATCHES):
        actor = session.account.actor()
        # a submitter sees the batches they submitted; auditors and admins every batch
        listing = list_batches(services.catalog, limit=RECENT if role != "submitter" else 200)["batches"]
        for entry in listing:
            batch = services.catalog.get_batch(entry["batch_id"]) if role == "submitter" else None
            if batch is None or may_read_batch(actor, batch):
                batches.append(entry)
            if len(batches) >= RECENT:
                break
    report = None
    if may(role, Permission.PRESERVE):
        report = fixity_report(services, fixity_policy(state.settings), reconcile_stores=False, limit=10)
    return render(request, "home.html", title="Home", batches=batches, report=report)
