"""CSV cells that a spreadsheet shows as text.

Every CSV Strongroom writes may hold text a depositor chose: file names, titles,
findings that quote them. A spreadsheet takes a cell that begins with ``=``,
``+``, ``-`` or ``@`` (or a tab or carriage return, which some strip first) for
a formula and runs it when the file is opened (OWASP's "CSV injection"): a file
named ``=HYPERLINK(...)`` in a batch must not become a live link in a
preservation officer's report. Such a cell gets a leading ``'``, which
spreadsheets read as "text follows" and do not show.

A ``;`` followed by such a character gets the same ``'`` after it: a
spreadsheet set to a locale whose list separator is ``;`` (Excel in most of
Europe) opens a ``.csv`` split on ``;`` alone, quotes or not, so that ``x;=2+3``
would be two cells there, the second a formula (``x;'=2+3`` is two cells of text).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from typing import Any

#: what a spreadsheet takes for the start of a formula
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


#: a ';' before what a spreadsheet takes for the start of a formula
_AFTER_SEMICOLON = re.compile(";(?=[" + re.escape("".join(_FORMULA_STARTS)) + "])")


def text_cell(value: Any) -> Any:
    """``value`` as a cell: text that would start a formula, at its start or after
    a ``;``, gets a ``'`` there; anything that is not text (numbers, None) is left
    as it is."""
    if not isinstance(value, str):
        return value
    if ";" in value:
        value = _AFTER_SEMICOLON.sub(";'", value)
    return "'" + value if value[:1] in _FORMULA_STARTS else value


def text_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Every cell of a ``csv.DictWriter`` row made safe by ``text_cell``."""
    return {key: text_cell(value) for key, value in row.items()}


class TextDictWriter(csv.DictWriter):  # type: ignore[type-arg]
    """``csv.DictWriter`` whose every row goes through ``text_row``."""

    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow(text_row(rowdict))


__all__ = ["TextDictWriter", "text_cell", "text_row"]
