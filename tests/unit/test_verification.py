"""Our bag validator finds every defect of a stored bag, once, against its manifests and the catalog."""

from __future__ import annotations

import hashlib
import io
import unicodedata

import pytest

from ingest.bag import manifest_txt
from ingest.errors import ObjectNotFound, StorageUnavailable
from ingest.findings import Finding, in_words
from ingest.fixity import digest_bytes
from ingest.models import StoredFile
from ingest.verification import verify_bag, verify_stream
from tests.contract_object_store import ObjectStoreContract
from tests.fakes import MemoryObjectStore, store_bag

PREFIX = "pkg/v1/"
PAYLOAD = {
    "letter.txt": b"Telegram, 1951. APRF, f. 45, op. 1, d. 339, ll. 64-65.",
    "scans/page 1.tif": bytes(range(256)) * 400,
    "empty.txt": b"",
}


def codes(findings: list[Finding]) -> list[tuple[str, str | None, str | None]]:
    """(code, path, the algorithms a digest finding names in words, or None)."""
    return [(f.code, f.path, in_words(f.params["algorithms"]) if "algorithms" in f.params else None)
            for f in findings]


def rewrite_tag_file(store: MemoryObjectStore, path: str, data: bytes) -> None:
    """Replace a tag file and fix both tag manifests to match, as a careful forger would."""
    store.objects[PREFIX + path] = data
    for algorithm in ("sha256", "sha512"):
        name = f"tagmanifest-{algorithm}.txt"
        covered = [
            StoredFile(key[len(PREFIX):], *_sizes(store.objects[key]))
            for key in store.objects
            if key.startswith(PREFIX) and not key[len(PREFIX):].startswith(("data/", "tagmanifest-"))
        ]
        store.objects[PREFIX + name] = manifest_txt(algorithm, covered)


def _sizes(data: bytes) -> tuple[int, str, str]:
    d = digest_bytes(data)
    return d.size, d.sha256, d.sha512


@pytest.fixture(params=[1, 8], ids=["one-request-at-a-time", "small-objects-side-by-side"])
def store(request: pytest.FixtureRequest) -> MemoryObjectStore:
    """A memory store; as a local store, and as a store over a network says it is
    (``requests_in_flight``: the small objects of a bag are then read side by side)."""
    memory = MemoryObjectStore()
    memory.requests_in_flight = request.param
    return memory


@pytest.fixture
def catalog(store: MemoryObjectStore) -> list[StoredFile]:
    """A good bag in the store; the catalog's record of its files."""
    return store_bag(store, PREFIX, PAYLOAD)


# --------------------------------------------------------------------------- clean bags


