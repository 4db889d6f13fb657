"""Preservation officers' routes: start fixity checks, read their results, read
a package's audit events, verify the whole hash chain, and see the storage locations."""

from __future__ import annotations

from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from ingest.fixity_history import copy_histories
from ingest.models import EventType
from strongroom.api.auth import Permission, require
from strongroom.api.models import (
    ChainOut,
    EventsOut,
    FillIn,
    FillStartOut,
    FixityReportOut,
    FixityStartOut,
    LocationsOut,
)
from strongroom.api.paths import PackageRef
from strongroom.api.problems import documented
from strongroom.reports import event_report, version_report

router = APIRouter(tags=["preservation"], dependencies=[Depends(require(Permission.PRESERVE))])



@router.post("/packages/{package_id}/fixity-checks", status_code=202,
             response_model=FixityStartOut, responses=documented(404, 410),
             summary="Start a deep fixity check")
async def start_fixity_check(
    request: Request, package_id: PackageRef,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1,
                                         description="one version; all when absent")] = None,
) -> dict[str, Any]:
    """Re-read and re-hash every stored byte of the version(s); each check becomes a
    fixity-check event. Runs on the workers' fixity queue, or in the background here."""
    from ingest.handover import versions_to_check

    state = request.app.state.strongroom
    found, numbers = await run_in_threadpool(versions_to_check, state.services.catalog,
                                             package_id, version)
    how = await run_in_threadpool(state.verify, found, numbers,
                                  getattr(request.state, "actor", None))
    return {"package_id": found, "versions": numbers, "dispatch": how}


@router.get("/packages/{package_id}/fixity-checks", response_model=FixityReportOut,
            responses=documented(404, 410), summary="Fixity results of a package")
def fixity_report(request: Request, package_id: PackageRef) -> dict[str, Any]:
    """Each version's last fixity result and every fixity-check event of the package."""
    catalog = request.app.state.strongroom.services.catalog
    found = catalog.resolve_package(package_id)
    versions = [version_report(v, with_files=False) for v in catalog.list_versions(found)]
    checks = [e for e in catalog.events(found) if e.event_type == EventType.FIXITY_CHECK.value]
    copies = [{"version": h.version, "location": h.location,
               "checks": [{"seq": c.seq, "checked_at": c.checked_at.isoformat().replace("+00:00", "Z"),
                           "tier": c.tier, "outcome": c.outcome, "findings": list(c.findings),
                           "actor": c.actor} for c in h.checks]}
              for h in copy_histories(checks)]
    return {"package_id": found, "versions": versions,
            "events": [event_report(e) for e in checks], "copies": copies}


@router.get("/packages/{package_id}/events", response_model=EventsOut,
            responses=documented(404, 410), summary="Audit events of a package")
def package_events(
    request: Request, package_id: PackageRef,
    after: Annotated[int, Query(ge=0, le=2**62, description="only events after this seq")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    """The package's events in chain order, a page at a time."""
    catalog = request.app.state.strongroom.services.catalog
    found = catalog.resolve_package(package_id)
    page = list(islice((e for e in catalog.events(found) if e.seq > after), limit + 1))
    more = len(page) > limit
    page = page[:limit]
    return {"events": [event_report(e) for e in page],
            "next_after": page[-1].seq if more else None}


@router.get("/locations", response_model=LocationsOut, responses=documented(),
            summary="Storage locations: what each holds and lacks")
def storage_locations(request: Request) -> dict[str, Any]:
    """Every location the settings name or the catalog notes copies in, as
    `strongroom locations --json` gives them: a configured location that lacks
    versions is filled with `strongroom locations fill`; one no longer configured
    still holding copies is checked by nothing until it is named again or retired."""
    from ingest.storage_locations import locations_overview

    versions, rows = locations_overview(request.app.state.strongroom.services)
    return {"versions": versions, "locations": [row.to_dict() for row in rows]}


@router.post("/locations/fill", status_code=202, response_model=FillStartOut,
             responses=documented(404), summary="Fill a location with what it lacks",
             dependencies=[Depends(require(Permission.ADMINISTER))])
async def fill_location(request: Request, body: FillIn) -> dict[str, Any]:
    """Copy every committed version the location does not hold whole into it, as
    `strongroom locations fill LOCATION` does: each version read from one good
    copy, the new copy checked after writing, each check and write an audit event
    naming who asked. Sent to the workers' fixity queue with a broker (one task
    per version), else run in the background here; `GET /locations` shows what
    it still lacks. An admin's. 404: not a location the settings name; 503: the
    location cannot be used now (its folder gone, its bucket not answering) and
    nothing was started."""
    state = request.app.state.strongroom
    return await run_in_threadpool(state.fill, body.location,
                                   getattr(request.state, "actor", None))


@router.get("/audit/verify", response_model=ChainOut, responses=documented(),
             summary="Verify the audit log's hash chain and its anchors")
def verify_audit_chain(request: Request) -> dict[str, Any]:
    """Check every event against the one before, and hold the log to every anchor
    of it in the object store (a log cut off at its end or rewritten whole);
    names the first event that does not fit and every anchor the log fails.
    The same check as `strongroom audit verify --json`."""
    from ingest.anchoring import verify_audit_log

    return verify_audit_log(request.app.state.strongroom.services).to_dict()
