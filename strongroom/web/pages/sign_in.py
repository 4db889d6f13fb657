"""Signing in and out, and changing one's own password."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ingest.accounts import SessionInfo, SignInRefused, sign_in, sign_out
from ingest.errors import InputError
from ingest.identities import change_own_password
from strongroom.api.auth import acting_services
from strongroom.api.session import (
    clear_session_cookie,
    current_session,
    same_origin,
    session_secret,
    set_session_cookie,
    set_sign_in_cookie,
    sign_in_token,
    sign_in_token_matches,
)
from strongroom.web.guard import check_form, person, safe_next
from strongroom.web.render import render

router = APIRouter()


def _sign_in_page(request: Request, next_path: str, *, error: str | None = None,
                  name: str = "", status: int = 200) -> Response:
    token = sign_in_token(request)
    response = render(request, "sign_in.html", title="Sign in", next_path=next_path, error=error,
                      name=name, status=status, sign_in_csrf=token,
                      changed=request.query_params.get("changed") == "1")
    set_sign_in_cookie(request, response, token)
    return response


@router.get("/console/sign-in")
def sign_in_form(request: Request, next: str = "/console/") -> Response:
    if current_session(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return _sign_in_page(request, safe_next(next))


@router.post("/console/sign-in")
def sign_in_submit(request: Request, name: Annotated[str, Form(max_length=200)] = "",
                   password: Annotated[str, Form(max_length=2000)] = "",
                   csrf: Annotated[str, Form(max_length=200)] = "",
                   next: Annotated[str, Form(max_length=2000)] = "/console/") -> Response:
    state = request.app.state.strongroom
    if not same_origin(request) or not sign_in_token_matches(request, csrf):
        return _sign_in_page(request, safe_next(next), name=name, status=403,
                             error="The sign-in form had expired. Please sign in again.")
    address = request.client.host if request.client else "unknown"
    try:
        signed = sign_in(state.services.catalog, state.sign_in_throttle, name, password, address,
                         state.services.clock.now())
    except SignInRefused as exc:
        return _sign_in_page(request, safe_next(next), name=name, status=401, error=str(exc) + ".")
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, signed.secret)
    return response


@router.post("/console/sign-out")
def sign_out_submit(request: Request, session: Annotated[SessionInfo, Depends(person())],
                    csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_form(request, session, csrf)
    state = request.app.state.strongroom
    sign_out(state.services.catalog, session_secret(request), state.services.clock.now())
    response = RedirectResponse("/console/sign-in", status_code=303)
    clear_session_cookie(request, response)
    return response


@router.get("/console/account")
def account_page(request: Request, session: Annotated[SessionInfo, Depends(person())]) -> Response:
    return render(request, "account.html", title="Your account", message=None, error=None)


@router.post("/console/account")
def account_change_password(request: Request, session: Annotated[SessionInfo, Depends(person())],
                            current: Annotated[str, Form(max_length=2000)] = "",
                            new: Annotated[str, Form(max_length=2000)] = "",
                            repeat: Annotated[str, Form(max_length=2000)] = "",
                            csrf: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_form(request, session, csrf)
    state = request.app.state.strongroom
    if new != repeat:
        return render(request, "account.html", title="Your account", status=400, message=None,
                      error="The new password and its repetition differ.")
    try:
        address = request.client.host if request.client else "unknown"
        change_own_password(acting_services(request), state.sign_in_throttle, address, current, new)
    except (SignInRefused, InputError) as exc:
        return render(request, "account.html", title="Your account", status=400, message=None,
                      error=str(exc)[:1].upper() + str(exc)[1:] + ".")
    # every session of the account ended, this one too: sign in with the new password
    response = RedirectResponse("/console/sign-in?changed=1", status_code=303)
    clear_session_cookie(request, response)
    return response
