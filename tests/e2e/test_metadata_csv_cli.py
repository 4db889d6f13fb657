"""A batch described in a spreadsheet, from the template that ``strongroom
template csv`` prints to the stored records."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import bagit

from tests.cli_runner import EXAMPLES, Strongroom

TELEGRAM = "telegram-1951-06-21-mao-to-filippov"
LETTER = "letter-1952-03-sample"


def test_the_printed_template_filled_in_for_two_items_is_stored_as_written(
        tmp_path: Path) -> None:
    sr = Strongroom(tmp_path / "data")
    template = sr.run("template", "csv").stdout
    header, example = list(csv.reader(io.StringIO(template)))
    assert header[0] == "folder" and "source.citation" in header and example[0] == TELEGRAM

    # staff keep the example row, and add a row of their own for the letter,
    # leaving its collection to batch.json
    batch = tmp_path / "batch"
    for name in (TELEGRAM, LETTER):
        shutil.copytree(EXAMPLES / name, batch / name)
        (batch / name / "metadata.json").unlink()
    letter = dict.fromkeys(header, "") | {
        "folder": LETTER, "identifier": LETTER, "title": "Sample letter", "date": "1952-03",
        "creators": "A. N. Example (author)", "subjects": "Trade|Shipping"}
    rows = io.StringIO()
    writer = csv.writer(rows)
    writer.writerows([header, example, [letter[column] for column in header]])
    (batch / "metadata.csv").write_text(rows.getvalue(), encoding="utf-8-sig")
    (batch / "batch.json").write_text(json.dumps({"collection": "Sample letters"}), encoding="utf-8")

    done = sr.json("submit", str(batch))

    assert sorted(item["status"] for item in done["items"]) == ["stored", "stored"]
    letter_record = stored_record(sr, LETTER)
    assert letter_record["collection"] == "Sample letters"
    assert letter_record["creators"] == [{"name": "A. N. Example", "role": "author"}]
    assert letter_record["subjects"] == ["Trade", "Shipping"]
    telegram = json.loads((EXAMPLES / TELEGRAM / "metadata.json").read_text(encoding="utf-8"))
    assert stored_record(sr, TELEGRAM) == telegram


def stored_record(sr: Strongroom, identifier: str) -> dict:
    """The record in the package's bag, which LOC bagit finds valid."""
    bag = sr.objects / sr.json("show", identifier)["package_id"] / "v1"
    bagit.Bag(str(bag)).validate()
    return json.loads((bag / "metadata" / "record.json").read_text(encoding="utf-8"))
