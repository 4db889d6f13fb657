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


def test_check_reads_a_received_bag_through_and_finds_a_bad_checksum_a_listing_cannot_see(
        tmp_path: Path) -> None:
    """A bag whose file changed but kept its size passes every listing check; the
    dry run reads the bytes, as the ingest will, and rejects it with the same findings."""
    from tests.unit.test_received_bag import received_bag

    batch = tmp_path / "batch"
    bag = received_bag(batch, checksums=("md5", "sha256"))
    (bag / "data/scan/page-02.txt").write_bytes(b"Yours faithfully,\nA. N. Exampl!\n")  # same size
    received_bag(batch, "intact", info={"External-Identifier": "deposit-2024-018",
                                        "Title": "Another deposit", "Bagging-Date": "2024-04-30"})
    sr = Strongroom(tmp_path / "data")

    checked = sr.json("submit", "--check", str(batch), expect=1)

    items = {i["name"]: i for i in checked["items"]}
    assert items["intact"]["status"] == "accepted"
    assert items["deposit"]["status"] == "rejected"
    assert {(f["code"], f["path"], f["params"]["manifest"]) for f in items["deposit"]["findings"]} == {
        ("RECEIVED_BAG_DIGEST_MISMATCH", "data/scan/page-02.txt", "manifest-md5.txt"),
        ("RECEIVED_BAG_DIGEST_MISMATCH", "data/scan/page-02.txt", "manifest-sha256.txt")}
    assert not (tmp_path / "data").exists() or everything_in(tmp_path / "data") == {}


def test_check_tells_which_files_no_format_matched_without_refusing_them(tmp_path: Path) -> None:
    from tests.unit.test_format_identification import NOISE, PDF

    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES / LETTER, batch / LETTER)
    (batch / LETTER / "scan" / "report.pdf").write_bytes(PDF)
    (batch / LETTER / "scan" / "noise").write_bytes(NOISE)
    sr = Strongroom(tmp_path / "data")

    checked = sr.json("submit", "--check", str(batch), expect=0)

    (item,) = checked["items"]
    assert item["status"] == "accepted"
    assert [(f["code"], f["path"]) for f in item["findings"]] == [
        ("FORMAT_UNIDENTIFIED", "data/scan/noise")]
