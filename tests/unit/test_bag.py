"""Tag files of a version: their exact text, their parsers, and bags LOC bagit and our profile accept."""

from __future__ import annotations

import json
import logging
import unicodedata
from pathlib import Path

import bagit
import bagit_profile
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.bag import (
    BAGIT_TXT,
    PROFILE_IDENTIFIER,
    REQUIRED_TAG_FILES,
    bag_info_txt,
    bag_size,
    build_tag_files,
    manifest_txt,
    parse_bag_info,
    parse_manifest,
    payload_oxum,
)
from ingest.fixity import digest_bytes
from ingest.models import StoredFile
from tests.fakes import BAG_INFO

PROFILE_PATH = Path(__file__).parents[2] / "schemas" / "bagit-profile.json"


def stored(path: str, data: bytes) -> StoredFile:
    d = digest_bytes(data)
    return StoredFile(path, d.size, d.sha256, d.sha512)


def tag_map(payload: list[StoredFile], info=BAG_INFO, record: bytes = b"{}\n") -> dict[str, bytes]:
    return dict(build_tag_files(payload, record, info))


def write_bag(root: Path, payload: dict[str, bytes], info=BAG_INFO) -> Path:
    """Payload (paths under data/) plus our tag files, written into a fresh folder."""
    files = []
    for path, data in payload.items():
        target = root / "data" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files.append(stored("data/" + path, data))
    for path, data in build_tag_files(files, b'{"identifier": "APRF-45-1-339"}\n', info):
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return root


def profile() -> bagit_profile.Profile:
    with open(PROFILE_PATH, encoding="utf-8") as f:
        return bagit_profile.Profile(PROFILE_IDENTIFIER, profile=json.load(f))


# Names archives send, each of which has broken some BagIt tool.
ODD_PAYLOAD = {
    "letter of 12 May.txt": b"a name with spaces",
    "scans/page 001.tif": b"\x00\x01tiff-ish" * 1000,
    "line\nbreak.txt": b"a newline inside the name",
    unicodedata.normalize("NFC", "Zürich café.txt"): b"precomposed accents",
    unicodedata.normalize("NFD", "naïve résumé.txt"): b"decomposed accents",
    "Телеграмма/1951.txt": b"cyrillic folder",
    "empty.txt": b"",
}


# --------------------------------------------------------------------------- small parts


def test_payload_oxum_counts_only_payload_files() -> None:
    files = [stored("data/a", b"12345"), stored("data/b/c", b""), stored("bag-info.txt", b"xx")]
    assert payload_oxum(files) == "5.2"
    assert payload_oxum([]) == "0.0"


@pytest.mark.parametrize(("octets", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
    (50 * 1024 * 1024, "50.0 MiB"), (3 * 1024**4, "3.0 TiB"),
])
def test_bag_size_is_human(octets: int, text: str) -> None:
    assert bag_size(octets) == text


def test_bag_info_keeps_field_order_and_duplicates() -> None:
    text = bag_info_txt([("Source-Organization", "Archive"), ("Bagging-Date", "2024-05-01"),
                         ("Contact-Name", "A"), ("Contact-Name", "B")])
    assert text == (b"Source-Organization: Archive\nBagging-Date: 2024-05-01\n"
                    b"Contact-Name: A\nContact-Name: B\n")


def test_line_breaks_in_a_value_cannot_forge_a_field() -> None:
    text = bag_info_txt([("External-Description", "Telegram\r\nPayload-Oxum: 1.1\n  and more \u2028end")])
    assert text == b"External-Description: Telegram Payload-Oxum: 1.1 and more end\n"
    assert parse_bag_info(text) == [("External-Description", "Telegram Payload-Oxum: 1.1 and more end")]


@pytest.mark.parametrize("label", ["", "Has:Colon", " Leading", "Trailing ", "Two\nLines"])
def test_unusable_label_is_refused(label: str) -> None:
    with pytest.raises(ValueError):
        bag_info_txt([(label, "value")])


def test_manifest_lines_are_sorted_encoded_and_two_spaced() -> None:
    files = [stored("data/b%.txt", b"b"), stored("data/a\r\nb.txt", b"a")]
    text = manifest_txt("sha256", files)
    assert text == (f"{files[1].sha256}  data/a%0D%0Ab.txt\n"
                    f"{files[0].sha256}  data/b%25.txt\n").encode()


