"""Errors as RFC 9457 problem details, in one place.

Domain errors carry no HTTP status: this module alone decides which status and
problem type each one becomes. A problem's ``type`` names a finding code or an
error kind (``urn:strongroom:problem:archive-unsafe-member``), so a client keys
on it exactly as the CLI's ``--json`` users key on finding codes; ``findings``
lists every finding, with its path or JSON pointer, as ``strongroom status``
shows them.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingest.errors import (
    ArchiveRefused,
    CatalogUnavailable,
    Deaccessioned,
    DeaccessionRefused,
    DeliveryRefused,
    InputError,
    NotFound,
    PresignUnsupported,
    QueueUnavailable,
    StorageUnavailable,
    StrongroomError,
)
from ingest.health import without_credentials

MEDIA_TYPE = "application/problem+json"
_log = logging.getLogger("strongroom.api")


class Problem(BaseModel):
    """An RFC 9457 problem document."""

    type: str = Field(description="URI naming the kind of problem")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    findings: list[dict[str, Any]] | None = Field(
        default=None, description="every finding, each with its stable code")
    deaccession: dict[str, Any] | None = Field(
        default=None, description="(410) the tombstone: what was deaccessioned, when, why, "
                                  "who asked and who approved")


class ApiProblem(Exception):
    """A refusal decided by the HTTP layer itself (authentication, limits)."""

    def __init__(self, status: int, kind: str, title: str, detail: str | None = None,
                 headers: dict[str, str] | None = None,
                 findings: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail or title)
        self.status, self.kind, self.title, self.detail = status, kind, title, detail
        self.headers = headers or {}
        self.findings = findings


class BodyTooLarge(StarletteHTTPException):
    """A request body past its bound (``strongroom.api.body_limit``). An HTTP
    exception, not an ``ApiProblem``: it is raised while FastAPI reads a body,
    which turns any other exception there into a 400."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"this request takes a body of at most {limit} bytes "
                              f"(uploads go to POST /batches)",
                         headers={"Connection": "close"})  # the rest of the body is not read


def body_too_large(request_path: str, exc: BodyTooLarge) -> JSONResponse:
    return problem_response(413, "body-too-large", "The request body is too large", str(exc.detail),
                            instance=request_path, headers=exc.headers)


def unauthorized(detail: str) -> ApiProblem:
    return ApiProblem(401, "unauthorized", "Authentication required", detail,
                      headers={"WWW-Authenticate": 'Bearer realm="strongroom"'})


def forbidden(detail: str) -> ApiProblem:
    return ApiProblem(403, "forbidden", "Not allowed for this token's role", detail)


#: Domain error -> (status, problem kind, title). The first matching class wins.
_DOMAIN: list[tuple[type[StrongroomError], int, str, str]] = [
    (ArchiveRefused, 422, "archive-refused", "The uploaded archive was refused"),
    # Gone for good, by a decision of two people: the tombstone says when and why.
    (Deaccessioned, 410, "deaccessioned", "Deaccessioned: removed from storage"),
    (NotFound, 404, "not-found", "Not found"),
    (DeaccessionRefused, 409, "deaccession-refused", "The deaccession step was refused"),
    (InputError, 400, "bad-input", "The request cannot be used"),
    # 409, not 404: the file exists; this store (a filesystem) cannot presign, so
    # fetch it through the API's file route instead.
    (PresignUnsupported, 409, "presign-unsupported",
     "The object store cannot issue presigned URLs; fetch the file through the API"),
    # The stored copy failed its check on the way out; nothing of it was sent.
    (DeliveryRefused, 500, "delivery-refused",
     "A stored file does not match its digests; it was not delivered"),
    (CatalogUnavailable, 503, "catalog-unavailable", "The catalog cannot be reached; try again"),
    (StorageUnavailable, 503, "storage-unavailable", "Storage cannot be reached; try again"),
    (QueueUnavailable, 503, "queue-unavailable", "The work queue cannot be reached; try again"),
]


def problem_type(kind: str) -> str:
    """The ``type`` URI of a problem kind or finding code."""
    return "urn:strongroom:problem:" + kind.lower().replace("_", "-")


def problem_response(status: int, kind: str, title: str, detail: str | None = None, *,
                     instance: str | None = None, headers: Mapping[str, str] | None = None,
                     findings: list[dict[str, Any]] | None = None,
                     deaccession: dict[str, Any] | None = None) -> JSONResponse:
    """A problem+json response."""
    body = Problem(type=problem_type(kind), title=title, status=status, detail=detail,
                   instance=instance, findings=findings, deaccession=deaccession)
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status,
                        media_type=MEDIA_TYPE, headers=dict(headers) if headers else None)


