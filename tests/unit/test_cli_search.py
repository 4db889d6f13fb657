"""The CLI had no search: ``strongroom list`` printed every package, and
``strongroom show "Parish register"`` said only ``no package 'Parish register'``.
``strongroom search`` calls the use case the API and the console call."""

from __future__ import annotations

import json
import shlex

import pytest
from click.testing import CliRunner

from strongroom.cli import main
from tests.unit.api_support import Api
from tests.unit.test_search_by_creator_and_accents import api

__all__ = ["api"]  # the fixture: an archive holding the Zürich records


def test_the_cli_searches_by_title_creator_collection_and_dates(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(api.settings.data_dir))
    runner = CliRunner()
    answer = runner.invoke(main, ["search", "--creator", "muller", "--title", "zurich",
                                  "--collection", "parish registers of sankt gallen",
                                  "--from", "1852", "--to", "1852", "--json"])
    assert answer.exit_code == 0, answer.output
    document = json.loads(answer.output)
    assert [p["identifier"] for p in document["packages"]] == ["sg-pr-0002"]
    assert document["matched"] == {"count": 1, "more": False}
    paged = runner.invoke(main, ["search", "--creator", "müller", "--limit", "1"])
    assert paged.exit_code == 0, paged.output
    assert "sg-pr-0001" in paged.output and "sg-pr-0002" not in paged.output
    assert "2 packages match" in paged.output
    next_page = paged.output.splitlines()[-1].removeprefix("next page: strongroom ")
    following = runner.invoke(main, shlex.split(next_page))
    assert following.exit_code == 0, following.output
    assert "sg-pr-0002" in following.output and "sg-pr-0001" not in following.output
    refused = runner.invoke(main, ["search", "--from", "1951-13"])
    assert refused.exit_code == 2 and "--from: '1951-13' is not a date" in refused.output
    # A day the calendar does not have was taken as a bound (the form alone was checked).
    no_day = runner.invoke(main, ["search", "--to", "1951-02-30"])
    assert no_day.exit_code == 2 and "--to: '1951-02-30' is no day of the calendar" in no_day.output


def test_show_with_words_that_are_no_identifier_suggests_strongroom_search(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(api.settings.data_dir))
    answer = CliRunner().invoke(main, ["show", "Parish register"])
    assert answer.exit_code != 0
    assert "strongroom search" in answer.output


def test_a_search_term_too_long_is_said_as_such_not_as_the_catalog_being_unavailable(
        api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    """`search --creator` of 40,000 characters said "catalog database unavailable:
    LIKE or GLOB pattern too complex"; 30,000 title words "Expression tree is too large"."""
    monkeypatch.setenv("STRONGROOM_DATA_DIR", str(api.settings.data_dir))
    for option, value in (("--creator", "%_" * 20_000), ("--title", "word " * 30_000)):
        result = CliRunner().invoke(main, ["search", option, value])
        assert result.exit_code == 2, result.output
        assert "more than a search takes" in result.output and "unavailable" not in result.output
