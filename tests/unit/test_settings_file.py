"""A `.env` file in the current folder holds settings, as `.env.example` suggests;
a variable set in the real environment wins over it. Every variable Strongroom
reads is documented in `.env.example` under its own name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from strongroom.cli import main
from strongroom.settings import KNOWN_VARIABLES, Settings

ROOT = Path(__file__).resolve().parents[2]
TOUCHED = ("STRONGROOM_DATA_DIR", "STRONGROOM_CONCURRENCY", "STRONGROOM_SOURCE_ORGANIZATION",
           "STRONGROOM_DATABASE_URL", "STRONGROOM_STORAGE_URL", "AWS_ACCESS_KEY_ID")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """An empty current folder and none of the variables these tests set; whatever a
    .env file puts in the environment is taken out again afterwards."""
    for name in TOUCHED:
        monkeypatch.setenv(name, "")  # remembered, so that teardown restores it
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_settings_come_from_a_dotenv_file_in_the_current_folder(clean_env: Path) -> None:
    (clean_env / ".env").write_text(
        "# the archive of this folder\n"
        f"STRONGROOM_DATA_DIR={clean_env / 'archive'}\n"
        "STRONGROOM_CONCURRENCY=7\n"
        "AWS_ACCESS_KEY_ID=from-the-file\n")

    settings = Settings.from_env()

    assert settings.data_dir == clean_env / "archive"
    assert settings.concurrency == 7
    # what the S3 client reads itself reaches it too
    import os
    assert os.environ["AWS_ACCESS_KEY_ID"] == "from-the-file"


def test_the_real_environment_wins_over_the_dotenv_file(clean_env: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    (clean_env / ".env").write_text("STRONGROOM_CONCURRENCY=7\n"
                                    "STRONGROOM_SOURCE_ORGANIZATION=From the file\n")
    monkeypatch.setenv("STRONGROOM_CONCURRENCY", "3")

    settings = Settings.from_env()

    assert settings.concurrency == 3
    assert settings.source_organization == "From the file"


def test_a_command_uses_the_archive_the_dotenv_file_names(clean_env: Path) -> None:
    (clean_env / ".env").write_text(f"STRONGROOM_DATA_DIR={clean_env / 'archive'}\n")

    result = CliRunner().invoke(main, ["init", "--json"])

    assert result.exit_code == 0, result.output
    assert (clean_env / "archive" / "catalog.sqlite3").is_file()
    assert not (clean_env / "strongroom-data").exists()


def test_without_a_dotenv_file_nothing_is_read(clean_env: Path) -> None:
    assert Settings.from_env().data_dir == clean_env / "strongroom-data"


def test_every_variable_strongroom_reads_is_in_the_example_file_and_no_other() -> None:
    example = (ROOT / ".env.example").read_text()
    # the last section: what docker-compose.yml alone reads (its credentials, its bind mount)
    strongroom, _, compose = example.partition("\n# docker-compose.yml. ")
    documented = set(re.findall(r"^#([A-Z][A-Z0-9_]+)=", strongroom, flags=re.MULTILINE))
    assert documented == set(KNOWN_VARIABLES)
    for_compose = set(re.findall(r"^#([A-Z][A-Z0-9_]+)=", compose, flags=re.MULTILINE))
    assert for_compose == {"POSTGRES_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                           "BATCHES_DIR"}
    assert all(f"${{{name}" in (ROOT / "docker-compose.yml").read_text() for name in for_compose)


def test_compose_passes_each_setting_from_dotenv_under_the_name_strongroom_reads() -> None:
    import yaml

    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    for name, value in compose["x-strongroom-settings"].items():
        assert not name.startswith("STRONGROOM_") or name in KNOWN_VARIABLES, name
        whole = re.fullmatch(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-[^}]*)?\}", str(value))
        if name.startswith("STRONGROOM_") and whole:
            # a setting written in .env as .env.example names it reaches the services
            assert whole.group(1) == name, (name, value)
