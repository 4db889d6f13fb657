"""``strongroom doctor``: each part ok or a sentence, exit 0 only when all are reachable."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import storage.filesystem
from strongroom.cli import main


def _archive(env: dict[str, str]) -> None:
    """Make the archive ``env`` names (catalog and stores), as ``strongroom init`` does."""
    made = CliRunner().invoke(main, ["init"], env={k: v for k, v in env.items()
                                                   if k != "STRONGROOM_BROKER_URL"})
    assert made.exit_code == 0, made.output


def _doctor(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["doctor", *args], env=env)
    return result.exit_code, result.output


def test_doctor_with_every_part_reachable_says_ok_and_exits_0(tmp_path: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
           "STRONGROOM_REPLICAS": (tmp_path / "replica").as_uri()}
    _archive(env)

    code, output = _doctor(env, "--json")

    assert code == 0
    document = json.loads(output)
    assert document["ready"] is True
    assert [(p["part"], p["ok"]) for p in document["parts"]] == [
        ("settings", True), ("catalog", True), ("storage", True), ("replica 1", True)]
    assert document["parts"][3]["where"] == (tmp_path / "replica").as_uri()
    code, output = _doctor(env)
    assert code == 0 and output.splitlines()[-1] == "every part can be reached"


def test_doctor_names_the_unreachable_replica_and_exits_1(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    replica = tmp_path / "replica"
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_REPLICAS": replica.as_uri()}
    _archive(env)
    opened = storage.filesystem.FilesystemObjectStore.__init__

    def opened_then_lost(self: storage.filesystem.FilesystemObjectStore, root: Path,
                         **options: Any) -> None:
        opened(self, root, **options)
        if self.root == replica:  # the mount goes away after start-up
            shutil.rmtree(replica)

    monkeypatch.setattr(storage.filesystem.FilesystemObjectStore, "__init__", opened_then_lost)

    code, output = _doctor(env)

    assert code == 1
    assert "replica 1  not ok" in output
    assert "Storage replica 1 cannot be reached." in output
    assert str(replica) in output  # the operator is told which folder
    assert output.splitlines()[-1] == "1 of 4 parts cannot be used: replica 1"


def test_doctor_names_an_unreachable_broker_without_its_password(tmp_path: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
           "STRONGROOM_BROKER_URL": "redis://:s3cret-pw@127.0.0.1:1/0"}
    _archive(env)

    code, output = _doctor(env, "--json")

    assert code == 1
    broker = json.loads(output)["parts"][-1]
    assert (broker["part"], broker["ok"], broker["where"]) == (
        "broker", False, "redis://:***@127.0.0.1:1/0")
    assert broker["problem"] == "The broker (the workers' queue) cannot be reached."
    assert "s3cret-pw" not in output


def test_doctor_says_which_setting_is_wrong_without_its_password(tmp_path: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
           "STRONGROOM_DATABASE_URL": "mysql://archivist:hunter2@db/catalog"}

    code, output = _doctor(env)

    assert code == 1
    assert "settings  not ok" in output and "STRONGROOM_DATABASE_URL must be" in output
    assert "hunter2" not in output


def test_doctor_names_a_location_that_cannot_exist_and_makes_nothing(tmp_path: Path) -> None:
    (tmp_path / "file").write_bytes(b"a file, not a folder")
    _archive({"STRONGROOM_DATA_DIR": str(tmp_path / "data")})
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
           "STRONGROOM_REPLICAS": (tmp_path / "file" / "replica").as_uri()}

    code, output = _doctor(env, "--json")

    assert code == 1
    part = json.loads(output)["parts"][-1]
    assert (part["part"], part["ok"], part["problem"]) == (
        "replica 1", False, "Storage replica 1 cannot be reached.")
    assert not (tmp_path / "file").is_dir()  # nothing was made in its place


def test_doctor_where_no_archive_exists_says_so_and_creates_nothing(tmp_path: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data")}

    code, output = _doctor(env, "--json")

    assert code == 1
    part = json.loads(output)["parts"][-1]
    assert part["part"] == "start-up" and "no catalog exists" in part["detail"]
    assert not (tmp_path / "data").exists()
