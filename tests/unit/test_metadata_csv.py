"""Descriptive metadata from a spreadsheet: metadata.csv at the batch root.

Staff describe a batch in one spreadsheet, a row per item folder, instead of
one metadata.json per item. Each row is checked as a metadata.json would be,
and every problem names the row and column a person fixes in the spreadsheet.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ingest.item_outcome import IngestResult
from ingest.models import ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.sheet_columns import template_csv
from ingest.spreadsheet import parse_sheet
from ingest.submission import submit_batch
from tests.fakes import MemoryObjectStore
from tests.sqlite_services import sqlite_services
from tests.unit.test_pipeline import record, write_item

FIXTURES = Path(__file__).parent.parent / "fixtures" / "metadata-csv"
TELEGRAM = Path(__file__).parents[2] / "examples" / "batch" / "telegram-1951-06-21-mao-to-filippov"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with sqlite_services(tmp_path, MemoryObjectStore()) as services:
        yield services


def payload_only(batch: Path, name: str) -> None:
    """An item folder with payload and no metadata.json."""
    write_item(batch, name)
    (batch / name / "metadata.json").unlink()


def csv_batch(tmp_path: Path, fixture: str, folders: tuple[str, ...] = ("letter-a", "letter-b")) -> Path:
    batch = tmp_path / "batch"
    batch.mkdir()
    for name in folders:
        payload_only(batch, name)
    shutil.copyfile(FIXTURES / fixture, batch / "metadata.csv")
    return batch


def ingest_all(services: Services, batch: Path) -> tuple[Any, dict[str, IngestResult]]:
    submitted = submit_batch(batch, services)
    return submitted, {item.name: ingest_item(item.item_id, services) for item in submitted.items}


def stored_record(services: Services, identifier: str) -> dict[str, Any]:
    version = services.catalog.latest_version(package_id_for(identifier))
    assert version is not None
    return version.record


def test_each_row_describes_its_folder_and_lists_are_split_on_bars(
        tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    batch.mkdir()
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_text(
        "folder,identifier,title,date,creators,recipients,subjects,source.citation,rights.statement\n"
        "letter-a,letter-a,First letter,1952-03,A. N. Example (sender),"
        "I. V. Stalin [Filippov] (addressee),Trade|Shipping,\"APRF, f. 45\",Free to copy\n",
        encoding="utf-8")

    submitted, results = ingest_all(services, batch)

    assert submitted.batch.findings == ()
    assert results["letter-a"].status is ItemStatus.STORED
    assert stored_record(services, "letter-a") == {
        "identifier": "letter-a", "title": "First letter", "date": "1952-03",
        "creators": [{"name": "A. N. Example", "role": "sender"}],
        "recipients": [{"name": "I. V. Stalin", "name_as_written": "Filippov", "role": "addressee"}],
        "subjects": ["Trade", "Shipping"],
        "source": {"citation": "APRF, f. 45"},
        "rights": {"statement": "Free to copy"},
    }


def test_a_bad_date_in_row_3_rejects_that_item_naming_the_row_and_column(
        tmp_path: Path, services: Services) -> None:
    batch = csv_batch(tmp_path, "bad-date-in-row-3.csv")

    submitted, results = ingest_all(services, batch)

    assert submitted.batch.findings == ()
    assert results["letter-a"].status is ItemStatus.STORED  # the BOM is no part of 'folder'
    assert results["letter-b"].status is ItemStatus.REJECTED
    (finding,) = results["letter-b"].findings
    assert (finding.code, finding.path, finding.pointer) == ("METADATA_INVALID", "metadata.csv", "/date")
    assert (finding.params["row"], finding.params["column"]) == (3, "date")
    assert "row 3, column 'date'" in finding.message
    assert finding.hint and "1951-06-21" in finding.hint


def test_a_row_whose_folder_is_missing_is_a_batch_finding_and_the_others_go_in(
        tmp_path: Path, services: Services) -> None:
    batch = csv_batch(tmp_path, "missing-folder.csv")

    submitted, results = ingest_all(services, batch)

    assert [(f.code, f.found, f.params["row"]) for f in submitted.batch.findings] == [
        ("METADATA_CSV_ROW_UNMATCHED", "letter-gone", 4)]
    assert {name: r.status for name, r in results.items()} == {
        "letter-a": ItemStatus.STORED, "letter-b": ItemStatus.STORED}


def test_a_duplicate_row_is_a_batch_finding_and_refuses_that_item(
        tmp_path: Path, services: Services) -> None:
    batch = csv_batch(tmp_path, "duplicate-row.csv")

    submitted, results = ingest_all(services, batch)

    assert [(f.code, f.path, f.params["rows"]) for f in submitted.batch.findings] == [
        ("METADATA_CSV_DUPLICATE_ROW", "letter-b", "3, 4")]
    assert results["letter-a"].status is ItemStatus.STORED
    assert results["letter-b"].status is ItemStatus.REJECTED
    assert [f.code for f in results["letter-b"].findings] == ["METADATA_CSV_DUPLICATE_ROW"]


def test_a_folder_with_a_metadata_json_and_a_row_is_refused(tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "letter-a", metadata=record("letter-a"))
    (batch / "metadata.csv").write_text("folder,identifier,title,date\nletter-a,letter-a,A,1952\n",
                                        encoding="utf-8")

    _, results = ingest_all(services, batch)

    assert [(f.code, f.params["row"]) for f in results["letter-a"].findings] == [
        ("METADATA_CSV_AND_JSON", 2)]


def test_a_folder_with_neither_a_row_nor_a_metadata_json_is_refused(
        tmp_path: Path, services: Services) -> None:
    batch = csv_batch(tmp_path, "missing-folder.csv", folders=("letter-a", "letter-b", "letter-c"))

    _, results = ingest_all(services, batch)

    assert [f.code for f in results["letter-c"].findings] == ["METADATA_MISSING"]


def test_a_sheet_without_a_folder_column_is_a_batch_finding(tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_text("identifier,title,date\nletter-a,A,1952\n", encoding="utf-8")

    submitted, results = ingest_all(services, batch)

    assert [f.code for f in submitted.batch.findings] == ["METADATA_CSV_NO_FOLDER_COLUMN"]
    # the sheet's finding alone: no "add a metadata.json", which is not the cause
    assert [f.code for f in results["letter-a"].findings] == ["METADATA_CSV_NO_FOLDER_COLUMN"]


def test_an_unreadable_sheet_gives_each_item_the_sheet_finding_not_metadata_missing(
        tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_text('folder,identifier,title,date\nletter-a,"csv-a,A,1952\n',
                                        encoding="utf-8")
    _, results = ingest_all(services, batch)
    assert [f.code for f in results["letter-a"].findings] == ["METADATA_CSV_UNREADABLE"]


def test_the_batch_fields_fill_what_a_row_leaves_empty(tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_text("folder,identifier,title,date,collection\n"
                                        "letter-a,letter-a,A,1952,\n", encoding="utf-8")
    (batch / "batch.json").write_text(json.dumps({"collection": "Batch collection"}), encoding="utf-8")

    ingest_all(services, batch)

    assert stored_record(services, "letter-a")["collection"] == "Batch collection"


def test_the_template_filled_in_is_accepted_as_the_telegram_it_shows(
        tmp_path: Path, services: Services) -> None:
    """The template's example row is the seed's telegram; saved as a batch's
    metadata.csv beside the telegram's payload, it stores that very record."""
    schemas = SchemaSet.default()
    template = template_csv(schemas.document("archival-record/v1"))
    telegram = json.loads((TELEGRAM / "metadata.json").read_text(encoding="utf-8"))
    batch = tmp_path / "batch"
    shutil.copytree(TELEGRAM, batch / telegram["identifier"])
    (batch / telegram["identifier"] / "metadata.json").unlink()
    (batch / "metadata.csv").write_text(template, encoding="utf-8")

    submitted, results = ingest_all(services, batch)

    assert submitted.batch.findings == ()
    assert results[telegram["identifier"]].status is ItemStatus.STORED
    assert stored_record(services, telegram["identifier"]) == telegram


