"""What a person most likely meant, for the mistakes people make most often in metadata.

A hint is one short sentence shown after a finding's message (``Finding.hint``):
``en_US`` → did you mean "en-US"?; ``21/06/1951`` → dates are ISO 8601, year
first: "1951-06-21". Each function here looks at one offending value and
returns a hint, or None when it cannot tell. They guess only where the guess is
safe to show: a hint is never applied, the person decides.

- :func:`date_hint`: dates written day first or month first (``21/06/1951``,
  ``06/21/1951``, ``21.6.1951``, ``21-06-1951``), year first with other
  separators (``1951/06/21``, ``1951.06.21``), without leading zeros
  (``1951-6-21``), with a time (``1951-06-21T21:15``) or with the month in
  words (``21 June 1951``, ``June 21, 1951``).
- :func:`text_hint`: a value that a simple correction would make acceptable:
  white space at the start or end, ``_`` instead of ``-`` (a POSIX locale
  such as ``en_US`` where a language tag is expected).
- :func:`choice_hint`: a value that is one of the allowed values but for case
  or white space (``Telegram`` for ``telegram``).
- :func:`type_hint`: a number or a one-item list where text is expected.
- :func:`name_hint`: a misspelt property name (``titel`` for ``title``).
- :func:`json_syntax_hint`: the JSON mistakes people make most often by hand: a
  comma after the last value, single quotes, a comma missing between values.
- :func:`not_utf8`: where a file that is not UTF-8 breaks off, by line, and
  what the byte there most likely was (a Windows-1252 letter, as Excel and
  older editors save them), with how to save the file as UTF-8.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from ingest.findings import excerpt

_MONTHS = {name: number for number, names in enumerate([
    ("january", "jan"), ("february", "feb"), ("march", "mar"), ("april", "apr"), ("may",),
    ("june", "jun"), ("july", "jul"), ("august", "aug"), ("september", "sep", "sept"),
    ("october", "oct"), ("november", "nov"), ("december", "dec"),
], start=1) for name in names}

_NUMERIC = re.compile(r"(\d{1,4})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{1,4})")
_DAY_MONTH_YEAR_WORDS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\.?\s+([A-Za-z]+)\.?,?\s+(\d{4})")
_MONTH_DAY_YEAR_WORDS = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})")
_MONTH_YEAR_WORDS = re.compile(r"([A-Za-z]+)\.?,?\s+(\d{4})")
_WITH_TIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?")
_ISO_RULE = "dates are ISO 8601, year first"


def _day(year: int, month: int, day: int) -> str | None:
    """``YYYY-MM-DD`` if that day exists in the calendar, else None."""
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _quoted(values: Sequence[str]) -> str:
    return " or ".join(excerpt(v) for v in values)


def date_hint(value: object) -> str | None:
    """A hint for a date that is not ISO 8601, or None.

    Day and month are told apart by their size: ``21/06/1951`` can only be the
    21st of June. When both could be a month (``05/06/1951``) both readings are
    offered. Raises nothing.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if (timed := _WITH_TIME.fullmatch(text)) and _day(*map(int, timed.group(1).split("-"))):
        return f"a date has no time of day here: {_quoted([timed.group(1)])}"
    if match := _NUMERIC.fullmatch(text):
        first, _sep, middle, last = match.groups()
        if len(first) == 4:  # year first, other separators or no leading zeros
            found = _day(int(first), int(middle), int(last))
            return f"{_ISO_RULE}, with '-' and two-digit months and days: {_quoted([found])}" \
                if found else None
        if len(last) != 4:
            return None  # a two-digit year: which century is for the person to say
        year, a, b = int(last), int(first), int(middle)
        readings = []
        day_first, month_first = _day(year, b, a), _day(year, a, b)
        if day_first:
            readings.append(day_first)
        if month_first and month_first != day_first:
            readings.append(month_first)
        if not readings:
            return None
        if len(readings) == 1:
            return f"{_ISO_RULE}: {_quoted(readings)}"
        return (f"{_ISO_RULE}: {_quoted([readings[0]])} if the day comes first, "
                f"{_quoted([readings[1]])} if the month does")
    if match := _DAY_MONTH_YEAR_WORDS.fullmatch(text):
        month = _MONTHS.get(match.group(2).lower())
        found = _day(int(match.group(3)), month, int(match.group(1))) if month else None
        return f"{_ISO_RULE}, with the month as a number: {_quoted([found])}" if found else None
    if match := _MONTH_DAY_YEAR_WORDS.fullmatch(text):
        month = _MONTHS.get(match.group(1).lower())
        found = _day(int(match.group(3)), month, int(match.group(2))) if month else None
        return f"{_ISO_RULE}, with the month as a number: {_quoted([found])}" if found else None
    if match := _MONTH_YEAR_WORDS.fullmatch(text):
        month = _MONTHS.get(match.group(1).lower())
        if month:
            return f"{_ISO_RULE}, with the month as a number: {_quoted([f'{match.group(2)}-{month:02d}'])}"
    return None


