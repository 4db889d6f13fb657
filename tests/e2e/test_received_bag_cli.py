"""A bag fetched with `strongroom fetch ID --to DIR` and submitted again is `unchanged`;
a bag made by LOC bagit is stored, and the bag Strongroom writes passes LOC bagit."""

from __future__ import annotations

import shutil
from pathlib import Path

import bagit

from tests.cli_runner import EXAMPLES, Strongroom


def test_bag_fetched_with_the_cli_and_resubmitted_is_unchanged(tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES / "letter-1952-03-sample", batch / "letter-1952-03-sample")
    (stored,) = sr.json("submit", str(batch))["items"]
    assert stored["status"] == "stored"

    again = tmp_path / "again"
    sr.run("fetch", stored["package_id"], "--to", str(again / "letter-as-bag"))
    bagit.Bag(str(again / "letter-as-bag")).validate()
    (resubmitted,) = sr.json("submit", str(again))["items"]
    assert (resubmitted["status"], resubmitted["version"], resubmitted["findings"]) == (
        "unchanged", 1, [])


def test_bag_made_by_loc_bagit_is_stored_and_fetched_as_a_valid_bag(tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    item = tmp_path / "batch" / "deposit"
    (item / "letters").mkdir(parents=True)
    (item / "letters" / "one.txt").write_text("one\n")
    bagit.make_bag(str(item), bag_info={"External-Identifier": "deposit-cli-1",
                                        "Title": "A deposit", "Bagging-Date": "2024-04-30"},
                   checksums=["md5"])
    (stored,) = sr.json("submit", str(tmp_path / "batch"))["items"]
    assert stored["status"] == "stored", stored["findings"]
    out = tmp_path / "out"
    sr.run("fetch", stored["package_id"], "--to", str(out))
    bagit.Bag(str(out)).validate()
    assert (out / "data" / "letters" / "one.txt").read_text() == "one\n"
    assert (out / "metadata" / "received-bag-info.txt").read_bytes() == \
        (item / "bag-info.txt").read_bytes()
