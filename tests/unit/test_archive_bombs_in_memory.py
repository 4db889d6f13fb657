"""Archives that exhaust memory before any limit is checked, and zips the standard
library cannot unpack. Each bomb is built here, streaming, so the test stays
small; the intake runs in a subprocess whose peak memory is measured."""

from __future__ import annotations

import gzip
import io
import json
import struct
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from ingest.archive_intake import unpack_archive
from ingest.errors import ArchiveRefused
from tests.unit.api_support import make_api

#: how much the intake may grow the process's peak memory on any of these bombs
FLAT = 20 * 1024**2

_MEASURE = """
import json, resource, sys
from ingest.archive_intake import unpack_archive
from ingest.errors import ArchiveRefused
def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = peak()
try:
    unpack_archive(sys.argv[1], sys.argv[2], sys.argv[3])
    codes = []
except ArchiveRefused as exc:
    codes = [f.code for f in exc.findings]
print(json.dumps({"grew": peak() - before, "codes": codes}))
"""


def _intake_in_subprocess(archive: Path, kind: str, target: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", _MEASURE, str(archive), kind, str(target)],
                          capture_output=True, text=True, timeout=300,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


# --------------------------------------------------------------------------- zip bombs

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")


def _zip_of_entries_sharing_one_local_header(path: Path, entries: int,
                                             claimed: int | None = None) -> Path:
    """One local header ("a", 1 byte), then a central directory of ``entries``
    entries all pointing at it; the end record claims ``claimed`` entries
    (the truth when None, through zip64 records)."""
    crc = zlib.crc32(b"x")
    with open(path, "wb") as out:
        out.write(_LOCAL.pack(b"PK\x03\x04", 20, 0, 0, 0, 0x21, crc, 1, 1, 1, 0) + b"a" + b"x")
        start = out.tell()
        batch = []
        for i in range(entries):
            name = f"m{i:07d}".encode()
            batch.append(_CENTRAL.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0x21, crc, 1, 1,
                                       len(name), 0, 0, 0, 0, 0, 0) + name)
            if len(batch) == 10_000:
                out.write(b"".join(batch))
                batch = []
        out.write(b"".join(batch))
        size = out.tell() - start
        if claimed is None:
            record_at = out.tell()
            out.write(struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries,
                                  entries, size, start))
            out.write(struct.pack("<4sLQL", b"PK\x06\x07", 0, record_at, 1))
            out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF,
                                  0xFFFFFFFF, 0xFFFFFFFF, 0))
        else:
            out.write(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, claimed, claimed, size,
                                  start, 0))
    return path


@pytest.mark.parametrize("claimed", [None, 5], ids=["end_record_true", "end_record_lies"])
def test_zip_of_600k_overlapping_entries_is_refused_with_flat_memory(
        tmp_path: Path, claimed: int | None) -> None:
    bomb = _zip_of_entries_sharing_one_local_header(tmp_path / "overlap_bomb.zip", 600_000,
                                                    claimed)
    outcome = _intake_in_subprocess(bomb, "zip", tmp_path / "staging")
    assert outcome["codes"] == ["ARCHIVE_TOO_LARGE"]
    assert outcome["grew"] < FLAT, f"peak memory grew by {outcome['grew'] / 1024**2:.0f} MB"
    assert not any((tmp_path / "staging").iterdir())


def test_zip_whose_members_share_one_local_header_is_refused(tmp_path: Path) -> None:
    bomb = _zip_of_entries_sharing_one_local_header(tmp_path / "overlap_small.zip", 3)
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(bomb, "zip", tmp_path / "staging")
    assert [f.code for f in refused.value.findings] == ["ARCHIVE_UNSAFE_MEMBER"] * 2
    assert "m0000000" in refused.value.findings[0].message


# --------------------------------------------------------------------------- tar bombs


