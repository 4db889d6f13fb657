"""The hostile-archive corpus: each archive is named after its defect, is refused
with its finding code, and leaves nothing behind, inside or outside staging."""

from __future__ import annotations

import io
import tarfile
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from ingest.archive_intake import ArchiveLimits, unpack_archive
from ingest.batch import read_batch, scan_item
from ingest.errors import ArchiveRefused
from ingest.system_files import DEFAULT_SYSTEM_FILES

GOOD = b'{"identifier": "x", "title": "t", "date": "1951"}'


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes | None]], mode: str = "w") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _info(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    return info


def _zip(path: Path, members: list[tuple[str | zipfile.ZipInfo, bytes]],
         compression: int = zipfile.ZIP_DEFLATED) -> Path:
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return path


def _zip_symlink(path: Path) -> Path:
    info = zipfile.ZipInfo("item/link")
    info.create_system = 3
    info.external_attr = (0o120777 << 16)
    return _zip(path, [("item/metadata.json", GOOD), (info, b"/etc/passwd")])


def _corpus(tmp: Path) -> dict[str, Callable[[], tuple[Path, str, ArchiveLimits]]]:
    """Builders, so a test makes only the archive it needs."""
    limits = ArchiveLimits()
    return {
        "zip_slip": lambda: (_zip(tmp / "zip_slip.zip", [("item/metadata.json", GOOD),
                                                  ("../../evil.txt", b"owned")]), "zip", limits),
        "tar_dotdot": lambda: (_tar(tmp / "tar_dotdot.tar", [(_info("item/../../evil.txt"), b"x")]),
                       "tar", limits),
        "absolute_member": lambda: (_tar(tmp / "absolute_member.tar", [
            (_info(str(tmp / "outside" / "evil.txt")), b"owned")]), "tar", limits),
        "absolute_zip_member": lambda: (_zip(tmp / "absolute_zip_member.zip",
                                     [("/tmp/evil.txt", b"owned")]), "zip", limits),
        "symlink_out": lambda: (_tar(tmp / "symlink_out.tar", [
            (_info("item/link", tarfile.SYMTYPE, "/etc/passwd"), None)]), "tar", limits),
        "zip_symlink_out": lambda: (_zip_symlink(tmp / "zip_symlink_out.zip"), "zip", limits),
        "hardlink_out": lambda: (_tar(tmp / "hardlink_out.tar", [
            (_info("item/hard", tarfile.LNKTYPE, "../../outside/secret"), None)]), "tar", limits),
        "device_file": lambda: (_tar(tmp / "device_file.tar", [
            (_info("item/null", tarfile.CHRTYPE), None)]), "tar", limits),
        "fifo_file": lambda: (_tar(tmp / "fifo_file.tar", [
            (_info("item/pipe", tarfile.FIFOTYPE), None)]), "tar", limits),
        "zip_bomb_ratio": lambda: (_zip(tmp / "zip_bomb_ratio.zip", [
            ("item/metadata.json", GOOD), ("item/zeros.bin", bytes(20 * 1024 * 1024))]),
            "zip", limits),
        "tar_bomb_ratio": lambda: (_tar(tmp / "tar_bomb_ratio.tar.gz", [
            (_info("item/zeros.bin"), bytes(20 * 1024 * 1024))], mode="w:gz"), "tar", limits),
        "too_many_members": lambda: (_zip(tmp / "too_many_members.zip", [
            (f"item/{n}.txt", b"x") for n in range(6)]), "zip", ArchiveLimits(max_members=5)),
        "too_many_tar_members": lambda: (_tar(tmp / "too_many_tar_members.tar", [
            (_info(f"item/{n}.txt"), b"x") for n in range(6)]), "tar",
            ArchiveLimits(max_members=5)),
        "too_large_total": lambda: (_zip(tmp / "too_large_total.zip", [
            ("item/a.bin", bytes(600)), ("item/b.bin", bytes(600))], zipfile.ZIP_STORED),
            "zip", ArchiveLimits(max_total_bytes=1000)),
        "duplicate_member": lambda: (_zip(tmp / "duplicate_member.zip", [
            ("item/a.txt", b"1"), ("item/a.txt", b"2")]), "zip", limits),
        "not_an_archive": lambda: (_write(tmp / "not_an_archive.zip", b"PK\x03\x04 garbage"), "zip", limits),
        "not_a_tar": lambda: (_write(tmp / "not_a_tar.tar", b"\x00garbage" * 100), "tar", limits),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


EXPECTED = {
    "zip_slip": "ARCHIVE_UNSAFE_MEMBER",
    "tar_dotdot": "ARCHIVE_UNSAFE_MEMBER",
    "absolute_member": "ARCHIVE_UNSAFE_MEMBER",
    "absolute_zip_member": "ARCHIVE_UNSAFE_MEMBER",
    "symlink_out": "ARCHIVE_UNSAFE_MEMBER",
    "zip_symlink_out": "ARCHIVE_UNSAFE_MEMBER",
    "hardlink_out": "ARCHIVE_UNSAFE_MEMBER",
    "device_file": "ARCHIVE_UNSAFE_MEMBER",
    "fifo_file": "ARCHIVE_UNSAFE_MEMBER",
    "zip_bomb_ratio": "ARCHIVE_TOO_LARGE",
    "tar_bomb_ratio": "ARCHIVE_TOO_LARGE",
    "too_many_members": "ARCHIVE_TOO_LARGE",
    "too_many_tar_members": "ARCHIVE_TOO_LARGE",
    "too_large_total": "ARCHIVE_TOO_LARGE",
    "duplicate_member": "ARCHIVE_UNSAFE_MEMBER",
    "not_an_archive": "ARCHIVE_UNREADABLE",
    "not_a_tar": "ARCHIVE_UNREADABLE",
}


@pytest.mark.parametrize("defect", sorted(EXPECTED))
def test_hostile_archive_is_refused_and_writes_nothing(tmp_path: Path, defect: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    archive, kind, limits = _corpus(corpus)[defect]()
    world = tmp_path / "world"
    staging = world / "staging" / "upload-1"
    (tmp_path / "outside").mkdir()
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(archive, kind, staging / "batch", limits)  # type: ignore[arg-type]
    codes = {f.code for f in refused.value.findings}  # type: ignore[attr-defined]
    assert codes == {EXPECTED[defect]}
    assert list((staging / "batch").iterdir()) == []
    assert [p for p in world.rglob("*")] == [staging.parent, staging, staging / "batch"]
    assert list((tmp_path / "outside").iterdir()) == []
    assert not (tmp_path / "evil.txt").exists()


def test_every_bad_member_is_reported_at_once(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "two_defects.tar", [
        (_info("item/metadata.json"), GOOD),
        (_info("../evil"), b"x"),
        (_info("item/link", tarfile.SYMTYPE, "/etc/passwd"), None),
    ])
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(archive, "tar", tmp_path / "staging")
    paths = sorted(f.path for f in refused.value.findings)  # type: ignore[attr-defined]
    assert paths == ["../evil", "item/link"]


def test_a_wrapping_folder_becomes_the_batch_root(tmp_path: Path) -> None:
    archive = _zip(tmp_path / "wrapped.zip", [("my-batch/item/metadata.json", GOOD),
                                              ("my-batch/item/scan/page.txt", b"page")])
    root = unpack_archive(archive, "zip", tmp_path / "staging")
    assert root == (tmp_path / "staging" / "my-batch").resolve()
    assert (root / "item" / "scan" / "page.txt").read_bytes() == b"page"


FINDER_MEMBERS = [("my-batch/item/metadata.json", GOOD), ("my-batch/item/scan/page.txt", b"page"),
                  ("my-batch/item/.DS_Store", b"finder"), ("my-batch/.DS_Store", b"finder"),
                  ("__MACOSX/my-batch/item/scan/._page.txt", b"AppleDouble")]


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_system_files_of_an_upload_are_skipped_with_warnings_and_do_not_hide_the_wrapper(
        tmp_path: Path, kind: str) -> None:
    # What Finder's "Compress" makes of a batch folder: __MACOSX/ beside the batch.
    if kind == "zip":
        archive = _zip(tmp_path / "finder.zip", list(FINDER_MEMBERS))
    else:
        archive = _tar(tmp_path / "finder.tar", [(_info(name), data) for name, data in FINDER_MEMBERS])
    root = unpack_archive(archive, "zip" if kind == "zip" else "tar", tmp_path / "staging")
    assert root == (tmp_path / "staging" / "my-batch").resolve()
    layout = read_batch(root, skip=DEFAULT_SYSTEM_FILES)
    assert [name for name, _ in layout.items] == ["item"]
    assert sorted((f.code, f.path) for f in layout.findings) == [
        ("SYSTEM_FILE_SKIPPED", ".DS_Store"), ("SYSTEM_FILE_SKIPPED", "__MACOSX/")]
    scan = scan_item(root / "item", skip=DEFAULT_SYSTEM_FILES)
    assert [p.path for p in scan.payload] == ["scan/page.txt"]
    assert [(f.code, f.path) for f in scan.findings] == [("SYSTEM_FILE_SKIPPED", ".DS_Store")]


def test_a_single_item_at_the_top_is_not_taken_for_a_wrapper(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "one_item.tar", [(_info("./item/metadata.json"), GOOD),
                                               (_info("./item/page.txt"), b"page")])
    root = unpack_archive(archive, "tar", tmp_path / "staging")
    assert root == (tmp_path / "staging").resolve()
    assert (root / "item" / "page.txt").read_bytes() == b"page"


def test_member_longer_than_its_header_declares_is_refused(tmp_path: Path) -> None:
    # A zip whose central directory claims 4 bytes for a 4 KiB member.
    path = _zip(tmp_path / "lying_size.zip", [("item/a.bin", bytes(4096))], zipfile.ZIP_STORED)
    data = bytearray(path.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24:central + 28] = (4).to_bytes(4, "little")  # uncompressed size
    path.write_bytes(bytes(data))
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(path, "zip", tmp_path / "staging")
    assert {f.code for f in refused.value.findings} <= {  # type: ignore[attr-defined]
        "ARCHIVE_TOO_LARGE", "ARCHIVE_UNREADABLE"}
    assert list((tmp_path / "staging").iterdir()) == []


def test_staging_folder_must_be_empty(tmp_path: Path) -> None:
    (tmp_path / "staging").mkdir()
    (tmp_path / "staging" / "left-over").write_text("x")
    archive = _zip(tmp_path / "ok.zip", [("item/metadata.json", GOOD)])
    with pytest.raises(ArchiveRefused):
        unpack_archive(archive, "zip", tmp_path / "staging")


def _three_member_tar(path: Path) -> tuple[Path, int]:
    """item/metadata.json, a.txt, b.txt, c.txt; returns the tar and b.txt's header offset."""
    _tar(path, [(_info("item/metadata.json"), GOOD), (_info("item/a.txt"), b"a" * 700),
                (_info("item/b.txt"), b"b" * 700), (_info("item/c.txt"), b"c" * 700)])
    with tarfile.open(path) as tar:
        return path, next(m.offset for m in tar.getmembers() if m.name == "item/b.txt")


@pytest.mark.parametrize("compressed", [False, True])
def test_a_tar_with_a_damaged_header_after_the_first_is_refused_not_cut_short_in_silence(
        tmp_path: Path, compressed: bool) -> None:
    # Before: tarfile took the damaged header for the end of the archive; the item
    # was stored with b.txt and c.txt missing, and no finding said so.
    path, at = _three_member_tar(tmp_path / "damaged.tar")
    data = bytearray(path.read_bytes())
    data[at + 5] ^= 0x01  # one bit of b.txt's name: its checksum no longer holds
    if compressed:
        import gzip

        path = tmp_path / "damaged.tgz"
        path.write_bytes(gzip.compress(bytes(data)))
    else:
        path.write_bytes(bytes(data))
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(path, "tar", tmp_path / "staging")
    [finding] = refused.value.findings  # type: ignore[attr-defined]
    assert finding.code == "ARCHIVE_UNREADABLE"
    assert f"the member header at byte {at} is damaged" in finding.message
    assert list((tmp_path / "staging").iterdir()) == []


def test_a_tar_cut_between_two_members_without_its_end_blocks_is_refused(tmp_path: Path) -> None:
    path, at = _three_member_tar(tmp_path / "cut.tar")
    path.write_bytes(path.read_bytes()[:at])  # stops right before b.txt's header
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(path, "tar", tmp_path / "staging")
    [finding] = refused.value.findings  # type: ignore[attr-defined]
    assert finding.code == "ARCHIVE_UNREADABLE" and "cut short" in finding.message


def test_a_whole_tar_still_unpacks_every_member(tmp_path: Path) -> None:
    path, _ = _three_member_tar(tmp_path / "whole.tar")
    root = unpack_archive(path, "tar", tmp_path / "staging")
    assert sorted(p.name for p in (root / "item").iterdir()) == [
        "a.txt", "b.txt", "c.txt", "metadata.json"]


def test_a_zip_member_name_with_a_nul_is_refused_not_stored_under_what_precedes_it(
        tmp_path: Path) -> None:
    # Before: zipfile cut "a\0b.txt" to "a", stored as data/a without a word.
    path = _zip(tmp_path / "nul.zip", [("item/metadata.json", GOOD), ("item/aXb.txt", b"x")])
    data = path.read_bytes().replace(b"item/aXb.txt", b"item/a\x00b.txt")
    path.write_bytes(data)
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(path, "zip", tmp_path / "staging")
    assert [(f.code, "NUL" in f.message) for f in refused.value.findings] == [  # type: ignore[attr-defined]
        ("ARCHIVE_UNSAFE_MEMBER", True)]


class _RawNameInfo(zipfile.ZipInfo):
    """A member whose name is written as the given bytes without the UTF-8 flag,
    as Info-ZIP's ``zip`` on Linux writes it."""

    def __init__(self, raw: bytes, unicode_path: str | None = None) -> None:
        super().__init__(raw.decode("cp437"))
        self.raw = raw
        if unicode_path is not None:  # Info-ZIP's Unicode Path extra field (0x7075)
            field = b"\x01" + zlib.crc32(raw).to_bytes(4, "little") + unicode_path.encode()
            self.extra = (0x7075).to_bytes(2, "little") + len(field).to_bytes(2, "little") + field

    def _encodeFilenameFlags(self) -> tuple[bytes, int]:
        return self.raw, self.flag_bits & ~0x800


def _raw_zip(path: Path, members: list[tuple[_RawNameInfo, bytes]]) -> Path:
    return _zip(path, list(members))


def test_a_zip_made_without_the_utf8_flag_keeps_accented_names_as_written(tmp_path: Path) -> None:
    # Before: Python's zipfile read the names as cp437: the item was stored as
    # "Brief M├╝ller ├⌐" and its file as "Seite f├╝r Anna.txt", without a word.
    folder = "Brief Müller é"
    archive = _raw_zip(tmp_path / "zipacc.zip", [
        (_RawNameInfo(f"{folder}/metadata.json".encode()), GOOD),
        (_RawNameInfo(f"{folder}/Seite für Anna.txt".encode()), b"Liebe Anna")])
    root = unpack_archive(archive, "zip", tmp_path / "staging")
    assert sorted(p.name for p in (root / folder).iterdir()) == ["Seite für Anna.txt", "metadata.json"]


def test_a_zip_with_a_unicode_path_field_keeps_the_name_that_field_gives(tmp_path: Path) -> None:
    # The header name in the writer's code page (Windows-1252 "ü" is 0xfc), the
    # real name in 0x7075.
    archive = _raw_zip(tmp_path / "unicode_path.zip", [
        (_RawNameInfo(b"item/metadata.json"), GOOD),
        (_RawNameInfo("item/Seite für Anna.txt".encode("cp1252"), "item/Seite für Anna.txt"),
         b"Liebe Anna")])
    root = unpack_archive(archive, "zip", tmp_path / "staging")
    assert (root / "item" / "Seite für Anna.txt").read_bytes() == b"Liebe Anna"


def test_a_zip_whose_names_are_in_an_unknown_code_page_is_refused_not_stored_garbled(
        tmp_path: Path) -> None:
    archive = _raw_zip(tmp_path / "cp437.zip", [
        (_RawNameInfo(b"item/metadata.json"), GOOD),
        (_RawNameInfo("item/Seite für Anna.txt".encode("cp437")), b"Liebe Anna")])
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(archive, "zip", tmp_path / "staging")
    [finding] = refused.value.findings  # type: ignore[attr-defined]
    assert finding.code == "ARCHIVE_NAME_ENCODING_UNKNOWN"
    assert finding.path == "item/Seite f\\x81r Anna.txt"
    assert "does not say how its names are encoded" in finding.message
    assert "7-Zip" in finding.message and "upload the folder" in finding.message
    assert list((tmp_path / "staging").iterdir()) == []


def test_a_tar_whose_names_are_not_utf8_is_refused_with_its_bytes_shown(tmp_path: Path) -> None:
    # A ustar name is bytes: Latin-1 "ü" (0xfc) is no UTF-8, and must not be
    # stored with a surrogate standing for it.
    archive = _tar(tmp_path / "latin1.tar", [
        (_info("item/metadata.json"), GOOD),
        (_info("item/Seite f\udcfcr Anna.txt"), b"Liebe Anna")], mode="w")
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(archive, "tar", tmp_path / "staging")
    [finding] = refused.value.findings  # type: ignore[attr-defined]
    assert finding.code == "ARCHIVE_NAME_ENCODING_UNKNOWN"
    assert finding.path == "item/Seite f\\xfcr Anna.txt"
    assert "\udcfc" not in finding.message
