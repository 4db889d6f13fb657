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


def test_doctor_with_the_catalog_unreachable_still_checks_storage_and_the_broker(
        tmp_path: Path) -> None:
    (tmp_path / "objects").mkdir()
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
           "STRONGROOM_DATABASE_URL": "postgresql+psycopg://archivist:pw@127.0.0.1:1/strongroom",
           "STRONGROOM_STORAGE_URL": (tmp_path / "objects").as_uri(),
           "STRONGROOM_REPLICAS": (tmp_path / "gone").as_uri(),
           "STRONGROOM_BROKER_URL": "redis://127.0.0.1:1/0"}

    code, output = _doctor(env, "--json")

    assert code == 1
    parts = {part["part"]: part for part in json.loads(output)["parts"]}
    assert [(name, part["ok"]) for name, part in parts.items()] == [
        ("settings", True), ("catalog", False), ("storage", True), ("replica 1", False),
        ("broker", False)]
    assert parts["catalog"]["problem"] == "The catalog database cannot be reached."
    assert "pw@" not in output
    assert not (tmp_path / "gone").exists() and not (tmp_path / "data").exists()
    code, output = _doctor(env)
    assert output.splitlines()[-1] == (
        "3 of 5 parts cannot be used: catalog, replica 1, broker")


def test_doctor_before_init_says_there_is_no_catalog_and_still_checks_storage(
        tmp_path: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data")}

    code, output = _doctor(env, "--json")

    assert code == 1
    parts = {part["part"]: part for part in json.loads(output)["parts"]}
    assert [(name, part["ok"]) for name, part in parts.items()] == [
        ("settings", True), ("catalog", False), ("storage", False)]
    assert parts["catalog"]["problem"] == "The catalog database does not exist yet."
    assert "`strongroom init` creates one" in parts["catalog"]["detail"]
    assert not (tmp_path / "data").exists()  # doctor made neither catalog nor folder


def test_doctor_names_every_bad_setting_in_one_run(tmp_path: Path) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_RETRY_BACKOFF": "nan",
           "STRONGROOM_STUCK_AFTER": "-1", "STRONGROOM_CONCURRENCY": "zero",
           "STRONGROOM_BROKER_ULR": "redis://127.0.0.1:1/0"}

    code, output = _doctor(env)

    assert code == 1 and "settings  not ok" in output
    for name in ("STRONGROOM_RETRY_BACKOFF", "STRONGROOM_STUCK_AFTER", "STRONGROOM_CONCURRENCY",
                 "STRONGROOM_BROKER_ULR"):
        assert name in output
