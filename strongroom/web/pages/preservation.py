"""Preservation: fixity coverage, overdue copies and failures; check now, repair, the report as CSV.

Every figure comes from ``ingest.fixity_report.fixity_report`` (``strongroom
fixity report``) and ``ingest.fixity_activity.checks_per_day``; "check now"
starts the same deep checks as ``POST /packages/{id}/fixity-checks`` (a version)
or ``strongroom fixity run-due`` (what is due); "repair" is ``strongroom
repair`` (``ingest.repair.repair_package``); the storage locations are
``strongroom locations`` (``ingest.storage_locations.locations_overview``), and
"fill" is ``strongroom locations fill`` (``ApiState.fill``).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ingest.access import Permission
from ingest.accounts import SessionInfo
from ingest.errors import InputError, NotFound, QueueUnavailable, StorageUnavailable
from ingest.fixity_activity import checks_per_day
from ingest.fixity_report import fixity_report, report_csv
from ingest.handover import versions_to_check
from ingest.repair import repair_package
from ingest.storage_locations import locations_overview
from strongroom.api.auth import acting_services
from strongroom.settings import fixity_policy
from strongroom.web.chart import chart_of
from strongroom.web.guard import check_form, person
from strongroom.web.render import render

router = APIRouter()

#: overdue copies and failures the page lists (each figure counts them all)
LISTED = 200


def _page(request: Request, *, status: int = 200, error: str | None = None, field: str | None = None,
          form: dict[str, str] | None = None, repaired: list[dict[str, Any]] | None = None) -> Response:
    state = request.app.state.strongroom
    services = state.services
    policy = fixity_policy(state.settings)
    report = fixity_report(services, policy, reconcile_stores=False, limit=LISTED)
    figures = checks_per_day(services.catalog, policy, services.clock.now())
    _, locations = locations_overview(services)
    return render(request, "preservation.html", status=status, title="Preservation",
                  report=report.to_dict(), chart=chart_of(figures), figures=figures,
                  locations=[row.to_dict() for row in locations],
                  started=_started(request), error=error, field=field,
                  filling=_filling(request, locations),
                  form=form or {}, repaired=repaired)


#: What ``check_now`` sends the page back with: "due", or a package id and its versions.
_STARTED = re.compile(r"due|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                      r" v[0-9]{1,10}(, v[0-9]{1,10}){0,999}")


def _started(request: Request) -> str | None:
    """The checks the page was sent back from (``check_now``), in the one form it
    writes; any other text a link puts there is not shown as said by the archive."""
    started = request.query_params.get("started")
    return started if started is not None and _STARTED.fullmatch(started) else None


def _filling(request: Request, locations: list[Any]) -> dict[str, Any] | None:
    """The fill the page was sent back from (``fill``): a location the page lists
    and how many versions went to the workers (None: started on this server).
    Nothing else a link may put in the address is shown as said by the archive."""
    location = request.query_params.get("filling")
    if location not in {row.location for row in locations}:
        return None
    sent = request.query_params.get("sent", "")
    return {"location": location, "sent": int(sent) if sent.isdigit() and len(sent) < 10 else None}


@router.get("/console/preservation")
def preservation(request: Request,
                 session: Annotated[SessionInfo, Depends(person(Permission.PRESERVE))]) -> Response:
    return _page(request)


def _version(text: str) -> int | None:
    """The version field: empty (every version) or a number from 1."""
    text = text.strip()
    if not text or text == "latest":
        return None
    if not text.isdigit() or not 1 <= int(text) < 2**31:
        raise InputError("the version is a number from 1, or empty for every version")
    return int(text)


@router.post("/console/preservation/check")
def check_now(request: Request, session: Annotated[SessionInfo, Depends(person(Permission.PRESERVE))],
              csrf: Annotated[str, Form(max_length=200)] = "",
              what: Annotated[str, Form(max_length=20)] = "version",
              package: Annotated[str, Form(max_length=2000)] = "",
              version: Annotated[str, Form(max_length=20)] = "") -> Response:
    check_form(request, session, csrf)
    state = request.app.state.strongroom
    actor = session.account.actor()
    form = {"package": package, "version": version}
    if what == "due":
        try:
            state.check_due(actor)
        except QueueUnavailable as exc:
            return _page(request, status=503, error=f"The checks could not be started: {exc}.")
        return RedirectResponse("/console/preservation?started=due", status_code=303)
    if not package.strip():
        return _page(request, status=400, field="check-package", form=form,
                     error="Name the package to check: its id or its identifier.")
    try:
        package_id, numbers = versions_to_check(state.services.catalog, package.strip(), _version(version))
        state.verify(package_id, numbers, actor)
    except InputError as exc:
        return _page(request, status=400, field="check-version", form=form, error=_sentence(exc))
    except NotFound as exc:
        return _page(request, status=404, field="check-package", form=form, error=_sentence(exc))
    except QueueUnavailable as exc:
        return _page(request, status=503, form=form, error=f"The check could not be started: {exc}.")
    started = f"{package_id} v{', v'.join(str(n) for n in numbers)}"
    return RedirectResponse("/console/preservation?started=" + _quoted(started), status_code=303)


@router.post("/console/preservation/repair")
def repair(request: Request, session: Annotated[SessionInfo, Depends(person(Permission.ADMINISTER))],
           csrf: Annotated[str, Form(max_length=200)] = "",
           package: Annotated[str, Form(max_length=2000)] = "",
           version: Annotated[str, Form(max_length=20)] = "") -> Response:
    check_form(request, session, csrf)
    services = acting_services(request)  # the events of the repair name the person
    form = {"repair_package": package, "repair_version": version}
    if not package.strip():
        return _page(request, status=400, field="repair-package", form=form,
                     error="Name the package to repair: its id or its identifier.")
    try:
        package_id = services.catalog.resolve_package(package.strip())
        results = repair_package(services, package_id, _version(version))
    except InputError as exc:
        return _page(request, status=400, field="repair-version", form=form, error=_sentence(exc))
    except NotFound as exc:
        return _page(request, status=404, field="repair-package", form=form, error=_sentence(exc))
    # A repair that left a copy damaged, or could not repair at all, is an answer a
    # script or a monitor must not take for success: 409, as the CLI exits 1.
    return _page(request, status=409 if any(r.has_problems for r in results) else 200,
                 repaired=[r.to_dict() for r in results])


@router.post("/console/preservation/fill")
def fill(request: Request, session: Annotated[SessionInfo, Depends(person(Permission.ADMINISTER))],
         csrf: Annotated[str, Form(max_length=200)] = "",
         location: Annotated[str, Form(max_length=2000)] = "") -> Response:
    """``strongroom locations fill LOCATION`` (``ApiState.fill``): on the workers, or
    in the background of this server; the page then shows what it still lacks."""
    check_form(request, session, csrf)
    state = request.app.state.strongroom
    try:
        started = state.fill(location.strip(), session.account.actor())
    except NotFound as exc:
        return _page(request, status=404, error=_sentence(exc))
    except (StorageUnavailable, QueueUnavailable) as exc:
        # An admin's page: the sentence names the folder or bucket that cannot be used.
        return _page(request, status=503, error=f"The fill could not start: {exc}")
    sent = f"&sent={started['sent']}" if started["dispatch"] == "queued" else ""
    return RedirectResponse(f"/console/preservation?filling={_quoted(started['location'])}"
                            f"{sent}#locations-h", status_code=303)


@router.get("/console/preservation/report.csv")
def report_as_csv(request: Request,
                  session: Annotated[SessionInfo, Depends(person(Permission.PRESERVE))]) -> Response:
    state = request.app.state.strongroom
    report = fixity_report(state.services, fixity_policy(state.settings))
    stamp = report.as_of.strftime("%Y%m%dT%H%M%SZ")
    return Response(report_csv(report.to_dict()), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="fixity-report-{stamp}.csv"',
                             "Cache-Control": "no-store"})


def _sentence(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")