def text_hint(value: object, accepts: Callable[[str], bool]) -> str | None:
    """A hint for text that ``accepts`` refuses but a simple correction would not:
    white space at the start or end, or ``_`` where ``-`` belongs. Raises nothing."""
    if not isinstance(value, str):
        return None
    stripped = value.strip()
    if stripped != value and stripped and accepts(stripped):
        return f"remove the white space at the start or end: {_quoted([stripped])}"
    dashed = stripped.replace("_", "-")
    if dashed != stripped and accepts(dashed):
        return f"did you mean {_quoted([dashed])}? Parts are joined by '-', not '_'"
    return None


def choice_hint(value: object, allowed: Sequence[Any]) -> str | None:
    """A hint for a value that is one of ``allowed`` but for case or white space."""
    if not isinstance(value, str):
        return None
    wanted = " ".join(value.split()).casefold()
    close = [a for a in allowed if isinstance(a, str) and a.casefold() == wanted]
    return f"did you mean {_quoted(close[:1])}?" if close else None


def type_hint(value: object, expected_type: object) -> str | None:
    """A hint for a number, or a list of one text, where text is expected."""
    types = expected_type if isinstance(expected_type, list) else [expected_type]
    if "string" not in types:
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"write it as text, in quotes: {_quoted([json.dumps(value)])}"
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return f"one text is expected here, not a list: {_quoted(value)}"
    return None




def name_hint(name: str, known: Sequence[str]) -> str | None:
    """A hint for a property name that is a misspelling of one of ``known``."""
    close = difflib.get_close_matches(name.strip().casefold(), list(known), n=1, cutoff=0.75)
    return f"did you mean {_quoted(close)}?" if close else None


def json_syntax_hint(text: str, message: str, at: int) -> str | None:
    """A hint for a JSON syntax error that ``json`` reports as ``message`` at
    offset ``at`` of ``text``, when it is one of the common hand-made mistakes."""
    here = text[at:at + 1]
    before = text[:at].rstrip()[-1:]
    if here == "'" and message.startswith(("Expecting property name", "Expecting value")):
        return "JSON writes text and names in double quotes (\"), not single quotes (')"
    if before == "," and here in ("}", "]"):
        return ("a comma after the last value of an object or list: JSON allows none there; "
                "remove that comma")
    if message.startswith("Expecting ',' delimiter"):
        return ("a comma missing between two values (at the end of the line before, "
                "most likely): JSON separates the values of an object or list with commas")
    return None


def not_utf8(raw: bytes, at: int, save_as: str) -> tuple[str, str]:
    """What to say of ``raw``, a file that is not UTF-8 from offset ``at`` on: the
    place (``"line 3 holds byte 0xfc"``) and the hint (the
    letter the byte is in Windows-1252, when it is one, and "save it as"
    ``save_as``)."""
    line = raw.count(b"\n", 0, at) + 1
    byte = raw[at]
    try:
        letter = bytes([byte]).decode("cp1252")
    except UnicodeDecodeError:
        letter = ""
    guess = (f"byte 0x{byte:02x} is {letter!r} in Windows-1252, so the file was most likely "
             "saved in that encoding; " if letter.isprintable() and byte >= 0x80 else "")
    return (f"line {line} holds byte 0x{byte:02x}",
            f"{guess}save it as {save_as}")


__all__ = ["choice_hint", "date_hint", "json_syntax_hint", "name_hint", "not_utf8", "text_hint", "type_hint"]
