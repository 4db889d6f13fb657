"""Which archive am I talking to? Read-only commands never create a catalog;
human output names the catalog and store when the default place is used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli import main

READ_ONLY = [
    ["list"],
    ["show", "pkg-1"],
    ["status", "batch-1"],
    ["verify", "pkg-1"],
    ["audit", "log"],
    ["audit", "verify"],
    ["fixity", "report"],
]


@pytest.fixture
def folder_without_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another folder, with no catalog in it and none named by the environment."""
    for name in ("STRONGROOM_DATA_DIR", "STRONGROOM_DATABASE_URL", "STRONGROOM_STORAGE_URL",
                 "STRONGROOM_REPLICAS", "STRONGROOM_BROKER_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_read_only_command_in_folder_without_catalog_creates_nothing(
        folder_without_catalog: Path, args: list[str]) -> None:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "no catalog" in result.output
    assert "STRONGROOM_DATA_DIR" in result.output
    assert "STRONGROOM_DATABASE_URL" in result.output
    assert list(folder_without_catalog.iterdir()) == []


def test_read_only_command_in_folder_without_catalog_json_error(
        folder_without_catalog: Path) -> None:
    result = CliRunner().invoke(main, ["list", "--json"])
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert "no catalog" in error["message"]
    assert list(folder_without_catalog.iterdir()) == []


def test_read_only_command_on_empty_sqlite_file_is_no_catalog(
        folder_without_catalog: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "catalog.sqlite3").touch()
    result = CliRunner().invoke(main, ["list"], env={"STRONGROOM_DATA_DIR": str(data)})
    assert result.exit_code == 2, result.output
    assert "no catalog" in result.output
    assert not (data / "objects").exists()


def test_writing_command_still_creates_the_catalog_then_reads_it(
        folder_without_catalog: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init"]).exit_code == 0
    assert (folder_without_catalog / "strongroom-data" / "catalog.sqlite3").is_file()
    listed = runner.invoke(main, ["list", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.stdout) == {"packages": []}


def test_human_output_names_the_default_catalog_and_store_first(
        folder_without_catalog: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--json"]).exit_code == 0
    data = (folder_without_catalog / "strongroom-data").resolve()
    listed = runner.invoke(main, ["list"])
    assert listed.exit_code == 0, listed.output
    assert listed.stderr.splitlines()[0] == (
        f"catalog sqlite:///{data / 'catalog.sqlite3'}, store {(data / 'objects').as_uri()}")
    assert listed.stdout == "0 packages\n"
    as_json = runner.invoke(main, ["list", "--json"])
    assert as_json.stderr == ""
    assert json.loads(as_json.stdout) == {"packages": []}


def test_catalog_named_by_the_environment_is_not_announced(
        folder_without_catalog: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(folder_without_catalog / "archive")}
    runner = CliRunner()
    assert runner.invoke(main, ["init", "--json"], env=env).exit_code == 0
    listed = runner.invoke(main, ["list"], env=env)
    assert listed.exit_code == 0
    assert listed.stderr == ""


def test_database_password_is_never_printed() -> None:
    from strongroom.bootstrap import without_password

    url = "postgresql+psycopg://archivist:s3cret@db.example.org:5432/strongroom"
    assert without_password(url) == "postgresql+psycopg://archivist:***@db.example.org:5432/strongroom"
    assert without_password("sqlite:////srv/catalog.sqlite3") == "sqlite:////srv/catalog.sqlite3"
