"""Reading a batch folder and its items: what is payload, what is refused, and why.

Every fixture is built on disk at test time by a function named after its
defect, and every test asserts the exact finding codes and paths.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import stat
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.batch import PayloadEntry, read_batch, scan_item
from ingest.batch_files import check_batch_fields
from ingest.errors import BatchUnreadable
from ingest.findings import Finding
from ingest.system_files import DEFAULT_SYSTEM_FILES

METADATA = b'{"identifier": "APRF-45-1-339", "title": "Telegram"}'
running_as_root = hasattr(os, "geteuid") and os.geteuid() == 0


def codes(findings: tuple[Finding, ...]) -> list[tuple[str, str | None]]:
    return sorted((f.code, f.path) for f in findings)


def paths(payload: tuple[PayloadEntry, ...]) -> list[str]:
    return [p.path for p in payload]


# --------------------------------------------------------------------------- fixtures: items


def good_item(parent: Path, name: str = "item-1") -> Path:
    item = parent / name
    item.mkdir(parents=True)
    (item / "metadata.json").write_bytes(METADATA)
    (item / "letter.txt").write_bytes(b"Moscow, 1951\n")
    return item


def symlink_to_etc_passwd(parent: Path) -> Path:
    item = good_item(parent)
    (item / "passwd").symlink_to("/etc/passwd")
    return item


def symlink_loop(parent: Path) -> Path:
    item = good_item(parent)
    (item / "self").symlink_to("self")
    (item / "ping").symlink_to("pong")
    (item / "pong").symlink_to("ping")
    (item / "up").symlink_to("..")
    return item


def symlink_to_folder_with_a_file(parent: Path) -> Path:
    outside = parent / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_bytes(b"not part of the item")
    item = good_item(parent)
    (item / "linked").symlink_to(outside, target_is_directory=True)
    return item


def symlinked_metadata(parent: Path) -> Path:
    item = parent / "item-1"
    item.mkdir()
    (parent / "elsewhere.json").write_bytes(METADATA)
    (item / "metadata.json").symlink_to(parent / "elsewhere.json")
    (item / "letter.txt").write_bytes(b"x")
    return item


def nfd_duplicate_name(parent: Path) -> Path:
    item = good_item(parent)
    (item / unicodedata.normalize("NFC", "café.txt")).write_bytes(b"composed")
    (item / unicodedata.normalize("NFD", "café.txt")).write_bytes(b"decomposed")
    return item


def case_duplicate_name(parent: Path) -> Path:
    item = good_item(parent)
    (item / "README.txt").write_bytes(b"upper")
    (item / "readme.TXT").write_bytes(b"lower")
    return item


def newline_in_name(parent: Path) -> Path:
    item = good_item(parent)
    (item / "line\nbreak.txt").write_bytes(b"legal")
    return item


def control_char_in_name(parent: Path) -> Path:
    item = good_item(parent)
    (item / "bell\x07.txt").write_bytes(b"refused")
    return item


def control_char_in_folder_name(parent: Path) -> Path:
    item = good_item(parent)
    bad = item / "box\x07"
    bad.mkdir()
    (bad / "fine.txt").write_bytes(b"fine name, refused folder")
    (bad / "also\x01bad.txt").write_bytes(b"bad name in a refused folder")
    return item


def non_utf8_name(parent: Path) -> Path:
    item = good_item(parent)
    fd = os.open(os.fsencode(item) + b"/caf\xe9.txt", os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"latin-1 name")
    os.close(fd)
    return item


def fifo_in_payload(parent: Path) -> Path:
    item = good_item(parent)
    os.mkfifo(item / "pipe")
    return item


def socket_in_payload(parent: Path) -> Iterator[Path]:
    item = good_item(parent)
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.bind(str(item / "sock"))
        except OSError as exc:  # AF_UNIX paths are limited to about 100 bytes
            pytest.skip(f"cannot bind a socket here: {exc}")
        yield item


def device_in_payload(parent: Path) -> Path:
    item = good_item(parent)
    try:
        os.mknod(item / "null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("creating a device node is not permitted here")
    return item


def unreadable_folder(parent: Path) -> Path:
    item = good_item(parent)
    locked = item / "locked"
    locked.mkdir()
    (locked / "inside.txt").write_bytes(b"x")
    locked.chmod(0)
    return item


def unreadable_file(parent: Path) -> Path:
    item = good_item(parent)
    (item / "locked.txt").write_bytes(b"x")
    (item / "locked.txt").chmod(0)
    return item


def no_payload(parent: Path) -> Path:
    item = parent / "item-1"
    item.mkdir()
    (item / "metadata.json").write_bytes(METADATA)
    return item


def no_metadata(parent: Path) -> Path:
    item = parent / "item-1"
    item.mkdir()
    (item / "letter.txt").write_bytes(b"x")
    return item


def empty_file_is_payload(parent: Path) -> Path:
    item = good_item(parent)
    (item / "empty.txt").write_bytes(b"")
    (item / "empty folder").mkdir()
    return item


def deeply_nested_payload(parent: Path, depth: int = 300) -> Path:
    item = good_item(parent)
    folder = item.joinpath(*["d"] * depth)
    folder.mkdir(parents=True)
    (folder / "bottom.txt").write_bytes(b"deep")
    return item


# --------------------------------------------------------------------------- scan_item: good items


def test_good_item_has_metadata_and_payload_and_no_findings(tmp_path: Path) -> None:
    item = good_item(tmp_path)
    (item / "scans").mkdir()
    (item / "scans" / "page 2.tif").write_bytes(b"22")
    (item / "scans" / "page 1.tif").write_bytes(b"1")
    scan = scan_item(item)
    assert scan.findings == ()
    assert scan.metadata == METADATA
    assert scan.payload == (
        PayloadEntry("letter.txt", item / "letter.txt", 13),
        PayloadEntry("scans/page 1.tif", item / "scans" / "page 1.tif", 1),
        PayloadEntry("scans/page 2.tif", item / "scans" / "page 2.tif", 2),
    )


def test_a_name_windows_cannot_hold_is_stored_with_a_warning_saying_so(tmp_path: Path) -> None:
    """Names with ':' or '?', or device names such as ``con.txt``, were stored
    without a word, and a copy restored on Windows failed or lost them."""
    item = good_item(tmp_path)
    (item / "minutes: 1951-06-21.txt").write_bytes(b"minutes")
    scan = scan_item(item)
    assert [(f.code, f.path, f.is_error) for f in scan.findings] == [
        ("PATH_NOT_PORTABLE", "minutes: 1951-06-21.txt", False)]
    assert "minutes: 1951-06-21.txt" in {p.path for p in scan.payload}


def test_thousands_of_skipped_files_or_unportable_names_are_told_in_twenty_findings_each(
        tmp_path: Path) -> None:
    """Each was one finding: an item copied from a Mac onto a USB disk (a ``._`` file
    beside each file) or of timestamped files (``10:04:05.json``) carried thousands
    of warnings in its row and its ingestion event."""
    item = good_item(tmp_path)
    (item / "log").mkdir()
    for n in range(1000):
        (item / "log" / f"10:{n // 60:02d}:{n % 60:02d}.{n}.json").write_bytes(b"{}")
        (item / "log" / f"._{n}.json").write_bytes(b"\0")
    scan = scan_item(item, skip=DEFAULT_SYSTEM_FILES)
    codes = [f.code for f in scan.findings]
    assert codes == ["SYSTEM_FILE_SKIPPED"] * 20 + ["PATH_NOT_PORTABLE"] * 20, codes
    assert scan.findings[19].message.endswith(
        "(and 980 more like it in this item, not listed one by one)")
    assert "(and 980 more like it" in scan.findings[-1].message
    assert len(scan.payload) == 1001  # every file is kept: only the telling is shorter


def test_payload_sources_are_absolute_even_for_a_relative_item_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good_item(tmp_path)
    monkeypatch.chdir(tmp_path)
    scan = scan_item(Path("item-1"))
    assert [p.source for p in scan.payload] == [tmp_path / "item-1" / "letter.txt"]


def test_empty_file_is_payload_and_an_empty_folder_is_a_warning_not_kept(tmp_path: Path) -> None:
    # Before, the empty folder left no trace at all: nothing said it was not kept.
    scan = scan_item(empty_file_is_payload(tmp_path))
    assert [(f.code, f.path, f.severity) for f in scan.findings] == [
        ("EMPTY_FOLDER_SKIPPED", "empty folder", "warning")]
    assert [(p.path, p.size) for p in scan.payload] == [("empty.txt", 0), ("letter.txt", 13)]


def test_deeply_nested_payload_is_found(tmp_path: Path) -> None:
    scan = scan_item(deeply_nested_payload(tmp_path, depth=300))
    assert scan.findings == ()
    assert paths(scan.payload) == ["d/" * 300 + "bottom.txt", "letter.txt"]


def test_newline_in_name_is_legal_payload(tmp_path: Path) -> None:
    scan = scan_item(newline_in_name(tmp_path))
    # Kept; only Windows could not hold the name.
    assert [(f.code, f.is_error) for f in scan.findings] == [("PATH_NOT_PORTABLE", False)]
    assert paths(scan.payload) == ["letter.txt", "line\nbreak.txt"]


def test_metadata_json_in_a_subfolder_is_payload(tmp_path: Path) -> None:
    item = good_item(tmp_path)
    (item / "attachments").mkdir()
    (item / "attachments" / "metadata.json").write_bytes(b"{}")
    scan = scan_item(item)
    assert scan.findings == ()
    assert scan.metadata == METADATA
    assert paths(scan.payload) == ["attachments/metadata.json", "letter.txt"]


def test_hidden_files_in_an_item_are_payload_when_nothing_is_skipped(tmp_path: Path) -> None:
    item = good_item(tmp_path)
    (item / ".DS_Store").write_bytes(b"finder")
    scan = scan_item(item)  # STRONGROOM_SKIP_SYSTEM_FILES set empty: ingest everything
    assert paths(scan.payload) == [".DS_Store", "letter.txt"]


def system_files_in_an_item(parent: Path) -> Path:
    item = good_item(parent)
    (item / ".DS_Store").write_bytes(b"finder")
    (item / "scans").mkdir()
    (item / "scans" / "page-1.tif").write_bytes(b"II*\x00")
    (item / "scans" / "THUMBS.DB").write_bytes(b"explorer")
    (item / "scans" / "desktop.ini").write_bytes(b"[.ShellClassInfo]")
    (item / "scans" / "._page-1.tif").write_bytes(b"AppleDouble")
    (item / "__MACOSX" / "scans").mkdir(parents=True)
    (item / "__MACOSX" / "scans" / "._page-1.tif").write_bytes(b"AppleDouble")
    (item / ".notes").write_bytes(b"a hidden file of the record itself")
    return item


def test_system_files_in_an_item_are_skipped_with_a_warning_not_payload(tmp_path: Path) -> None:
    scan = scan_item(system_files_in_an_item(tmp_path), skip=DEFAULT_SYSTEM_FILES)
    assert paths(scan.payload) == [".notes", "letter.txt", "scans/page-1.tif"]
    assert codes(scan.findings) == [
        ("SYSTEM_FILE_SKIPPED", ".DS_Store"),
        ("SYSTEM_FILE_SKIPPED", "__MACOSX/"),  # once for the folder, not for what it holds
        ("SYSTEM_FILE_SKIPPED", "scans/._page-1.tif"),
        ("SYSTEM_FILE_SKIPPED", "scans/THUMBS.DB"),
        ("SYSTEM_FILE_SKIPPED", "scans/desktop.ini"),
    ]
    assert {f.severity for f in scan.findings} == {"warning"}
    skipped = next(f for f in scan.findings if f.path == "scans/THUMBS.DB")
    assert skipped.params == {"rule": "Thumbs.db"}
    assert skipped.message == ("'scans/THUMBS.DB' was skipped: the operating system made it "
                               "(Thumbs.db), it is not part of the record")


def test_skipped_names_are_a_setting_and_a_folder_pattern_skips_only_folders(tmp_path: Path) -> None:
    item = system_files_in_an_item(tmp_path)
    (item / "drafts").mkdir()
    (item / "drafts" / "v1.txt").write_bytes(b"draft")
    (item / "scans" / "drafts").write_bytes(b"a file named like the folder pattern")
    scan = scan_item(item, skip=("drafts/",))
    assert codes(scan.findings) == [("SYSTEM_FILE_SKIPPED", "drafts/")]
    assert "scans/drafts" in paths(scan.payload) and ".DS_Store" in paths(scan.payload)


def test_an_item_of_system_files_only_has_no_payload(tmp_path: Path) -> None:
    item = tmp_path / "item-1"
    item.mkdir()
    (item / "metadata.json").write_bytes(METADATA)
    (item / ".DS_Store").write_bytes(b"finder")
    scan = scan_item(item, skip=DEFAULT_SYSTEM_FILES)
    assert codes(scan.findings) == [("PAYLOAD_EMPTY", None), ("SYSTEM_FILE_SKIPPED", ".DS_Store")]


def test_scanning_twice_gives_the_same_answer(tmp_path: Path) -> None:
    item = case_duplicate_name(tmp_path)
    for name in ("b", "a", "c"):
        (item / name).mkdir()
        (item / name / "z.txt").write_bytes(b"z")
    assert scan_item(item) == scan_item(item)


# --------------------------------------------------------------------------- scan_item: links


def test_symlink_to_etc_passwd_is_refused(tmp_path: Path) -> None:
    scan = scan_item(symlink_to_etc_passwd(tmp_path))
    assert codes(scan.findings) == [("SYMLINK_REFUSED", "passwd")]
    assert paths(scan.payload) == ["letter.txt"]


def test_symlink_loop_is_refused_without_following(tmp_path: Path) -> None:
    scan = scan_item(symlink_loop(tmp_path))
    assert codes(scan.findings) == [
        ("SYMLINK_REFUSED", "ping"), ("SYMLINK_REFUSED", "pong"),
        ("SYMLINK_REFUSED", "self"), ("SYMLINK_REFUSED", "up"),
    ]
    assert paths(scan.payload) == ["letter.txt"]


def test_symlink_to_a_folder_is_never_followed(tmp_path: Path) -> None:
    scan = scan_item(symlink_to_folder_with_a_file(tmp_path))
    assert codes(scan.findings) == [("SYMLINK_REFUSED", "linked")]
    assert paths(scan.payload) == ["letter.txt"]
    assert all("secret" not in str(p.source) for p in scan.payload)


def test_symlinked_metadata_is_refused_and_not_read(tmp_path: Path) -> None:
    scan = scan_item(symlinked_metadata(tmp_path))
    assert codes(scan.findings) == [("SYMLINK_REFUSED", "metadata.json")]
    assert scan.metadata is None


# --------------------------------------------------------------------------- scan_item: names


def test_nfd_duplicate_name_collides(tmp_path: Path) -> None:
    scan = scan_item(nfd_duplicate_name(tmp_path))
    nfc = unicodedata.normalize("NFC", "café.txt")
    nfd = unicodedata.normalize("NFD", "café.txt")
    earlier, later = sorted([nfc, nfd])
    [finding] = scan.findings
    assert (finding.code, finding.path) == ("NAME_COLLISION", later)
    assert finding.params == {"other": earlier, "rule": "NFC normalization"}


def test_case_duplicate_name_collides(tmp_path: Path) -> None:
    scan = scan_item(case_duplicate_name(tmp_path))
    [finding] = scan.findings
    assert (finding.code, finding.path) == ("NAME_COLLISION", "readme.TXT")
    assert finding.params == {"other": "README.txt", "rule": "case folding"}


def test_payload_named_like_the_metadata_in_another_case_collides(tmp_path: Path) -> None:
    item = good_item(tmp_path)
    (item / "METADATA.JSON").write_bytes(b"{}")
    scan = scan_item(item)
    assert codes(scan.findings) == [("NAME_COLLISION", "metadata.json")]


def test_control_char_in_name_is_refused(tmp_path: Path) -> None:
    scan = scan_item(control_char_in_name(tmp_path))
    assert codes(scan.findings) == [("PATH_UNSAFE", "bell\x07.txt")]
    assert paths(scan.payload) == ["letter.txt"]


def test_control_char_in_folder_name_refuses_the_folder_once_and_its_bad_names(
        tmp_path: Path) -> None:
    scan = scan_item(control_char_in_folder_name(tmp_path))
    assert codes(scan.findings) == [
        ("PATH_UNSAFE", "box\x07"),
        ("PATH_UNSAFE", "box\x07/also\x01bad.txt"),
    ]
    assert paths(scan.payload) == ["letter.txt"]


def test_non_utf8_name_is_refused(tmp_path: Path) -> None:
    scan = scan_item(non_utf8_name(tmp_path))
    [finding] = scan.findings
    assert (finding.code, finding.path) == ("PATH_UNSAFE", "caf\\xe9.txt")
    json.dumps(finding.to_dict(), ensure_ascii=False).encode("utf-8")  # storable as UTF-8
    assert paths(scan.payload) == ["letter.txt"]


def test_over_long_path_is_refused(tmp_path: Path) -> None:
    item = good_item(tmp_path)
    folder = item.joinpath(*["f" * 250] * 4)
    folder.mkdir(parents=True)
    (folder / ("g" * 100)).write_bytes(b"x")
    scan = scan_item(item)
    long_path = "/".join(["f" * 250] * 4 + ["g" * 100])
    assert codes(scan.findings) == [("PATH_UNSAFE", long_path)]
    assert "longer than 1024" in scan.findings[0].params["detail"]


# --------------------------------------------------------------------------- scan_item: file types


def test_fifo_in_payload_is_refused(tmp_path: Path) -> None:
    scan = scan_item(fifo_in_payload(tmp_path))
    assert codes(scan.findings) == [("FILE_TYPE_REFUSED", "pipe")]
    assert scan.findings[0].found == "named pipe"
    assert paths(scan.payload) == ["letter.txt"]


def test_socket_in_payload_is_refused(tmp_path: Path) -> None:
    for item in socket_in_payload(tmp_path):
        scan = scan_item(item)
        assert codes(scan.findings) == [("FILE_TYPE_REFUSED", "sock")]
        assert scan.findings[0].found == "socket"


def test_device_in_payload_is_refused(tmp_path: Path) -> None:
    scan = scan_item(device_in_payload(tmp_path))
    assert codes(scan.findings) == [("FILE_TYPE_REFUSED", "null")]
    assert scan.findings[0].found == "device"


def test_folder_named_metadata_json_is_refused(tmp_path: Path) -> None:
    item = no_metadata(tmp_path)
    (item / "metadata.json").mkdir()
    scan = scan_item(item)
    assert codes(scan.findings) == [("FILE_TYPE_REFUSED", "metadata.json")]
    assert scan.findings[0].found == "folder"
    assert scan.metadata is None


# --------------------------------------------------------------------------- scan_item: missing and unreadable


def test_no_payload_is_reported(tmp_path: Path) -> None:
    scan = scan_item(no_payload(tmp_path))
    assert codes(scan.findings) == [("PAYLOAD_EMPTY", None)]
    assert scan.metadata == METADATA


def test_an_item_whose_only_file_is_refused_is_told_why_not_also_that_it_is_empty(
        tmp_path: Path) -> None:
    item = no_payload(tmp_path)
    (item / "passwd").symlink_to("/etc/passwd")
    (item / "a\x01b.txt").write_bytes(b"x")
    scan = scan_item(item)
    assert scan.payload == ()
    assert codes(scan.findings) == [("PATH_UNSAFE", "a\x01b.txt"), ("SYMLINK_REFUSED", "passwd")]


def test_no_metadata_is_reported(tmp_path: Path) -> None:
    scan = scan_item(no_metadata(tmp_path))
    assert codes(scan.findings) == [("METADATA_MISSING", "metadata.json")]
    assert scan.metadata is None


def test_oversize_metadata_is_refused_without_reading_it_all(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    item = no_metadata(tmp_path)
    with open(item / "metadata.json", "wb") as f:
        f.truncate(64 * 1024 * 1024)  # sparse: 64 MiB of nothing
    read_sizes: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        data = real_read(fd, n)
        read_sizes.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counting_read)
    scan = scan_item(item, max_metadata_bytes=1000)
    assert codes(scan.findings) == [("METADATA_TOO_LARGE", "metadata.json")]
    assert scan.metadata is None
    assert sum(read_sizes) == 1001


def test_metadata_of_exactly_the_limit_is_accepted(tmp_path: Path) -> None:
    item = good_item(tmp_path)
    scan = scan_item(item, max_metadata_bytes=len(METADATA))
    assert scan.findings == ()
    assert scan.metadata == METADATA


@pytest.mark.skipif(running_as_root, reason="root can read a folder whatever its mode")
def test_unreadable_folder_is_reported(tmp_path: Path) -> None:
    item = unreadable_folder(tmp_path)
    try:
        scan = scan_item(item)
    finally:
        (item / "locked").chmod(0o755)
    assert codes(scan.findings) == [("FILE_UNREADABLE", "locked")]
    assert paths(scan.payload) == ["letter.txt"]


@pytest.mark.skipif(running_as_root, reason="root can read a file whatever its mode")
def test_unreadable_file_is_reported(tmp_path: Path) -> None:
    scan = scan_item(unreadable_file(tmp_path))
    assert codes(scan.findings) == [("FILE_UNREADABLE", "locked.txt")]
    assert paths(scan.payload) == ["letter.txt"]


def _refuse(real, suffix: str):  # type: ignore[no-untyped-def]
    """Wrap an os function so that it fails with EACCES on one path, as for another user."""
    def refusing(path, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(path, (str, os.PathLike)) and os.fspath(path).endswith(suffix):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real(path, *args, **kwargs)
    return refusing


def test_folder_denied_to_the_service_user_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    item = good_item(tmp_path)
    (item / "locked").mkdir()
    (item / "locked" / "inside.txt").write_bytes(b"x")
    monkeypatch.setattr(os, "scandir", _refuse(os.scandir, "/locked"))
    scan = scan_item(item)
    assert codes(scan.findings) == [("FILE_UNREADABLE", "locked")]
    assert scan.findings[0].params == {"detail": "Permission denied"}
    assert paths(scan.payload) == ["letter.txt"]


def test_file_denied_to_the_service_user_is_reported(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    item = good_item(tmp_path)
    (item / "locked.txt").write_bytes(b"x")
    monkeypatch.setattr(os, "open", _refuse(os.open, "/locked.txt"))
    scan = scan_item(item)
    assert codes(scan.findings) == [("FILE_UNREADABLE", "locked.txt")]
    assert paths(scan.payload) == ["letter.txt"]


def test_item_folder_that_cannot_be_listed_is_one_finding(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    item = good_item(tmp_path)
    monkeypatch.setattr(os, "scandir", _refuse(os.scandir, "/item-1"))
    scan = scan_item(item)
    assert codes(scan.findings) == [("FILE_UNREADABLE", ".")]
    assert scan.payload == () and scan.metadata is None


def test_every_problem_of_an_item_is_reported_at_once(tmp_path: Path) -> None:
    item = no_metadata(tmp_path)
    (item / "passwd").symlink_to("/etc/passwd")
    os.mkfifo(item / "pipe")
    (item / "bell\x07.txt").write_bytes(b"x")
    (item / "Letter.txt").write_bytes(b"x")
    scan = scan_item(item)
    assert codes(scan.findings) == [
        ("FILE_TYPE_REFUSED", "pipe"),
        ("METADATA_MISSING", "metadata.json"),
        ("NAME_COLLISION", "letter.txt"),
        ("PATH_UNSAFE", "bell\x07.txt"),
        ("SYMLINK_REFUSED", "passwd"),
    ]


# --------------------------------------------------------------------------- fixtures: batches


def good_batch(parent: Path, batch_json: bytes | None = None) -> Path:
    batch = parent / "batch"
    batch.mkdir()
    good_item(batch, "item-2")
    good_item(batch, "item-1")
    if batch_json is not None:
        (batch / "batch.json").write_bytes(batch_json)
    return batch


def stray_file_at_batch_root(parent: Path) -> Path:
    batch = good_batch(parent)
    (batch / "notes.txt").write_bytes(b"remember the scanner settings")
    (batch / ".DS_Store").write_bytes(b"finder")
    return batch


def batch_json_invalid(parent: Path) -> Path:
    return good_batch(parent, batch_json=b'{"collection": "telegrams",')


# --------------------------------------------------------------------------- read_batch


def test_good_batch_lists_items_sorted_with_absolute_paths(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    good_batch(tmp_path)
    monkeypatch.chdir(tmp_path)
    layout = read_batch("batch")
    assert layout.root == tmp_path / "batch"
    assert layout.items == (("item-1", tmp_path / "batch" / "item-1"),
                            ("item-2", tmp_path / "batch" / "item-2"))
    assert layout.fields == {}
    assert layout.findings == ()


def test_stray_file_at_batch_root_is_reported_and_items_go_on(tmp_path: Path) -> None:
    layout = read_batch(stray_file_at_batch_root(tmp_path))
    assert codes(layout.findings) == [("BATCH_STRAY_FILE", ".DS_Store"),
                                      ("BATCH_STRAY_FILE", "notes.txt")]
    assert [name for name, _ in layout.items] == ["item-1", "item-2"]


def test_system_files_at_batch_root_are_skipped_with_a_warning(tmp_path: Path) -> None:
    batch = stray_file_at_batch_root(tmp_path)
    (batch / "__MACOSX" / "item-1").mkdir(parents=True)
    layout = read_batch(batch, skip=DEFAULT_SYSTEM_FILES)
    assert codes(layout.findings) == [("BATCH_STRAY_FILE", "notes.txt"),
                                      ("SYSTEM_FILE_SKIPPED", ".DS_Store"),
                                      ("SYSTEM_FILE_SKIPPED", "__MACOSX/")]
    assert [name for name, _ in layout.items] == ["item-1", "item-2"]


def test_hidden_folder_at_batch_root_is_an_item(tmp_path: Path) -> None:
    batch = good_batch(tmp_path)
    (batch / ".thumbnails").mkdir()
    layout = read_batch(batch)
    assert [name for name, _ in layout.items] == [".thumbnails", "item-1", "item-2"]


def test_symlink_at_batch_root_is_refused_and_not_an_item(tmp_path: Path) -> None:
    batch = good_batch(tmp_path)
    elsewhere = good_item(tmp_path, "elsewhere")
    (batch / "linked-item").symlink_to(elsewhere, target_is_directory=True)
    (batch / "linked-file").symlink_to("/etc/passwd")
    layout = read_batch(batch)
    assert codes(layout.findings) == [("SYMLINK_REFUSED", "linked-file"),
                                      ("SYMLINK_REFUSED", "linked-item")]
    assert [name for name, _ in layout.items] == ["item-1", "item-2"]


def test_fifo_at_batch_root_is_refused(tmp_path: Path) -> None:
    batch = good_batch(tmp_path)
    os.mkfifo(batch / "pipe")
    layout = read_batch(batch)
    assert codes(layout.findings) == [("FILE_TYPE_REFUSED", "pipe")]


@pytest.mark.parametrize("name", ["line\nbreak", "carriage\rreturn", "bell\x07"])
def test_item_named_with_a_line_break_or_control_character_is_refused(
        tmp_path: Path, name: str) -> None:
    batch = good_batch(tmp_path)
    good_item(batch, name)
    layout = read_batch(batch)
    assert codes(layout.findings) == [("PATH_UNSAFE", name)]
    assert [n for n, _ in layout.items] == ["item-1", "item-2"]


def test_batch_without_item_folders_is_empty(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "batch.json").write_bytes(b"{}")
    layout = read_batch(batch)
    assert codes(layout.findings) == [("BATCH_EMPTY", None)]
    assert layout.items == ()


def test_batch_json_invalid_is_reported_and_items_go_on(tmp_path: Path) -> None:
    layout = read_batch(batch_json_invalid(tmp_path))
    assert codes(layout.findings) == [("BATCH_METADATA_INVALID", "batch.json")]
    assert layout.findings[0].message.startswith("batch.json is not usable: it is not valid JSON")
    assert layout.fields == {}
    assert [name for name, _ in layout.items] == ["item-1", "item-2"]


def test_good_batch_json_gives_the_batch_its_fields(tmp_path: Path) -> None:
    fields = {"submitter": "Reading Room", "collection": "Telegrams, 1951",
              "schema": "archival-record/v1"}
    layout = read_batch(good_batch(tmp_path, batch_json=json.dumps(fields).encode()))
    assert layout.findings == ()
    assert layout.fields == fields


def test_batch_json_against_its_schema_reports_each_problem(tmp_path: Path) -> None:
    # A misspelt property and a malformed schema name: two problems, both reported.
    batch_json = json.dumps({"colection": "Telegrams", "schema": "Archival Record"}).encode()
    layout = read_batch(good_batch(tmp_path, batch_json=batch_json))
    assert [(f.code, f.path, f.pointer) for f in layout.findings] == [
        ("BATCH_METADATA_INVALID", "batch.json", "/colection"),
        ("BATCH_METADATA_INVALID", "batch.json", "/schema"),
    ]
    assert layout.fields == {}
    assert [name for name, _ in layout.items] == ["item-1", "item-2"]


def test_a_misspelt_batch_json_property_keeps_its_hint(tmp_path: Path) -> None:
    batch_json = json.dumps({"colection": "Telegrams"}).encode()
    [finding] = read_batch(good_batch(tmp_path, batch_json=batch_json)).findings
    assert finding.hint == 'did you mean "collection"?'


def test_batch_json_that_is_not_an_object_is_reported(tmp_path: Path) -> None:
    layout = read_batch(good_batch(tmp_path, batch_json=b'["telegrams"]'))
    assert codes(layout.findings) == [("BATCH_METADATA_INVALID", "batch.json")]
    assert layout.fields == {}


def test_oversize_batch_json_is_reported(tmp_path: Path) -> None:
    batch = good_batch(tmp_path)
    with open(batch / "batch.json", "wb") as f:
        f.truncate(64 * 1024 * 1024)
    layout = read_batch(batch)
    assert codes(layout.findings) == [("BATCH_METADATA_INVALID", "batch.json")]
    assert "larger than" in layout.findings[0].params["detail"]


def test_symlinked_batch_json_is_refused(tmp_path: Path) -> None:
    batch = good_batch(tmp_path)
    (tmp_path / "elsewhere.json").write_bytes(b"{}")
    (batch / "batch.json").symlink_to(tmp_path / "elsewhere.json")
    layout = read_batch(batch)
    assert codes(layout.findings) == [("SYMLINK_REFUSED", "batch.json")]
    assert layout.fields == {}


def test_missing_batch_folder_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(BatchUnreadable, match="does not exist"):
        read_batch(tmp_path / "no-such-batch")


def test_batch_path_that_is_a_file_is_unreadable(tmp_path: Path) -> None:
    (tmp_path / "batch.zip").write_bytes(b"PK")
    with pytest.raises(BatchUnreadable, match="not a folder"):
        read_batch(tmp_path / "batch.zip")


def test_batch_folder_that_cannot_be_listed_is_unreadable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    batch = good_batch(tmp_path)
    monkeypatch.setattr(os, "scandir", _refuse(os.scandir, "/batch"))
    with pytest.raises(BatchUnreadable, match="cannot be listed"):
        read_batch(batch)


def test_fields_given_beside_the_folder_take_the_place_of_batch_json(tmp_path: Path) -> None:
    batch = good_batch(tmp_path, batch_json=b'{"collection": "from the file", "submitter": "Reading Room"}')
    layout = read_batch(batch, {"collection": "typed in the form", "description": "Two letters.\nScanned."})
    assert layout.fields == {"collection": "typed in the form", "submitter": "Reading Room",
                             "description": "Two letters.\nScanned."}
    assert layout.findings == ()


def test_empty_given_fields_leave_batch_json_as_it_is(tmp_path: Path) -> None:
    layout = read_batch(good_batch(tmp_path, batch_json=b'{"collection": "telegrams"}'),
                        {"collection": "", "description": ""})
    assert layout.fields == {"collection": "telegrams"}


def test_a_given_field_the_batch_schema_refuses_is_said_with_its_pointer(tmp_path: Path) -> None:
    given = {"collection": "two\nlines"}
    assert [f.pointer for f in check_batch_fields(given)] == ["/collection"]
    layout = read_batch(good_batch(tmp_path), given)
    assert [(f.code, f.pointer) for f in layout.findings] == [("BATCH_METADATA_INVALID", "/collection")]
    assert layout.fields == {}


def test_a_folder_named_metadata_csv_is_refused_not_taken_for_an_item(tmp_path: Path) -> None:
    # Before: an item called "metadata.csv" was registered (and rejected) beside
    # the real ones.
    batch = tmp_path / "batch"
    good_item(batch)
    (batch / "metadata.csv").mkdir()
    layout = read_batch(batch)
    assert [name for name, _ in layout.items] == ["item-1"]
    assert [(f.code, f.path, f.found) for f in layout.findings] == [
        ("FILE_TYPE_REFUSED", "metadata.csv", "folder")]


def test_an_empty_item_folder_is_told_once_that_it_is_empty(tmp_path: Path) -> None:
    # Before: "the item has no metadata.json" and "the item has no payload file
    # besides metadata.json", two findings for one empty folder.
    (tmp_path / "item-1").mkdir()
    scan = scan_item(tmp_path / "item-1")
    assert codes(scan.findings) == [("ITEM_FOLDER_EMPTY", None)]
    [finding] = scan.findings
    assert "the item folder is empty" in finding.message
