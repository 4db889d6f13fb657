"""Hints for the mistakes people make most often in metadata (ingest.hints)."""

from __future__ import annotations

import re

import pytest

from ingest.hints import choice_hint, date_hint, name_hint, text_hint, type_hint

_TAG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z]{2}|-[0-9]{3})?$")


@pytest.mark.parametrize(("value", "hint"), [
    ("21/06/1951", 'dates are ISO 8601, year first: "1951-06-21"'),
    ("06/21/1951", 'dates are ISO 8601, year first: "1951-06-21"'),
    ("21.6.1951", 'dates are ISO 8601, year first: "1951-06-21"'),
    ("21-06-1951", 'dates are ISO 8601, year first: "1951-06-21"'),
    ("05/06/1951", 'dates are ISO 8601, year first: "1951-06-05" if the day comes first, '
                   '"1951-05-06" if the month does'),
    ("1951/06/21", 'dates are ISO 8601, year first, with \'-\' and two-digit months and days: "1951-06-21"'),
    ("1951-6-21", 'dates are ISO 8601, year first, with \'-\' and two-digit months and days: "1951-06-21"'),
    ("21 June 1951", 'dates are ISO 8601, year first, with the month as a number: "1951-06-21"'),
    ("June 21, 1951", 'dates are ISO 8601, year first, with the month as a number: "1951-06-21"'),
    ("21st Jun. 1951", 'dates are ISO 8601, year first, with the month as a number: "1951-06-21"'),
    ("June 1951", 'dates are ISO 8601, year first, with the month as a number: "1951-06"'),
    ("1951-06-21T21:15", 'a date has no time of day here: "1951-06-21"'),
])
def test_common_date_spellings_get_the_iso_8601_form(value: str, hint: str) -> None:
    assert date_hint(value) == hint


@pytest.mark.parametrize("value", ["31/02/1951", "21/06/51", "1951-13-40", "yesterday", "", 1951, "Smarch 1951"])
def test_no_date_hint_where_no_real_date_can_be_read(value: object) -> None:
    assert date_hint(value) is None


def test_an_underscore_in_a_language_tag_hints_at_the_dash() -> None:
    assert text_hint("en_US", lambda t: bool(_TAG.match(t))) == \
        "did you mean \"en-US\"? Parts are joined by '-', not '_'"


def test_white_space_at_either_end_hints_at_the_trimmed_value() -> None:
    assert text_hint(" en ", lambda t: bool(_TAG.match(t))) == \
        'remove the white space at the start or end: "en"'


def test_no_text_hint_when_the_correction_is_still_refused() -> None:
    assert text_hint("English", lambda t: bool(_TAG.match(t))) is None
    assert text_hint("   ", lambda t: False) is None


@pytest.mark.parametrize(("value", "hint"), [
    ("Telegram", 'did you mean "telegram"?'),
    ("RECORD OF  CONVERSATION ", 'did you mean "record of conversation"?'),
    ("telegramme", None),
])
def test_a_choice_in_the_wrong_case_hints_at_the_allowed_value(value: str, hint: str | None) -> None:
    assert choice_hint(value, ["telegram", "letter", "record of conversation"]) == hint


def test_a_number_or_a_list_of_one_where_text_belongs_is_told() -> None:
    assert type_hint(1951, "string") == 'write it as text, in quotes: "1951"'
    assert type_hint(["en"], ["string"]) == 'one text is expected here, not a list: "en"'
    assert type_hint(True, "string") is None
    assert type_hint(1951, "array") is None


def test_a_misspelt_property_name_hints_at_the_defined_one() -> None:
    assert name_hint("descripton", ["date", "description", "title"]) == 'did you mean "description"?'
    assert name_hint("Title", ["date", "description", "title"]) == 'did you mean "title"?'
    assert name_hint("shelfmark", ["date", "description", "title"]) is None
