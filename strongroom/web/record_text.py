"""A descriptive record as a person reads it: dates in words, agents with their
part, links only where they are safe to follow.

Presentation only: these filters say in words what the record holds; every
value still goes through the templates' escaping.
"""

from __future__ import annotations

import calendar
import re
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment

_DAY = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


def _one_date(text: str) -> tuple[str, str | None, str | None] | None:
    match = _DAY.match(text)
    if match is None:
        return None
    year, month, day = match.groups()
    if month is not None and not 1 <= int(month) <= 12:
        return None
    return year.lstrip("0") or "0", calendar.month_name[int(month)] if month else None, \
        str(int(day)) if day else None


def _words(parts: tuple[str, str | None, str | None]) -> str:
    year, month, day = parts
    return " ".join(p for p in (day, month, year) if p)


def record_date(value: Any) -> str:
    """'1951-06-21' -> '21 June 1951'; '1951-06/1951-08' -> 'June 1951 to August 1951';
    anything else as it is written."""
    if not isinstance(value, str) or not value:
        return "—"
    start, slash, end = value.partition("/")
    first = _one_date(start)
    last = _one_date(end) if slash else None
    if first is None or (slash and last is None):
        return value
    if last is None:
        return _words(first)
    return f"{_words(first)} to {_words(last)}"


def web_link(value: Any) -> str | None:
    """``value`` when it is an http(s) address, else None: a record's URL is shown
    as a link only when following it cannot run anything (no ``javascript:``)."""
    if not isinstance(value, str):
        return None
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    return value.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def agent_text(agent: Any) -> str:
    """{'name': 'I. V. Stalin', 'name_as_written': 'Filippov', 'role': 'addressee'} ->
    'I. V. Stalin (written as “Filippov”), addressee'."""
    if not isinstance(agent, dict):
        return str(agent)
    text = str(agent.get("name", "—"))
    if agent.get("name_as_written"):
        text += f" (written as “{agent['name_as_written']}”)"
    if agent.get("role"):
        text += f", {agent['role']}"
    return text


def paragraphs(value: Any) -> list[str]:
    """Prose split at blank lines (the template keeps single line breaks)."""
    if not isinstance(value, str):
        return []
    return [p.strip() for p in re.split(r"\n\s*\n", value) if p.strip()]


def install_filters(env: Environment) -> None:
    env.filters["record_date"] = record_date
    env.filters["web_link"] = web_link
    env.filters["agent"] = agent_text
    env.filters["paragraphs"] = paragraphs