def test_manifest_refuses_unknown_algorithm_and_twice_listed_path() -> None:
    with pytest.raises(ValueError):
        manifest_txt("md5", [stored("data/a", b"")])
    with pytest.raises(ValueError):
        manifest_txt("sha256", [stored("data/a", b""), stored("data/a", b"x")])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=30),
                min_size=1, max_size=8, unique=True))
def test_manifest_round_trips_any_names(names: list[str]) -> None:
    files = [stored("data/" + name, name.encode("utf-8", "surrogatepass")) for name in names]
    for algorithm in ("sha256", "sha512"):
        entries, findings = parse_manifest(manifest_txt(algorithm, files), f"manifest-{algorithm}.txt")
        assert findings == []
        assert entries == {f.path: getattr(f, algorithm) for f in files}


def test_parse_manifest_reports_every_bad_line() -> None:
    good = "ab" * 32
    text = (f"{good}  data/ok.txt\r\n"
            f"not-a-line\n"
            f"{'AB' * 32} data/upper.txt\n"
            f"{'ab' * 31}  data/short.txt\n"
            f"{'zz' * 32}  data/nothex.txt\n"
            f"{good}  data/ok.txt\n"
            "\n").encode() + b"\xff\xfe  data/latin1\n"
    entries, findings = parse_manifest(text, "manifest-sha256.txt")
    assert entries == {"data/ok.txt": good, "data/upper.txt": good}
    assert [(f.code, f.path) for f in findings] == [("TAG_MISMATCH", "manifest-sha256.txt")] * 5
    details = [f.params["detail"] for f in findings]
    assert details[0].startswith("line 2 ")
    assert "64 hex digits" in details[1] and "64 hex digits" in details[2]
    assert "again" in details[3]
    assert "not UTF-8" in details[4]


def test_parse_bag_info_joins_continuation_lines() -> None:
    text = b"Source-Organization: Archive\nExternal-Description: A long\n  title\n\tgoes on\nBagging-Date:2024-05-01\n"
    assert parse_bag_info(text) == [
        ("Source-Organization", "Archive"),
        ("External-Description", "A long title goes on"),
        ("Bagging-Date", "2024-05-01"),
    ]
    with pytest.raises(ValueError):
        parse_bag_info(b"no colon here\n")


# --------------------------------------------------------------------------- build_tag_files


def test_tag_files_come_in_write_order() -> None:
    tags = build_tag_files([stored("data/a.txt", b"a")], b"{}\n", BAG_INFO)
    assert [name for name, _ in tags] == list(REQUIRED_TAG_FILES)
    assert tags[0][1] == BAGIT_TXT
    assert tags[2][1] == b"{}\n"


def test_bag_info_has_callers_fields_then_computed_ones() -> None:
    payload = [stored("data/a.txt", b"x" * 2000), stored("data/b.txt", b"")]
    fields = parse_bag_info(tag_map(payload)["bag-info.txt"])
    assert fields == [*BAG_INFO, ("BagIt-Profile-Identifier", PROFILE_IDENTIFIER),
                      ("Payload-Oxum", "2000.2"), ("Bag-Size", "2.0 KiB")]


def test_tag_manifests_cover_every_tag_file_before_them() -> None:
    payload = [stored("data/a.txt", b"a")]
    tags = tag_map(payload)
    covered = ["bag-info.txt", "bagit.txt", "manifest-sha256.txt", "manifest-sha512.txt",
               "metadata/record.json"]
    for algorithm in ("sha256", "sha512"):
        entries, findings = parse_manifest(tags[f"tagmanifest-{algorithm}.txt"], f"tagmanifest-{algorithm}.txt")
        assert findings == []
        assert entries == {name: getattr(digest_bytes(tags[name]), algorithm) for name in covered}
        payload_entries, _ = parse_manifest(tags[f"manifest-{algorithm}.txt"], f"manifest-{algorithm}.txt")
        assert payload_entries == {"data/a.txt": getattr(payload[0], algorithm)}


@pytest.mark.parametrize("info", [
    BAG_INFO + (("Payload-Oxum", "1.1"),),
    BAG_INFO + (("Bag-Size", "1 B"),),
    BAG_INFO + (("BagIt-Profile-Identifier", "https://elsewhere.invalid/profile.json"),),
])
def test_fields_that_would_contradict_the_bag_are_refused(info) -> None:
    with pytest.raises(ValueError):
        build_tag_files([stored("data/a", b"a")], b"{}", info)


