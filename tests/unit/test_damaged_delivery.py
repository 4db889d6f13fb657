"""Nothing damaged leaves looking whole.

One byte of a stored file is changed behind the service's back; then the bag
and the file are fetched every way bytes leave (HTTP tar, zip, single file with
and without Range; the CLI's ways are in tests/e2e/test_damaged_delivery_cli.py), and the
ordinary tools a reader uses (curl --fail, tar, unzip, Python's tarfile and
zipfile, LOC bagit) must all refuse what arrived. Each refusal is a failed
fixity-check event naming the copy.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import tarfile
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bagit
import pytest
import uvicorn

from tests.unit.api_support import Api, make_api, tar_of

REPORT_SIZE = 2_000_000

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in ("tar", "unzip", "curl")),
                                reason="needs tar, unzip and curl")


def damage_sample_batch(folder: Path) -> Path:
    """A batch of one item: a 2 MB report, a small note and an empty file."""
    item = folder / "damage-sample"
    (item / "scan").mkdir(parents=True)
    (folder / "batch.json").write_text(json.dumps({"submitter": "Reading Room",
                                                   "schema": "archival-record/v1"}))
    (item / "metadata.json").write_text(json.dumps({
        "identifier": "damage-sample", "title": "A sample with a report", "date": "1952-03",
        "type": "letter", "language": "en-GB",
        "rights": {"statement": "Sample text.", "holder": "Strongroom contributors"}}))
    (item / "report.pdf").write_bytes(random.Random(7).randbytes(REPORT_SIZE))
    (item / "scan" / "note.txt").write_bytes(b"a short note of forty-two bytes, or so.\n")
    (item / "scan" / "blank-verso.txt").write_bytes(b"")
    return folder


@dataclass
class DamagedStore:
    api: Api
    base: str  # http://127.0.0.1:PORT
    package: str
    damaged: str  # bag path of the damaged file
    data: Path

    def curl(self, path: str, out: Path, *extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(["curl", "--fail", "-sS", "-o", str(out), *extra,
                               "-H", f"Authorization: Bearer {self.api.tokens['reader']}",
                               self.base + path], capture_output=True, text=True, timeout=60)

    def failed_fixity_events(self) -> list[dict]:
        reply = self.api.client.get(f"/packages/{self.package}/fixity-checks",
                                    headers=self.api.auth("auditor"))
        return [e for e in reply.json()["events"] if e["outcome"] == "failure"]


def _serve(api: Api) -> Iterator[str]:
    server = uvicorn.Server(uvicorn.Config(api.app, host="127.0.0.1", port=0, log_level="critical",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _outside_the_store(stored: Path) -> Path:
    """The data folder that holds the store (``objects/``): outside the store."""
    return next(p for p in stored.parents if p.name == "objects").parent


def flip_a_byte(stored: Path) -> None:
    """One bit of the stored file changed, same size (an empty file grows a byte)."""
    stored.chmod(0o644)
    data = bytearray(stored.read_bytes())
    if data:
        data[len(data) // 2] ^= 0x01
    else:
        data = bytearray(b"X")
    stored.write_bytes(bytes(data))


def link_to_a_copy_outside(stored: Path) -> None:
    """The stored file replaced by a symbolic link to a copy of its own bytes
    outside the store: before, the tar stream stopped cleanly before that entry
    (tar and tarfile read it as whole, one file short) and fetch and repair
    crashed on the link."""
    copy = _outside_the_store(stored) / f"outside-{stored.name}"
    shutil.copyfile(stored, copy)
    stored.unlink()
    stored.symlink_to(copy)


def folder_linked_elsewhere(stored: Path) -> None:
    """The stored file's folder replaced by a link to a copy of it outside the store."""
    folder = stored.parent
    copy = _outside_the_store(stored) / f"outside-{folder.name}"
    shutil.copytree(folder, copy)
    shutil.rmtree(folder)
    folder.symlink_to(copy, target_is_directory=True)


def fifo_in_its_place(stored: Path) -> None:
    """A FIFO where the stored file was: before, every fetch hung for ever."""
    stored.unlink()
    os.mkfifo(stored)


