"""Descriptive metadata: parsing limits, schema validation, canonical bytes, the example batch."""

from __future__ import annotations

import calendar
import json
import socket
import time
import urllib.request
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.errors import SchemaBroken
from ingest.findings import Finding
from ingest.metadata import (
    MAX_DEPTH,
    MAX_METADATA_BYTES,
    canonical_record,
    parse_metadata,
)
from ingest.record_schema import SchemaSet

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "batch"
TELEGRAM = EXAMPLES / "telegram-1951-06-21-mao-to-filippov" / "metadata.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"


@pytest.fixture(scope="module")
def schemas() -> SchemaSet:
    return SchemaSet.default()


def minimal(**fields: Any) -> dict[str, Any]:
    return {"identifier": "rec-1", "title": "A record", "date": "1951-06-21", **fields}


def where(findings: list[Finding]) -> list[tuple[str, str | None, str | None]]:
    """(code, pointer, keyword) of each finding, in order."""
    return [(f.code, f.pointer, f.params.get("keyword")) for f in findings]


def load(path: Path) -> dict[str, Any]:
    record, findings = parse_metadata(path.read_bytes(), name=path.name)
    assert findings == []
    assert record is not None
    return record


# --------------------------------------------------------------------------- the schema set


def test_schema_names_are_paths_under_schemas_without_the_bagit_profile(schemas: SchemaSet) -> None:
    assert schemas.names() == ["archival-record/v1", "batch/v1"]
    assert schemas.document("archival-record/v1")["$id"] == (
        "https://strongroom.invalid/schemas/archival-record/v1.json")


def test_every_record_property_has_a_title_and_description(schemas: SchemaSet) -> None:
    def walk(properties: dict[str, Any], at: str) -> None:
        for name, sub in properties.items():
            assert sub.get("title") and sub.get("description"), f"{at}/{name}"
            walk(sub.get("properties", {}), f"{at}/{name}")

    for name in schemas.names():
        document = schemas.document(name)
        walk(document["properties"], name)
        for def_name, sub in document.get("$defs", {}).items():
            walk(sub.get("properties", {}), f"{name}#/$defs/{def_name}")


def test_a_schema_document_handed_out_cannot_change_validation(schemas: SchemaSet) -> None:
    schemas.document("archival-record/v1")["required"].clear()
    assert where(schemas.validate({})) == [
        ("METADATA_INVALID", "/date", "required"),
        ("METADATA_INVALID", "/identifier", "required"),
        ("METADATA_INVALID", "/title", "required"),
    ]


