"""Which archive am I talking to? Read-only commands never create a catalog;
human output names the catalog and store when the default place is used."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli import main

EXAMPLE_BATCH = Path(__file__).parents[2] / "examples" / "batch"

READ_ONLY = [
    ["list"],
    ["show", "pkg-1"],
    ["status", "batch-1"],
    ["verify", "pkg-1"],
    ["audit", "log"],
    ["audit", "verify"],
    ["fixity", "report"],
    ["batches"],
    # commands that change an archive, but only one that exists: none is made for them
    ["fetch", "pkg-1", "--to", "out"],
    ["repair", "pkg-1"],
    ["fixity", "reconcile"],
    ["token", "list"],
    ["token", "revoke", "someone"],
    ["user", "list"],
    ["user", "disable", "someone"],
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
    from ingest.health import without_credentials as without_password

    url = "postgresql+psycopg://archivist:s3cret@db.example.org:5432/strongroom"
    assert without_password(url) == "postgresql+psycopg://archivist:***@db.example.org:5432/strongroom"
    assert without_password("sqlite:////srv/catalog.sqlite3") == "sqlite:////srv/catalog.sqlite3"


@pytest.fixture
def archive_with_one_batch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.delenv("STRONGROOM_BROKER_URL", raising=False)
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_RETRY_BACKOFF": "0"}
    submitted = CliRunner().invoke(main, ["--agent", "intake-bot", "submit", str(EXAMPLE_BATCH),
                                          "--json"], env=env)
    assert submitted.exit_code in (0, 1), submitted.output
    env["batch_id"] = json.loads(submitted.stdout)["batch_id"]
    return env


def test_batches_lists_a_submitted_batch_with_who_and_item_counts(
        archive_with_one_batch: dict[str, str]) -> None:
    env = dict(archive_with_one_batch)
    batch_id = env.pop("batch_id")
    runner = CliRunner()
    listed = runner.invoke(main, ["batches", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    [entry] = json.loads(listed.stdout)["batches"]
    assert entry["batch_id"] == batch_id
    assert entry["submitted_by"]["name"] == "intake-bot"
    assert entry["status"] == "done"
    assert entry["item_count"] == sum(entry["items"].values()) > 0
    human = runner.invoke(main, ["batches"], env=env)
    assert human.exit_code == 0
    assert batch_id in human.stdout and "intake-bot" in human.stdout
    assert human.stdout.endswith("1 batch\n")
    assert human.stderr == ""


def test_batches_filters_by_date_and_status(archive_with_one_batch: dict[str, str]) -> None:
    env = dict(archive_with_one_batch)
    env.pop("batch_id")
    runner = CliRunner()

    def ids(*args: str) -> int:
        done = runner.invoke(main, ["batches", *args, "--json"], env=env)
        assert done.exit_code == 0, done.output
        return len(json.loads(done.stdout)["batches"])

    assert ids("--since", "2000-01-01") == 1
    assert ids("--since", "2999-01-01") == 0
    assert ids("--status", "done") == 1
    assert ids("--status", "accepted") == 0
    assert ids("--limit", "1") == 1
    assert runner.invoke(main, ["batches", "--status", "lost"], env=env).exit_code == 2
    assert runner.invoke(main, ["batches", "--since", "yesterday"], env=env).exit_code == 2


def test_a_refused_database_url_is_told_without_its_password() -> None:
    import pytest

    from strongroom.settings import Settings, SettingsError

    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"STRONGROOM_DATABASE_URL": "mysql://archivist:s3cret-pw@db.example.org/strongroom"})
    assert "s3cret-pw" not in str(refused.value)
    assert "mysql://archivist:***@db.example.org/strongroom" in str(refused.value)
