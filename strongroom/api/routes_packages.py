"""Reading packages: list and search, one package, a whole bag, one file (with Range),
a presigned S3 URL of one file."""

from __future__ import annotations

import base64
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse

from ingest.access import MAX_PAGE, PackageHit, PackageSort, find_packages, package_query
from ingest.errors import NotFound, PresignUnsupported
from ingest.file_formats import served_media_type
from ingest.layout import delivered_files
from ingest.models import StoredFile, VersionRecord
from ingest.ports import MAX_PRESIGN_SECONDS
from ingest.retrieval import file_range, presigned_checked
from strongroom.api.auth import Permission, acting_services, require
from strongroom.api.delivery import bag_chunks, primed
from strongroom.api.models import PackageListOut, PackageOut, PresignedUrlOut
from strongroom.api.paths import PackageRef, VersionRef
from strongroom.api.problems import ApiProblem, documented
from strongroom.reports import package_report

router = APIRouter(tags=["packages"], dependencies=[Depends(require(Permission.READ_PACKAGES))])

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$", re.IGNORECASE)  # units are case-insensitive



def _services(request: Request) -> Any:
    # Acting for the request's token: damage found while serving names it.
    return acting_services(request)


@router.get("/packages", response_model=PackageListOut, responses=documented(400),
            summary="List and search packages")
