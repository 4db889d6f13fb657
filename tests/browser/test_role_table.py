"""The console's role × route table: every route of the console, for each role and
signed out, answers as the table says (the same roles as the API's tokens).

The routes are listed from the console itself (``strongroom.web.install``): a
route added without a row here fails the test. Allowed forms are sent with this
session's CSRF token and a field the page refuses (so nothing changes), and
answer that refusal (400/404) — never 403; forbidden ones answer 403 even with
a valid token; signed out, every page sends the browser to sign in.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import httpx
from fastapi import FastAPI
from fastapi.routing import APIRoute

from strongroom import web
from tests.browser.console import PEOPLE, Console

ROLES = tuple(PEOPLE)
SIGNED_OUT = None
SIGN_IN = "sign in"  # a 303 to the sign-in page, asking to come back


def only(*roles: str, ok: int = 200) -> dict[str | None, int | str]:
    """``ok`` for ``roles``, 403 for the others, to the sign-in page when signed out."""
    table: dict[str | None, int | str] = {role: ok if role in roles else 403 for role in ROLES}
    table[SIGNED_OUT] = SIGN_IN
    return table


EVERYONE = ROLES


@dataclass(frozen=True)
class Row:
    url: str
    expected: dict[str | None, int | str]
    data: dict[str, str] = field(default_factory=dict)
    #: sent as multipart/form-data with an empty file part, as a browser sends a form with nothing chosen
    multipart: bool = False


#: (method, route path) -> what each role gets
TABLE: dict[tuple[str, str], Row] = {
    ("GET", "/"): Row("/", {**{r: 303 for r in ROLES}, SIGNED_OUT: 303}),
    ("GET", "/console/sign-in"): Row("/console/sign-in", {**{r: 303 for r in ROLES}, SIGNED_OUT: 200}),
    # without the sign-in form's token: refused, whoever sends it
    ("POST", "/console/sign-in"): Row("/console/sign-in", {**{r: 403 for r in ROLES}, SIGNED_OUT: 403},
                                      {"name": "Ada Admin", "password": "wrong"}),
    ("POST", "/console/sign-out"): Row("/console/sign-out", only(*EVERYONE, ok=303)),
    ("GET", "/console/"): Row("/console/", only(*EVERYONE)),
    ("GET", "/console/account"): Row("/console/account", only(*EVERYONE)),
    ("POST", "/console/account"): Row("/console/account", only(*EVERYONE, ok=400),
                                      {"current": "x", "new": "a" * 12, "repeat": "b" * 12}),
    ("GET", "/console/submit"): Row("/console/submit", only("submitter", "admin")),
    # nothing chosen: the form answers what to choose (422), to those who may submit
    ("POST", "/console/submit"): Row("/console/submit", only("submitter", "admin", ok=422), {"collection": ""},
                                       multipart=True),
    ("GET", "/console/batches"): Row("/console/batches", only("submitter", "auditor", "admin")),
    # a batch that does not exist: 404 to whoever may read batches, as one that is not theirs
    ("GET", "/console/batches/{batch_id}"): Row("/console/batches/no-such-batch",
                                                only("submitter", "auditor", "admin", ok=404)),
    ("GET", "/console/batches/{batch_id}/progress"): Row("/console/batches/no-such-batch/progress",
                                                         only("submitter", "auditor", "admin", ok=404)),
    ("GET", "/console/batches/{batch_id}/findings.csv"): Row("/console/batches/no-such-batch/findings.csv",
                                                             only("submitter", "auditor", "admin", ok=404)),
    ("GET", "/console/packages"): Row("/console/packages", only("auditor", "reader", "admin")),
    # a package that does not exist: 404 to whoever may read packages
    ("GET", "/console/packages/{package_ref:path}"): Row("/console/packages/no-such-package",
                                                         only("auditor", "reader", "admin", ok=404)),
    ("GET", "/console/preservation"): Row("/console/preservation", only("auditor", "admin")),
    ("GET", "/console/preservation/report.csv"): Row("/console/preservation/report.csv",
                                                     only("auditor", "admin")),
    ("POST", "/console/preservation/check"): Row("/console/preservation/check", only("auditor", "admin", ok=400),
                                                 {"package": ""}),
    ("POST", "/console/preservation/repair"): Row("/console/preservation/repair", only("admin", ok=400),
                                                  {"package": ""}),
    # a location the settings do not name: an admin is told so (404); nothing is filled
    ("POST", "/console/preservation/fill"): Row("/console/preservation/fill", only("admin", ok=404),
                                                {"location": "file:///srv/not-configured"}),
    ("GET", "/console/audit"): Row("/console/audit", only("auditor", "admin")),
    ("GET", "/console/audit/verify"): Row("/console/audit/verify", only("auditor", "admin")),
    ("GET", "/console/admin"): Row("/console/admin", only("admin")),
    ("POST", "/console/admin/accounts"): Row("/console/admin/accounts", only("admin", ok=400),
                                             {"name": "Someone New", "role": "reader", "password": "a" * 12,
                                              "repeat": "b" * 12}),
    ("POST", "/console/admin/accounts/disable"): Row("/console/admin/accounts/disable", only("admin", ok=404),
                                                     {"name": "nobody by this name"}),
    ("POST", "/console/admin/tokens"): Row("/console/admin/tokens", only("admin", ok=400),
                                           {"name": "", "role": "reader"}),
    ("POST", "/console/admin/tokens/revoke"): Row("/console/admin/tokens/revoke", only("admin", ok=404),
                                                  {"token": "no-such-token"}),
    ("GET", "/console/deaccessions"): Row("/console/deaccessions", only("admin")),
    # a submitter or reader cannot even ask; an admin is told what is missing
    ("POST", "/console/deaccessions/request"): Row("/console/deaccessions/request", only("admin", ok=400),
                                                   {"package": "", "reason": "x"}),
    ("POST", "/console/deaccessions/approve"): Row("/console/deaccessions/approve", only("admin", ok=404),
                                                   {"request_id": "no-such-request"}),
    ("POST", "/console/deaccessions/reject"): Row("/console/deaccessions/reject", only("admin", ok=404),
                                                  {"request_id": "no-such-request"}),
    ("POST", "/console/deaccessions/resume"): Row("/console/deaccessions/resume", only("admin", ok=404),
                                                  {"request_id": "no-such-request"}),
}


def console_routes() -> set[tuple[str, str]]:
    """Every (method, path) the console serves: the routes ``strongroom.web.install``
    adds to an app, its own and those of every page module it includes."""
    app = FastAPI()
    web.install(app)
    routes = [r for r in app.routes if isinstance(r, APIRoute)]
    for name in web.PAGE_MODULES:
        routes += importlib.import_module(f"strongroom.web.pages.{name}").router.routes
    found = set()
    for route in routes:
        if isinstance(route, APIRoute) and (route.path == "/" or route.path.startswith("/console")):
            found |= {(method, route.path) for method in route.methods - {"HEAD"}}
    return found


def test_every_console_route_has_a_row_in_the_table() -> None:
    routes = console_routes()
    assert routes - TABLE.keys() == set(), "routes without a row in the role table"
    assert TABLE.keys() - routes == set(), "rows for routes the console does not have"


def outcome(answer: httpx.Response) -> int | str:
    if answer.status_code == 303 and answer.headers["location"].startswith("/console/sign-in?next="):
        return SIGN_IN
    return answer.status_code


def test_each_role_and_a_stranger_get_what_the_role_table_says(console: Console) -> None:
    def signed_in(role: str | None) -> tuple[httpx.Client, dict[str, str]]:
        """A client of ``role`` and the CSRF field its forms carry (none signed out)."""
        if role is None:
            return httpx.Client(base_url=console.url, follow_redirects=False, timeout=30), {}
        client = console.client(role)
        page = client.get("/console/account").text
        return client, {"csrf": page.split('name="csrf" value="', 1)[1].split('"', 1)[0]}

    clients = {role: signed_in(role) for role in (*ROLES, SIGNED_OUT)}
    found: dict[tuple[str, str], dict[str | None, int | str]] = {}
    for (method, path), row in TABLE.items():
        found[(method, path)] = {}
        for role in (*ROLES, SIGNED_OUT):
            client, token = clients[role]
            if method == "GET":
                answer = client.get(row.url)
            else:
                if path == "/console/sign-out":  # it ends the session: a session of its own
                    client, token = signed_in(role)
                if path == "/console/sign-in":  # no session's token: the sign-in form has its own
                    token = {}
                files = {"archive": ("", b"", "application/octet-stream")} if row.multipart else None
                answer = client.post(row.url, data={**row.data, **token}, files=files,
                                     headers={"Origin": console.url})
            found[(method, path)][role] = outcome(answer)
    wrong = {key: (found[key], row.expected) for key, row in TABLE.items() if found[key] != row.expected}
    assert not wrong, "\n".join(f"{m} {p}: got {got}, expected {want}" for (m, p), (got, want) in wrong.items())
