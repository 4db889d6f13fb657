"""Who may do what: bearer tokens and the four roles.

Every request carries ``Authorization: Bearer TOKEN``. The token's SHA-256 is
looked up in the catalog (the secret itself is never stored nor logged); a
missing, unknown or revoked token gets 401, a token whose role may not use the
route gets 403. ``admin`` may use every route.

The role table is the domain's (``ingest.access.ROLE_PERMISSIONS``): the web
console checks the same one. A GET or HEAD without a token but with a console
session cookie (a download link on a page) is judged by the session's account
under the same table; anything that changes state needs a token (or a console
form with its CSRF token).

A submitter reads only the batches its own token submitted; anyone else's batch
answers 404, exactly as a batch that does not exist, so ids cannot be probed.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import replace
from typing import Any

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from ingest.access import ROLE_PERMISSIONS, Permission, may
from ingest.models import Actor
from ingest.services import Services
from strongroom.api.problems import forbidden, unauthorized
from strongroom.api.session import current_session

_bearer = HTTPBearer(auto_error=False, description="A token from `strongroom token create`")


def require(permission: Permission) -> Callable[..., Coroutine[Any, Any, Any]]:
    """A dependency that lets the request through only with a live token whose
    role has ``permission``; it returns the token and keeps its agent in
    ``request.state.actor``. Raises the 401/403 problems."""

    async def check(request: Request,
                    credentials: HTTPAuthorizationCredentials | None = Security(_bearer),  # noqa: B008
                    ) -> Any:
        if credentials is None or not credentials.credentials:
            if request.method in ("GET", "HEAD"):  # a download from a console page
                session = await run_in_threadpool(current_session, request)
                if session is not None:
                    if not may(session.account.role, permission):
                        raise forbidden(f"role {session.account.role!r} may not {permission.value}")
                    request.state.actor = session.account.actor()
                    return session.account
            raise unauthorized("send Authorization: Bearer TOKEN")
        catalog = request.app.state.strongroom.services.catalog
        token = await run_in_threadpool(catalog.find_token, credentials.credentials)
        if token is None:
            raise unauthorized("the token is unknown or revoked")
        if permission not in ROLE_PERMISSIONS.get(token.role, frozenset()):
            raise forbidden(f"role {token.role!r} may not {permission.value}")
        request.state.actor = token_actor(token)
        return token

    return check


def token_actor(token: Any) -> Actor:
    """The agent the audit log names for a request made with ``token``."""
    return Actor(token.name, kind="token", role=token.role, token_id=token.token_id)


def acting_services(request: Request) -> Services:
    """The app's services, acting for the token of this request: every event a
    use case records through them names that token."""
    services: Services = request.app.state.strongroom.services
    return replace(services, actor=getattr(request.state, "actor", None))