def list_packages(
    request: Request,
    identifier: Annotated[str | None, Query(max_length=1000,
                                            description="identifier starts with")] = None,
    title: Annotated[str | None, Query(max_length=1000, description=(
        "every word appears in the title, in any case, with or without accents "
        "(zurich finds Zürich)"))] = None,
    creator: Annotated[str | None, Query(max_length=1000, description=(
        "any part of a creator's name, a person's or a body's (Müller finds Hans Müller), "
        "in any case, with or without accents; several words must stand together "
        "in one name"))] = None,
    collection: Annotated[str | None, Query(max_length=1000, description=(
        "the collection's whole name, in any case, with or without accents"))] = None,
    type: Annotated[str | None, Query(max_length=200)] = None,
    date_from: Annotated[str | None, Query(max_length=40, description=(
        "ISO 8601 year, month or day (1951, 1951-06, 1951-06-21); a day that is "
        "no day, or a range that ends before it starts, is refused (400)"))] = None,
    date_to: Annotated[str | None, Query(max_length=40)] = None,
    sort: Annotated[PackageSort, Query(
        description="identifier; title (A to Z); date (the record's, earliest first); "
                    "-date (latest first); newest (latest version committed most recently "
                    "first). A cursor continues the order it came from.")] = PackageSort.IDENTIFIER,
    cursor: Annotated[str | None, Query(max_length=4000)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> dict[str, Any]:
    """Packages with a committed version, in identifier order (or ``sort``), a page
    at a time, and how many match in all (counted up to 1000). Filters combine; the
    date range matches records whose date overlaps it."""

    # The same reading of a search as the console's: blank is no filter, a date
    # must be one (month 13 was let through before), a range must not run backwards.
    query = package_query(identifier=identifier or "", title=title or "",
                          creator=creator or "", collection=collection or "",
                          type=type or "", date_from=date_from or "", date_to=date_to or "")
    page = find_packages(_services(request).catalog, query, sort=sort.value, cursor=cursor,
                         limit=limit)
    return {"packages": [_hit_out(hit) for hit in page.packages], "next_cursor": page.next_cursor,
            "matched": {"count": page.matched, "more": page.matched_more}}


def _hit_out(hit: PackageHit) -> dict[str, Any]:
    out = vars(hit).copy()
    out["updated_at"] = hit.updated_at.isoformat().replace("+00:00", "Z") if hit.updated_at else None
    return out


@router.get("/packages/{package_id}", response_model=PackageOut, responses=documented(404, 410),
            summary="One package: metadata, versions, manifest")
def show_package(request: Request, package_id: PackageRef) -> dict[str, Any]:
    """The latest metadata, and every version with its files and digests."""
    catalog = _services(request).catalog
    return package_report(catalog, catalog.resolve_package(package_id))


_BAG_MEDIA = {"tar": "application/x-tar", "zip": "application/zip"}


@router.get("/packages/{package_id}/versions/{number}/bag", summary="Fetch a whole bag",
            response_class=StreamingResponse,
            responses={200: {"description": "the bag, streamed; cut short if stored bytes "
                                            "do not match the catalog",
                             "content": {m: {"schema": {"type": "string", "format": "binary"}}
                                         for m in _BAG_MEDIA.values()}},
                       **documented(404, 410, 500, 505)})
def fetch_bag(request: Request, package_id: PackageRef, number: VersionRef,
              format: Literal["tar", "zip"] = "tar") -> StreamingResponse:
    """One version's complete bag as one archive, streamed without a temporary file;
    every byte is checked against the catalog on the way out. ``HEAD`` answers the
    headers without reading the bag. Refused over HTTP/1.0 (505): without chunked
    encoding, a stream cut on damage ends as a closed connection, which a client
    cannot tell from the end of a whole bag."""
    if request.scope.get("http_version") == "1.0":
        raise ApiProblem(505, "http-version-not-supported", "HTTP/1.1 needed",
                         "a bag is streamed without a known length: over HTTP/1.0 a stream "
                         "cut short on damage would end like a whole one; ask over HTTP/1.1")
    services = _services(request)
    version = services.catalog.get_version(services.catalog.resolve_package(package_id), number)
    return StreamingResponse(primed(bag_chunks(services, version, format)), media_type=_BAG_MEDIA[format],
                             headers=_bag_headers(version, format))


@router.head("/packages/{package_id}/versions/{number}/bag", include_in_schema=False)
def bag_headers(request: Request, package_id: PackageRef, number: VersionRef,
                format: Literal["tar", "zip"] = "tar") -> Response:
    """What GET would answer, without reading the bag (its length is known only once streamed)."""
    services = _services(request)
    version = services.catalog.get_version(services.catalog.resolve_package(package_id), number)
    reply = Response(media_type=_BAG_MEDIA[format], headers=_bag_headers(version, format))
    del reply.headers["content-length"]
    return reply


def _bag_headers(version: VersionRecord, fmt: str) -> dict[str, str]:
    name = f"{version.package_id}_v{version.number}.{fmt}"
    return {"Content-Disposition": f'attachment; filename="{name}"'}


@router.get("/packages/{package_id}/versions/{number}/files/{path:anypath}",
            summary="Fetch one file, whole or a byte range",
            response_class=StreamingResponse,
            responses={200: {"description": "the whole file, as the media type identified "
                                            "at ingest (application/octet-stream when unknown)",
                             "content": {"*/*":
                                         {"schema": {"type": "string", "format": "binary"}}}},
                       206: {"description": "one byte range of the file",
                             "content": {"*/*":
                                         {"schema": {"type": "string", "format": "binary"}}}},
                       304: {"description": "If-None-Match named the file's ETag (its SHA-256): "
                                            "not sent again"},
                       **documented(404, 410, 416, 500)})
def fetch_file(request: Request, package_id: PackageRef, number: VersionRef,
               path: Annotated[str, Path(description="path in the bag, e.g. data/scan.tif")],
               range: Annotated[str | None, Header(max_length=200)] = None,
               if_range: Annotated[str | None, Header(max_length=200)] = None,
               if_none_match: Annotated[str | None, Header(max_length=2000)] = None,
               ) -> Response:
    """One file of a version (payload or tag file). Honours a single ``Range: bytes=``
    (the unit in any case); other range forms get the whole file. ``If-Range`` with
    another ETag than the file's (another version's bytes: ``latest`` moved on)
    gets the whole file, never a range of other bytes; ``If-None-Match`` with its
    ETag gets ``304``. The ETag is the file's SHA-256. ``HEAD`` answers the same
    headers without the body."""
    services = _services(request)
    version, stored = _stored_file(services, package_id, number, path)
    first, last, status, headers = _file_answer(stored, range, if_range)
    if _matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers={"ETag": headers["ETag"]})
    return StreamingResponse(primed(file_range(services, version, stored, first, last)),
                             status_code=status, media_type=served_media_type(stored),
                             headers=headers)


@router.head("/packages/{package_id}/versions/{number}/files/{path:anypath}", include_in_schema=False)
def file_headers(request: Request, package_id: PackageRef, number: VersionRef,
                 path: Annotated[str, Path()],
                 range: Annotated[str | None, Header(max_length=200)] = None,
                 if_range: Annotated[str | None, Header(max_length=200)] = None,
                 if_none_match: Annotated[str | None, Header(max_length=2000)] = None,
                 ) -> Response:
    """What GET would answer (status, length, digests), without reading the file."""
    _, stored = _stored_file(_services(request), package_id, number, path)
    _, _, status, headers = _file_answer(stored, range, if_range)
    if _matches(if_none_match, headers["ETag"]):
        return Response(status_code=304, headers={"ETag": headers["ETag"]})
    return Response(status_code=status, media_type=served_media_type(stored), headers=headers)


def _matches(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weakly compared, RFC 9110) or is ``*``."""
    if not if_none_match:
        return False
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return "*" in tags or etag in tags


def _file_answer(stored: StoredFile, range: str | None,
                 if_range: str | None = None) -> tuple[int, int, int, dict[str, str]]:
    """(first, last, status, headers) of the answer to a GET of one file; a range
    only when ``If-Range``, if given, is this file's ETag (strongly compared: a
    date or another tag is other bytes, or may be). Raises the 416 problem."""
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{stored.sha256}"',
        "Repr-Digest": f"sha-256=:{_b64(stored.sha256)}:, sha-512=:{_b64(stored.sha512)}:",
        **_served_file_headers(stored),
    }
    same = if_range is None or if_range.strip() == headers["ETag"]
    wanted = _byte_range(range, stored.size) if same else None
    if wanted is None:
        first, last, status = 0, stored.size - 1, 200
    else:
        (first, last), status = wanted, 206
        headers["Content-Range"] = f"bytes {first}-{last}/{stored.size}"
    headers["Content-Length"] = str(last - first + 1)
    return first, last, status, headers


@router.get("/packages/{package_id}/versions/{number}/presigned/{path:anypath}",
            response_model=PresignedUrlOut, responses=documented(404, 409, 410),
            summary="A short-lived presigned S3 URL of one file")
def presign_file(request: Request, package_id: PackageRef, number: VersionRef,
                 path: Annotated[str, Path(description="path in the bag, e.g. data/scan.tif")],
                 expires: Annotated[int | None, Query(
                     ge=1, le=MAX_PRESIGN_SECONDS,
                     description="seconds the URL works (default "
                                 "STRONGROOM_API_PRESIGN_SECONDS, 300)")] = None,
                 ) -> dict[str, Any]:
    """A URL that fetches one file of a committed version straight from S3, with no
    token, until ``expires_at``. Such a download bypasses this service's check on
    the way out: compare the bytes with ``sha256``/``sha512`` and ``size``. A
    filesystem store cannot presign (409 ``presign-unsupported``)."""
    state = request.app.state.strongroom
    # Acting for the request's token: a refusal is recorded as damage, naming it.
    services = _services(request)
    version, stored = _stored_file(services, package_id, number, path)
    seconds = expires or state.settings.api_presign_seconds
    # The signature counts from the wall clock botocore signs with, so the
    # expiry is reported from that clock too, not from services.clock.
    signed_at = datetime.now(UTC).replace(microsecond=0)
    try:
        url = presigned_checked(services, version, stored, seconds)
    except PresignUnsupported:
        # No store location here: problem details never show the server's paths.
        raise PresignUnsupported(f"this object store cannot presign; "
                                 f"GET …/versions/{version.number}/files/{path} instead") from None
    expires_at = (signed_at + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")
    return {"url": url, "expires_at": expires_at,
            "sha256": stored.sha256, "sha512": stored.sha512, "size": stored.size}


def _stored_file(services: Any, package_ref: str, number: int | None,
                 path: str) -> tuple[VersionRecord, StoredFile]:
    """One file of a committed version. Raises PackageNotFound, VersionNotFound,
    NotFound (no such file)."""
    version = services.catalog.get_version(services.catalog.resolve_package(package_ref), number)
    stored = next((f for f in delivered_files(version.files) if f.path == path), None)
    if stored is None:
        raise NotFound(f"version {version.number} of {version.package_id} has no file {path!r}")
    return version, stored


#: Served files a browser may show in place: images and plain text, which run
#: nothing. Every other type (HTML, SVG, PDF, scripts...) is an attachment.
_SHOWN_IN_PLACE = ("image/png", "image/jpeg", "image/gif", "image/tiff", "image/jp2",
                   "image/webp", "text/plain")


def _served_file_headers(stored: StoredFile) -> dict[str, str]:
    """Headers that keep a stored file from acting on this site. Files are
    served with their identified media type, and an archive holds whatever its
    depositors sent: HTML with scripts too. Served from the console's own
    origin, such a file must not run with a person's session, so every file is
    sandboxed (a unique origin, no script, no form, no plugin) and anything but
    an image or plain text is downloaded, not shown."""
    media_type = served_media_type(stored)
    name = stored.path.rsplit("/", 1)[-1]
    how = "inline" if media_type in _SHOWN_IN_PLACE else "attachment"
    # the plain filename: printable ASCII only (a name may hold a line break: RFC 8493
    # encodes it as %0A); the exact name goes in filename*, percent-encoded
    ascii_name = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    return {
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; "
                                   "style-src 'unsafe-inline'",
        "Content-Disposition": f'{how}; filename="{ascii_name}"; '
                               f"filename*=UTF-8''{quote(name, safe='')}",
    }


def _b64(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) of a single satisfiable ``bytes=`` range; None to send the
    whole file (no header, or a form we do not serve). Raises the 416 problem."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None or match.group(1) == match.group(2) == "":
        return None
    start, end = match.group(1), match.group(2)
    if start == "":  # the last N bytes
        length = int(end)
        if length == 0 or size == 0:
            raise _unsatisfiable(header, size)
        return max(size - length, 0), size - 1
    first = int(start)
    last = min(int(end), size - 1) if end else size - 1
    if end and int(end) < first:
        return None  # syntactically invalid: RFC 9110 says ignore it
    if first >= size:
        raise _unsatisfiable(header, size)
    return first, last


def _unsatisfiable(header: str, size: int) -> ApiProblem:
    return ApiProblem(416, "range-not-satisfiable", "Range not satisfiable",
                      f"{header} is outside the file's {size} bytes",
                      headers={"Content-Range": f"bytes */{size}"})
