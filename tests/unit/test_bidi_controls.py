"""Text that displays in another order than it is stored is refused.

A title "Register \\u202eRTL" was stored and shown as "Register LTR" on the
console; a file named "invoice\\u202efdp.exe" reads as "invoiceexe.pdf". A
bidirectional control character in a record's text (metadata.json or
metadata.csv) or in a file name is refused, naming the character and where."""

from __future__ import annotations

from pathlib import Path

from ingest.models import ItemStatus
from ingest.services import Services
from tests.unit.test_metadata_csv import ingest_all, payload_only, services  # noqa: F401
from tests.unit.test_pipeline import record, write_item


def test_a_title_with_a_right_to_left_override_is_refused_at_its_pointer(
        tmp_path: Path, services: Services) -> None:  # noqa: F811
    batch = tmp_path / "batch"
    write_item(batch, "register", metadata=record(title="Parish register \u202eRTL"))

    _submitted, results = ingest_all(services, batch)

    assert results["register"].status is ItemStatus.REJECTED
    [finding] = results["register"].findings
    assert (finding.code, finding.pointer, finding.found) == ("METADATA_INVALID", "/title", "U+202E")
    assert "RIGHT-TO-LEFT OVERRIDE" in finding.message


def test_a_sheet_cell_with_an_isolate_character_is_refused_naming_its_row(
        tmp_path: Path, services: Services) -> None:  # noqa: F811
    batch = tmp_path / "batch"
    batch.mkdir()
    payload_only(batch, "letter-a")
    (batch / "metadata.csv").write_text(
        "folder,identifier,title,date\nletter-a,letter-a,\"A letter \u2067from Tehran\",1952-03\n",
        encoding="utf-8")

    _submitted, results = ingest_all(services, batch)

    assert results["letter-a"].status is ItemStatus.REJECTED
    [finding] = [f for f in results["letter-a"].findings if f.code == "METADATA_INVALID"]
    assert finding.pointer == "/title" and finding.params.get("row") == 2
    assert "U+2067" in finding.message


def test_an_identifier_holding_a_character_that_shows_nothing_is_refused(
        tmp_path: Path, services: Services) -> None:  # noqa: F811
    """sg-pr\u200b-0021 was stored as a package that `list` printed as sg-pr-0021."""
    batch = tmp_path / "batch"
    write_item(batch, "register", metadata=record("sg-pr\u200b-0021", "Register"))

    _submitted, results = ingest_all(services, batch)

    assert results["register"].status is ItemStatus.REJECTED
    [finding] = [f for f in results["register"].findings if f.code == "METADATA_INVALID"]
    assert finding.pointer == "/identifier" and "ZERO WIDTH SPACE" in finding.message


def test_file_names_that_read_alike_collide() -> None:
    """a.txt, a\u200b.txt and a fullwidth ａ.txt were stored as three files that
    `show` printed alike."""
    from ingest.paths import find_collisions

    findings = find_collisions(["scan/a.txt", "scan/a\u200b.txt", "scan/\uff41.txt"])

    assert {f.code for f in findings} == {"NAME_COLLISION"} and len(findings) == 2
    assert all("reading alike" in f.message for f in findings)