def test_unknown_schema_name_is_reported_with_the_known_ones(schemas: SchemaSet) -> None:
    findings = schemas.validate(minimal(), "archival-record/v9")
    assert findings == [Finding("SCHEMA_UNKNOWN", found="archival-record/v9",
                                expected=["archival-record/v1", "batch/v1"])]


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every way out to the network fails loudly and is recorded."""
    attempts: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        attempts.append(args)
        raise AssertionError(f"network used: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(urllib.request, "urlopen", refuse)
    return attempts


@pytest.mark.parametrize("ref", [
    "https://example.org/schemas/remote.json",
    "https://example.org/schemas/remote.json#/$defs/name",
    "remote.json",  # relative to the $id: still outside the set
    "https://strongroom.invalid/schemas/archival-record/v1.json#/$defs/no-such-def",
])
def test_ref_outside_the_schema_set_is_refused_and_never_fetched(no_network: list[Any], ref: str) -> None:
    leaky = {
        "$schema": DIALECT,
        "$id": "https://strongroom.invalid/schemas/leaky/v1.json",
        "type": "object",
        "properties": {"name": {"$ref": ref}},
    }
    with pytest.raises(SchemaBroken, match="does not resolve within the schema set"):
        SchemaSet({"leaky/v1": leaky, "archival-record/v1": SchemaSet.default().document("archival-record/v1")})
    assert no_network == []


def test_ref_under_a_property_named_like_a_keyword_is_still_checked(no_network: list[Any]) -> None:
    leaky = {
        "$schema": DIALECT,
        "$id": "https://strongroom.invalid/schemas/leaky/v1.json",
        "properties": {"default": {"$ref": "https://example.org/remote.json"}},
    }
    with pytest.raises(SchemaBroken, match="/properties/default/"):
        SchemaSet({"leaky/v1": leaky})
    assert no_network == []


def test_ref_between_schemas_of_the_set_resolves_offline(no_network: list[Any], schemas: SchemaSet) -> None:
    # batch/v1 takes its one-line text rule from archival-record/v1.
    findings = schemas.validate({"collection": " leading space"}, "batch/v1")
    assert where(findings) == [("METADATA_INVALID", "/collection", "pattern")]
    assert no_network == []


def test_schema_without_the_2020_12_dialect_is_refused() -> None:
    with pytest.raises(SchemaBroken, match=r"\$schema"):
        SchemaSet({"old/v1": {"$schema": "http://json-schema.org/draft-04/schema#",
                              "$id": "https://strongroom.invalid/schemas/old/v1.json"}})


# --------------------------------------------------------------------------- the telegram and required fields


def test_the_1951_telegram_record_validates_clean(schemas: SchemaSet) -> None:
    record = load(TELEGRAM)
    assert record["source"]["citation"] == "APRF, f. 45, op. 1, d. 339, ll. 64-65"
    assert schemas.validate(record) == []


def test_every_missing_required_field_is_reported_at_once_at_its_pointer(schemas: SchemaSet) -> None:
    findings = schemas.validate({"description": "no identifier, title or date"})
    assert where(findings) == [
        ("METADATA_INVALID", "/date", "required"),
        ("METADATA_INVALID", "/identifier", "required"),
        ("METADATA_INVALID", "/title", "required"),
    ]
    assert findings[2].expected == "required property 'title'"


def test_missing_fields_inside_sub_objects_point_into_them(schemas: SchemaSet) -> None:
    findings = schemas.validate(minimal(rights={"holder": "X"}, creators=[{"role": "sender"}]))
    assert where(findings) == [
        ("METADATA_INVALID", "/creators/0/name", "required"),
        ("METADATA_INVALID", "/rights/statement", "required"),
    ]


def test_findings_sort_array_indexes_as_numbers(schemas: SchemaSet) -> None:
    creators: list[dict[str, str]] = [{"name": f"Person {i}"} for i in range(12)]
    creators[2] = creators[10] = {}
    findings = schemas.validate(minimal(creators=creators))
    assert [f.pointer for f in findings] == ["/creators/2/name", "/creators/10/name"]


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize("value", [
    "1951", "1951-06", "1951-06-21", "1952-02-29",
    "1951-06/1951-08", "1951/1953", "1951-06-21/1951-06-21",
    "1951-06-21/1951-06",   # the end month contains the start day
    "1950/1951-06-21",
])
def test_real_dates_and_intervals_are_accepted(schemas: SchemaSet, value: str) -> None:
    assert schemas.validate(minimal(date=value)) == []


@pytest.mark.parametrize("value", [
    "1951-02-30",           # the pattern allows it; the calendar does not
    "1951-02-29",           # not a leap year
    "1951-08/1951-06",      # interval ends before it starts
    "1951-06-21/1951-06-20",
    "1952/1951-12",
    "0000",                 # no year 0 in the calendar we check against
    "21.6.1951",            # these fail the date's pattern as well: still one finding
    "1951-6-21",
    "1951-06-21T21:15",
    "1951-06-21\n",         # a trailing newline is not part of a date
    "1951-13-40",
])
def test_one_wrong_date_gives_one_finding(schemas: SchemaSet, value: str) -> None:
    findings = schemas.validate(minimal(date=value))
    assert where(findings) == [("METADATA_INVALID", "/date", "format")]
    assert findings[0].found == value


def test_an_interval_ending_before_it_starts_says_so(schemas: SchemaSet) -> None:
    [finding] = schemas.validate(minimal(date="1951-08/1951-06"))
    assert "ends (1951-06-30) before it starts (1951-08-01)" in finding.params["detail"]


_PRECISION = st.sampled_from([  # strftime's %Y does not pad years before 1000
    lambda d: f"{d.year:04d}", lambda d: f"{d.year:04d}-{d.month:02d}", lambda d: d.isoformat()])
_DATES = st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31))


@given(first=_DATES, second=_DATES, start_form=_PRECISION, end_form=_PRECISION, interval=st.booleans())
def test_any_real_date_or_ordered_interval_validates(
    first: date, second: date, start_form: Any, end_form: Any, interval: bool,
) -> None:
    start, end = sorted([first, second])
    value = f"{start_form(start)}/{end_form(end)}" if interval else start_form(start)
    assert SchemaSet.default().validate(minimal(date=value)) == []


@given(year=st.integers(1, 9999), month=st.integers(1, 12), day=st.integers(29, 31))
def test_days_past_the_end_of_their_month_are_refused(year: int, month: int, day: int) -> None:
    value = f"{year:04d}-{month:02d}-{day:02d}"
    findings = SchemaSet.default().validate(minimal(date=value))
    if day <= calendar.monthrange(year, month)[1]:
        assert findings == []
    else:
        assert where(findings) == [("METADATA_INVALID", "/date", "format")]


# --------------------------------------------------------------------------- other fields


@pytest.mark.parametrize("tag", ["en", "ru", "zh-Hans", "zh-Hans-CN", "en-GB", "es-419", "sr-Latn-RS",
                                 "de-CH-1901", "x-private", "en-a-bbb-x-ccc", "i-klingon", "zh-min-nan"])
def test_well_formed_language_tags_are_accepted(schemas: SchemaSet, tag: str) -> None:
    assert schemas.validate(minimal(language=tag)) == []


@pytest.mark.parametrize("tag", ["en_US", "English", "e", "en-", "-en", "en--GB", "en GB", "", "en\n", "1951"])
def test_malformed_language_tags_are_refused(schemas: SchemaSet, tag: str) -> None:
    assert where(schemas.validate(minimal(language=tag))) == [("METADATA_INVALID", "/language", "pattern")]


def test_misspelt_property_is_reported_at_its_own_pointer(schemas: SchemaSet) -> None:
    findings = schemas.validate(minimal(titel="typo", rights={"statement": "ok", "hodler": "typo"}))
    assert where(findings) == [
        ("METADATA_INVALID", "/rights/hodler", "additionalProperties"),
        ("METADATA_INVALID", "/titel", "additionalProperties"),
    ]
    assert findings[1].found == "typo"
    assert "title" in findings[1].expected


def test_identifier_with_a_trailing_newline_is_refused(schemas: SchemaSet) -> None:
    # Python's "$" matches before a final newline; ECMA-262's, which JSON Schema follows, does not.
    assert where(schemas.validate(minimal(identifier="rec-1\n"))) == [
        ("METADATA_INVALID", "/identifier", "pattern")]


@pytest.mark.parametrize(("identifier", "keyword"), [
    ("", "minLength"), (" rec-1", "pattern"), ("rec\t1", "pattern"), ("rec\u00851", "pattern"),
    ("r" * 257, "maxLength"),
])
def test_unusable_identifiers_are_refused(schemas: SchemaSet, identifier: str, keyword: str) -> None:
    assert where(schemas.validate(minimal(identifier=identifier))) == [
        ("METADATA_INVALID", "/identifier", keyword)]


def test_identifier_of_256_characters_is_accepted(schemas: SchemaSet) -> None:
    assert schemas.validate(minimal(identifier="r" * 256)) == []


@pytest.mark.parametrize(("field", "value", "pointer", "keyword"), [
    ("type", "telegramme", "/type", "enum"),
    ("subjects", ["Korea", "Korea"], "/subjects", "uniqueItems"),
    ("places", ["Beijing", ""], "/places/1", "minLength"),
    ("rights", {"statement": "ok", "contact": "not an address"}, "/rights/contact", "format"),
    ("rights", {"statement": "ok", "uri": "no scheme"}, "/rights/uri", "format"),
    ("source", {}, "/source", "minProperties"),
    ("source_system", {"name": "DA", "uploaded": "yesterday"}, "/source_system/uploaded", "anyOf"),
    ("description", "   \n  ", "/description", "pattern"),
    ("title", 1951, "/title", "type"),
])
def test_wrong_values_are_refused_at_their_pointer(
    schemas: SchemaSet, field: str, value: Any, pointer: str, keyword: str,
) -> None:
    assert where(schemas.validate(minimal(**{field: value}))) == [("METADATA_INVALID", pointer, keyword)]


@pytest.mark.parametrize("uploaded", ["2024-05-01", "2024-05-01T10:00:00Z", "2024-05-01T10:00:00+02:00"])
def test_upload_date_may_be_a_date_or_a_date_time(schemas: SchemaSet, uploaded: str) -> None:
    assert schemas.validate(minimal(source_system={"name": "DA", "uploaded": uploaded})) == []


def test_a_long_offending_value_is_quoted_short(schemas: SchemaSet) -> None:
    [finding] = schemas.validate(minimal(title="\x01" * 5000))
    assert isinstance(finding.found, str) and len(finding.found) <= 200 and finding.found.endswith("…")
    assert len(finding.params["detail"]) <= 300


def test_a_megabyte_of_white_space_is_judged_quickly(schemas: SchemaSet) -> None:
    # A backtracking pattern would take hours on this; ours is linear.
    started = time.monotonic()
    findings = schemas.validate(minimal(description=" " * 500_000, title="a" + " " * 500_000 + "\x01"))
    assert where(findings) == [("METADATA_INVALID", "/description", "pattern"),
                               ("METADATA_INVALID", "/title", "pattern")]
    assert time.monotonic() - started < 10


# --------------------------------------------------------------------------- parsing


def unparsable(raw: bytes) -> Finding:
    record, findings = parse_metadata(raw)
    assert record is None
    [finding] = findings
    return finding


def test_a_utf8_object_parses_and_a_byte_order_mark_is_tolerated() -> None:
    body = '{"title": "Telegram to Filippov — № 3107"}'.encode()
    assert parse_metadata(body) == ({"title": "Telegram to Filippov — № 3107"}, [])
    assert parse_metadata(b"\xef\xbb\xbf" + body) == ({"title": "Telegram to Filippov — № 3107"}, [])


def test_metadata_over_the_size_limit_is_refused_before_parsing() -> None:
    finding = unparsable(b'{"a":"' + b"x" * MAX_METADATA_BYTES + b'"}')
    assert finding.code == "METADATA_TOO_LARGE"
    assert finding.path == "metadata.json"
    assert finding.expected == f"at most {MAX_METADATA_BYTES} bytes"


def test_ten_megabytes_of_nesting_is_refused_without_crashing() -> None:
    assert unparsable(b"[" * 10_000_000).code == "METADATA_TOO_LARGE"


def test_deep_nesting_under_the_size_limit_is_refused_before_parsing() -> None:
    finding = unparsable(b'{"a":' + b"[" * (MAX_METADATA_BYTES - 10) + b"}")
    assert finding.code == "METADATA_TOO_LARGE"
    assert "nesting depth" in finding.expected


def test_nesting_at_the_limit_is_accepted_one_more_is_refused() -> None:
    def nested(levels: int) -> bytes:  # the top object is level 1
        return b'{"a":' + b"[" * (levels - 1) + b"]" * (levels - 1) + b"}"

    assert parse_metadata(nested(MAX_DEPTH))[1] == []
    assert unparsable(nested(MAX_DEPTH + 1)).code == "METADATA_TOO_LARGE"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    raw = json.dumps({"note": "[" * 1000 + '\\"{' * 100}).encode()
    record, findings = parse_metadata(raw)
    assert findings == [] and record is not None


def test_duplicate_key_is_refused_with_its_pointer() -> None:
    raw = b'{"source": {"citation": "APRF, f. 45", "citation": "APRF, f. 3"}, "title": "x"}'
    finding = unparsable(raw)
    assert (finding.code, finding.pointer) == ("METADATA_UNPARSABLE", "/source/citation")
    assert "'citation'" in finding.params["detail"]


def test_every_duplicate_key_is_reported_at_once() -> None:
    record, findings = parse_metadata(b'{"a": 1, "a": 2, "b": [{"c": 1, "c": 1, "c": 1}]}')
    assert record is None
    assert [(f.code, f.pointer) for f in findings] == [
        ("METADATA_UNPARSABLE", "/a"), ("METADATA_UNPARSABLE", "/b/0/c")]


@pytest.mark.parametrize("raw", [
    b'{"title": "caf\xe9"}',                            # Latin-1, not UTF-8
    '{"title": "x"}'.encode("utf-16"),
    b'{"title": "\xed\xa0\x80"}',                       # an encoded surrogate
])
def test_text_that_is_not_utf8_is_refused(raw: bytes) -> None:
    finding = unparsable(raw)
    assert finding.code == "METADATA_UNPARSABLE"
    assert "not UTF-8" in finding.params["detail"]


@pytest.mark.parametrize("raw", [b"[]", b'"a record"', b"1951", b"null", b"true"])
def test_metadata_that_is_not_an_object_is_refused(raw: bytes) -> None:
    finding = unparsable(raw)
    assert (finding.code, finding.pointer, finding.expected) == ("METADATA_UNPARSABLE", "", "an object")


@pytest.mark.parametrize("raw", [
    b'{"a": NaN}', b'{"a": Infinity}', b'{"a": -Infinity}',
    b'{"a": 1e999}',                                    # overflows to infinity
    b'{"a": ' + b"9" * 5000 + b"}",                     # more digits than Python converts
    b'{"a": "\\ud800"}',                                # a lone surrogate cannot be stored as UTF-8
    b'{"\\udfff": 1}',
])
def test_values_json_cannot_store_are_refused(raw: bytes) -> None:
    assert unparsable(raw).code == "METADATA_UNPARSABLE"


def test_invalid_json_reports_line_and_column() -> None:
    finding = unparsable(b'{\n  "title": "x",\n}')
    assert finding.code == "METADATA_UNPARSABLE"
    assert (finding.params["line"], finding.params["column"]) == (3, 1)
    assert "line 3 column 1" in finding.message


def test_an_empty_file_is_unparsable() -> None:
    assert unparsable(b"").code == "METADATA_UNPARSABLE"


# --------------------------------------------------------------------------- canonical record


def test_canonical_record_sorts_keys_keeps_text_and_ends_with_a_newline() -> None:
    record = {"title": "Телеграмма", "date": "1951-06-21", "places": ["Beijing"], "a": {"z": 1, "b": 2}}
    assert canonical_record(record) == (
        '{\n  "a": {\n    "b": 2,\n    "z": 1\n  },\n  "date": "1951-06-21",\n'
        '  "places": [\n    "Beijing"\n  ],\n  "title": "Телеграмма"\n}\n'
    ).encode()


def test_canonical_record_of_parsed_metadata_parses_back_to_the_same_record() -> None:
    record = load(TELEGRAM)
    assert parse_metadata(canonical_record(record)) == (record, [])


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(items=st.dictionaries(st.text(), _JSON, max_size=8), data=st.data())
def test_canonical_record_does_not_depend_on_key_order(items: dict[str, Any], data: st.DataObject) -> None:
    shuffled = dict(data.draw(st.permutations(list(items.items()))))
    assert canonical_record(shuffled) == canonical_record(items)


# --------------------------------------------------------------------------- the example batch


@pytest.mark.parametrize("item", ["telegram-1951-06-21-mao-to-filippov", "letter-1952-03-sample"])
def test_the_good_example_records_validate(schemas: SchemaSet, item: str) -> None:
    assert schemas.validate(load(EXAMPLES / item / "metadata.json")) == []


def test_the_example_batch_description_validates(schemas: SchemaSet) -> None:
    fields = load(EXAMPLES / "batch.json")
    assert fields["schema"] == "archival-record/v1"
    assert schemas.validate(fields, "batch/v1") == []


def test_the_bad_example_record_gives_exactly_its_designed_findings(schemas: SchemaSet) -> None:
    findings = schemas.validate(load(EXAMPLES / "bad-record-missing-title" / "metadata.json"))
    assert where(findings) == [
        ("METADATA_INVALID", "/date", "format"),        # month 13, day 40: one finding, not two
        ("METADATA_INVALID", "/descripton", "additionalProperties"),
        ("METADATA_INVALID", "/language", "pattern"),   # en_US: a POSIX locale, not BCP 47
        ("METADATA_INVALID", "/title", "required"),
    ]


def test_the_example_letter_has_an_empty_payload_file() -> None:
    assert (EXAMPLES / "letter-1952-03-sample" / "scan" / "blank-verso.txt").stat().st_size == 0


# --------------------------------------------------------------------------- messages a person reads


def test_a_day_first_date_is_one_finding_with_a_hint_and_no_regular_expression(schemas: SchemaSet) -> None:
    [finding] = schemas.validate(minimal(date="21/06/1951"))
    assert finding.message == (
        "Date is \"21/06/1951\", which is not an ISO 8601 date "
        "(YYYY, YYYY-MM or YYYY-MM-DD) or interval (start/end) that exists in the calendar")
    assert finding.hint == 'dates are ISO 8601, year first: "1951-06-21"'
    assert finding.to_dict()["hint"] == finding.hint


def test_a_posix_locale_as_language_hints_at_the_tag(schemas: SchemaSet) -> None:
    [finding] = schemas.validate(minimal(language="en_US"))
    assert finding.hint is not None and finding.hint.startswith('did you mean "en-US"?')
    assert finding.message == ("Language is \"en_US\", which is "
                               'not in the form expected, such as "en", "ru", "zh-Hans" or "en-GB"')
    # the machine-readable expectation keeps the pattern; the message never shows it
    assert finding.expected.startswith("string matching ^")


@pytest.mark.parametrize(("field", "value", "hint"), [
    ("type", "Telegram", 'did you mean "telegram"?'),
    ("title", "Telegram ", 'remove the white space at the start or end: "Telegram"'),
    ("date", 1951, 'write it as text, in quotes: "1951"'),
    ("titel", "x", 'did you mean "title"?'),
])
def test_common_mistakes_get_a_hint(schemas: SchemaSet, field: str, value: Any, hint: str) -> None:
    [finding] = schemas.validate(minimal(**{field: value}))
    assert finding.hint == hint


@pytest.mark.parametrize(("field", "value"), [
    ("language", "en GB"), ("identifier", " rec-1"), ("title", "a\x01"), ("description", "  \n"),
    ("date", "1951-6-21"), ("places", ["Beijing", ""]), ("source_system", {"name": "DA", "uploaded": "x"}),
])
def test_no_message_shows_a_regular_expression(schemas: SchemaSet, field: str, value: Any) -> None:
    for finding in schemas.validate(minimal(**{field: value})):
        assert not any(sign in finding.message for sign in ("^(", "(?:", "\\s", "[^", "{2,"))


def test_a_metadata_json_saved_in_latin1_is_told_its_line_and_to_save_it_as_utf8() -> None:
    # Before: "not UTF-8: byte 0xfc at offset 38", and no word of what to do.
    finding = unparsable('{\n  "identifier": "x",\n  "title": "Brief an Müller"\n}'.encode("latin-1"))
    assert finding.code == "METADATA_UNPARSABLE"
    assert "line 3" in finding.message
    assert finding.hint and "save it as UTF-8" in finding.hint


def test_an_empty_role_of_the_first_creator_is_named_as_that_role(schemas: SchemaSet) -> None:
    # Before: "Creators is empty" and 'Creators is "  "', for the role of creator
    # 1 and the name of creator 2.
    findings = schemas.validate(minimal(creators=[{"name": "Anna", "role": ""}, {"name": "  "}]))
    assert [(f.pointer, f.params["detail"][:36]) for f in findings] == [
        ("/creators/0/role", "Role of Creators, item 1, is empty"),
        ("/creators/1/name", 'Name of Creators, item 2, is "  ", w')]


@pytest.mark.parametrize(("raw", "mistake"), [
    (b'{"identifier": "x", "title": "t",}', "a comma after the last value"),
    (b"{'identifier': 'x'}", "single quotes"),
    (b'{"identifier": "x"\n "title": "t"}', "a comma missing"),
])
def test_a_common_json_mistake_is_named_with_its_line_and_column(raw: bytes, mistake: str) -> None:
    # Before: "Expecting property name enclosed in double quotes at line 1
    # column 68" and no word of what to change.
    finding = unparsable(raw)
    assert "line" in finding.message and "column" in finding.message
    assert finding.hint and mistake in finding.hint


def test_a_long_title_with_a_trailing_space_is_quoted_short_in_closed_quotes(schemas: SchemaSet) -> None:
    # Before: the message's quote of the title was cut and never closed, and the
    # hint repeated the whole 1,000-character title.
    title = "Protokoll der Sitzung " * 45 + "Ende "
    [finding] = schemas.validate(minimal(title=title))
    assert len(finding.message) < 300 and finding.hint is not None and len(finding.hint) < 200
    quoted = finding.params["detail"].split(" is ", 1)[1].split(", which", 1)[0]
    assert quoted.startswith('"Protokoll') and quoted.endswith('Ende "') and "…" in quoted
    assert finding.hint.endswith('Sitzung Ende"')
