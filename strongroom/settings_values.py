"""How the values of settings are read: numbers, durations, switches and lists.

A number is what a person types on an ordinary keyboard: the digits 0-9, a sign,
for a duration a decimal point and an exponent, and spaces around. Python's
``int()`` and ``float()`` also take digits of other scripts (``'١٢'``,
Arabic-Indic twelve; fullwidth ``'１２'``) and underscores (``'1_0'``): a value
written so was taken without a word, and read differently by every other tool
that looks at the same file. Each duration has a least value that makes sense
for it (a lease of 1e-300 seconds lapses before it is renewed), and a list
(``STRONGROOM_REPLICAS``) that holds an empty entry (``,``) is a slip, not "none".

Every function raises ``SettingsError`` naming the variable and what it expects.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

#: the longest any duration in seconds may be set to: a week. Beyond it a
#: setting is a slip of the keyboard, and far beyond it no date can be reckoned.
MAX_SECONDS = 7 * 24 * 3600
#: the largest whole number a count or size may be: what the catalog can hold
MAX_WHOLE = 2**63 - 1

#: a whole number as typed: ASCII digits, an optional sign, spaces around
_WHOLE = re.compile(r"\s*[+-]?[0-9]+\s*", re.ASCII)
#: a decimal number as typed: ASCII digits, a point, an exponent (and the words
#: nan and inf, which the range check refuses with its own sentence)
_DECIMAL = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*"
                      r"|\s*[+-]?(nan|inf|infinity)\s*", re.ASCII | re.IGNORECASE)


class SettingsError(ValueError):
    """One or more settings have a value Strongroom cannot use: ``problems``
    holds a sentence for each, naming its variable."""

    def __init__(self, *problems: str) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def _not_ascii(raw: str) -> str:
    """What to add to a refusal of ``raw``: that only the digits 0-9 are read,
    when it holds other characters Python would have taken for digits."""
    return "" if raw.isascii() and "_" not in raw else ", written in digits 0-9"


def switch(env: Mapping[str, str], name: str, default: bool) -> bool:
    """A 0/1 setting; absent or empty is ``default``. Raises SettingsError for anything else."""
    raw = env.get(name)
    if not raw:
        return default
    if raw.strip() not in ("0", "1"):
        raise SettingsError(f"{name} must be 0 or 1, not {raw!r}")
    return raw.strip() == "1"


def int_between(env: Mapping[str, str], name: str, default: int, least: int, most: int) -> int:
    """The whole number ``name`` holds (``default`` when unset), from ``least`` to
    ``most``, in the digits 0-9; SettingsError naming the variable and the range
    for anything else."""
    raw = env.get(name)
    if not raw:
        return default
    value = int(raw) if _WHOLE.fullmatch(raw) else None
    if value is None or not least <= value <= most:
        raise SettingsError(f"{name} must be a whole number from {least} to {most}"
                            f"{_not_ascii(raw) if value is None else ''}, not {raw!r}")
    return value


def whole_number(env: Mapping[str, str], name: str, default: int, most: int = MAX_WHOLE) -> int:
    """A whole number from 0 to ``most``."""
    return int_between(env, name, default, 0, most)


def positive_int(env: Mapping[str, str], name: str, default: int, most: int = MAX_WHOLE) -> int:
    """A whole number from 1 to ``most``."""
    return int_between(env, name, default, 1, most)


def duration(env: Mapping[str, str], name: str, default: float, *, least: float,
             zero: bool = False, unit: str = "seconds", most: float = MAX_SECONDS) -> float:
    """The number of ``unit`` ``name`` holds (``default`` when unset), in the
    digits 0-9: finite, at least ``least`` (or 0, with ``zero``: none, no wait)
    and at most ``most``. NaN and infinity are refused here, else they reach a
    timedelta or a sleep and fail there, in a worker, long after start-up.
    Raises SettingsError naming the variable."""
    raw = env.get(name)
    if not raw:
        return default
    value = float(raw) if _DECIMAL.fullmatch(raw) else math.nan
    if not (math.isfinite(value) and (least <= value or (zero and value == 0))
            and value <= most):
        lower = f"0 or at least {least:g}" if zero else f"at least {least:g}"
        written = _not_ascii(raw) if not _DECIMAL.fullmatch(raw) else ""
        raise SettingsError(f"{name} must be a number of {unit}{written}, {lower} and at most "
                            f"{most:g}, not {raw!r}")
    return value


def comma_list(env: Mapping[str, str], name: str, what: str) -> tuple[str, ...]:
    """The entries of a comma-separated list, spaces around each removed; unset,
    empty or only spaces is none. An empty entry (``,``, ``a,,b``, ``a,``) is
    refused: the list was meant to name something there. ``what`` names one entry
    in the refusal ("a storage location URL")."""
    raw = env.get(name) or ""
    if not raw.strip():
        return ()
    entries = tuple(entry.strip() for entry in raw.split(","))
    if "" in entries:
        raise SettingsError(f"{name} holds an empty entry: it must be {what}s separated by "
                            f"commas, each once, or nothing at all for none; not {raw!r}")
    return entries


__all__ = ["MAX_SECONDS", "MAX_WHOLE", "SettingsError", "comma_list", "duration",
           "int_between", "positive_int", "switch", "whole_number"]
