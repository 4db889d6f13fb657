"""Console sessions on the HTTP side: the cookie, who is signed in, and CSRF.

The cookie holds a random secret (``ingest.accounts``); it is ``HttpOnly``,
``SameSite=Strict``, ``Path=/`` and, over https, ``Secure`` under the
``__Host-`` prefix (which browsers bind to this host and path). Every
state-changing form carries the session's CSRF token, and a request whose
``Origin`` (or, failing that, ``Referer``) names another site is refused
before the token is even looked at. The sign-in form, which has no session
yet, is protected by a double-submit token in a short-lived cookie of its own.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response

from ingest.accounts import SessionInfo, open_session

COOKIE = "strongroom_session"
SECURE_COOKIE = "__Host-strongroom_session"
SIGN_IN_COOKIE = "strongroom_sign_in"
SECURE_SIGN_IN_COOKIE = "__Host-strongroom_sign_in"


def _state(request: Request) -> Any:
    return request.app.state.strongroom


def is_secure(request: Request) -> bool:
    """Whether this request's cookies are marked Secure (STRONGROOM_COOKIE_SECURE)."""
    mode = _state(request).settings.cookie_secure
    return mode == "always" or (mode == "auto" and request.url.scheme == "https")


def _cookie_name(request: Request, plain: str, secure: str) -> str:
    return secure if is_secure(request) else plain


def session_secret(request: Request) -> str:
    return request.cookies.get(SECURE_COOKIE) or request.cookies.get(COOKIE) or ""


def current_session(request: Request) -> SessionInfo | None:
    """The live console session of this request, or None. Blocking (reads the
    catalog): call it from a sync route or a thread."""
    if hasattr(request.state, "console_session"):
        return request.state.console_session
    state = _state(request)
    session = open_session(state.services.catalog, session_secret(request), state.services.clock.now(),
                           timedelta(minutes=state.settings.session_idle_minutes))
    request.state.console_session = session
    return session


def set_session_cookie(request: Request, response: Response, secret: str) -> None:
    response.set_cookie(_cookie_name(request, COOKIE, SECURE_COOKIE), secret, path="/", httponly=True,
                        samesite="strict", secure=is_secure(request))


def clear_session_cookie(request: Request, response: Response) -> None:
    for name in (COOKIE, SECURE_COOKIE):
        if name in request.cookies:
            response.delete_cookie(name, path="/", httponly=True, samesite="strict",
                                   secure=name == SECURE_COOKIE)


def sign_in_token(request: Request) -> str:
    """The token the sign-in form carries: the one in this browser's sign-in
    cookie, or a new one (``set_sign_in_cookie`` sets it: double submit)."""
    token = request.cookies.get(SECURE_SIGN_IN_COOKIE) or request.cookies.get(SIGN_IN_COOKIE)
    if not token or len(token) > 100:
        token = secrets.token_urlsafe(32)
    return token


def set_sign_in_cookie(request: Request, response: Response, token: str) -> None:
    response.set_cookie(_cookie_name(request, SIGN_IN_COOKIE, SECURE_SIGN_IN_COOKIE), token, path="/",
                        httponly=True, samesite="strict", secure=is_secure(request), max_age=3600)


def sign_in_token_matches(request: Request, presented: str | None) -> bool:
    expected = request.cookies.get(SECURE_SIGN_IN_COOKIE) or request.cookies.get(SIGN_IN_COOKIE) or ""
    return bool(expected) and bool(presented) and hmac.compare_digest(expected.encode(), (presented or "").encode())


def same_origin(request: Request) -> bool:
    """False when the request says it comes from a page of another site. Browsers
    send ``Origin`` on every POST; a request with neither header (a script
    without a browser) is judged by its CSRF token alone."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        return source != "null"
    parts = urlsplit(source)
    return (parts.scheme, parts.netloc) == (request.url.scheme, request.url.netloc)
