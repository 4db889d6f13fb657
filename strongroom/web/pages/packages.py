"""Packages: search them, and read one package (its record, versions, files,
downloads, and for preservation roles its copies' fixity and its audit events).

The same use cases as ``strongroom show`` / ``GET /packages/{id}`` (package
report, version history), ``GET /packages`` (find_packages), ``GET
/packages/{id}/fixity-checks`` and ``strongroom audit log --package`` (the
package's events).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from ingest.access import PackageSort, Permission, QueryInvalid, find_packages, may, package_query
from ingest.accounts import SessionInfo
from ingest.errors import Deaccessioned, InputError, NotFound
from ingest.file_formats import file_format
from ingest.fixity_history import copy_histories
from ingest.layout import delivered_files
from ingest.record_schema import DEFAULT_SCHEMA, SchemaSet
from ingest.version_changes import version_history
from strongroom.reports import describe_actor, event_report
from strongroom.web.guard import person
from strongroom.web.record_text import install_filters
from strongroom.web.render import ENVIRONMENT, render

router = APIRouter()
install_filters(ENVIRONMENT)

#: packages on one page of results
PAGE = 25
#: audit events shown on a package's page (the newest); the Audit page has them all
EVENTS_SHOWN = 100

#: the orders offered, as people read them
SORTS = (
    (PackageSort.IDENTIFIER.value, "Identifier (A to Z)"),
    (PackageSort.TITLE.value, "Title (A to Z)"),
    (PackageSort.DATE.value, "Date of the record (earliest first)"),
    (PackageSort.DATE_LATEST.value, "Date of the record (latest first)"),
    (PackageSort.NEWEST.value, "Newest version first"),
)
_FIELDS = ("identifier", "title", "creator", "collection", "type", "date_from", "date_to")


def _record_types() -> list[str]:
    schema = SchemaSet.default().document(DEFAULT_SCHEMA)
    values = schema.get("properties", {}).get("type", {}).get("enum", [])
    return [v for v in values if isinstance(v, str)]


RECORD_TYPES = _record_types()


@router.get("/console/packages")
def packages_page(
    request: Request, session: Annotated[SessionInfo, Depends(person(Permission.READ_PACKAGES))],
    identifier: Annotated[str, Query(max_length=1000)] = "",
    title: Annotated[str, Query(max_length=1000)] = "",
    creator: Annotated[str, Query(max_length=1000)] = "",
    collection: Annotated[str, Query(max_length=1000)] = "",
    type: Annotated[str, Query(max_length=200)] = "",
    date_from: Annotated[str, Query(max_length=100)] = "",
    date_to: Annotated[str, Query(max_length=100)] = "",
    sort: Annotated[str, Query(max_length=40)] = PackageSort.IDENTIFIER.value,
    cursor: Annotated[str | None, Query(max_length=4000)] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
) -> Response:
    form = {"identifier": identifier, "title": title, "creator": creator,
            "collection": collection, "type": type,
            "date_from": date_from, "date_to": date_to,
            "sort": sort if sort in dict(SORTS) else PackageSort.IDENTIFIER.value}
    # an order this list does not know is said, as a date that is not one is, not replaced unsaid
    bad_sort = {} if sort in dict(SORTS) else {
        "sort": f"{sort!r} is not an order this list knows: choose one of "
                f"{', '.join(label for _, label in SORTS)}"}
    problems: dict[str, str] = {}
    hits: list[Any] = []
    matched: tuple[int, bool] | None = None
    next_url = None
    try:
        query = package_query(identifier=identifier, title=title, creator=creator,
                              collection=collection, type=type, date_from=date_from,
                              date_to=date_to)
        if bad_sort:
            raise QueryInvalid(bad_sort)
        found = find_packages(request.app.state.strongroom.services.catalog, query,
                              sort=form["sort"], cursor=cursor, limit=PAGE)
        hits = found.packages
        matched = (found.matched, found.matched_more)
        if found.next_cursor:
            next_url = _search_url(form, cursor=found.next_cursor, page=page + 1)
    except QueryInvalid as exc:
        problems = {**exc.problems, **bad_sort}
    except InputError:  # a cursor that is not ours, or of another order
        problems = {"cursor": "This link to a page of results is out of date or incomplete. "
                              "Search again from the first page."}
    searched = any(form[name] for name in _FIELDS)
    return render(request, "packages.html", title="Packages", form=form, sorts=SORTS,
                  types=RECORD_TYPES, hits=hits, matched=matched, problems=problems,
                  searched=searched,
                  page=page, next_url=next_url,
                  first_url=_search_url(form) if page > 1 or cursor else None,
                  status=400 if problems else 200)


def _search_url(form: dict[str, str], **more: Any) -> str:
    params = {k: v for k, v in form.items() if v and not (k == "sort" and v == "identifier")}
    params.update({k: v for k, v in more.items() if v is not None})
    return "/console/packages" + ("?" + urlencode(params) if params else "")


@router.get("/console/packages/{package_ref:path}")
def package_page(
    request: Request, package_ref: str,
    session: Annotated[SessionInfo, Depends(person(Permission.READ_PACKAGES))],
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    catalog = request.app.state.strongroom.services.catalog
    try:
        package_id = catalog.resolve_package(package_ref)
        steps = version_history(catalog, package_id)
    except Deaccessioned as exc:
        # The tombstone: what was withdrawn, when, why, who asked and who approved
        # (never the record's title, which the tombstone does not keep).
        return render(request, "tombstone.html", status=410,
                      title=f"Deaccessioned: {exc.tombstone.identifier}", tombstone=exc.tombstone)
    except NotFound:
        return render(request, "error.html", status=404, title="No such package",
                      message=f"No package has the id or identifier {package_ref!r}. "
                              "Search for it on the Packages page.")
    latest = steps[-1].version
    shown = next((s for s in steps if s.version.number == version), steps[-1])
    files = [_file_view(package_id, shown.version.number, f)
             for f in delivered_files(shown.version.files)]
    preserve = may(session.account.role, Permission.PRESERVE)
    histories: list[Any] = []
    copies: dict[int, list[Any]] = {}
    deep_checked: set[tuple[int, str | None]] = set()
    events: list[dict[str, Any]] = []
    events_total = 0
    if preserve:
        all_events = list(catalog.events(package_id))
        histories = copy_histories(all_events)
        copies = {s.version.number: catalog.list_copies(package_id, s.version.number) for s in steps}
        # A copy's "verified" note of the day it was stored is the size check of
        # its writing, not a deep check: said as such until one is recorded.
        deep_checked = {(h.version, h.location) for h in histories
                        if any(c.tier == "deep" for c in h.checks)}
        events_total = len(all_events)
        events = [_event_view(e) for e in reversed(all_events[-EVENTS_SHOWN:])]
    return render(
        request, "package.html", title=latest.title or latest.identifier,
        package_id=package_id, latest=latest, record=_record_view(latest.record),
        steps=list(reversed(steps)),
        shown=shown.version, payload=[f for f in files if f["payload"]],
        tags=[f for f in files if not f["payload"]],
        bag_url=lambda n, fmt: f"/packages/{quote(package_id, safe='')}/versions/{n}/bag?format={fmt}",
        preserve=preserve, histories=histories, copies=copies, deep_checked=deep_checked,
        events=events,
        events_total=events_total, search_url=_search_url, describe=describe_actor,
        withdrawn=catalog.tombstones(package_id))


#: the record's fields the page reads, and the members of those that are objects
_RECORD_FIELDS = ("title", "date", "creators", "recipients", "type", "language", "description",
                  "source", "rights", "subjects", "places", "collection", "source_system")
_MEMBERS = {"source": ("repository", "citation", "document_number", "url"),
            "rights": ("statement", "holder", "contact", "uri"),
            "source_system": ("name", "record_id", "uploaded")}


def _record_view(record: dict[str, Any]) -> dict[str, Any]:
    """The record with every field the page reads present (None when the record
    has none), so that a record of another schema still renders."""
    view: dict[str, Any] = {name: record.get(name) for name in _RECORD_FIELDS}
    for name, members in _MEMBERS.items():
        value = view[name]
        view[name] = {m: value.get(m) for m in members} if isinstance(value, dict) else None
    for name in ("creators", "recipients", "subjects", "places"):
        if not isinstance(view[name], list):
            view[name] = []
    return view


def _file_view(package_id: str, number: int, stored: Any) -> dict[str, Any]:
    found = file_format(stored)
    return {"path": stored.path, "size": stored.size, "sha256": stored.sha256,
            "sha512": stored.sha512, "payload": stored.is_payload, "held_by": stored.held_by,
            "format": found,
            "url": f"/packages/{quote(package_id, safe='')}/versions/{number}/files/"
                   + quote(stored.path, safe="/")}


def _event_view(event: Any) -> dict[str, Any]:
    out = event_report(event)
    out["who"] = describe_actor(out["actor"]) if out["actor"] else "not recorded"
    findings = (out["detail"] or {}).get("findings")
    out["findings"] = [f for f in findings if isinstance(f, dict)] if isinstance(findings, list) else []
    return out
