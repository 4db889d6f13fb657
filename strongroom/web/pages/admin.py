"""Admin: people's accounts and machines' API tokens: list, create, disable or revoke.

The same use cases as ``strongroom user create|list|disable`` (``ingest.accounts``)
and ``strongroom token create|list|revoke`` (the catalog's tokens). Every form's
answer sends the browser on to the admin page (Post/Redirect/Get), so reloading
it never sends a form again. A token's secret is shown once, by the admin page
the creation sends its maker to (``strongroom.web.shown_once``: never in an
address); only its hash is kept.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ingest.access import ROLES, Permission
from ingest.accounts import SessionInfo, passwords_set_by
from ingest.errors import InputError, NotFound
from ingest.identities import end_account, make_account, make_token, revoke_token
from strongroom.api.auth import acting_services
from strongroom.web.guard import check_form, person
from strongroom.web.render import render
from strongroom.web.shown_once import forget, hand_over, take

router = APIRouter()

ADMIN = Depends(person(Permission.ADMINISTER))

#: what the page says after a change (``?done=``), never anything the request made up
DONE = {
    "account-created": "The account was created. Tell its person the password by a safe way.",
    "account-disabled": ("The account was disabled; its sessions have ended and the API tokens "
                         "its person made were revoked. Accounts whose password that person set "
                         "stay enabled: the table names them, to review."),
    "token-revoked": "The token was revoked: it stops working at once.",
    "token-created": ("The token was created. Its secret is shown once, right after; only its "
                      "hash is kept. If it was not copied, revoke the token and make another."),
}


def _page(request: Request, *, status: int = 200, error: str | None = None, field: str | None = None,
          form: dict[str, str] | None = None, new_token: dict[str, Any] | None = None) -> Response:
    catalog = request.app.state.strongroom.services.catalog
    accounts = catalog.list_accounts()
    # a disabled person may know the passwords they set: those accounts, to review
    review = {a.account_id: passwords_set_by(a, accounts) for a in accounts if not a.active}
    return render(request, "admin.html", status=status, title="Admin",
                  accounts=accounts, review=review, tokens=catalog.list_tokens(), roles=ROLES,
                  done=DONE.get(request.query_params.get("done", "")), error=error, field=field,
                  form=form or {}, new_token=new_token)


def _sentence(exc: Exception) -> str:
    text = str(exc).strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


@router.get("/console/admin")
def admin(request: Request, session: Annotated[SessionInfo, ADMIN]) -> Response:
    handed = take(request)
    new_token = None
    if handed is not None:
        token_id, secret = handed
        info = request.app.state.strongroom.services.catalog.get_token(token_id)
        new_token = {"secret": secret, **info.to_dict()} if info is not None else None
    page = _page(request, new_token=new_token)
    forget(request, page)  # shown this once: a reload finds it gone
    return page


@router.post("/console/admin/accounts")
def account_create(request: Request, session: Annotated[SessionInfo, ADMIN],
                   csrf: Annotated[str, Form(max_length=200)] = "",
                   name: Annotated[str, Form(max_length=200)] = "",
                   role: Annotated[str, Form(max_length=40)] = "",
                   password: Annotated[str, Form(max_length=2000)] = "",
                   repeat: Annotated[str, Form(max_length=2000)] = "") -> Response:
    check_form(request, session, csrf)
    form = {"account_name": name, "account_role": role}
    if password != repeat:
        return _page(request, status=400, field="account-password", form=form,
                     error="The password and its repetition differ.")
    try:
        make_account(acting_services(request), name, role, password)
    except InputError as exc:
        field = ("account-password" if "password" in str(exc) else
                 "account-role" if "role" in str(exc) else "account-name")
        return _page(request, status=400, field=field, form=form, error=_sentence(exc))
    return RedirectResponse("/console/admin?done=account-created", status_code=303)


@router.post("/console/admin/accounts/disable")
def account_disable(request: Request, session: Annotated[SessionInfo, ADMIN],
                    csrf: Annotated[str, Form(max_length=200)] = "",
                    name: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_form(request, session, csrf)
    try:
        end_account(acting_services(request), name)
    except (InputError, NotFound) as exc:
        return _page(request, status=404 if isinstance(exc, NotFound) else 400, error=_sentence(exc))
    return RedirectResponse("/console/admin?done=account-disabled", status_code=303)


@router.post("/console/admin/tokens")
def token_create(request: Request, session: Annotated[SessionInfo, ADMIN],
                 csrf: Annotated[str, Form(max_length=200)] = "",
                 name: Annotated[str, Form(max_length=200)] = "",
                 role: Annotated[str, Form(max_length=40)] = "") -> Response:
    check_form(request, session, csrf)
    form = {"token_name": name, "token_role": role}
    try:
        info, secret = make_token(acting_services(request), name, role)
    except InputError as exc:
        field = "token-role" if "role" in str(exc) else "token-name"
        return _page(request, status=400, field=field, form=form, error=_sentence(exc))
    # Post/Redirect/Get: the admin page shows the secret once, from a cookie
    # sealed for this session, never from the address.
    answer = RedirectResponse("/console/admin?done=token-created#secret-h", status_code=303)
    hand_over(request, answer, info.token_id, secret)
    return answer


@router.post("/console/admin/tokens/revoke")
def token_revoke(request: Request, session: Annotated[SessionInfo, ADMIN],
                 csrf: Annotated[str, Form(max_length=200)] = "",
                 token: Annotated[str, Form(max_length=200)] = "") -> Response:
    check_form(request, session, csrf)
    try:
        revoke_token(acting_services(request), token)
    except (InputError, NotFound) as exc:
        return _page(request, status=404 if isinstance(exc, NotFound) else 400, error=_sentence(exc))
    return RedirectResponse("/console/admin?done=token-revoked", status_code=303)