def test_a_sheet_that_is_not_utf8_is_unreadable() -> None:
    sheet = parse_sheet("folder,title\nletter-a,Caf\u00e9\n".encode("latin-1"), {})
    assert [f.code for f in sheet.findings] == ["METADATA_CSV_UNREADABLE"]



def test_a_quote_never_closed_names_the_line_its_row_begins_on() -> None:
    # Before: "it is not CSV: unexpected end of data", and no line to look at in
    # a sheet of thousands of rows.
    raw = b'folder,identifier,title\na,csv-a,Title A\nb,csv-b,Title B\nd,"csv-d,Title D\ne,csv-e,E\n'
    [finding] = parse_sheet(raw, {}).findings
    assert finding.code == "METADATA_CSV_UNREADABLE"
    assert "the row that begins on line 4" in finding.message, finding.message
    assert "a quoted cell that is never closed" in finding.message


@pytest.mark.parametrize("cell", ["Broken [x (role", "Name) (role", "Name [as written (role)"])
def test_a_person_cell_not_written_as_the_sheet_reads_people_is_refused_not_stored_as_a_name(
        tmp_path: Path, services: Services, cell: str) -> None:
    # Before: stored as the creator named "Broken [x (role", no finding.
    batch = csv_batch(tmp_path, "missing-folder.csv", folders=("letter-a",))
    (batch / "metadata.csv").write_text(
        "folder,identifier,title,date,creators\n"
        f'letter-a,csv-a,Title A,1950,"{cell}"\n', encoding="utf-8")
    _, results = ingest_all(services, batch)
    [result] = results.values()
    assert result.status is ItemStatus.REJECTED
    [finding] = result.findings
    assert (finding.code, finding.pointer, finding.params["column"]) == (
        "METADATA_INVALID", "/creators/0", "creators")
    assert finding.hint and "Name [name as written] (role)" in finding.hint


