"""What a record's JSON Schema means here, beyond draft 2020-12 itself: the
``iso8601-date-or-interval`` format, ``pattern`` read as ECMA-262 reads it,
and the validator class and format checker that apply both
(``jsonschema_for_records``). jsonschema is imported on first use."""

from __future__ import annotations

import calendar
import functools
import re
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # loaded on the first validation
    from jsonschema import ValidationError

DATE_FORMAT = "iso8601-date-or-interval"

# -- the date format ----------------------------------------------------------

_DAY = r"([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?"
_DATE_OR_INTERVAL = re.compile(rf"{_DAY}(?:/{_DAY})?")


def _days(year: str, month: str | None, day: str | None) -> tuple[date, date]:
    """The first and last day a date of year, month or day precision covers."""
    y = int(year)
    if month is None:
        return date(y, 1, 1), date(y, 12, 31)
    if day is None:
        first = date(y, int(month), 1)
        return first, first.replace(day=calendar.monthrange(y, int(month))[1])
    exact = date(y, int(month), int(day))
    return exact, exact


def is_date_or_interval(value: object) -> bool:
    """The ``iso8601-date-or-interval`` format: a real calendar date or interval.

    Accepts YYYY, YYYY-MM, YYYY-MM-DD (years 0001-9999) and ``start/end`` of any
    two of these whose start's first day is not after the end's last day.
    Values that are not strings pass (the schema's ``type`` judges them).
    Raises ValueError saying why a string is not such a date.
    """
    if not isinstance(value, str):
        return True
    match = _DATE_OR_INTERVAL.fullmatch(value)
    if match is None:
        raise ValueError("not YYYY, YYYY-MM, YYYY-MM-DD or two of these joined by '/'")
    start = _days(*match.group(1, 2, 3))
    if match.group(4) is not None:
        end = _days(*match.group(4, 5, 6))
        if start[0] > end[1]:
            raise ValueError(f"the interval ends ({end[1]}) before it starts ({start[0]})")
    return True



# -- patterns with ECMA-262 anchors --------------------------------------------

def _ecma_anchors(pattern: str) -> str:
    """Translate ``$`` to ``\\Z``. In ECMA-262, which JSON Schema patterns follow,
    ``$`` matches only at the very end; Python's ``$`` also matches before a
    final newline, which would let "identifier\\n" through a no-control-character
    pattern."""
    out: list[str] = []
    in_class = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "$":
            char = r"\Z"
        out.append(char)
        i += 1
    return "".join(out)


@functools.lru_cache(maxsize=256)
def ecma_compiled(pattern: str) -> re.Pattern[str]:
    """``pattern`` compiled with ECMA-262's ``$`` (``_ecma_anchors``), cached."""
    return re.compile(_ecma_anchors(pattern))


def _pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not ecma_compiled(pattern).search(instance):
        from jsonschema import ValidationError

        yield ValidationError(f"{instance!r} does not match {pattern!r}")


@functools.cache
def jsonschema_for_records() -> tuple[Any, Any]:
    """The validator class (2020-12 with ECMA-262 ``pattern``) and the format
    checker (2020-12's formats and ours), made on first use."""
    from jsonschema import Draft202012Validator, FormatChecker, validators

    checker = FormatChecker(formats=())
    checker.checkers.update(Draft202012Validator.FORMAT_CHECKER.checkers)
    checker.checks(DATE_FORMAT, raises=ValueError)(is_date_or_interval)
    return validators.extend(Draft202012Validator, {"pattern": _pattern}), checker


__all__ = ["DATE_FORMAT", "ecma_compiled", "is_date_or_interval", "jsonschema_for_records"]