def _domain(request: Request, exc: StrongroomError) -> JSONResponse:
    for cls, status, kind, title in _DOMAIN:
        if isinstance(exc, cls):
            findings = None
            tombstone: dict[str, Any] | None = None
            if isinstance(exc, (ArchiveRefused, DeliveryRefused)):
                findings = [f.to_dict() for f in exc.findings]
                if isinstance(exc, ArchiveRefused):
                    kind = exc.findings[0].code if exc.findings else kind
            if isinstance(exc, DeaccessionRefused):
                findings, kind = [exc.finding.to_dict()], exc.finding.code
            if isinstance(exc, Deaccessioned):
                tombstone = exc.tombstone.to_dict()
                tombstone.pop("versions", None)  # the files' digests: GET /deaccessions/{id}
            headers = {"Retry-After": "30"} if status == 503 else None
            detail = str(exc)
            if status == 503:
                # What was out of reach, and how, is for the operator's log, not for
                # whoever asked (a token not yet checked, even): hosts, ports and
                # database names stay on this side, as /readyz keeps them.
                _log.warning("%s on %s: %s", kind, request.url.path, without_credentials(detail))
                detail = "try again in a moment; the operator's log says what is out of reach"
            return problem_response(status, kind, title, detail, instance=request.url.path,
                                    headers=headers, findings=findings, deaccession=tombstone)
    _log.error("unexpected domain error on %s: %s", request.url.path, type(exc).__name__)
    return problem_response(500, "internal", "Internal error", type(exc).__name__,
                            instance=request.url.path)


def _said(error: dict[str, Any]) -> str:
    """One validation error in words: a body that is not JSON says where it breaks."""
    where = ".".join(str(p) for p in error.get("loc", ()))
    if error.get("type") == "json_invalid":
        loc = error.get("loc", ())
        at = f" at character {loc[1]}" if len(loc) > 1 else ""
        reason = (error.get("ctx") or {}).get("error")
        return f"the body is not JSON{at}" + (f" ({reason})" if reason else "")
    return f"{where}: {error.get('msg')}"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem+json, and make the
    OpenAPI document say so."""

    @app.exception_handler(ApiProblem)
    async def api_problem(request: Request, exc: ApiProblem) -> JSONResponse:
        return problem_response(exc.status, exc.kind, exc.title, exc.detail,
                                instance=request.url.path, headers=exc.headers,
                                findings=exc.findings)

    @app.exception_handler(StrongroomError)
    async def domain_error(request: Request, exc: StrongroomError) -> JSONResponse:
        return _domain(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail = "; ".join(_said(e) for e in exc.errors())
        return problem_response(422, "invalid-request", "The request is not valid", detail,
                                instance=request.url.path)

    @app.exception_handler(BodyTooLarge)
    async def too_large(request: Request, exc: BodyTooLarge) -> JSONResponse:
        return body_too_large(request.url.path, exc)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(exc.status_code, f"http-{exc.status_code}", str(exc.detail),
                                instance=request.url.path, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A defect of ours: the client gets a problem like every other answer, with
        # nothing of the server in it; the traceback goes to the operator's log (the
        # server raises the exception again once this answer is sent).
        return problem_response(500, "internal", "Internal error",
                                "the server met an error it did not expect; the operator's "
                                "log has it", instance=request.url.path)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version,
                                 description=app.description, routes=app.routes)
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if status[0] in "45" and "application/json" in content:
                            content[MEDIA_TYPE] = content.pop("application/json")
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_DESCRIPTIONS = {
    400: "The request cannot be used (a bad cursor, a bad parameter)",
    401: "No token, or a token that is unknown or revoked",
    403: "The token's role may not do this",
    404: "No such package, version, file or batch",
    408: "The upload stalled; nothing of it was kept",
    409: "The object store cannot issue presigned URLs (a filesystem store)",
    410: "The package or version was deaccessioned: `deaccession` says when, why, who asked "
         "and who approved (type urn:strongroom:problem:deaccessioned)",
    413: "The upload is larger than this service accepts",
    415: "The body is neither a zip nor a tar",
    416: "The requested range is outside the file",
    422: "The request or the uploaded archive was refused; findings say why",
    500: "A stored file does not match its digests: nothing of it was sent (the damage "
         "is recorded as a failed fixity check)",
    503: "The catalog, storage or work queue cannot be reached; try again",
    505: "HTTP/1.0: a bag is streamed without a known length, and over HTTP/1.0 a stream "
         "cut short on damage would end like a whole one; ask over HTTP/1.1",
}


def documented(*statuses: int,
               described: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """The error responses of a route, for its OpenAPI entry (401 and 403 always);
    ``described`` gives a status this route's own description."""
    wanted = sorted({401, 403, 422, 503, *statuses, *(described or {})})
    return {status: {"model": Problem,
                     "description": (described or {}).get(status) or _DESCRIPTIONS[status]}
            for status in wanted}