def test_people_written_as_the_sheet_reads_them_are_stored() -> None:
    sheet = parse_sheet(b"folder,creators\nletter-a,Mao Zedong (sender)|I. V. Stalin [Filippov] "
                        b"(addressee)|Ministry of Foreign Affairs (USSR) (author)\n",
                        SchemaSet.default().document("archival-record/v1"))
    [row] = sheet.rows_for("letter-a")
    assert row.record["creators"] == [
        {"name": "Mao Zedong", "role": "sender"},
        {"name": "I. V. Stalin", "name_as_written": "Filippov", "role": "addressee"},
        {"name": "Ministry of Foreign Affairs (USSR)", "role": "author"}]


def test_an_item_missing_from_the_sheet_is_told_the_sheet_lacks_its_row(
        tmp_path: Path, services: Services) -> None:
    # Before: "the item has no metadata.json", in a batch whose records are in
    # metadata.csv, with no word of the sheet.
    batch = csv_batch(tmp_path, "missing-folder.csv", folders=("letter-a", "letter-z"))
    (batch / "metadata.csv").write_text("folder,identifier,title,date\nletter-a,csv-a,A,1950\n",
                                        encoding="utf-8")
    _, results = ingest_all(services, batch)
    assert results["letter-a"].status is ItemStatus.STORED
    [finding] = results["letter-z"].findings
    assert finding.code == "METADATA_MISSING"
    assert finding.hint and "metadata.csv has no row whose folder is 'letter-z'" in finding.hint


def _one_creators_cell(tmp_path: Path, services: Services, cell: str) -> IngestResult:
    batch = csv_batch(tmp_path, "missing-folder.csv", folders=("letter-a",))
    (batch / "metadata.csv").write_text(
        "folder,identifier,title,date,creators\n"
        f'letter-a,csv-a,Title A,1950,"{cell}"\n', encoding="utf-8")
    _, results = ingest_all(services, batch)
    [result] = results.values()
    return result