def test_clean_bag_has_no_findings(store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    assert verify_bag(store, PREFIX) == []
    assert verify_bag(store, PREFIX, expected=catalog) == []


def test_every_object_is_read_exactly_once(store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    verify_bag(store, PREFIX, expected=catalog)
    assert dict(store.opened) == {PREFIX + f.path: 1 for f in catalog}


def test_odd_names_verify_clean(store: MemoryObjectStore) -> None:
    payload = {
        "100% done.txt": b"percent",
        "line\nbreak\r\nand more.txt": b"newlines",
        unicodedata.normalize("NFD", "naïve.txt"): b"decomposed",
        unicodedata.normalize("NFC", "café.txt"): b"precomposed",
        "a %25 b.txt": b"a literal escape",
    }
    catalog = store_bag(store, PREFIX, payload)
    assert verify_bag(store, PREFIX, expected=catalog) == []


def test_other_versions_under_a_longer_prefix_are_not_mixed_in(store: MemoryObjectStore,
                                                               catalog: list[StoredFile]) -> None:
    store_bag(store, "pkg/v10/", {"other.txt": b"another version"})
    assert verify_bag(store, PREFIX, expected=catalog) == []


# --------------------------------------------------------------------------- payload defects


def test_flipped_byte_is_one_fixity_mismatch_naming_both_algorithms(
        store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    key = PREFIX + "data/letter.txt"
    store.objects[key] = b"X" + store.objects[key][1:]
    expected_codes = [("FIXITY_MISMATCH", "data/letter.txt", "sha256 and sha512")]
    assert codes(verify_bag(store, PREFIX)) == expected_codes
    findings = verify_bag(store, PREFIX, expected=catalog)
    assert codes(findings) == expected_codes  # the catalog sees the same defect: not repeated
    letter = next(f for f in catalog if f.path == "data/letter.txt")
    assert findings[0].expected == {"sha256": letter.sha256, "sha512": letter.sha512}
    assert findings[0].found == {"sha256": hashlib.sha256(store.objects[key]).hexdigest(),
                                 "sha512": hashlib.sha512(store.objects[key]).hexdigest()}
    assert findings[0].message == "'data/letter.txt' is not as recorded: sha256 and sha512 differ"
    assert findings[0].to_dict()["params"] == {"algorithms": ["sha256", "sha512"]}


def test_deleted_payload_file_is_missing(store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    del store.objects[PREFIX + "data/scans/page 1.tif"]
    findings = verify_bag(store, PREFIX, expected=catalog)
    assert codes(findings) == [
        ("TAG_MISMATCH", "bag-info.txt", None),  # Payload-Oxum no longer adds up
        ("FILE_MISSING", "data/scans/page 1.tif", None),
    ]
    assert findings[0].expected == f"{sum(map(len, PAYLOAD.values()))}.3"


def test_added_payload_object_is_unexpected(store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    store.objects[PREFIX + "data/smuggled.txt"] = b"not ingested"
    assert codes(verify_bag(store, PREFIX)) == [
        ("TAG_MISMATCH", "bag-info.txt", None),
        ("UNEXPECTED_FILE", "data/smuggled.txt", None),
    ]


def test_added_tag_file_is_unexpected(store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    store.objects[PREFIX + "notes.txt"] = b"left behind"
    assert codes(verify_bag(store, PREFIX)) == [("UNEXPECTED_FILE", "notes.txt", None)]
    assert codes(verify_bag(store, PREFIX, expected=catalog)) == [("UNEXPECTED_FILE", "notes.txt", None)]


def test_truncated_file_is_size_and_fixity_mismatch(store: MemoryObjectStore,
                                                    catalog: list[StoredFile]) -> None:
    key = PREFIX + "data/scans/page 1.tif"
    store.objects[key] = store.objects[key][:1000]
    findings = verify_bag(store, PREFIX, expected=catalog)
    assert codes(findings) == [
        ("TAG_MISMATCH", "bag-info.txt", None),
        ("FIXITY_MISMATCH", "data/scans/page 1.tif", "sha256 and sha512"),
        ("SIZE_MISMATCH", "data/scans/page 1.tif", None),
    ]
    assert (findings[-1].expected, findings[-1].found) == (102400, 1000)


def test_object_vanishing_between_list_and_read_is_missing(store: MemoryObjectStore,
                                                           catalog: list[StoredFile]) -> None:
    class VanishingStore(MemoryObjectStore):
        def open(self, key: str):
            if key.endswith("letter.txt"):
                raise ObjectNotFound(key)
            return super().open(key)

    vanishing = VanishingStore()
    vanishing.objects = dict(store.objects)
    findings = verify_bag(vanishing, PREFIX, expected=catalog)
    assert ("FILE_MISSING", "data/letter.txt", None) in codes(findings)
    assert [f for f in findings if f.path == "data/letter.txt"] == [Finding("FILE_MISSING", path="data/letter.txt")]


# --------------------------------------------------------------------------- tag file defects


def test_edited_bag_info_is_tag_mismatch(store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    key = PREFIX + "bag-info.txt"
    store.objects[key] = store.objects[key].replace(b"Telegram, 1951", b"Telegram, 1952")
    expected_codes = [("TAG_MISMATCH", "bag-info.txt", "sha256 and sha512")]
    assert codes(verify_bag(store, PREFIX)) == expected_codes
    assert codes(verify_bag(store, PREFIX, expected=catalog)) == expected_codes


def test_wrong_payload_oxum_is_tag_mismatch_even_with_matching_tagmanifest(
        store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    info = store.objects[PREFIX + "bag-info.txt"]
    rewrite_tag_file(store, "bag-info.txt", info.replace(b"Payload-Oxum: ", b"Payload-Oxum: 9"))
    findings = verify_bag(store, PREFIX)
    assert codes(findings) == [("TAG_MISMATCH", "bag-info.txt", None)]
    assert "Payload-Oxum" in findings[0].message


def test_consistently_forged_manifests_are_caught_against_the_catalog(
        store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    # Someone replaces a payload file and rewrites both manifests and both tag
    # manifests to match: the bag is valid on its own, only the catalog knows.
    forged = b"Telegram, 1951. A different text."
    store.objects[PREFIX + "data/letter.txt"] = forged
    payload = [StoredFile(f.path, *_sizes(store.objects[PREFIX + f.path])) for f in catalog if f.is_payload]
    for algorithm in ("sha256", "sha512"):
        rewrite_tag_file(store, f"manifest-{algorithm}.txt", manifest_txt(algorithm, payload))
    info = store.objects[PREFIX + "bag-info.txt"]
    old_oxum = f"{sum(map(len, PAYLOAD.values()))}.3".encode()
    new_oxum = f"{sum(f.size for f in payload)}.3".encode()
    rewrite_tag_file(store, "bag-info.txt", info.replace(old_oxum, new_oxum))

    assert verify_bag(store, PREFIX) == []
    assert codes(verify_bag(store, PREFIX, expected=catalog)) == [
        ("TAG_MISMATCH", "bag-info.txt", "sha256 and sha512"),
        ("FIXITY_MISMATCH", "data/letter.txt", "sha256 and sha512"),
        ("SIZE_MISMATCH", "data/letter.txt", None),
        ("TAG_MISMATCH", "manifest-sha256.txt", "sha256 and sha512"),
        ("TAG_MISMATCH", "manifest-sha512.txt", "sha256 and sha512"),
        ("TAG_MISMATCH", "tagmanifest-sha256.txt", "sha256 and sha512"),
        ("TAG_MISMATCH", "tagmanifest-sha512.txt", "sha256 and sha512"),
    ]


def test_missing_required_tag_file_is_reported_once(store: MemoryObjectStore,
                                                    catalog: list[StoredFile]) -> None:
    del store.objects[PREFIX + "bagit.txt"]
    assert codes(verify_bag(store, PREFIX, expected=catalog)) == [("FILE_MISSING", "bagit.txt", None)]


def test_missing_manifest_leaves_the_other_checking_the_payload(store: MemoryObjectStore,
                                                                catalog: list[StoredFile]) -> None:
    del store.objects[PREFIX + "manifest-sha512.txt"]
    store.objects[PREFIX + "data/empty.txt"] = b"no longer empty"
    assert codes(verify_bag(store, PREFIX)) == [
        ("TAG_MISMATCH", "bag-info.txt", None),
        ("FIXITY_MISMATCH", "data/empty.txt", "sha256"),
        ("FILE_MISSING", "manifest-sha512.txt", None),
    ]


def test_wrong_bagit_txt_is_bag_invalid(store: MemoryObjectStore, catalog: list[StoredFile]) -> None:
    rewrite_tag_file(store, "bagit.txt", b"BagIt-Version: 0.97\nTag-File-Character-Encoding: ISO-8859-1\n")
    findings = verify_bag(store, PREFIX)
    assert codes(findings) == [("BAG_INVALID", "bagit.txt", None)] * 2
    assert {f.expected for f in findings} == {"1.0", "UTF-8"}


def test_unreadable_manifest_lines_are_tag_mismatch(store: MemoryObjectStore,
                                                    catalog: list[StoredFile]) -> None:
    manifest = store.objects[PREFIX + "manifest-sha256.txt"]
    rewrite_tag_file(store, "manifest-sha256.txt",
                     manifest + b"garbage\n" + b"ab" * 32 + b"  ../outside.txt\n")
    findings = verify_bag(store, PREFIX)
    assert codes(findings) == [("TAG_MISMATCH", "manifest-sha256.txt", None)] * 2
    details = sorted(f.params["detail"] for f in findings)
    assert "outside.txt" in details[0] and details[1].startswith("line 4 ")


def test_manifests_that_disagree_on_the_files_are_tag_mismatch(store: MemoryObjectStore,
                                                               catalog: list[StoredFile]) -> None:
    payload = [f for f in catalog if f.is_payload and f.path != "data/empty.txt"]
    rewrite_tag_file(store, "manifest-sha512.txt", manifest_txt("sha512", payload))
    findings = verify_bag(store, PREFIX)
    assert codes(findings) == [("TAG_MISMATCH", "manifest-sha512.txt", None)]
    assert "data/empty.txt" in findings[0].message


def test_manifest_of_another_algorithm_is_bag_invalid(store: MemoryObjectStore,
                                                      catalog: list[StoredFile]) -> None:
    rewrite_tag_file(store, "manifest-md5.txt", b"d41d8cd98f00b204e9800998ecf8427e  data/empty.txt\n")
    assert codes(verify_bag(store, PREFIX)) == [("BAG_INVALID", "manifest-md5.txt", None)]


def test_file_the_catalog_does_not_know_is_unexpected(store: MemoryObjectStore,
                                                      catalog: list[StoredFile]) -> None:
    without = [f for f in catalog if f.path != "data/empty.txt"]
    assert codes(verify_bag(store, PREFIX, expected=without)) == [("UNEXPECTED_FILE", "data/empty.txt", None)]


def test_file_only_the_catalog_knows_is_missing(store: MemoryObjectStore,
                                                catalog: list[StoredFile]) -> None:
    extra = StoredFile("data/lost.txt", 4, *_sizes(b"lost")[1:])
    assert codes(verify_bag(store, PREFIX, expected=[*catalog, extra])) == [("FILE_MISSING", "data/lost.txt", None)]


def test_empty_prefix_reports_every_required_tag_file(store: MemoryObjectStore) -> None:
    findings = verify_bag(store, "nothing/v1/")
    assert sorted(f.path for f in findings) == sorted([
        "bag-info.txt", "bagit.txt", "manifest-sha256.txt", "manifest-sha512.txt",
        "metadata/record.json", "tagmanifest-sha256.txt", "tagmanifest-sha512.txt"])
    assert {f.code for f in findings} == {"FILE_MISSING"}


# --------------------------------------------------------------------------- errors


def test_unavailable_store_raises_instead_of_reporting(store: MemoryObjectStore,
                                                       catalog: list[StoredFile]) -> None:
    store.unavailable = True
    with pytest.raises(StorageUnavailable):
        verify_bag(store, PREFIX, expected=catalog)


def test_prefix_must_end_with_a_slash(store: MemoryObjectStore) -> None:
    with pytest.raises(ValueError):
        verify_bag(store, "pkg/v1")


# --------------------------------------------------------------------------- verify_stream


def test_matching_stream_passes_its_bytes_on() -> None:
    data = bytes(range(256)) * 5000
    record = StoredFile("data/a.bin", *_sizes(data))
    received = bytearray()
    assert verify_stream(io.BytesIO(data), record, received.extend) == []
    assert bytes(received) == data


def test_damaged_stream_is_fixity_mismatch() -> None:
    record = StoredFile("data/a.bin", *_sizes(b"original"))
    assert codes(verify_stream(io.BytesIO(b"0riginal"), record)) == [
        ("FIXITY_MISMATCH", "data/a.bin", "sha256 and sha512")]


def test_short_stream_is_size_mismatch() -> None:
    record = StoredFile("bag-info.txt", *_sizes(b"Payload-Oxum: 1.1\n"))
    assert codes(verify_stream(io.BytesIO(b"Payload"), record)) == [
        ("SIZE_MISMATCH", "bag-info.txt", None),
        ("TAG_MISMATCH", "bag-info.txt", "sha256 and sha512")]


# --------------------------------------------------------------------------- the fake itself


class TestMemoryObjectStoreKeepsTheContract(ObjectStoreContract):
    """The fake these tests rely on behaves as every real store must."""

    @pytest.fixture
    def store(self) -> MemoryObjectStore:
        return MemoryObjectStore()


def test_memory_store_refuses_bytes_with_the_wrong_digest() -> None:
    from ingest.errors import ChecksumRefused

    store = MemoryObjectStore()
    writer = store.writer("k")
    writer.write(b"bytes")
    with pytest.raises(ChecksumRefused):
        writer.commit(hashlib.sha256(b"other").hexdigest())
    assert list(store.list("")) == []
