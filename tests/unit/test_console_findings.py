"""How the console words a finding and writes the findings CSV."""

from __future__ import annotations

from strongroom.web.pages.batch import field_words, finding_view, safe_cell


def test_a_json_pointer_reads_as_the_field_a_person_knows() -> None:
    assert field_words("/language") == "language"
    assert field_words("/creators/0/name") == "creators › 1 › name"
    assert field_words("/a~1b") == "a/b"
    assert field_words(None) is None


def test_a_finding_shows_its_hint_when_it_has_one() -> None:
    view = finding_view({"code": "METADATA_INVALID", "pointer": "/language", "found": "en_US",
                         "expected": "a BCP 47 tag", "message": "language is not a language tag",
                         "hint": "write en-US"})
    assert view["hint"] == "write en-US" and view["field"] == "language" and view["found"] == "en_US"
    assert finding_view({"code": "PAYLOAD_EMPTY", "message": "no payload"})["hint"] is None


def test_csv_cells_that_a_spreadsheet_would_run_as_formulas_are_neutralised() -> None:
    for dangerous in ("=HYPERLINK(\"http://x\")", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1"):
        assert safe_cell(dangerous) == "'" + dangerous
    assert safe_cell("en_US") == "en_US"
    assert safe_cell(None) == ""
    assert safe_cell(["=x"]) == '["=x"]'


def test_a_pattern_expected_is_folded_away_and_words_are_shown() -> None:
    pattern = finding_view({"code": "METADATA_INVALID", "expected": "string matching ^[a-z]{2}$"})
    assert pattern["expected"] is None and pattern["rule"] == "string matching ^[a-z]{2}$"
    words = finding_view({"code": "METADATA_INVALID", "expected": "an ISO 8601 date (YYYY-MM-DD)"})
    assert words["expected"] == "an ISO 8601 date (YYYY-MM-DD)" and words["rule"] is None


def test_a_finding_without_a_path_renders_on_the_pages_that_list_checks() -> None:
    # The pages render with undefined names refused: a finding about a whole copy
    # or upload has no "path" key at all, and must not turn the page into a 500.
    from ingest.findings import Finding
    from strongroom.web.render import ENVIRONMENT

    line = ENVIRONMENT.get_template("finding_line.html")
    pathless = Finding("BAG_UNUSABLE", params={"detail": "bag-info.txt is unreadable"}).to_dict()
    assert "path" not in pathless
    assert line.render(f=pathless).strip() == (
        f"<code>BAG_UNUSABLE</code>: {pathless['message']}")
    located = Finding("FILE_MISSING", path="data/a.txt").to_dict()
    assert '<code class="path">data/a.txt</code>' in line.render(f=located)
