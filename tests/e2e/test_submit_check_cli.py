"""``strongroom submit --check``: a dry run that tells what a submission would
do and writes nothing at all."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from tests.cli_runner import EXAMPLES, Strongroom

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"
LETTER = "letter-1952-03-sample"
FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata-csv"


def everything_in(data: Path) -> dict[str, str]:
    """Every file under the data folder (catalog database and objects), with its digest."""
    return {str(p.relative_to(data)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(data.rglob("*")) if p.is_file()}


def test_check_reports_what_submit_would_and_changes_no_catalog_row_object_or_event(
        tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    good = tmp_path / "good"
    for name in (TELEGRAM, LETTER):
        shutil.copytree(EXAMPLES / name, good / name)
    sr.run("submit", str(good))                      # a catalog with one batch in it
    before = everything_in(sr.data)
    batches = sr.json("batches")
    events = sr.json("audit", "log")

    checked_good = sr.json("submit", "--check", str(good), expect=0)
    checked_bad = sr.json("submit", "--check", str(EXAMPLES), expect=1)

    assert checked_good["check"] is True and checked_good["batch_id"] is None
    assert {i["name"]: i["status"] for i in checked_good["items"]} == {
        TELEGRAM: "accepted", LETTER: "accepted"}
    assert {i["name"]: i["status"] for i in checked_bad["items"]} == {
        "bad-record-missing-title": "rejected", TELEGRAM: "accepted", LETTER: "accepted"}
    assert checked_bad["counts"]["rejected"] == 1
    bad = next(i for i in checked_bad["items"] if i["status"] == "rejected")
    assert {f["pointer"] for f in bad["findings"]} >= {"/title", "/date"}
    assert everything_in(sr.data) == before
    assert sr.json("batches") == batches
    assert sr.json("audit", "log") == events


def test_check_names_the_row_and_column_of_a_bad_date_in_row_3_of_metadata_csv(
        tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    batch = tmp_path / "batch"
    for name in ("letter-a", "letter-b"):
        shutil.copytree(EXAMPLES / LETTER, batch / name)
        (batch / name / "metadata.json").unlink()
    shutil.copyfile(FIXTURES / "bad-date-in-row-3.csv", batch / "metadata.csv")

    checked = sr.json("submit", "--check", str(batch), expect=1)

    assert {i["name"]: i["status"] for i in checked["items"]} == {
        "letter-a": "accepted", "letter-b": "rejected"}
    (finding,) = next(i for i in checked["items"] if i["name"] == "letter-b")["findings"]
    assert (finding["code"], finding["path"], finding["pointer"]) == (
        "METADATA_INVALID", "metadata.csv", "/date")
    assert (finding["params"]["row"], finding["params"]["column"]) == (3, "date")
    assert "row 3, column 'date'" in finding["message"]
    assert not (tmp_path / "data").exists() or everything_in(tmp_path / "data") == {}
