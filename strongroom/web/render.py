"""Pages from Jinja2 templates, escaped everywhere, with what every page shows.

Autoescaping is on for every template: whatever a record, a file name or a
finding says is shown as text, never as markup. Templates get the signed-in
person, the navigation their role may use, and the CSRF token their forms
carry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from ingest.access import Permission, may
from ingest.accounts import SessionInfo

#: The console's pages in the navigation: (label, path, permission; None = anyone signed in).
NAVIGATION: tuple[tuple[str, str, Permission | None], ...] = (
    ("Home", "/console/", None),
    ("Batches", "/console/batches", Permission.READ_BATCHES),
    ("Submit a batch", "/console/submit", Permission.SUBMIT),
    ("Packages", "/console/packages", Permission.READ_PACKAGES),
    ("Preservation", "/console/preservation", Permission.PRESERVE),
    ("Audit", "/console/audit", Permission.PRESERVE),
    ("Admin", "/console/admin", Permission.ADMINISTER),
    ("Deaccession", "/console/deaccessions", Permission.ADMINISTER),
)


def human_bytes(size: Any) -> str:
    """1234567 -> '1.2 MB' (decimal units, as file managers show them)."""
    if not isinstance(size, int | float):
        return "—"
    if size < 1000:
        return f"{int(size)} byte{'s' if size != 1 else ''}"
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        size /= 1000
        if size < 1000 or unit == "PB":
            return f"{size:.1f} {unit}"
    return str(size)


def when(value: Any) -> str:
    """A time as a person reads it, in UTC: '2026-12-06 14:03 UTC'."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return "—"
    return value.strftime("%Y-%m-%d %H:%M UTC")


#: characters of a title shown in a list; the package page shows it whole
LISTED_TITLE = 300


def clip(text: Any, most: int = LISTED_TITLE) -> str:
    """``text`` cut to ``most`` characters with an ellipsis when longer: a title of
    900,000 characters (the schema bounds the record, not each field) would
    otherwise be a table row millions of pixels wide."""
    text = "" if text is None else str(text)
    return text if len(text) <= most else text[:most].rstrip() + "…"


def _environment() -> Environment:
    env = Environment(loader=PackageLoader("strongroom.web", "templates"),
                      autoescape=select_autoescape(default=True, default_for_string=True),
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["bytes"] = human_bytes
    env.filters["when"] = when
    env.filters["clip"] = clip
    env.globals["may"] = may
    env.globals["Permission"] = Permission
    return env


ENVIRONMENT = _environment()


def navigation(session: SessionInfo | None) -> list[dict[str, str]]:
    """The pages this person's role may open, in menu order."""
    if session is None:
        return []
    role = session.account.role
    return [{"label": label, "path": path} for label, path, permission in NAVIGATION
            if permission is None or may(role, permission)]


def render(request: Request, template: str, *, status: int = 200, title: str,
           **context: Any) -> HTMLResponse:
    """The page ``template`` for this request's person."""
    session: SessionInfo | None = getattr(request.state, "console_session", None)
    html = ENVIRONMENT.get_template(template).render(
        request=request, title=title, session=session,
        person=session.account if session else None,
        role=session.account.role if session else None,
        csrf=session.csrf_token if session else "",
        nav=navigation(session), here=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store"})
