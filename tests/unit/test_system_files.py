"""Which names count as files the operating system made (ingest.system_files), and the setting."""

from __future__ import annotations

import pytest

from ingest.system_files import DEFAULT_SYSTEM_FILES, parse_patterns, system_file_rule
from strongroom.settings import Settings, SettingsError


@pytest.mark.parametrize(("name", "is_folder", "rule"), [
    (".DS_Store", False, ".DS_Store"),
    ("Thumbs.db", False, "Thumbs.db"),
    ("thumbs.db", False, "Thumbs.db"),       # Windows ignores case
    ("Desktop.ini", False, "desktop.ini"),
    ("._page-01.tif", False, "._*"),
    ("__MACOSX", True, "__MACOSX/"),
    ("__MACOSX", False, None),               # a folder pattern: a file of that name is kept
    ("page-01.tif", False, None),
    (".notes", False, None),
    ("DS_Store", False, None),
])
def test_the_default_list_names_what_finder_and_explorer_leave(
        name: str, is_folder: bool, rule: str | None) -> None:
    assert system_file_rule(name, is_folder=is_folder, patterns=DEFAULT_SYSTEM_FILES) == rule


def test_no_patterns_skip_nothing() -> None:
    assert system_file_rule(".DS_Store", is_folder=False, patterns=()) is None


def test_patterns_are_comma_separated_names() -> None:
    assert parse_patterns(" .DS_Store , *.tmp,,drafts/ ") == (".DS_Store", "*.tmp", "drafts/")
    assert parse_patterns("") == ()


@pytest.mark.parametrize("text", ["scans/.DS_Store", "/", "a//"])
def test_a_pattern_of_more_than_one_name_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="one name"):
        parse_patterns(text)


def test_the_setting_defaults_to_the_list_and_empty_skips_nothing() -> None:
    assert Settings.from_env({}).skip_system_files == DEFAULT_SYSTEM_FILES
    assert Settings.from_env({"STRONGROOM_SKIP_SYSTEM_FILES": ""}).skip_system_files == ()
    assert Settings.from_env({"STRONGROOM_SKIP_SYSTEM_FILES": ".DS_Store,~$*"}).skip_system_files == (
        ".DS_Store", "~$*")
    with pytest.raises(SettingsError, match="STRONGROOM_SKIP_SYSTEM_FILES"):
        Settings.from_env({"STRONGROOM_SKIP_SYSTEM_FILES": "scans/Thumbs.db"})
