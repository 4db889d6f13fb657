"""Who may open a page: the same roles and the same table as the API.

``person(permission)`` is a route dependency: without a live session the
browser is sent to the sign-in page (and back afterwards); a role without the
permission gets a 403 page, exactly as the API's ``require`` answers 403 to a
token. ``checked_form(...)`` also refuses a state-changing form without this
session's CSRF token or sent from another site.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from fastapi import Request

from ingest.access import Permission, may
from ingest.accounts import SessionInfo, csrf_matches
from strongroom.api.session import current_session, same_origin


class SignInNeeded(Exception):
    """No live session: the browser goes to the sign-in page."""

    def __init__(self, back_to: str) -> None:
        super().__init__(back_to)
        self.back_to = back_to


class PageForbidden(Exception):
    """Signed in, but this role may not use the page (403)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class FormRefused(Exception):
    """A state-changing request without this session's CSRF token, or from another site (403)."""


def sign_in_path(back_to: str) -> str:
    return "/console/sign-in?next=" + quote(back_to, safe="/")


def person(permission: Permission | None = None) -> Callable[[Request], SessionInfo]:
    """A dependency: the live session, if its role has ``permission``. Sets the
    request's actor, so that the use cases the page calls name the person."""

    def check(request: Request) -> SessionInfo:
        session = current_session(request)
        if session is None:
            back_to = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            raise SignInNeeded(back_to if request.method == "GET" else request.url.path)
        if permission is not None and not may(session.account.role, permission):
            raise PageForbidden(f"The role {session.account.role!r} may not {permission.value}.")
        request.state.actor = session.account.actor()
        return session

    return check


def check_form(request: Request, session: SessionInfo, csrf: str | None) -> None:
    """Raise FormRefused unless the form came from this site with this session's token."""
    if not same_origin(request) or not csrf_matches(session, csrf):
        raise FormRefused()


def safe_next(value: Any) -> str:
    """Where to go after signing in: a path of this site only (never another host)."""
    if isinstance(value, str) and value.startswith("/") and not value.startswith(("//", "/\\")) \
            and "\\" not in value and len(value) < 2000:
        return value
    return "/console/"
