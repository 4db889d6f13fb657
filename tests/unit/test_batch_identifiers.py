"""Two items of one batch that give one identifier are both refused.

Before, both were stored, as version 1 and version 2 of one package, in
whichever order the workers finished them: from one run to the next the
"latest" record of the package was a different folder, and no finding said so.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import pytest

from ingest.dry_run import check_batch
from ingest.errors import PackageNotFound
from ingest.models import ItemStatus, package_id_for
from ingest.pipeline import ingest_item
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.submission import submit_batch
from tests.fakes import MemoryObjectStore
from tests.sqlite_services import sqlite_services
from tests.unit.test_pipeline import record, write_item

CAFE = "letter-café-1952"


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    with sqlite_services(tmp_path, MemoryObjectStore()) as services:
        yield services


def _batch(tmp_path: Path) -> Path:
    batch = tmp_path / "batch"
    write_item(batch, "a-first", metadata=record(unicodedata.normalize("NFC", CAFE), "First"))
    # the same identifier typed on another keyboard: é as e and a combining accent
    write_item(batch, "b-second", metadata=record(unicodedata.normalize("NFD", CAFE), "Second"))
    write_item(batch, "c-other", metadata=record("letter-other-1952", "Other"))
    return batch


@pytest.mark.parametrize("order", [("a-first", "b-second"), ("b-second", "a-first")])
def test_two_items_of_a_batch_with_one_identifier_are_both_refused_whatever_the_order(
        tmp_path: Path, services: Services, order: tuple[str, str]) -> None:
    submitted = submit_batch(_batch(tmp_path), services)

    [batch_finding] = [f for f in submitted.batch.findings if f.code == "IDENTIFIER_DUPLICATE"]
    assert batch_finding.params["items"] == "'a-first' and 'b-second'"
    ids = {item.name: item.item_id for item in submitted.items}
    results = {name: ingest_item(ids[name], services) for name in (*order, "c-other")}

    for name in order:
        assert results[name].status is ItemStatus.REJECTED
        [finding] = results[name].findings
        assert (finding.code, finding.pointer) == ("IDENTIFIER_DUPLICATE", "/identifier")
        assert "'a-first' and 'b-second'" in finding.message
    assert results["c-other"].status is ItemStatus.STORED
    for form in ("NFC", "NFD"):
        with pytest.raises(PackageNotFound):
            services.catalog.get_version(package_id_for(unicodedata.normalize(form, CAFE)), None)


def test_the_dry_run_says_so_before_anything_is_stored(tmp_path: Path) -> None:
    checked = check_batch(_batch(tmp_path), SchemaSet.default(), read_files=False)

    assert [f.code for f in checked.findings] == ["IDENTIFIER_DUPLICATE"]
    assert {i.name: i.accepted for i in checked.items} == {
        "a-first": False, "b-second": False, "c-other": True}


def test_identifiers_given_in_metadata_csv_are_compared_too(tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    for name in ("a", "b"):
        (batch / name).mkdir(parents=True)
        (batch / name / "page.txt").write_bytes(b"text\n")
    sheet = io.StringIO()
    writer = csv.writer(sheet)
    writer.writerow(["folder", "identifier", "title", "date", "type", "language", "rights.statement"])
    for name in ("a", "b"):
        writer.writerow([name, "letter-twice", f"Letter {name}", "1952-03", "letter", "en",
                         "Reproduced for research."])
    (batch / "metadata.csv").write_text(sheet.getvalue(), encoding="utf-8")

    submitted = submit_batch(batch, services)

    assert [f.params["items"] for f in submitted.batch.findings
            if f.code == "IDENTIFIER_DUPLICATE"] == [
        "'a' (metadata.csv row 2) and 'b' (metadata.csv row 3)"]
    for item in submitted.items:
        assert ingest_item(item.item_id, services).status is ItemStatus.REJECTED


def _ingest_one(services: Services, batch: Path) -> tuple[ItemStatus, list]:  # type: ignore[type-arg]
    [item] = submit_batch(batch, services).items
    result = ingest_item(item.item_id, services)
    assert result.status is not None
    return result.status, list(result.findings)


def test_a_later_batch_writing_an_identifier_in_another_unicode_form_is_refused_not_a_second_package(
        tmp_path: Path, services: Services) -> None:
    # Before: letter-café-1952 composed in one batch and decomposed in the next
    # made two packages that read exactly alike (two package ids).
    composed, decomposed = (unicodedata.normalize(f, CAFE) for f in ("NFC", "NFD"))
    write_item(tmp_path / "first", "letter", metadata=record(composed, "First"))
    assert _ingest_one(services, tmp_path / "first")[0] is ItemStatus.STORED

    write_item(tmp_path / "second", "letter", metadata=record(decomposed, "Second"))
    status, findings = _ingest_one(services, tmp_path / "second")

    assert status is ItemStatus.REJECTED
    [finding] = findings
    assert (finding.code, finding.pointer, finding.found, finding.expected) == (
        "IDENTIFIER_NOT_AS_STORED", "/identifier", decomposed, composed)
    assert finding.params["package"] == package_id_for(composed)
    # the two read alike: the sentence shows where they differ, in code points
    assert "'é' is U+0065 U+0301 here, U+00E9 in the package" in finding.message
    with pytest.raises(PackageNotFound):
        services.catalog.get_version(package_id_for(decomposed))
    # Written as the package has it, it is the package's next version.
    write_item(tmp_path / "third", "letter", metadata=record(composed, "Second"))
    assert _ingest_one(services, tmp_path / "third")[0] is ItemStatus.STORED
    assert services.catalog.get_version(package_id_for(composed)).number == 2


def test_a_later_batch_writing_an_identifier_in_other_capitals_is_refused_not_a_second_package(
        tmp_path: Path, services: Services) -> None:
    # Before: sg-pr-0021 after SG-PR-0021 was "stored" as a new package, which the
    # (case-blind) identifier search then found beside the first.
    write_item(tmp_path / "first", "register", metadata=record("SG-PR-0021", "Register"))
    assert _ingest_one(services, tmp_path / "first")[0] is ItemStatus.STORED

    write_item(tmp_path / "second", "x", metadata=record("sg-pr-0021", "Register, copy"))
    status, findings = _ingest_one(services, tmp_path / "second")

    assert status is ItemStatus.REJECTED
    [finding] = findings
    assert (finding.code, finding.pointer, finding.found, finding.expected) == (
        "IDENTIFIER_READS_LIKE_ANOTHER", "/identifier", "sg-pr-0021", "SG-PR-0021")
    assert "'SG-PR-0021'" in finding.message and package_id_for("SG-PR-0021") in finding.message
    assert "other capitals" in finding.message
    with pytest.raises(PackageNotFound):
        services.catalog.get_version(package_id_for("sg-pr-0021"))


@pytest.mark.parametrize("twin, said", [
    ("ｓｇ-pr-0021", "fullwidth"),                              # fullwidth letters
    ("sg-pr\u200b-0021", "ZERO WIDTH SPACE"),                  # shows as sg-pr-0021
    ("sg-pr\u2060-0021", "WORD JOINER"),
    ("sg-pr\u061c-0021", "ARABIC LETTER MARK"),
    ("sg-pr\u200e-0021", "LEFT-TO-RIGHT MARK"),
])
def test_an_identifier_that_reads_like_a_stored_one_is_refused_saying_how_it_differs(
        tmp_path: Path, services: Services, twin: str, said: str) -> None:
    """Each of these made a package of its own that `list` printed as sg-pr-0021."""
    write_item(tmp_path / "first", "register", metadata=record("sg-pr-0021", "Register"))
    assert _ingest_one(services, tmp_path / "first")[0] is ItemStatus.STORED
    write_item(tmp_path / "second", "x", metadata=record(twin, "Register, copy"))
    status, findings = _ingest_one(services, tmp_path / "second")
    assert status is ItemStatus.REJECTED
    [finding] = findings  # a character that shows nothing is refused in any identifier
    assert finding.code in ("IDENTIFIER_READS_LIKE_ANOTHER", "METADATA_INVALID")
    assert said in finding.message


def test_two_items_of_a_batch_whose_identifiers_differ_only_in_capitals_are_both_refused(
        tmp_path: Path, services: Services) -> None:
    batch = tmp_path / "batch"
    write_item(batch, "a", metadata=record("Letter-1952-A", "One"))
    write_item(batch, "b", metadata=record("LETTER-1952-a", "Two"))
    submitted = submit_batch(batch, services)
    results = [ingest_item(item.item_id, services) for item in submitted.items]
    assert {r.status for r in results} == {ItemStatus.REJECTED}
    assert {f.code for r in results for f in r.findings} == {"IDENTIFIER_DUPLICATE"}


def test_the_items_sharing_an_identifier_are_named_in_quotes_so_a_trailing_space_shows(
        tmp_path: Path, services: Services) -> None:
    # Before: "items letter, letter  of this batch": the space that told the two
    # folders apart could not be seen.
    batch = tmp_path / "batch"
    write_item(batch, "letter", metadata=record("letter-1952", "First"))
    write_item(batch, "letter ", metadata=record("letter-1952", "Second"))
    submitted = submit_batch(batch, services)
    [finding] = [f for f in submitted.batch.findings if f.code == "IDENTIFIER_DUPLICATE"]
    assert "items 'letter' and 'letter ' of this batch" in finding.message


def test_a_duplicate_identifier_of_metadata_csv_names_the_sheet_and_its_rows(
        tmp_path: Path, services: Services) -> None:
    # Before: each item was told of its metadata.json, which the batch does not have.
    batch = tmp_path / "batch"
    for name in ("a", "b"):
        (batch / name).mkdir(parents=True)
        (batch / name / "page.txt").write_bytes(b"text\n")
    (batch / "metadata.csv").write_text(
        "folder,identifier,title,date\na,letter-twice,A,1952\nb,letter-twice,B,1952\n",
        encoding="utf-8")
    submitted = submit_batch(batch, services)
    for item in submitted.items:
        result = ingest_item(item.item_id, services)
        [finding] = result.findings
        assert (finding.code, finding.path, finding.pointer) == (
            "IDENTIFIER_DUPLICATE", "metadata.csv", "/identifier")
        assert finding.params["row"] == {"a": 2, "b": 3}[item.name]
        assert "'a' (metadata.csv row 2) and 'b' (metadata.csv row 3)" in finding.message
