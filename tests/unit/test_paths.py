"""Which payload names are safe, which collide, and how manifests spell them."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.findings import Finding
from ingest.models import identifier_key
from ingest.paths import (
    check_relative_path,
    decode_manifest_path,
    display_path,
    encode_manifest_path,
    find_collisions,
    find_unportable,
)


def codes(findings: list[Finding]) -> list[tuple[str, str | None]]:
    return [(f.code, f.path) for f in findings]


# --------------------------------------------------------------------------- check_relative_path


@pytest.mark.parametrize("path", [
    "letter.pdf",
    "scans/page 1.tif",
    "deep/er/still/file",
    "line\nbreak.txt",          # RFC 8493 percent-encodes LF: legal
    "carriage\rreturn.txt",     # and CR
    "café/Ελληνικά/日本語.txt",
    ".hidden",
    "...",                      # three dots is an ordinary name
    "a" * 255,
    "%41 percent.txt",
])
def test_ordinary_and_unusual_but_legal_names_are_accepted(path: str) -> None:
    assert check_relative_path(path) == []


@pytest.mark.parametrize("path, reason", [
    ("", "empty"),
    ("/etc/passwd", "absolute"),
    ("../outside.txt", "'..'"),
    ("scans/../../outside.txt", "'..'"),
    ("scans/./page.tif", "'.'"),
    (".", "'.'"),
    ("scans//page.tif", "empty component"),
    ("scans/", "empty component"),
    ("scans\\page.tif", "backslash"),
    ("nul\x00.txt", "NUL"),
    ("bell\x07.txt", "U+0007"),
    ("escape\x1b[31m.txt", "U+001B"),
    ("delete\x7f.txt", "U+007F"),
    ("next-line\x85.txt", "U+0085"),
    ("caf\udce9.txt", "not valid UTF-8"),
    ("invoice\u202efdp.exe", "bidirectional control character U+202E"),  # shows as invoiceexe.pdf
    ("scan\u2067.tif", "bidirectional control character U+2067"),
    ("a" * 256, "longer than 255"),
    ("é" * 128, "longer than 255"),   # 128 characters, 256 UTF-8 bytes
    ("/".join(["a" * 200] * 6), "longer than 1024"),
])
def test_path_traversal_and_unsafe_names_are_refused(path: str, reason: str) -> None:
    [finding] = check_relative_path(path)
    assert finding.code == "PATH_UNSAFE"
    assert finding.path == display_path(path)
    assert reason in finding.params["detail"]


def test_every_reason_for_refusing_one_path_is_named_at_once() -> None:
    [finding] = check_relative_path("/a/../b\\c\x07")
    detail = finding.params["detail"]
    for reason in ("absolute", "'..'", "backslash", "U+0007"):
        assert reason in detail


def test_non_utf8_name_is_reported_as_printable_text() -> None:
    [finding] = check_relative_path("caf\udce9.txt")
    assert finding.path == "caf\\xe9.txt"
    finding.path.encode("utf-8")   # a log or database can hold it
    assert "0xE9" in finding.message


_SAFE_CHARACTERS = st.characters(
    blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\",
) | st.sampled_from("\r\n")
_SAFE_COMPONENT = st.text(_SAFE_CHARACTERS, min_size=1, max_size=20).filter(
    lambda c: c not in (".", ".."))


@given(st.lists(_SAFE_COMPONENT, min_size=1, max_size=8))
def test_any_path_of_legal_names_is_accepted(components: list[str]) -> None:
    assert check_relative_path("/".join(components)) == []


# --------------------------------------------------------------------------- find_collisions


def test_nfd_duplicate_name_collides() -> None:
    nfc = unicodedata.normalize("NFC", "café.txt")
    nfd = unicodedata.normalize("NFD", "café.txt")
    [finding] = find_collisions([nfc, nfd])
    later, earlier = sorted([nfc, nfd])[1], sorted([nfc, nfd])[0]
    assert (finding.code, finding.path) == ("NAME_COLLISION", later)
    assert finding.params == {"other": earlier, "rule": "NFC normalization"}


def test_case_duplicate_name_collides() -> None:
    [finding] = find_collisions(["readme.TXT", "README.txt"])
    assert (finding.code, finding.path) == ("NAME_COLLISION", "readme.TXT")
    assert finding.params == {"other": "README.txt", "rule": "case folding"}


def test_file_and_folder_differing_in_case_collide_once() -> None:
    findings = find_collisions(["A/b", "a/c", "a/d/e"])
    assert codes(findings) == [("NAME_COLLISION", "a")]
    assert findings[0].params == {"other": "A", "rule": "case folding"}


def test_file_colliding_with_a_folder_name_is_reported() -> None:
    findings = find_collisions(["Scans", "scans/page.tif"])
    assert codes(findings) == [("NAME_COLLISION", "scans")]


def test_files_under_colliding_folders_are_not_reported_again() -> None:
    assert codes(find_collisions(["A/x.txt", "a/x.txt"])) == [("NAME_COLLISION", "a")]


def test_collision_inside_one_folder_is_reported_with_full_path() -> None:
    findings = find_collisions(["box/Letter.pdf", "box/letter.pdf", "box/other.pdf"])
    assert codes(findings) == [("NAME_COLLISION", "box/letter.pdf")]
    assert findings[0].params["other"] == "box/Letter.pdf"


def test_case_folding_beyond_ascii_collides() -> None:
    # German sharp s folds to "ss"; the name would clash on a folding file system.
    [finding] = find_collisions(["Strasse.txt", "Straße.txt"])
    assert finding.params["rule"] == "case folding"


def test_distinct_names_do_not_collide() -> None:
    assert find_collisions(["a.txt", "b.txt", "a/b.txt", "café", "cafe"]) == []


def test_the_same_path_twice_is_no_collision() -> None:
    assert find_collisions(["a.txt", "a.txt"]) == []


@given(st.sets(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/"),
                       min_size=1, max_size=6), max_size=8))
def test_collisions_are_found_exactly_when_names_read_alike(names: set[str]) -> None:
    # read alike: compatibility-normalized and case-folded, characters that show
    # nothing left out ("O" and "º", "a" and fullwidth "ａ")
    folded = {identifier_key(n) for n in names}
    assert len(find_collisions(names)) == len(names) - len(folded)


def test_a_letter_and_its_compatibility_form_collide() -> None:
    assert [f.code for f in find_collisions(["O", "º"])] == ["NAME_COLLISION"]


# --------------------------------------------------------------------------- manifest spelling


def test_percent_cr_and_lf_are_encoded_as_rfc_8493_says() -> None:
    assert encode_manifest_path("100% done\r\nreally.txt") == "100%25 done%0D%0Areally.txt"


def test_decoding_accepts_either_hex_case_for_the_three_encoded_characters() -> None:
    assert decode_manifest_path("a%25b%0d%0A%0D%0a") == "a%b\r\n\r\n"


def test_decoding_leaves_other_percent_sequences_alone() -> None:
    assert decode_manifest_path("%41%2F%zz%2") == "%41%2F%zz%2"


def test_percent_encoded_percent_is_decoded_once() -> None:
    assert decode_manifest_path("%250A") == "%0A"


@given(st.text())
def test_manifest_spelling_round_trips_any_path(path: str) -> None:
    encoded = encode_manifest_path(path)
    assert "\r" not in encoded and "\n" not in encoded
    assert decode_manifest_path(encoded) == path


# --------------------------------------------------------------------------- find_unportable


@pytest.mark.parametrize("path, reason", [
    ("minutes: draft.txt", "':'"),
    ("what?.pdf", "'?'"),
    ('the "red" file.txt', "'\"'"),
    ("a<b>c.txt", "'<'"),
    ("pipe|line.txt", "'|'"),
    ("star*.txt", "'*'"),
    ("CON", "reserved"),
    ("con.txt", "reserved"),
    ("scans/Aux.tar.gz", "reserved"),
    ("lpt1.log", "reserved"),
    ("ends with a dot.", "ends with a dot"),
    ("ends with a space ", "ends with a space"),
    ("line\nbreak.txt", "line break"),
])
def test_a_name_windows_cannot_hold_is_told_with_its_reason(path: str, reason: str) -> None:
    (finding,) = find_unportable([path])
    assert (finding.code, finding.path, finding.is_error) == ("PATH_NOT_PORTABLE", path, False)
    assert reason in finding.params["detail"]


@pytest.mark.parametrize("path", [
    "letter.pdf", "console.txt", "CONFIG", "com10.txt", "nul-result.csv", "...hidden",
    "café/日本語.txt", "scans/page 1.tif"])
def test_names_windows_can_hold_are_not_told(path: str) -> None:
    assert find_unportable([path]) == []


def test_a_folder_windows_cannot_hold_is_told_once_not_for_every_file_in_it() -> None:
    findings = find_unportable(["q&a: 1951/a.txt", "q&a: 1951/b.txt", "q&a: 1951/sub/c?.txt"])
    assert [f.path for f in findings] == ["q&a: 1951", "q&a: 1951/sub/c?.txt"]
    assert "':'" in findings[0].params["detail"] and "'?'" in findings[1].params["detail"]

