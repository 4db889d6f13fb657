"""A zip's end record and central directory, walked before ``zipfile`` trusts them.

``zipfile.ZipFile()`` reads the whole central directory into memory, and makes an
object of every entry in it, before anyone can count them: a 55 MB zip of a
million entries (each pointing at the same few bytes) costs half a gigabyte.
So the end-of-central-directory record (and its zip64 form) is read here
first, its entry count and directory size checked against the limits, and
then the directory is walked one entry at a time from the file, stopping at
the first entry over the limit, whatever the end record claimed. The walk
also refuses what ``zipfile`` would only stumble on later: two entries sharing
one local header (the overlapping-file bomb), and compression methods the
standard library cannot unpack (Deflate64, which Windows Explorer writes for
large files), each said in a plain sentence.

A member's name is bytes, and the zip says how to read them only when it sets
the UTF-8 flag (bit 11). Without it the standard library reads them as cp437,
which garbles the accented names that Info-ZIP's ``zip`` on Linux writes as
UTF-8 without saying so. ``member_name`` reads such a name as its writer meant
it, or leaves the bytes it cannot place undecoded, for the intake to refuse.

Memory stays flat: one entry's header and name at a time.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from typing import BinaryIO

from ingest.findings import Finding
from ingest.paths import display_path

_EOCD = struct.Struct("<4s4H2LH")            # end of central directory, 22 bytes
_ZIP64_LOCATOR = struct.Struct("<4sLQL")     # 20 bytes
_ZIP64_EOCD = struct.Struct("<4sQ2H2L4Q")    # 56 bytes
_ENTRY = struct.Struct("<4s6H3L5H2L")        # central directory file header, 46 bytes
_MAX_COMMENT = 65535

#: methods the standard library unpacks: stored, deflate, bzip2, lzma
_READABLE_METHODS = {0, 8, 12, 14}
_METHOD_NAMES = {1: "Shrink", 6: "Implode", 9: "Deflate64", 93: "Zstandard", 95: "XZ",
                 98: "PPMd", 99: "AES encryption"}
#: an entry's share of the central directory: its header, a name of the longest
#: path a batch may hold (1024 bytes) and room for extra fields and a comment
ENTRY_ALLOWANCE = _ENTRY.size + 1024 + 530


@dataclass(frozen=True)
class DirectoryCheck:
    """What the walk found: every finding, or none when ``zipfile`` may open it."""

    findings: list[Finding]
    entries: int


def check_directory(source: BinaryIO, max_members: int) -> DirectoryCheck:
    """Check the zip in ``source`` (a seekable binary file) before it is parsed.

    Refuses, as findings: an end record claiming more than ``max_members``
    entries or a directory larger than ``max_members`` entries can need
    (ARCHIVE_TOO_LARGE); a directory that holds more entries than that, whatever
    the end record says (ARCHIVE_TOO_LARGE, found at the first one over);
    entries sharing a local header, a name holding a NUL (ARCHIVE_UNSAFE_MEMBER); compression methods
    that cannot be unpacked (ARCHIVE_UNREADABLE); no end record, or a damaged
    directory (ARCHIVE_UNREADABLE). Raises OSError when the file cannot be read.
    """
    end = _end_record(source)
    if isinstance(end, Finding):
        return DirectoryCheck([end], 0)
    count, size, start = end
    most_bytes = max_members * ENTRY_ALLOWANCE
    if count > max_members:
        return DirectoryCheck([_too_large(f"{count} members, at most {max_members}")], 0)
    if size > most_bytes:
        return DirectoryCheck([_too_large(
            f"a central directory of {size} bytes, at most {most_bytes} for "
            f"{max_members} members")], 0)
    if start < 0:
        return DirectoryCheck([_unreadable("its central directory lies outside the file")], 0)
    return _walk(source, start, size, max_members)


def _end_record(source: BinaryIO) -> tuple[int, int, int] | Finding:
    """(entries, directory size, directory start) from the end record(s)."""
    file_size = source.seek(0, 2)
    tail_size = min(file_size, _EOCD.size + _MAX_COMMENT)
    source.seek(file_size - tail_size)
    tail = source.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    while at >= 0 and at + _EOCD.size > len(tail):
        at = tail.rfind(b"PK\x05\x06", 0, at)
    if at < 0:
        return _unreadable("it is not a zip file (no end-of-central-directory record)")
    _, disk, _, _, count, size, _, _ = _EOCD.unpack_from(tail, at)
    end_at = file_size - tail_size + at
    if disk not in (0, 0xFFFF):
        return _unreadable("it is one part of a zip split over several files")
    locator_at = end_at - _ZIP64_LOCATOR.size
    if locator_at >= _ZIP64_EOCD.size:
        source.seek(locator_at)
        if source.read(4) == b"PK\x06\x07":
            record_at = locator_at - _ZIP64_EOCD.size
            source.seek(record_at)
            record = source.read(_ZIP64_EOCD.size)
            if len(record) < _ZIP64_EOCD.size or record[:4] != b"PK\x06\x06":
                return _unreadable("its zip64 end record is damaged")
            _, _, _, _, _, _, _, count, size, _ = _ZIP64_EOCD.unpack(record)
            return count, size, record_at - size
    return count, size, end_at - size


def _walk(source: BinaryIO, start: int, size: int, max_members: int) -> DirectoryCheck:
    findings: list[Finding] = []
    owners: dict[int, str] = {}  # local header offset -> the entry that has it
    source.seek(start)
    done = entries = 0
    while done < size:
        header = source.read(_ENTRY.size)
        if len(header) < _ENTRY.size or header[:4] != b"PK\x01\x02":
            findings.append(_unreadable("its central directory is damaged"))
            break
        entries += 1
        if entries > max_members:
            findings.append(_too_large(f"more than {max_members} members"))
            break
        (_, _, _, flags, method, _, _, _, compressed, plain, name_len, extra_len, comment_len,
         _, _, _, offset) = _ENTRY.unpack(header)
        raw_name = source.read(name_len)
        extra = source.read(extra_len)
        source.seek(comment_len, 1)
        done += _ENTRY.size + name_len + extra_len + comment_len
        name = display_path(member_name(raw_name, flags, extra))
        offset = _zip64_offset(extra, offset, plain, compressed)
        if b"\x00" in raw_name:
            # zipfile cuts a name at its NUL: "a\0b.txt" would be stored as "a".
            findings.append(Finding("ARCHIVE_UNSAFE_MEMBER", path=name, params={
                "detail": "its name holds a NUL character, which no file name may"}))
        if method not in _READABLE_METHODS:
            method_name = _METHOD_NAMES.get(method, f"method {method}")
            findings.append(Finding("ARCHIVE_UNREADABLE", path=name, params={"detail": (
                f"member {name!r} is compressed with {method_name}, which this service "
                "cannot unpack; make the zip again with ordinary Deflate compression")}))
        if offset in owners:
            findings.append(Finding("ARCHIVE_UNSAFE_MEMBER", path=name, params={
                "detail": f"its data is the data of member {owners[offset]!r} as well "
                          "(overlapping members are how zip bombs multiply)"}))
        else:
            owners[offset] = name
    return DirectoryCheck(findings, entries)


def member_name(raw: bytes, flags: int, extra: bytes) -> str:
    """The name of a zip member, from its ``raw`` header bytes, its general purpose
    ``flags`` and its ``extra`` field.

    With the UTF-8 flag, the bytes as UTF-8. Without it: the name in Info-ZIP's
    Unicode Path extra field (0x7075) when that field is there and still
    belongs to this name (its CRC-32 of the header name matches); else the
    bytes as UTF-8 when they are valid UTF-8 (plain ASCII is); else the bytes
    undecoded, each byte that is not UTF-8 kept as a lone surrogate (as
    ``os.fsdecode`` keeps it), since no code page can be told from the bytes
    alone. Raises nothing.
    """
    if not flags & 0x800:
        at = 0
        while at + 4 <= len(extra):
            tag, length = struct.unpack_from("<2H", extra, at)
            field = extra[at + 4:at + 4 + length]
            if (tag == 0x7075 and len(field) >= 5 and field[0] == 1
                    and int.from_bytes(field[1:5], "little") == zlib.crc32(raw)):
                try:
                    return field[5:].decode("utf-8")
                except UnicodeDecodeError:
                    break
            at += 4 + length
    return raw.decode("utf-8", "surrogateescape")


def _zip64_offset(extra: bytes, offset: int, plain: int, compressed: int) -> int:
    """The local header offset, from the zip64 extra field when the entry says so."""
    if offset != 0xFFFFFFFF:
        return offset
    at = 0
    while at + 4 <= len(extra):
        tag, length = struct.unpack_from("<2H", extra, at)
        if tag == 0x0001:
            values = extra[at + 4:at + 4 + length]
            skip = 8 * ((plain == 0xFFFFFFFF) + (compressed == 0xFFFFFFFF))
            if len(values) >= skip + 8:
                return int(struct.unpack_from("<Q", values, skip)[0])
        at += 4 + length
    return offset


def _too_large(detail: str) -> Finding:
    return Finding("ARCHIVE_TOO_LARGE", params={"detail": detail})


def _unreadable(detail: str) -> Finding:
    return Finding("ARCHIVE_UNREADABLE", params={"detail": detail})
