"""Names the README calls legal, end to end through the CLI on a filesystem store.

A payload file may be named with a line feed in it (RFC 8493 percent-encodes it
in the manifests), and a record identifier may hold a LINE SEPARATOR (U+2028):
reconciliation must still find every object where the catalog says it is, a
catalog rebuild must still take the package in, and no name can add lines of
its own to what the CLI prints for a person. JSON output stays exact.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import bagit
import pytest
from hypothesis import given
from hypothesis import strategies as st

from strongroom.reports import printable
from tests.in_process_cli import InProcessCli

ROOT = Path(__file__).resolve().parents[2]
LETTER = ROOT / "examples" / "batch" / "letter-1952-03-sample"

#: a payload file name with a line feed: legal, percent-encoded in the manifests
LINE_FEED_NAME = "a\nb.txt"
#: a name crafted to forge a line of `fixity reconcile`'s human output
#: a name that would forge a line of output (CR and LF are legal in names; a
#: bidirectional control such as U+202E is refused at intake: tests/unit/test_paths.py)
FORGING_NAME = "x\nok     elsewhere (0 objects)\rtxt.exe"
#: an identifier the schema allows (U+2028 inside a line is not a control character)
LINE_SEPARATOR_IDENTIFIER = "letter\u2028sample-2028"


class Strongroom(InProcessCli):
    """The CLI, in this process, against one data folder."""

    def __init__(self, data: Path, database: Path | None = None) -> None:
        self.data = data
        self.env = {"STRONGROOM_DATA_DIR": str(data), "STRONGROOM_RETRY_BACKOFF": "0"}
        if database is not None:
            self.env["STRONGROOM_DATABASE_URL"] = f"sqlite:///{database}"

    def bag(self, package_id: str, number: int = 1) -> Path:
        return self.data / "objects" / package_id / f"v{number}"


@pytest.fixture(autouse=True)
def _only_our_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("STRONGROOM_") and not name.startswith("STRONGROOM_TEST_"):
            monkeypatch.delenv(name)


def make_batch(tmp_path: Path, *, identifier: str = "letter-1952-03-sample",
               extra: dict[str, bytes] | None = None) -> Path:
    batch = tmp_path / "batch"
    item = batch / "item-1"
    shutil.copytree(LETTER, item)
    (batch / "batch.json").write_text(json.dumps({"submitter": "Reading Room",
                                                  "schema": "archival-record/v1"}))
    record = json.loads((item / "metadata.json").read_text())
    record["identifier"] = identifier
    (item / "metadata.json").write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    for name, data in (extra or {}).items():
        (item / "scan" / name).write_bytes(data)
    return batch


def submitted(sr: Strongroom, batch: Path) -> str:
    report = sr.json("submit", str(batch))
    (item,) = report["items"]
    assert item["status"] == "stored", item
    return str(item["package_id"])


# --------------------------------------------------------------------------- a line feed in a file name


@pytest.fixture
def line_feed_name(tmp_path: Path) -> tuple[Strongroom, str]:
    sr = Strongroom(tmp_path / "data")
    package_id = submitted(sr, make_batch(tmp_path, extra={LINE_FEED_NAME: b"two lines of name\n"}))
    return sr, package_id


def test_line_feed_name_reconciles_clean_and_the_bag_validates(
        line_feed_name: tuple[Strongroom, str]) -> None:
    sr, package_id = line_feed_name
    bagit.Bag(str(sr.bag(package_id))).validate()  # LOC bagit: the manifests encode the LF

    for _ in range(2):  # on every run, not just the first
        reconciled = sr.json("fixity", "reconcile")
        (location,) = reconciled["locations"]
        assert location["status"] == "ok", location["findings"]
        assert location["findings"] == [] and location["leftovers"] == []
    report = sr.json("fixity", "report")
    assert [r["findings"] for r in report["reconciliation"]] == [[]]
    assert report["status"] == "ok"
    assert [r["status"] for r in sr.json("verify", package_id)["results"]] == ["ok"]


def test_line_feed_name_missing_is_reported_exactly_in_json(
        line_feed_name: tuple[Strongroom, str]) -> None:
    sr, package_id = line_feed_name
    (sr.bag(package_id) / "data" / "scan" / LINE_FEED_NAME).unlink()
    reconciled = sr.json("fixity", "reconcile", expect=1)
    (location,) = reconciled["locations"]
    assert [(f["code"], f["path"]) for f in location["findings"]] == [
        ("FILE_MISSING", f"{package_id}/v1/data/scan/{LINE_FEED_NAME}")]


def test_show_prints_a_line_feed_in_a_name_as_the_readme_writes_it(
        line_feed_name: tuple[Strongroom, str]) -> None:
    # Before: 'data/scan/a\\nb.txt' (escaped, then escaped again by repr).
    sr, package_id = line_feed_name
    shown = sr.run("show", package_id).stdout
    assert "'data/scan/a\\nb.txt'" in shown, shown
    assert "a\\\\nb.txt" not in shown


# --------------------------------------------------------------------------- forged lines in human output


def test_forging_name_cannot_add_lines_to_human_output(tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    package_id = submitted(sr, make_batch(tmp_path, extra={FORGING_NAME: b"forged\n"}))
    (sr.bag(package_id) / "data" / "scan" / FORGING_NAME).unlink()

    human = sr.run("fixity", "reconcile", expect=1).stdout
    lines = human.splitlines()
    assert len(lines) == 2, lines  # the location, and one finding
    assert lines[0].startswith("failed ")
    assert lines[1] == (f"       FILE_MISSING {package_id}/v1/data/scan/"
                        r"x\nok     elsewhere (0 objects)\rtxt.exe")
    assert "\r" not in human
    report = sr.run("fixity", "report", expect=1).stdout
    assert "\r" not in report
    assert sum("elsewhere" in line for line in report.splitlines()) == 1
    # JSON keeps the name exactly
    (location,) = sr.json("fixity", "reconcile", expect=1)["locations"]
    assert location["findings"][0]["path"].endswith("/" + FORGING_NAME)


def test_forging_name_in_an_error_message_stays_on_one_line(tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    sr.run("init")
    failed = sr.run("status", "nothing\nstrongroom: all is well\u2028", expect=2)
    assert failed.stderr.splitlines() == [r"strongroom: no batch nothing\nstrongroom: all is well\u2028"]


def test_printable_escapes_each_unprintable_character_alone_or_in_text() -> None:
    """``printable`` leaves text ``str.isprintable`` accepts untouched: every
    character it must escape is one that test refuses."""
    from strongroom.reports import _UNPRINTABLE

    for code in _UNPRINTABLE:
        assert chr(code) not in printable(chr(code)), hex(code)
        assert chr(code) not in printable(f"name{chr(code)}.txt"), hex(code)


def test_printable_escapes_every_control_and_leaves_text_alone() -> None:
    assert printable("Mao Zedong → Filippov, 1951 «телеграмма» 毛泽东") == \
        "Mao Zedong → Filippov, 1951 «телеграмма» 毛泽东"
    assert printable("a\nb\rc\td\x00e\x7ff\x85g\x9bh") == r"a\nb\rc\td\x00e\x7ff\x85g\x9bh"
    assert printable("\u2028\u2029\u202a\u202e\u2066\u2069\u200e\u200f\u061c") == \
        r"\u2028\u2029\u202a\u202e\u2066\u2069\u200e\u200f\u061c"


@given(st.text())
def test_printable_text_is_one_line_whatever_the_name(name: str) -> None:
    shown = printable(name)
    assert len(shown.splitlines()) <= 1 and not shown.endswith(("\n", "\r"))
    assert not any(0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in shown)


# --------------------------------------------------------------------------- U+2028 in an identifier


def test_line_separator_identifier_survives_bag_info_and_rebuild(tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    package_id = submitted(sr, make_batch(tmp_path, identifier=LINE_SEPARATOR_IDENTIFIER))
    bag = bagit.Bag(str(sr.bag(package_id)))
    bag.validate()
    # bag-info.txt holds one line per field, and says the identifier without loss
    info = (sr.bag(package_id) / "bag-info.txt").read_text(encoding="utf-8")
    assert "\u2028" not in info
    assert bag.info["External-Identifier"] == "letter%E2%80%A8sample-2028"
    shown = sr.json("show", package_id)

    rebuilt_sr = Strongroom(tmp_path / "data", database=tmp_path / "rebuilt.sqlite3")
    rebuilt = rebuilt_sr.json("catalog", "rebuild")
    assert rebuilt["skipped"] == []
    assert [(v["package_id"], v["identifier"]) for v in rebuilt["versions"]] == [
        (package_id, LINE_SEPARATOR_IDENTIFIER)]
    again = rebuilt_sr.json("show", package_id)
    assert again["identifier"] == LINE_SEPARATOR_IDENTIFIER
    assert again["metadata"] == shown["metadata"]
