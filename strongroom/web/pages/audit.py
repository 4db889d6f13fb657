"""Audit: the event log with filters, a page at a time, and the chain's verification.

The events come from ``ingest.audit_query.audit_events`` (as ``strongroom
audit log``); the verification is ``ingest.anchoring.verify_audit_log`` (as
``strongroom audit verify`` and ``GET /audit/verify``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ingest.access import Permission
from ingest.accounts import SessionInfo
from ingest.anchoring import verify_audit_log
from ingest.audit_query import PAGE_EVENTS, EventQuery, audit_events
from ingest.errors import InputError, NotFound
from ingest.models import EventType
from strongroom.reports import describe_actor, event_report
from strongroom.web.guard import person
from strongroom.web.pages.batch import source_view
from strongroom.web.render import render

router = APIRouter()


def _day(text: str, field: str) -> date | None:
    text = text.strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"the {field} date is a day written 2024-05-31") from None


@router.get("/console/audit")
def audit(request: Request, session: Annotated[SessionInfo, Depends(person(Permission.PRESERVE))],
          package: Annotated[str, Query(max_length=2000)] = "",
          event_type: Annotated[str, Query(max_length=100)] = "",
          agent: Annotated[str, Query(max_length=200)] = "",
          since: Annotated[str, Query(max_length=40, alias="from")] = "",
          until: Annotated[str, Query(max_length=40, alias="to")] = "",
          after: Annotated[int, Query(ge=0, le=2**62)] = 0) -> Response:
    catalog = request.app.state.strongroom.services.catalog
    filters = {"package": package, "event_type": event_type, "agent": agent, "from": since, "to": until}
    error = None
    events: list[dict[str, object]] = []
    next_link = None
    try:
        first, last = _day(since, "from"), _day(until, "to")
        query = EventQuery(
            package=package.strip() or None, event_type=event_type or None, agent=agent.strip() or None,
            since=datetime.combine(first, time(), tzinfo=UTC) if first else None,
            # the "to" day is included: events before the next midnight
            until=datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC) if last else None,
            after=after, limit=PAGE_EVENTS)
        page = audit_events(catalog, query)
    except (InputError, NotFound) as exc:
        text = str(exc)
        error = text[:1].upper() + text[1:] + "."
    else:
        for e in page.events:
            shown = event_report(e)
            shown["who"] = describe_actor(shown["actor"]) if shown["actor"] else "not recorded"
            events.append(shown)
        if page.next_after is not None:
            next_link = "/console/audit?" + urlencode({**{k: v for k, v in filters.items() if v},
                                                       "after": page.next_after})
    # each package the page names, by identifier: one query for the page, not one a row
    packages = catalog.package_summaries({str(e["package_id"]) for e in events if e.get("package_id")})
    # and each batch, by where it came from and when (not its id)
    staging = request.app.state.strongroom.settings.staging
    batches = {batch_id: {"source": source_view(batch.source, staging), "batch": batch}
               for batch_id, batch in catalog.batches_by_id(
                   {str(e["batch_id"]) for e in events if e.get("batch_id") and not e.get("package_id")}
               ).items()}
    first_link = "/console/audit?" + urlencode({k: v for k, v in filters.items() if v}) if after else None
    return render(request, "audit.html", status=400 if error else 200, title="Audit log",
                  events=events, packages=packages, batches=batches, filters=filters, error=error, next_link=next_link,
                  first_link=first_link,
                  event_types=[t.value for t in EventType])


@router.get("/console/audit/verify")
def verify(request: Request, session: Annotated[SessionInfo, Depends(person(Permission.PRESERVE))]) -> Response:
    checked = verify_audit_log(request.app.state.strongroom.services)
    return render(request, "audit_verify.html", title="Audit chain verification",
                  result=checked.to_dict(), ok=checked.ok)