def test_people_separated_with_a_semicolon_are_refused_not_stored_as_one_creator(
        tmp_path: Path, services: Services) -> None:
    # Before: stored as ONE creator named "Hans Meier (photographer); Lisa Graf".
    result = _one_creators_cell(tmp_path, services, "Hans Meier (photographer); Lisa Graf")
    assert result.status is ItemStatus.REJECTED
    [finding] = result.findings
    assert (finding.code, finding.path, finding.pointer) == (
        "METADATA_CSV_PEOPLE_NOT_SEPARATED", "metadata.csv", "/creators/0")
    assert (finding.params["row"], finding.params["column"]) == (2, "creators")
    assert "separated with '|'" in finding.message
    assert "Hans Meier (photographer)|Lisa Graf" in finding.message


def test_one_person_given_two_roles_is_refused_not_stored_with_a_role_in_the_name(
        tmp_path: Path, services: Services) -> None:
    # Before: stored as the creator named "Anna (author)", with the role "editor".
    result = _one_creators_cell(tmp_path, services, "Anna (author) (editor)")
    assert result.status is ItemStatus.REJECTED
    [finding] = result.findings
    assert (finding.code, finding.pointer, finding.params["row"]) == (
        "METADATA_CSV_TWO_ROLES", "/creators/0", 2)
    assert "'author' and 'editor'" in finding.message


def test_a_body_whose_name_ends_in_parentheses_keeps_them_beside_its_role(
        tmp_path: Path, services: Services) -> None:
    result = _one_creators_cell(tmp_path, services, "Ministry of Foreign Affairs (USSR) (author)")
    assert result.status is ItemStatus.STORED, result.findings
    assert stored_record(services, "csv-a")["creators"] == [
        {"name": "Ministry of Foreign Affairs (USSR)", "role": "author"}]


def test_a_sheet_excel_saved_with_semicolons_is_read_by_the_separator_its_header_uses(
        tmp_path: Path, services: Services) -> None:
    # Before: "metadata.csv has no 'folder' column" for a sheet whose first
    # column is folder, as Excel saves CSV in many European locales.
    batch = tmp_path / "batch"
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_text(
        'folder;identifier;title;date;creators\r\nletter-a;csv-a;"Brief; Entwurf";1952;Anna (author)\r\n',
        encoding="utf-8")
    submitted, results = ingest_all(services, batch)
    assert submitted.batch.findings == ()
    assert results["letter-a"].status is ItemStatus.STORED, results["letter-a"].findings
    stored = stored_record(services, "csv-a")
    assert (stored["title"], stored["creators"]) == ("Brief; Entwurf", [{"name": "Anna", "role": "author"}])


def test_a_sheet_saved_in_windows_1252_is_told_its_line_and_to_save_it_as_csv_utf8() -> None:
    # Before: "it is not UTF-8: byte 0xfc at offset 43", and no word of what to do.
    raw = "folder,identifier,title\nletter-a,csv-a,A\nletter-b,csv-b,Brief an Müller\n".encode("cp1252")
    [finding] = parse_sheet(raw, {}).findings
    assert finding.code == "METADATA_CSV_UNREADABLE"
    assert "line 3" in finding.message
    assert finding.hint and "CSV UTF-8 (Comma delimited)" in finding.hint
    assert "'ü' in Windows-1252" in finding.hint


def test_a_tab_separated_sheet_is_told_to_be_saved_as_csv_utf8() -> None:
    [finding] = parse_sheet(b"folder\tidentifier\nletter-a\tcsv-a\n", {}).findings
    assert finding.code == "METADATA_CSV_NO_FOLDER_COLUMN"
    assert finding.hint and "separates its columns with tabs" in finding.hint


