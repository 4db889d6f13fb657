"""``strongroom deaccession`` through the real command: two people, a tombstone,
and ``show``/``fetch`` saying what was removed, when and why."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import EXAMPLES, cli_env, run_cli


def cli(data: Path, replica: Path, *args: str, agent: str = "alice") -> subprocess.CompletedProcess[str]:
    env = cli_env(STRONGROOM_DATA_DIR=str(data), STRONGROOM_REPLICAS=replica.as_uri(),
                  STRONGROOM_RETRY_BACKOFF="0", STRONGROOM_AGENT=agent)
    return run_cli(*args, env=env, cwd=data.parent)


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, Path, str, str]:
    data, replica = tmp_path / "data", tmp_path / "replica"
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES, batch)
    for extra in [p for p in batch.iterdir() if p.is_dir() and not p.name.startswith("telegram")]:
        shutil.rmtree(extra)
    done = cli(data, replica, "submit", str(batch), "--json")
    assert done.returncode == 0, done.stderr
    [item] = json.loads(done.stdout)["items"]
    identifier = json.loads(cli(data, replica, "show", item["package_id"], "--json").stdout)[
        "identifier"]
    return data, replica, item["package_id"], identifier


def test_deaccession_by_one_person_alone_is_refused_at_the_command_line(
        stored: tuple[Path, Path, str, str]) -> None:
    data, replica, package_id, identifier = stored
    asked = cli(data, replica, "deaccession", "request", identifier, "--reason", "takedown", "--json")
    assert asked.returncode == 0, asked.stderr
    request_id = json.loads(asked.stdout)["request_id"]

    alone = cli(data, replica, "deaccession", "approve", request_id, "--json")

    assert alone.returncode == 1
    assert json.loads(alone.stdout)["error"]["code"] == "DEACCESSION_SAME_PERSON"
    assert "two people" in alone.stderr
    assert cli(data, replica, "show", package_id).returncode == 0


def test_after_approval_show_and_fetch_say_when_and_why_and_exit_non_zero(
        stored: tuple[Path, Path, str, str], tmp_path: Path) -> None:
    data, replica, package_id, identifier = stored
    asked = cli(data, replica, "deaccession", "request", package_id, "--reason",
                "personal data of a living person", "--json")
    request_id = json.loads(asked.stdout)["request_id"]

    approved = cli(data, replica, "deaccession", "approve", request_id, agent="bob")

    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert "deaccessioned" in approved.stdout
    assert not (replica / package_id).exists()
    shown = cli(data, replica, "show", identifier)
    assert shown.returncode == 2
    assert "was deaccessioned on" in shown.stderr and "personal data of a living person" in shown.stderr
    fetched = cli(data, replica, "fetch", package_id, "--to", str(tmp_path / "out"), "--json")
    assert fetched.returncode == 2
    error = json.loads(fetched.stdout)["error"]
    assert error["kind"] == "Deaccessioned"
    assert error["deaccession"]["decided_by"]["name"] == "bob"
    listed = json.loads(cli(data, replica, "deaccession", "list", "--json").stdout)["requests"]
    assert [(r["request_id"], r["state"]) for r in listed] == [(request_id, "deaccessioned")]