#: damage -> (bag path, how the stored file is damaged)
DAMAGE = {
    "flipped_byte_in_large_file": ("data/report.pdf", flip_a_byte),
    "flipped_byte_in_small_file": ("data/scan/note.txt", flip_a_byte),
    "empty_file_grown_by_one_byte": ("data/scan/blank-verso.txt", flip_a_byte),
    "file_replaced_by_a_link_to_a_copy_outside_the_store": ("data/report.pdf", link_to_a_copy_outside),
    "folder_replaced_by_a_link_to_a_copy_outside_the_store": ("data/scan/note.txt",
                                                               folder_linked_elsewhere),
    "file_replaced_by_a_fifo": ("data/report.pdf", fifo_in_its_place),
}


@pytest.fixture(scope="module", params=sorted(DAMAGE))
def damaged_store(request: pytest.FixtureRequest,
                  tmp_path_factory: pytest.TempPathFactory) -> Iterator[DamagedStore]:
    root = tmp_path_factory.mktemp(request.param)
    api = make_api(root / "data")
    document = api.upload(tar_of(damage_sample_batch(root / "batch")), "application/x-tar")
    (item,) = document["items"]
    assert item["status"] == "stored", item
    package = item["package_id"]
    path, damage = DAMAGE[request.param]
    damage(root / "data" / "objects" / package / "v1" / path)
    for base in _serve(api):
        yield DamagedStore(api, base, package, path, root / "data")


def _refused_by_tar(archive: Path, tmp_path: Path) -> None:
    if not archive.exists():
        return  # nothing arrived: refused before the first byte
    assert subprocess.run(["tar", "tvf", str(archive)], capture_output=True).returncode != 0
    into = tmp_path / "untarred"
    into.mkdir()
    assert subprocess.run(["tar", "xf", str(archive), "-C", str(into)],
                          capture_output=True).returncode != 0
    with pytest.raises(tarfile.TarError), tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "python-untarred", filter="data")
    _refused_by_bagit(into)


def _refused_by_bagit(folder: Path) -> None:
    for bag_dir in [p for p in folder.iterdir() if p.is_dir()] if folder.exists() else []:
        with pytest.raises(bagit.BagError):
            bagit.Bag(str(bag_dir)).validate()


def test_http_tar_of_a_damaged_bag_is_refused_by_curl_tar_and_bagit(
        damaged_store: DamagedStore, tmp_path: Path) -> None:
    before = len(damaged_store.failed_fixity_events())
    archive = tmp_path / "bag.tar"
    got = damaged_store.curl(f"/packages/{damaged_store.package}/versions/1/bag?format=tar",
                             archive)
    assert got.returncode != 0, got
    _refused_by_tar(archive, tmp_path)
    events = damaged_store.failed_fixity_events()
    assert len(events) == before + 1
    assert events[-1]["detail"]["location"].startswith("file://")


def test_http_zip_of_a_damaged_bag_is_refused_by_curl_unzip_and_zipfile(
        damaged_store: DamagedStore, tmp_path: Path) -> None:
    archive = tmp_path / "bag.zip"
    got = damaged_store.curl(f"/packages/{damaged_store.package}/versions/1/bag?format=zip",
                             archive)
    assert got.returncode != 0, got
    if not archive.exists():
        return  # nothing arrived: refused before the first byte
    assert subprocess.run(["unzip", "-t", str(archive)], capture_output=True).returncode != 0
    into = tmp_path / "unzipped"
    subprocess.run(["unzip", "-q", str(archive), "-d", str(into)], capture_output=True)
    _refused_by_bagit(into)
    with pytest.raises(zipfile.BadZipFile), zipfile.ZipFile(archive) as zf:
        zf.testzip()


@pytest.mark.parametrize("byte_range", [None, "bytes=0-5", "BYTES=0-5"])
def test_http_damaged_file_is_refused_by_curl_whole_or_in_part(
        damaged_store: DamagedStore, tmp_path: Path, byte_range: str | None) -> None:
    out = tmp_path / "file"
    extra = ("-H", f"Range: {byte_range}") if byte_range else ()
    got = damaged_store.curl(
        f"/packages/{damaged_store.package}/versions/1/files/{damaged_store.damaged}", out, *extra)
    assert got.returncode != 0, got