def test_optional_tag_files_come_after_the_record_and_are_in_the_tag_manifests() -> None:
    tags = build_tag_files([stored("data/a.txt", b"a")], b"{}\n", BAG_INFO,
                           [("metadata/formats.json", b"{}\n")])
    names = [name for name, _ in tags]
    assert names[names.index("metadata/record.json") + 1] == "metadata/formats.json"
    entries, _ = parse_manifest(dict(tags)["tagmanifest-sha256.txt"], "tagmanifest-sha256.txt")
    assert "metadata/formats.json" in entries


@pytest.mark.parametrize("path", ["bag-info.txt", "manifest-md5.txt", "data/extra.txt"])
def test_an_optional_tag_file_may_not_stand_for_one_the_bag_writes(path: str) -> None:
    with pytest.raises(ValueError):
        build_tag_files([stored("data/a", b"a")], b"{}", BAG_INFO, [(path, b"x")])


def test_payload_outside_data_is_refused() -> None:
    with pytest.raises(ValueError):
        build_tag_files([stored("bag-info.txt", b"a")], b"{}", BAG_INFO)


# --------------------------------------------------------------------------- independent validators


@pytest.mark.parametrize("fast", [True, False])
def test_bag_with_odd_names_validates_with_loc_bagit(tmp_path: Path, fast: bool) -> None:
    root = write_bag(tmp_path / "bag", ODD_PAYLOAD)
    bag = bagit.Bag(str(root))
    bag.validate(fast=fast)
    assert bag.info["Payload-Oxum"] == f"{sum(map(len, ODD_PAYLOAD.values()))}.{len(ODD_PAYLOAD)}"
    assert sorted(bag.payload_files()) == sorted("data/" + p for p in ODD_PAYLOAD)


def test_loc_bagit_catches_a_damaged_payload_file(tmp_path: Path) -> None:
    root = write_bag(tmp_path / "bag", ODD_PAYLOAD)
    (root / "data" / "letter of 12 May.txt").write_bytes(b"a name with spaceS")
    with pytest.raises(bagit.BagValidationError) as raised:
        bagit.Bag(str(root)).validate()
    assert {type(d).__name__ for d in raised.value.details} == {"ChecksumMismatch"}


@pytest.mark.xfail(strict=True, raises=bagit.BagValidationError,
                   reason="bagit-python 1.9 does not decode %25 in manifest paths, which RFC 8493 "
                          "§2.1.3 requires (LibraryOfCongress/bagit-python#157)")
def test_percent_in_a_name_validates_with_loc_bagit(tmp_path: Path) -> None:
    root = write_bag(tmp_path / "bag", {"100% done.txt": b"percent"})
    bagit.Bag(str(root)).validate()


def test_bag_conforms_to_the_strongroom_profile(tmp_path: Path) -> None:
    root = write_bag(tmp_path / "bag", ODD_PAYLOAD)
    checker = profile()
    assert checker.validate_serialization(str(root))
    assert checker.validate(bagit.Bag(str(root))), str(checker.report)


def test_profile_refuses_a_bag_without_required_fields(tmp_path: Path, caplog) -> None:
    info = tuple(field for field in BAG_INFO if field[0] != "External-Identifier")
    root = write_bag(tmp_path / "bag", {"a.txt": b"a"}, info=info)
    checker = profile()
    with caplog.at_level(logging.CRITICAL):
        assert not checker.validate(bagit.Bag(str(root)))
    assert "External-Identifier" in str(checker.report)


def test_profile_names_itself_and_our_algorithms() -> None:
    data = json.loads(PROFILE_PATH.read_text(encoding="utf-8"))
    info = data["BagIt-Profile-Info"]
    assert info["BagIt-Profile-Identifier"] == PROFILE_IDENTIFIER
    assert info["BagIt-Profile-Version"] == "1.3.0"
    assert data["Manifests-Required"] == data["Tag-Manifests-Required"] == ["sha256", "sha512"]
    assert data["Serialization"] == "forbidden" and data["Allow-Fetch.txt"] is False
    required = {label for label, rule in data["Bag-Info"].items() if rule.get("required")}
    written = {label for label, _ in parse_bag_info(tag_map([stored("data/a", b"a")])["bag-info.txt"])}
    assert required <= written