def test_an_empty_folder_with_a_row_is_told_once_that_it_is_empty(
        tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    (batch / "letter-a").mkdir(parents=True)
    (batch / "letter-b").mkdir()
    (batch / "metadata.csv").write_text("folder,identifier,title,date\nletter-a,csv-a,A,1950\n",
                                        encoding="utf-8")
    _, results = ingest_all(services, batch)
    assert [f.code for f in results["letter-a"].findings] == ["ITEM_FOLDER_EMPTY"]
    assert [f.code for f in results["letter-b"].findings] == ["ITEM_FOLDER_EMPTY"]


def test_a_misspelt_column_is_one_finding_about_the_header_not_two_on_every_row(
        tmp_path: Path, services: Services) -> None:
    # Before: 'rights.statment' gave each of 40 rows two findings (an unknown
    # property, and rights.statement missing): 80 findings for one typing slip.
    folders = tuple(f"letter-{n:02d}" for n in range(40))
    batch = csv_batch(tmp_path, "missing-folder.csv", folders=folders)
    (batch / "metadata.csv").write_text(
        "folder,identifier,title,date,rights.statment\n"
        + "".join(f"{name},csv-{name},Title,1950,Reproduced for research.\n" for name in folders),
        encoding="utf-8")
    submitted, results = ingest_all(services, batch)
    [finding] = submitted.batch.findings
    assert (finding.code, finding.path, finding.found) == (
        "METADATA_CSV_UNKNOWN_COLUMN", "metadata.csv", "rights.statment")
    assert finding.hint == 'did you mean "rights.statement"?'
    assert {tuple(f.code for f in result.findings) for result in results.values()} == {
        ("METADATA_CSV_UNKNOWN_COLUMN",)}


def test_a_semicolon_sheet_with_a_semicolon_left_unquoted_in_a_cell_is_told_to_quote_it() -> None:
    raw = b"folder;identifier;creators\nletter-a;csv-a;Hans Meier; Lisa Graf\n"
    [finding] = parse_sheet(raw, {}).findings
    assert finding.code == "METADATA_CSV_UNREADABLE"
    assert "row 2 has 4 cells, the header 3" in finding.message
    assert "a cell holding ';' goes in double quotes" in finding.message


@pytest.mark.parametrize("column", ["date.note", "title.en", "identifier.part"])
def test_a_column_naming_a_part_of_a_field_without_parts_refuses_the_sheet_not_drops_its_cells(
        tmp_path: Path, services: Services, column: str) -> None:
    # Before: date.note and title.en were taken for fields of their own, their cells
    # dropped when the row was read, and the item stored without them, without a word.
    batch = tmp_path / "batch"
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_text(
        f"folder,identifier,title,date,{column}\nletter-a,csv-a,Title A,1951,circa; uncertain\n",
        encoding="utf-8")
    submitted, results = ingest_all(services, batch)
    assert [f.code for f in submitted.batch.findings] == ["METADATA_CSV_UNKNOWN_COLUMN"]
    assert submitted.batch.findings[0].found == column
    assert results["letter-a"].status is ItemStatus.REJECTED
    assert services.catalog.latest_version(package_id_for("csv-a")) is None


def test_text_under_a_column_the_header_does_not_name_refuses_the_sheet_not_drops_the_text(
        tmp_path: Path, services: Services) -> None:
    # Before: a header ending in ',' (a column with no name) dropped that column's
    # cells ("IMPORTANT NOTE") and stored the item; two such columns, as Excel
    # leaves them, refused the sheet for "the header names '' more than once".
    batch = tmp_path / "batch"
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_text(
        "folder,identifier,title,date,\nletter-a,csv-a,Title A,1951,IMPORTANT NOTE\n",
        encoding="utf-8")
    submitted, results = ingest_all(services, batch)
    [finding] = submitted.batch.findings
    assert finding.code == "METADATA_CSV_UNREADABLE"
    assert "row 2 has text in column 5, which the header does not name" in finding.message
    assert results["letter-a"].status is ItemStatus.REJECTED


def test_columns_excel_leaves_without_names_and_empty_are_no_problem(
        tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_text(
        "folder,identifier,title,date,,\nletter-a,csv-a,Title A,1951,,\n", encoding="utf-8")
    submitted, results = ingest_all(services, batch)
    assert submitted.batch.findings == ()
    assert results["letter-a"].status is ItemStatus.STORED, results["letter-a"].findings


def test_a_field_given_whole_and_by_a_part_refuses_the_sheet() -> None:
    schema = {"type": "object", "properties": {"place": {}}}
    sheet = parse_sheet(b"folder,identifier,place,place.name\na,csv-a,T,U\n", schema)
    [finding] = sheet.findings
    assert finding.code == "METADATA_CSV_UNREADABLE"
    assert "'place' and 'place.name'" in finding.message


def test_a_sheet_with_semicolons_and_old_mac_line_endings_is_read_by_its_header(
        tmp_path: Path, services: Services) -> None:
    # Before: the header was read up to the first LF, which a CR-only file has none
    # of; the whole file's commas made ',' the separator: "no 'folder' column".
    batch = tmp_path / "batch"
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_bytes(
        b"folder;identifier;title;date\rletter-a;csv-a;Brief, Entwurf;1952\r")
    submitted, results = ingest_all(services, batch)
    assert submitted.batch.findings == ()
    assert results["letter-a"].status is ItemStatus.STORED, results["letter-a"].findings
    assert stored_record(services, "csv-a")["title"] == "Brief, Entwurf"


def test_a_sheet_saved_as_utf16_is_told_so_not_taken_for_windows_1252() -> None:
    raw = "folder,identifier,title\nletter-a,csv-a,A\n".encode("utf-16")
    [finding] = parse_sheet(raw, {}).findings
    assert finding.code == "METADATA_CSV_UNREADABLE"
    assert "UTF-16" in finding.message and "Windows-1252" not in (finding.hint or "")
    assert finding.hint and "CSV UTF-8 (Comma delimited)" in finding.hint


def test_a_row_typed_in_nfc_describes_the_folder_a_mac_wrote_in_nfd(
        tmp_path: Path, services: Services) -> None:
    # Before: the row "brief-zürich" and the folder "brief-zu\u0308rich" read alike and
    # were told apart: METADATA_CSV_ROW_UNMATCHED for the row, METADATA_MISSING for
    # the folder, both naming what looked like the same name.
    import unicodedata

    batch = tmp_path / "batch"
    folder = unicodedata.normalize("NFD", "brief-zürich")
    payload_only(batch, folder)
    (batch / "metadata.csv").write_text(
        "folder,identifier,title,date\n" + unicodedata.normalize("NFC", "brief-zürich")
        + ",csv-z,Brief aus Zürich,1952\n", encoding="utf-8")
    submitted, results = ingest_all(services, batch)
    assert submitted.batch.findings == ()
    assert results[folder].status is ItemStatus.STORED, results[folder].findings
    assert stored_record(services, "csv-z")["title"] == "Brief aus Zürich"


def test_a_cell_longer_than_a_sheet_reads_is_told_in_words_with_its_line() -> None:
    # Before: "field larger than field limit (131072)", the csv module's words.
    raw = b"folder,identifier,title\na,csv-a,A\nb,csv-b," + b"x" * 200_000 + b"\n"
    [finding] = parse_sheet(raw, {}).findings
    assert finding.code == "METADATA_CSV_UNREADABLE"
    assert "a cell of the row that begins on line 3 holds more than 131,072 characters" in finding.message
    assert "field limit" not in finding.message


def test_a_number_cell_of_five_thousand_digits_is_kept_as_text_for_the_schema_not_a_crash() -> None:
    # Python reads no integer of over 4,300 digits: the sheet's reading ended in a
    # ValueError instead of a finding at the cell.
    schema = {"type": "object", "properties": {"pages": {"type": "integer"},
                                               "weight": {"type": "number"}}}
    long = "9" * 5000
    sheet = parse_sheet(f"folder,pages,weight\na,{long},{long}.5\nb,12,3.5\n".encode(), schema)
    assert sheet.findings == ()
    assert sheet.rows_for("a")[0].record == {"pages": long, "weight": long + ".5"}
    assert sheet.rows_for("b")[0].record == {"pages": 12, "weight": 3.5}
    past_a_float = "9" * 400 + ".5"  # no error from float(), but infinity, which is no JSON
    sheet = parse_sheet(f"folder,weight\nc,{past_a_float}\n".encode(), schema)
    assert sheet.rows_for("c")[0].record == {"weight": past_a_float}
