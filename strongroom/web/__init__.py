"""The web console: pages for archive staff, preservation officers and readers.

Served by ``strongroom serve`` on the same port as the API, under
``/console/``; assets under ``/static/`` (nothing from another site). Each
page parses the request, calls a use case of ``ingest`` and renders a Jinja2
template: no business rule lives here.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from ingest.errors import StrongroomError
from strongroom.api.problems import ApiProblem
from strongroom.api.session import current_session
from strongroom.web.guard import FormRefused, PageForbidden, SignInNeeded, sign_in_path
from strongroom.web.render import render

STATIC = Path(__file__).parent / "static"

#: The page modules (strongroom.web.pages.*), each with a ``router``.
PAGE_MODULES = (
    "sign_in",
    "home",
    "preservation",
    "audit",
    "admin",
    "deaccession",
    "submit",
    "batch",
    "packages",
)

#: What every response carries: no script but our own files, no framing, no
#: sniffing, no referrer to other sites.
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; "
                                "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                                "object-src 'none'; base-uri 'none'; form-action 'self'; "
                                "frame-ancestors 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def install(app: FastAPI) -> None:
    """Add the console's pages, its assets and its security headers to ``app``."""
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    for name in PAGE_MODULES:
        module = importlib.import_module(f"strongroom.web.pages.{name}")
        app.include_router(module.router, include_in_schema=False)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/console/", status_code=303)

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        return RedirectResponse(sign_in_path(exc.back_to), status_code=303)

    @app.exception_handler(PageForbidden)
    async def forbidden(request: Request, exc: PageForbidden) -> Response:
        return render(request, "error.html", status=403, title="Not for your role",
                      message=exc.message + " Ask an administrator if you need it.")

    @app.exception_handler(FormRefused)
    async def form_refused(request: Request, exc: FormRefused) -> Response:
        return render(request, "error.html", status=403, title="Form refused",
                      message="This form was not sent from a page of this console in your "
                              "current session (it may be old, or come from another site). "
                              "Open the page again and resend it.")

    _pages_for_people(app)
    app.add_middleware(SecurityHeaders)


#: the API's errors a person's browser may meet: a console address that is no
#: page, a bad query on a page, a download refused (damage found on the way out),
#: an error of ours the server did not expect
_PAGE_ERRORS = (StarletteHTTPException, RequestValidationError, StrongroomError, ApiProblem, Exception)


def _wants_a_page(request: Request) -> bool:
    """A console address, or a browser's own navigation (it asks for HTML first):
    a person reads the answer, not a program."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/console") or accept.startswith("text/html")


def _in_words(error: Any) -> str:
    """One of FastAPI's validation errors as a person reads it: "page must be at least 1"."""
    name = str((error.get("loc") or ("value",))[-1])
    kind, ctx = error.get("type", ""), error.get("ctx") or {}
    said = {"greater_than_equal": f"must be at least {ctx.get('ge')}",
            "greater_than": f"must be more than {ctx.get('gt')}",
            "less_than_equal": f"must be at most {ctx.get('le')}",
            "int_parsing": "must be a whole number",
            "string_too_long": f"must be at most {ctx.get('max_length')} characters",
            "missing": "is missing",
            "literal_error": f"must be one of {ctx.get('expected')}"}.get(kind)
    return f"{name} {said}" if said else f"{name}: {error.get('msg')}"


def _pages_for_people(app: FastAPI) -> None:
    """Wrap the API's error handlers so that what a person meets in a browser is a
    console page saying the same thing (its title and detail, its status), and
    what a program meets stays the problem+json it was."""
    for kind in _PAGE_ERRORS:
        answer = app.exception_handlers.get(kind)
        if answer is None:  # an app without the API's handlers: nothing to wrap
            continue

        async def as_page(request: Request, exc: Exception, answer: Any = answer) -> Response:
            response: Response = await answer(request, exc)
            if not _wants_a_page(request):
                return response
            problem = json.loads(bytes(response.body))
            title = str(problem.get("title") or "Error")
            detail = str(problem.get("detail") or problem.get("title") or "")
            if isinstance(exc, StarletteHTTPException) and response.status_code == 404:
                title, detail = "No such page", ("There is no page at this address. Check it, "
                                                 "or start again from the console's home page.")
            elif isinstance(exc, RequestValidationError):
                title, detail = "Not understood", (
                    "This address or form holds a value the console cannot use: "
                    f"{'; '.join(_in_words(e) for e in exc.errors())}. Start again from the "
                    "page that led here.")
            if not hasattr(request.state, "console_session"):
                # The menu of whoever is signed in, on an address no page guarded.
                try:
                    await run_in_threadpool(current_session, request)
                except Exception:  # noqa: BLE001 - a page about an error shows without it
                    request.state.console_session = None
            page = render(request, "error.html", status=response.status_code, title=title,
                          message=detail[:1].upper() + detail[1:])
            for header in ("retry-after", "www-authenticate"):
                if header in response.headers:
                    page.headers[header] = response.headers[header]
            return page

        app.add_exception_handler(kind, as_page)


class SecurityHeaders:
    """ASGI middleware adding ``SECURITY_HEADERS`` to every response it starts.
    Pure ASGI, not ``BaseHTTPMiddleware``: a streamed download that is cut short
    on damage must reach the client cut, exactly as the route ended it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in SECURITY_HEADERS.items()]

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *((k, v) for k, v in self.extra if k not in present)]
            await send(message)

        await self.app(scope, receive, with_headers)
