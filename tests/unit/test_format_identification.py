"""Format identification: every payload file stored gets a PRONOM identifier
(PUID), a format name and version and a media type, told from its bytes by fido
from the head and tail kept during the one read the pipeline already makes.

What a person notices: the bag says each file's format in metadata/formats.json
(covered by the tag manifests, and the bag still validates with LOC bagit), the
audit log has a "format identification" event naming the tool and its
signatures, and a file nobody recognises is a warning on a stored item.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest

from ingest.bag import parse_manifest
from ingest.format_identification import HeadTail
from ingest.layout import version_prefix
from ingest.models import EventType, ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.services import Services
from ingest.submission import submit_batch
from storage.fido_formats import fido_identifier
from storage.filesystem import FilesystemObjectStore
from tests.fresh_process import modules_loaded, run_fresh
from tests.sqlite_services import sqlite_services

IDENTIFIER = "parish-minutes-1921"

#: a minimal PDF 1.4: header, one catalog, trailer and end marker
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
       b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
#: a little-endian TIFF header pointing at an empty image file directory
TIFF = b"II*\x00\x08\x00\x00\x00\x00\x00\x00\x00\x00\x00"
TEXT = b"Minutes of the meeting of the parish council, 3 March 1921.\nPresent: the chairman.\n"
NOISE = bytes(b ^ 0xA5 for b in os.urandom(4096)).replace(b"%PDF", b"%PDG")

PAYLOAD = {
    "minutes.pdf": PDF,
    "scans/page-01.tif": TIFF,
    "minutes.txt": TEXT,
    "noise": NOISE,  # no extension, no signature: nothing can say what it is
}


def write_item(batch: Path, payload: dict[str, bytes]) -> None:
    item = batch / "minutes"
    item.mkdir(parents=True)
    (item / "metadata.json").write_text(json.dumps({
        "identifier": IDENTIFIER, "title": "Parish minutes", "date": "1921-03",
        "type": "minutes", "language": "en-GB",
        "rights": {"statement": "May be copied freely.", "holder": "Strongroom contributors"},
    }), encoding="utf-8")
    for path, data in payload.items():
        (item / path).parent.mkdir(parents=True, exist_ok=True)
        (item / path).write_bytes(data)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with sqlite_services(tmp_path, FilesystemObjectStore(tmp_path / "objects"),
                         formats=fido_identifier()) as services:
        yield services


def ingest(services: Services, tmp_path: Path, payload: dict[str, bytes]) -> tuple[ItemStatus | None, Path]:
    write_item(tmp_path / "batch", payload)
    (item,) = submit_batch(tmp_path / "batch", services).items
    result = ingest_item(item.item_id, services)
    bag = tmp_path / "objects" / version_prefix(package_id_for(IDENTIFIER), 1)
    return result.status, bag


def formats_of(bag: Path) -> dict[str, dict[str, str] | None]:
    document = json.loads((bag / "metadata" / "formats.json").read_text(encoding="utf-8"))
    return {f["path"]: f["format"] for f in document["files"]}


# --------------------------------------------------------------------------- each fixture


@pytest.mark.parametrize(("name", "data", "puid"), [
    ("minutes.pdf", PDF, "fmt/18"),          # Acrobat PDF 1.4
    ("page-01.tif", TIFF, "fmt/353"),        # Tagged Image File Format
    ("minutes.txt", TEXT, "x-fmt/111"),      # Plain Text File (no signature: by its extension)
    ("noise", NOISE, None),                  # unidentified
], ids=["pdf", "tiff", "plain-text", "random-binary"])
def test_each_kind_of_file_gets_its_pronom_identifier_or_none(name: str, data: bytes, puid: str | None) -> None:
    found = fido_identifier().identify(data, data, name)
    assert (found.puid if found else None) == puid


def test_a_pdf_is_named_with_its_version_and_media_type() -> None:
    found = fido_identifier().identify(PDF, PDF, "anything.bin")
    assert found is not None
    assert (found.puid, found.version, found.mime, found.basis) == ("fmt/18", "1.4", "application/pdf",
                                                                    "signature")
    assert "PDF" in found.name


def test_the_identifier_names_the_tool_and_its_signature_version() -> None:
    identifier = fido_identifier()
    assert identifier.tool.startswith("fido ")
    assert identifier.signatures.startswith("PRONOM v")


# --------------------------------------------------------------------------- head and tail


@pytest.mark.parametrize("size", [0, 10, 999, 1000, 1001, 2999, 3000, 10_000])
@pytest.mark.parametrize("chunk", [1, 7, 1000, 4096])
def test_head_and_tail_are_the_first_and_last_bytes_whatever_the_chunks(size: int, chunk: int) -> None:
    data = os.urandom(size)
    ends = HeadTail(1000)
    for start in range(0, size, chunk):
        ends.update(memoryview(data)[start:start + chunk])
    assert ends.head == data[:1000]
    assert ends.tail == data[-1000:] if size else ends.tail == b""


def test_a_pdf_end_marker_past_the_head_is_still_seen_in_the_tail() -> None:
    # fido's PDF signatures look for %%EOF at the end: a big PDF is told only from its tail.
    body = PDF[:-6] + b"%" + b"x" * (3 * 1024 * 1024) + b"\n" + PDF[-6:]
    ends = HeadTail(fido_identifier().bufsize)
    for start in range(0, len(body), 1024 * 1024):
        ends.update(body[start:start + 1024 * 1024])
    found = fido_identifier().identify(ends.head, ends.tail, "big")
    assert found is not None and found.puid == "fmt/18"


# --------------------------------------------------------------------------- ingest


def test_the_bag_records_every_payload_files_format_and_still_validates(
        services: Services, tmp_path: Path) -> None:
    status, bag = ingest(services, tmp_path, PAYLOAD)
    assert status is ItemStatus.STORED
    formats = formats_of(bag)
    assert {path: (f["puid"] if f else None) for path, f in formats.items()} == {
        "data/minutes.pdf": "fmt/18",
        "data/minutes.txt": "x-fmt/111",
        "data/noise": None,
        "data/scans/page-01.tif": "fmt/353",
    }
    assert formats["data/minutes.pdf"] == {"puid": "fmt/18", "version": "1.4", "mime": "application/pdf",
                                           "basis": "signature",
                                           "name": formats["data/minutes.pdf"]["name"]}  # type: ignore[index]
    assert formats["data/minutes.txt"]["basis"] == "extension"  # type: ignore[index]
    for algorithm in ("sha256", "sha512"):
        listed, problems = parse_manifest((bag / f"tagmanifest-{algorithm}.txt").read_bytes(),
                                          f"tagmanifest-{algorithm}.txt")
        assert problems == [] and "metadata/formats.json" in listed
    bagit.Bag(str(bag)).validate()  # LOC bagit


def test_an_unidentified_file_is_a_warning_and_the_item_is_still_stored(
        services: Services, tmp_path: Path) -> None:
    status, _ = ingest(services, tmp_path, PAYLOAD)
    assert status is ItemStatus.STORED
    (item,) = [e.item_id for e in services.catalog.events() if e.event_type == EventType.INGESTION.value]
    assert [(f.code, f.path, f.severity) for f in services.catalog.get_item(str(item)).findings] == [
        ("FORMAT_UNIDENTIFIED", "data/noise", "warning")]
    findings = [f for e in services.catalog.events() if e.event_type == EventType.INGESTION.value
                for f in e.detail["findings"]]
    assert [(f["code"], f["path"]) for f in findings] == [("FORMAT_UNIDENTIFIED", "data/noise")]


def test_thirty_unidentified_files_are_told_in_twenty_warnings_the_last_counting_the_rest(
        services: Services, tmp_path: Path) -> None:
    # Each file was one warning: ten thousand files of a format no signature
    # knows put ten thousand findings in the item's row and its ingestion event.
    payload = {f"noise-{n:02d}": bytes([n, 0xA5, 0x5A, n]) * 8 for n in range(30)}
    status, _ = ingest(services, tmp_path, payload)
    assert status is ItemStatus.STORED
    (item,) = [e.item_id for e in services.catalog.events() if e.event_type == EventType.INGESTION.value]
    findings = services.catalog.get_item(str(item)).findings
    assert [f.code for f in findings] == ["FORMAT_UNIDENTIFIED"] * 20
    assert findings[-1].message.endswith("(and 10 more like it in this item, not listed one by one)")
    told = [f for e in services.catalog.events() if e.event_type == EventType.INGESTION.value
            for f in e.detail["findings"]]
    assert len(told) == 20 and told[-1]["params"]["more_like_it"] == 10


def test_a_format_identification_event_names_the_tool_and_signatures(
        services: Services, tmp_path: Path) -> None:
    ingest(services, tmp_path, PAYLOAD)
    (event,) = [e for e in services.catalog.events()
                if e.event_type == EventType.FORMAT_IDENTIFICATION.value]
    assert event.outcome == "success" and event.version == 1
    assert event.detail["tool"] == fido_identifier().tool
    assert event.detail["signatures"] == fido_identifier().signatures
    assert event.detail["files"] == 4 and event.detail["identified"] == 3
    assert event.detail["formats"] == {"fmt/18": 1, "fmt/353": 1, "unidentified": 1, "x-fmt/111": 1}


def test_identifying_formats_reads_no_payload_byte_twice(
        services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ingest.batch_source as batch_source

    opened: list[str] = []
    real_open = batch_source.open_submitted

    def counting_open(base: object, rel: str, *args: object, **kwargs: object) -> object:
        opened.append(rel)
        return real_open(base, rel, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(batch_source, "open_submitted", counting_open)
    status, bag = ingest(services, tmp_path, PAYLOAD)
    assert status is ItemStatus.STORED and formats_of(bag)["data/minutes.pdf"] is not None
    assert sorted(opened) == sorted(f"minutes/{path}" for path in PAYLOAD)


SAMPLES = [PDF, TIFF, TEXT, NOISE, b"\x89PNG\r\n\x1a\n" + bytes(64), b"GIF89a" + bytes(32),
           b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64) + b"\xff\xd9", b"PK\x03\x04" + bytes(64),
           b"<?xml version=\"1.0\"?>\n<root/>\n", b"MM\x00*\x00\x00\x00\x08" + bytes(16)]


@pytest.mark.parametrize("data", SAMPLES, ids=range(len(SAMPLES)))
def test_signatures_match_as_fidos_own_matcher_would(data: bytes) -> None:
    identifier = fido_identifier()
    ours = identifier.identify(data, data, "no-extension")
    theirs = identifier._loaded().match_formats(data, data)
    assert (ours.puid if ours and ours.basis == "signature" else None) == (
        theirs[0][0].findtext("puid") if theirs else None)


def test_files_beginning_with_each_of_the_256_bytes_match_as_fidos_own_matcher_would() -> None:
    # The signatures a file could match are indexed by its first byte, all 256
    # at once; each byte's list must be the one fido's order and rules give.
    identifier = fido_identifier()
    fido = identifier._loaded()
    for first in range(256):
        for rest in (NOISE[:600], PDF[1:]):
            data = bytes([first]) + rest
            ours = identifier.identify(data, data, "no-extension")
            theirs = fido.match_formats(data, data)
            assert (ours.puid if ours and ours.basis == "signature" else None) == (
                theirs[0][0].findtext("puid") if theirs else None), (first, rest[:8])


# --------------------------------------------------------------------------- catalog, show, API


def test_the_catalog_keeps_each_files_format(services: Services, tmp_path: Path) -> None:
    ingest(services, tmp_path, PAYLOAD)
    version = services.catalog.latest_version(package_id_for(IDENTIFIER))
    assert version is not None
    puids = {f.path: f.format.puid if f.format else None for f in version.files}
    assert puids["data/minutes.pdf"] == "fmt/18" and puids["data/scans/page-01.tif"] == "fmt/353"
    assert puids["data/noise"] is None and puids["metadata/record.json"] is None


def test_submit_starts_loading_the_signatures_before_it_opens_the_catalog(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The signatures began to load only once the catalog was open (imports,
    # migrations): a one-item submit's first files then waited for them, about
    # half a second of its 1.5 s.
    from click.testing import CliRunner

    import strongroom.bootstrap
    from strongroom.cli import main

    for name in list(os.environ):
        if name.startswith("STRONGROOM_") and not name.startswith("STRONGROOM_TEST_"):
            monkeypatch.delenv(name)
    order: list[str] = []
    identifier = strongroom.bootstrap.format_identifier()
    real_warm_up, real_build = identifier.warm_up, strongroom.bootstrap.build_services

    def warm_up() -> None:
        order.append("signatures")
        real_warm_up()

    def build_services(*args: object, **kwargs: object) -> Services:
        order.append("catalog")
        return real_build(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(identifier, "warm_up", warm_up)
    monkeypatch.setattr(strongroom.bootstrap, "build_services", build_services)
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_RETRY_BACKOFF": "0"}
    write_item(tmp_path / "batch", PAYLOAD)
    submitted = CliRunner().invoke(main, ["submit", str(tmp_path / "batch"), "--json"], env=env)

    assert json.loads(submitted.stdout)["items"][0]["status"] == "stored", submitted.output
    assert order[:2] == ["signatures", "catalog"], order


def test_show_and_the_api_file_listing_give_each_files_format(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from strongroom.cli import main

    for name in list(os.environ):
        if name.startswith("STRONGROOM_") and not name.startswith("STRONGROOM_TEST_"):
            monkeypatch.delenv(name)
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_RETRY_BACKOFF": "0"}
    write_item(tmp_path / "batch", PAYLOAD)
    submitted = CliRunner().invoke(main, ["submit", str(tmp_path / "batch"), "--json"], env=env)
    assert json.loads(submitted.stdout)["items"][0]["status"] == "stored", submitted.output

    shown = CliRunner().invoke(main, ["show", IDENTIFIER, "--json"], env=env)
    (version,) = json.loads(shown.stdout)["versions"]
    formats = {f["path"]: f["format"] for f in version["files"]}
    assert formats["data/minutes.pdf"]["puid"] == "fmt/18"  # type: ignore[index]
    assert formats["data/minutes.pdf"]["mime"] == "application/pdf"  # type: ignore[index]
    assert formats["data/noise"] is None
    human = CliRunner().invoke(main, ["show", IDENTIFIER], env=env).output
    assert any("fmt/18" in line and "minutes.pdf" in line for line in human.splitlines())

    from tests.unit.api_support import make_api, tar_of

    api = make_api(tmp_path / "api-data")
    api.upload(tar_of(tmp_path / "batch"), "application/x-tar")
    reply = api.client.get(f"/packages/{IDENTIFIER}", headers=api.auth("auditor"))
    assert reply.status_code == 200, reply.text
    listed = {f["path"]: f["format"] for f in reply.json()["versions"][0]["files"]}
    assert listed["data/minutes.txt"] == {**listed["data/minutes.txt"], "puid": "x-fmt/111",
                                          "basis": "extension"}
    assert listed["data/noise"] is None


def test_formats_report_counts_files_and_bytes_per_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from strongroom.cli import main

    for name in list(os.environ):
        if name.startswith("STRONGROOM_") and not name.startswith("STRONGROOM_TEST_"):
            monkeypatch.delenv(name)
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_RETRY_BACKOFF": "0"}
    write_item(tmp_path / "batch", {**PAYLOAD, "copy.pdf": PDF + b"%"})
    CliRunner().invoke(main, ["submit", str(tmp_path / "batch")], env=env)

    result = CliRunner().invoke(main, ["formats", "report", "--json"], env=env)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    rows = {row["puid"]: (row["files"], row["octets"]) for row in report["formats"]}
    assert rows == {"fmt/18": (2, 2 * len(PDF) + 1), "fmt/353": (1, len(TIFF)),
                    "x-fmt/111": (1, len(TEXT)), None: (1, len(NOISE))}
    assert report["formats"][0]["puid"] == "fmt/18"  # most files first
    assert (report["files"], report["unidentified_files"]) == (5, 1)

    csv_text = CliRunner().invoke(main, ["formats", "report", "--csv"], env=env).stdout
    lines = csv_text.splitlines()
    assert lines[0] == "puid,name,version,mime,files,octets"
    assert lines[1].startswith("fmt/18,") and lines[1].endswith(f",2,{2 * len(PDF) + 1}")
    assert any(line.startswith(",,,,1,") for line in lines)  # no format on record

    human = CliRunner().invoke(main, ["formats", "report"], env=env).output
    assert "fmt/18" in human and "no format on record" in human


def test_a_catalog_rebuilt_from_the_bags_keeps_each_files_format(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from strongroom.cli import main

    for name in list(os.environ):
        if name.startswith("STRONGROOM_") and not name.startswith("STRONGROOM_TEST_"):
            monkeypatch.delenv(name)
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_RETRY_BACKOFF": "0"}
    write_item(tmp_path / "batch", PAYLOAD)
    CliRunner().invoke(main, ["submit", str(tmp_path / "batch")], env=env)

    rebuilt = {**env, "STRONGROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'rebuilt.sqlite3'}"}
    result = CliRunner().invoke(main, ["catalog", "rebuild", "--json"], env=rebuilt)
    assert result.exit_code == 0, result.output
    shown = json.loads(CliRunner().invoke(main, ["show", IDENTIFIER, "--json"], env=rebuilt).stdout)
    formats = {f["path"]: f["format"] for f in shown["versions"][0]["files"]}
    assert formats["data/minutes.pdf"]["puid"] == "fmt/18"  # type: ignore[index]
    assert formats["data/scans/page-01.tif"]["puid"] == "fmt/353"  # type: ignore[index]
    assert formats["data/noise"] is None


@pytest.mark.parametrize("data", [b"", b"not json", b"[]", b'{"files": [{"path": 1}]}',
                                  b'{"files": [{"path": "data/a", "format": {"puid": 5}}]}'])
def test_an_unreadable_formats_file_gives_no_formats_and_no_error(data: bytes) -> None:
    from ingest.format_identification import parse_formats_json

    assert parse_formats_json(data) == {}


def test_an_empty_file_is_told_by_its_name_alone() -> None:
    # fido's converted signature of generic Rich Text Format (fmt/46) matches
    # the empty file and nothing else: an empty file is not an RTF document.
    found = fido_identifier().identify(b"", b"", "empty.txt")
    assert found is not None and (found.puid, found.basis) == ("x-fmt/111", "extension")
    assert fido_identifier().identify(b"", b"", "empty") is None


@pytest.mark.parametrize("name, told", [
    ("a.txt", "x-fmt/111"), ("h.csv", "x-fmt/18"), ("i.md", "fmt/1149"), ("d.bin", "fmt/208"),
    # formats with signatures the bytes did not match, or several candidates: no guess
    ("B.PDF", None), ("c.tiff", None), ("j.tif", None), ("e.DOCX", None),
    ("f", None), ("g.no-such-extension", None)])
def test_a_name_alone_tells_a_format_only_when_it_names_one_that_has_no_signature(
        name: str, told: str | None) -> None:
    """A .tif whose bytes are no TIFF was recorded as "Digital Negative Format (DNG)
    1.1 (fmt/152), by its extension": fido's first of five TIFF variants, each of
    which has a signature the bytes did not match."""
    identifier = fido_identifier()
    ours = identifier.identify(NOISE, NOISE, name)  # no signature matches: the name alone tells
    assert (ours.puid if ours else None) == told
    if ours is not None:
        theirs = identifier._loaded().match_extensions(name)
        assert ours.puid == theirs[0][0].findtext("puid")  # fido's own first answer, then


def test_building_services_that_identify_nothing_loads_neither_fido_versions_nor_requests(
        tmp_path: Path) -> None:
    # Every command built the identifier at start-up, and with it imported
    # fido.versions (which imports requests and urllib3): about 65 ms of CPU in
    # a submit handed to the workers, which identifies nothing.
    probe = (
        "from strongroom.bootstrap import build_services\n"
        "from strongroom.settings import Settings\n"
        f"services = build_services(Settings.from_env({{'STRONGROOM_DATA_DIR': {str(tmp_path)!r}}}))\n"
        "assert services.formats is not None\n")
    assert modules_loaded(probe, ("fido.versions", "requests")) == []


def test_the_identifier_still_names_fido_and_its_signatures_once_asked() -> None:
    from storage.fido_formats import FidoIdentifier

    identifier = FidoIdentifier()
    assert identifier.tool.startswith("fido ")
    assert identifier.signatures.startswith("PRONOM v")


def test_naming_the_signatures_loads_neither_fido_versions_nor_requests() -> None:
    # Every batch's first item named the signatures in its formats.json and
    # event, and fido.versions, read for that, imported requests: a tenth of a
    # second on the first item's path. The names are those fido's reader gives.
    probe = (
        "from storage.fido_formats import FidoIdentifier\n"
        "identifier = FidoIdentifier()\n"
        "print(identifier.signatures, identifier._versions.pronom_signature,\n"
        "      identifier._versions.fido_extension_signature)\n")
    loaded, (named,) = run_fresh(probe, ("fido.versions", "requests"))
    assert loaded == []
    from fido import CONFIG_DIR
    from fido.versions import get_local_versions

    theirs = get_local_versions(CONFIG_DIR)
    assert named == (f"PRONOM v{theirs.pronom_version} {theirs.pronom_signature} "
                     f"{theirs.fido_extension_signature}")


def test_building_the_identifier_imports_neither_fido_nor_requests() -> None:
    """Every command builds the services, and with them the identifier: one that
    identifies nothing (``status``, ``list``) must not pay for fido's import of
    requests and its version files; the identifier still names them when asked."""
    probe = ("from storage.fido_formats import FidoIdentifier\n"
             "made = FidoIdentifier()\n"
             "import sys\n"
             "print(sorted(m for m in ('fido', 'fido.versions', 'requests') if m in sys.modules))\n"
             "print(made.tool.startswith('fido '), made.signatures.startswith('PRONOM v'))\n")
    _, shown = run_fresh(probe, ())
    assert shown == ["[]", "True True"]
