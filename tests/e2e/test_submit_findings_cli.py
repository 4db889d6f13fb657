"""What an archivist reads after ``strongroom submit``: one finding per mistake, in
words, with a hint, and system files skipped with a warning."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import bagit

from tests.cli_runner import EXAMPLES, Strongroom

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"
LETTER = "letter-1952-03-sample"


def mistaken_batch(parent: Path) -> Path:
    """The telegram with a day-first date, a POSIX locale for its language and a
    .DS_Store; the letter good, with Finder's and Explorer's leavings."""
    batch = parent / "batch"
    batch.mkdir()
    shutil.copy(EXAMPLES / "batch.json", batch / "batch.json")
    for name in (TELEGRAM, LETTER):
        shutil.copytree(EXAMPLES / name, batch / name)
    metadata = batch / TELEGRAM / "metadata.json"
    record = json.loads(metadata.read_text(encoding="utf-8"))
    metadata.write_text(json.dumps(record | {"date": "21/06/1951", "language": "en_US"}), encoding="utf-8")
    (batch / TELEGRAM / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (batch / LETTER / "scan" / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (batch / LETTER / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    return batch


def test_submit_tells_each_mistake_once_in_words_with_a_hint_and_skips_system_files(tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    done = sr.run("submit", str(mistaken_batch(tmp_path)), expect=1)
    lines = [line.strip() for line in done.stdout.splitlines()]

    assert ("METADATA_INVALID /date: Date is \"21/06/1951\", which is not "
            "an ISO 8601 date (YYYY, YYYY-MM or YYYY-MM-DD) or interval (start/end) that exists in the "
            "calendar") in lines
    assert 'hint: dates are ISO 8601, year first: "1951-06-21"' in lines
    assert "hint: did you mean \"en-US\"? Parts are joined by '-', not '_'" in lines
    assert sum("/date" in line for line in lines) == 1            # one wrong date, one finding
    assert not any("(?:" in line or "[A-Za-z]" in line for line in lines)  # no regular expression
    assert ("warning: SYSTEM_FILE_SKIPPED .DS_Store: '.DS_Store' was skipped: the operating system "
            "made it (.DS_Store), it is not part of the record") in lines
    assert any(line.startswith(f"stored    {LETTER} -> ") for line in lines)
    assert "warning: SYSTEM_FILE_SKIPPED Thumbs.db: 'Thumbs.db' was skipped: the operating system " \
           "made it (Thumbs.db), it is not part of the record" in lines
    assert lines[-1] == "2 items: 1 stored, 1 rejected"

    # the letter's bag holds its payload only, and LOC bagit finds it valid
    shown = sr.json("show", LETTER)
    assert [f["path"] for f in shown["versions"][0]["files"] if f["path"].startswith("data/")] == [
        "data/scan/blank-verso.txt", "data/scan/page-01.txt"]
    bag = sr.objects / shown["package_id"] / "v1"
    bagit.Bag(str(bag)).validate()
    # the JSON keeps the pattern as what was expected, and says how sure each finding is
    report = sr.json("status", json.loads(sr.run("batches", "--json").stdout)["batches"][0]["batch_id"],
                     expect=1)
    language = next(f for i in report["items"] for f in i["findings"] if f.get("pointer") == "/language")
    assert language["expected"].startswith("string matching ^") and language["severity"] == "error"


def test_a_batch_whose_only_findings_are_warnings_succeeds(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES / LETTER, batch / LETTER)
    (batch / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (batch / LETTER / "._metadata.json").write_bytes(b"AppleDouble")
    done = Strongroom(tmp_path / "data").run("submit", str(batch), expect=0)
    assert "batch: warning: SYSTEM_FILE_SKIPPED .DS_Store: '.DS_Store' was skipped" in done.stdout
    assert "1 item: 1 stored" in done.stdout
