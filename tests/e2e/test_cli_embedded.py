"""End to end in embedded mode, through the real ``strongroom`` command.

Each test gets its own data folder (SQLite catalog + filesystem object store),
submits batches as archive staff would, and checks what a person would see:
the JSON report, the exit code, the bags in the store (validated by LOC bagit
and our BagIt profile), fetch, verify and the audit chain.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import bagit
import bagit_profile
import pytest

from tests.cli_runner import CLI, EXAMPLES, Strongroom

ROOT = Path(__file__).resolve().parents[2]
PROFILE = json.loads((ROOT / "schemas" / "bagit-profile.json").read_text())


@pytest.fixture
def sr(tmp_path: Path) -> Strongroom:
    return Strongroom(tmp_path / "data")


@pytest.fixture
def good_batch(tmp_path: Path) -> Path:
    """The example batch without its deliberately bad item."""
    batch = tmp_path / "good-batch"
    shutil.copytree(EXAMPLES, batch)
    shutil.rmtree(batch / "bad-record-missing-title")
    return batch


def validate_with_loc_bagit_and_profile(bag_dir: Path) -> None:
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    bag.validate(fast=True)
    profile = bagit_profile.Profile(PROFILE["BagIt-Profile-Info"]["BagIt-Profile-Identifier"],
                                    profile=PROFILE)
    assert profile.validate(bag), profile.report


def test_example_batch_stores_good_items_and_reports_the_bad_one(sr: Strongroom) -> None:
    report = sr.json("submit", str(EXAMPLES), expect=1)
    by_name = {i["name"]: i for i in report["items"]}
    assert {n: i["status"] for n, i in by_name.items()} == {
        "bad-record-missing-title": "rejected",
        "letter-1952-03-sample": "stored",
        "telegram-1951-06-21-mao-to-filippov": "stored",
    }
    bad = by_name["bad-record-missing-title"]
    assert {f["code"] for f in bad["findings"]} == {"METADATA_INVALID"}
    pointers = {f["pointer"] for f in bad["findings"]}
    assert "/title" in pointers and "/date" in pointers and "/language" in pointers
    telegram = by_name["telegram-1951-06-21-mao-to-filippov"]
    assert telegram["version"] == 1 and telegram["findings"] == []

    # The stored bag is a complete, valid BagIt bag, with no database at hand.
    bag_dir = sr.objects / telegram["package_id"] / "v1"
    names = {p.relative_to(bag_dir).as_posix() for p in bag_dir.rglob("*") if p.is_file()}
    assert {"bagit.txt", "bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt",
            "tagmanifest-sha256.txt", "tagmanifest-sha512.txt", "metadata/record.json",
            "data/transcription/telegram-en.txt"} <= names
    validate_with_loc_bagit_and_profile(bag_dir)
    info = bagit.Bag(str(bag_dir)).info
    assert info["External-Identifier"] == json.loads(
        (EXAMPLES / telegram["name"] / "metadata.json").read_text())["identifier"]
    assert info["Bag-Group-Identifier"] == report["batch_id"]
    assert info["Internal-Sender-Identifier"] == telegram["name"]
    record = json.loads((bag_dir / "metadata" / "record.json").read_text())
    assert record["source"]["citation"] == "APRF, f. 45, op. 1, d. 339, ll. 64-65"

    # status tells the same story from the catalog alone
    status = sr.json("status", report["batch_id"], expect=1)
    assert [(i["name"], i["status"]) for i in status["items"]] == \
        [(i["name"], i["status"]) for i in report["items"]]


def test_identical_resubmission_is_unchanged_and_a_change_becomes_version_2(
        sr: Strongroom, good_batch: Path, tmp_path: Path) -> None:
    first = sr.json("submit", str(good_batch))
    again = sr.json("submit", str(good_batch))
    assert {i["status"] for i in again["items"]} == {"unchanged"}
    assert {i["version"] for i in again["items"]} == {1}

    page = good_batch / "letter-1952-03-sample" / "scan" / "page-01.txt"
    original = page.read_bytes()
    page.write_bytes(original + b"\nA correction noted by the archivist.\n")
    changed = sr.json("submit", str(good_batch))
    statuses = {i["name"]: (i["status"], i["version"]) for i in changed["items"]}
    assert statuses["letter-1952-03-sample"] == ("stored", 2)
    assert statuses["telegram-1951-06-21-mao-to-filippov"] == ("unchanged", 1)

    # Version 1 is untouched and still fetchable, byte for byte.
    letter = next(i for i in first["items"] if i["name"] == "letter-1952-03-sample")
    out = tmp_path / "v1"
    sr.run("fetch", letter["package_id"], "--version", "1", "--to", str(out))
    assert (out / "data" / "scan" / "page-01.txt").read_bytes() == original
    validate_with_loc_bagit_and_profile(out)
    shown = sr.json("show", letter["package_id"])
    assert [v["version"] for v in shown["versions"]] == [1, 2]
    listed = sr.json("list")
    assert {p["latest_version"] for p in listed["packages"]
            if p["package_id"] == letter["package_id"]} == {2}


def test_fetch_as_tar_and_to_folder_give_valid_bags(sr: Strongroom, good_batch: Path,
                                                    tmp_path: Path) -> None:
    report = sr.json("submit", str(good_batch))
    package_id = report["items"][0]["package_id"]
    archive = tmp_path / "bag.tar"
    sr.run("fetch", package_id, "--format", "tar", "-o", str(archive))
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "untarred", filter="data")
    validate_with_loc_bagit_and_profile(tmp_path / "untarred" / f"{package_id}_v1")

    streamed = subprocess.run([*CLI, "fetch", package_id, "--format", "tar", "-o", "-"],
                              env=sr.env, capture_output=True, check=True)
    assert streamed.stdout == archive.read_bytes()

    target = tmp_path / "not-empty"
    target.mkdir()
    (target / "keep.txt").write_text("do not overwrite")
    refused = sr.json("fetch", package_id, "--to", str(target), expect=2)
    assert refused["error"]["kind"] == "TargetNotEmpty"
    assert (target / "keep.txt").read_text() == "do not overwrite"


def _bag_of(sr: Strongroom, report: dict, name: str) -> tuple[str, Path]:
    item = next(i for i in report["items"] if i["name"] == name)
    return item["package_id"], sr.objects / item["package_id"] / f"v{item['version']}"


@pytest.mark.parametrize("tamper, code", [
    ("flip_a_byte", "FIXITY_MISMATCH"),
    ("delete_payload", "FILE_MISSING"),
    ("add_stray_file", "UNEXPECTED_FILE"),
    ("edit_bag_info", "TAG_MISMATCH"),
    ("truncate_payload", "SIZE_MISMATCH"),
])
def test_verify_finds_tampering_behind_our_back(sr: Strongroom, good_batch: Path,
                                                tamper: str, code: str) -> None:
    report = sr.json("submit", str(good_batch))
    package_id, bag = _bag_of(sr, report, "telegram-1951-06-21-mao-to-filippov")
    clean = sr.json("verify", "--all")
    assert {r["status"] for r in clean["results"]} == {"ok"}

    payload = bag / "data" / "transcription" / "telegram-en.txt"
    if tamper == "flip_a_byte":
        data = bytearray(payload.read_bytes())
        data[3] ^= 0x01
        payload.write_bytes(bytes(data))
    elif tamper == "delete_payload":
        payload.unlink()
    elif tamper == "add_stray_file":
        (bag / "data" / "stray.txt").write_text("not ours")
    elif tamper == "edit_bag_info":
        info = bag / "bag-info.txt"
        info.write_text(info.read_text().replace("Source-Organization: ", "Source-Organization: X"))
    elif tamper == "truncate_payload":
        payload.write_bytes(payload.read_bytes()[:5])

    result = sr.json("verify", package_id, expect=1)
    (only,) = result["results"]
    assert only["status"] == "failed"
    assert code in {f["code"] for f in only["findings"]}
    # the other package is still fine, and the check is in the audit log
    assert sr.json("verify", "--all", expect=1)["results"]
    events = sr.json("audit", "log", "--package", package_id)["events"]
    checks = [e for e in events if e["event_type"] == "fixity check"]
    assert [c["outcome"] for c in checks][-1] == "failure"
    shown = sr.json("show", package_id)
    assert shown["versions"][0]["last_fixity"]["outcome"] == "failed"


@pytest.mark.parametrize("tamper, code", [
    ("delete_payload", "FILE_MISSING"),
    ("add_stray_file", "UNEXPECTED_FILE"),
    ("truncate_payload", "SIZE_MISMATCH"),
])
def test_verify_shallow_finds_missing_stray_and_resized_files_and_records_a_shallow_check(
        sr: Strongroom, good_batch: Path, tamper: str, code: str) -> None:
    report = sr.json("submit", str(good_batch))
    package_id, bag = _bag_of(sr, report, "telegram-1951-06-21-mao-to-filippov")
    clean = sr.json("verify", "--shallow", package_id)
    assert [(r["status"], r["tier"]) for r in clean["results"]] == [("ok", "shallow")]

    payload = bag / "data" / "transcription" / "telegram-en.txt"
    if tamper == "delete_payload":
        payload.unlink()
    elif tamper == "add_stray_file":
        (bag / "data" / "stray.txt").write_text("not ours")
    elif tamper == "truncate_payload":
        payload.write_bytes(payload.read_bytes()[:5])

    (only,) = sr.json("verify", "--shallow", package_id, expect=1)["results"]
    assert (only["status"], only["tier"]) == ("failed", "shallow")
    assert code in {f["code"] for f in only["findings"]}
    checks = [e for e in sr.json("audit", "log", "--package", package_id)["events"]
              if e["event_type"] == "fixity check"]
    assert [(c["outcome"], c["detail"]["tier"]) for c in checks][-1] == ("failure", "shallow")
    # the human summary says no byte was read
    assert "no byte read" in sr.run("verify", "--shallow", package_id, expect=1).stdout


def test_fetch_refuses_to_deliver_a_damaged_file(sr: Strongroom, good_batch: Path,
                                                 tmp_path: Path) -> None:
    report = sr.json("submit", str(good_batch))
    package_id, bag = _bag_of(sr, report, "telegram-1951-06-21-mao-to-filippov")
    payload = bag / "data" / "transcription" / "telegram-en.txt"
    payload.write_bytes(payload.read_bytes().replace(b"1951", b"1952"))
    out = tmp_path / "fetched"
    result = sr.json("fetch", package_id, "--to", str(out), expect=1)
    assert "FIXITY_MISMATCH" in {f["code"] for f in result["findings"]}
    assert not (out / "data" / "transcription" / "telegram-en.txt").exists()
    archive = tmp_path / "bag.tar"
    sr.json("fetch", package_id, "--format", "tar", "-o", str(archive), expect=1)
    assert not archive.exists()


def test_audit_chain_detects_an_edited_event(sr: Strongroom, good_batch: Path) -> None:
    sr.json("submit", str(good_batch))
    ok = sr.json("audit", "verify")
    assert ok["ok"] and ok["count"] >= 7  # accession + 3 events per stored item
    kinds = {e["event_type"] for e in sr.json("audit", "log")["events"]}
    assert {"accession", "validation", "message digest calculation", "ingestion"} <= kinds

    with sqlite3.connect(sr.data / "catalog.sqlite3") as db:
        db.execute("UPDATE events SET outcome = 'success' WHERE seq = 3")
        db.execute("UPDATE events SET agent = 'someone else' WHERE seq = 3")
    broken = sr.json("audit", "verify", expect=1)
    assert broken["ok"] is False and broken["first_bad_seq"] == 3


def test_bad_input_exits_2_with_a_clear_message(sr: Strongroom, tmp_path: Path) -> None:
    missing = sr.run("submit", str(tmp_path / "no-such-batch"), "--json", expect=2)
    assert "no-such-batch" in json.loads(missing.stdout)["error"]["message"]
    sr.json("show", "no-such-package", expect=2)
    sr.run("verify", expect=2)  # neither packages nor --all


def test_help_lists_every_command() -> None:
    result = subprocess.run([*CLI, "--help"], capture_output=True, text=True, check=True)
    for command in ("submit", "status", "list", "show", "verify", "fetch", "audit"):
        assert command in result.stdout