def _tar_gz_with_huge_extended_header(path: Path, kind: bytes, size: int) -> Path:
    """A .tar.gz whose first header announces ``size`` bytes of PAX or GNU long-name
    data: gzip members of a megabyte of zeros, one compressed block repeated."""
    header = tarfile.TarInfo("././@LongHeader")
    header.type = kind
    header.size = size
    zeros = gzip.compress(b"\0" * 1024**2, compresslevel=9)
    with open(path, "wb") as out:
        out.write(gzip.compress(header.tobuf(tarfile.USTAR_FORMAT)))
        for _ in range(size // 1024**2):
            out.write(zeros)
        member = tarfile.TarInfo("item/metadata.json")
        out.write(gzip.compress(member.tobuf(tarfile.USTAR_FORMAT) + b"\0" * 1024))
    return path


@pytest.mark.parametrize("kind", [tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME],
                         ids=["pax_header", "gnu_long_name"])
def test_tar_gz_with_a_128_mib_extended_header_is_refused_with_flat_memory(
        tmp_path: Path, kind: bytes) -> None:
    bomb = _tar_gz_with_huge_extended_header(tmp_path / "header_bomb.tar.gz", kind, 128 * 1024**2)
    assert bomb.stat().st_size < 1024**2
    outcome = _intake_in_subprocess(bomb, "tar", tmp_path / "staging")
    assert outcome["codes"] == ["ARCHIVE_TOO_LARGE"]
    assert outcome["grew"] < FLAT, f"peak memory grew by {outcome['grew'] / 1024**2:.0f} MB"


def _sparse_gnu(path: Path) -> Path:
    info = tarfile.TarInfo("item/sparse.bin")
    info.type = tarfile.GNUTYPE_SPARSE
    info.size = 0
    path.write_bytes(info.tobuf(tarfile.GNU_FORMAT) + b"\0" * 1024)
    return path


def _sparse_pax_1_0(path: Path) -> Path:
    info = tarfile.TarInfo("item/GNUSparseFile.0/sparse.bin")
    info.size = 512
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0",
                        "GNU.sparse.name": "item/sparse.bin", "GNU.sparse.realsize": "1"}
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(b"0\n".ljust(512, b"\0")))
    return path


@pytest.mark.parametrize("build", [_sparse_gnu, _sparse_pax_1_0], ids=["gnu", "pax_1_0"])
def test_sparse_tar_member_is_refused(tmp_path: Path, build) -> None:  # type: ignore[no-untyped-def]
    archive = build(tmp_path / "sparse_member.tar")
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(archive, "tar", tmp_path / "staging")
    assert [f.code for f in refused.value.findings] == ["ARCHIVE_UNSAFE_MEMBER"]
    assert "sparse" in refused.value.findings[0].message
    assert not any((tmp_path / "staging").iterdir())


# --------------------------------------------------------------------------- Deflate64


def _deflate64_zip() -> bytes:
    """A zip whose member says compression method 9 (Deflate64), as Windows
    Explorer writes for large files."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("batch/item/metadata.json", b'{"identifier": "x"}')
    data = bytearray(buffer.getvalue())
    for signature, at in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        data[data.find(signature) + at:data.find(signature) + at + 2] = struct.pack("<H", 9)
    return bytes(data)


def test_deflate64_zip_is_unreadable_in_a_plain_sentence(tmp_path: Path) -> None:
    archive = tmp_path / "deflate64.zip"
    archive.write_bytes(_deflate64_zip())
    with pytest.raises(ArchiveRefused) as refused:
        unpack_archive(archive, "zip", tmp_path / "staging")
    finding = refused.value.findings[0]
    assert finding.code == "ARCHIVE_UNREADABLE"
    assert "Deflate64" in finding.message and "Error" not in finding.message


def test_deflate64_upload_is_422_archive_unreadable(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    reply = api.client.post("/batches", content=_deflate64_zip(), headers={
        **api.auth("submitter"), "Content-Type": "application/zip"})
    assert reply.status_code == 422, reply.text
    problem = reply.json()
    assert problem["type"] == "urn:strongroom:problem:archive-unreadable"
    assert "Deflate64" in problem["detail"]
    assert str(tmp_path) not in reply.text
