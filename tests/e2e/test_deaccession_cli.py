"""``strongroom deaccession`` through the real command: two people, a tombstone,
and ``show``/``fetch`` saying what was removed, when and why."""

from __future__ import annotations

import getpass
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_runner import EXAMPLES, cli_env, run_cli

#: Runs the CLI as if under another operating-system account (uid 65534, "nobody"):
#: this machine's interpreter is not readable by a second account, so the process
#: keeps its own uid and reports that one; everything else is the real command.
AS_NOBODY = ("import os, sys; os.geteuid = lambda: 65534; sys.argv[0] = 'strongroom'; "
             "from strongroom.cli import main; main()")


def cli(data: Path, replica: Path, *args: str, agent: str | None = None,
        as_nobody: bool = False, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(STRONGROOM_DATA_DIR=str(data), STRONGROOM_REPLICAS=replica.as_uri(),
                  STRONGROOM_RETRY_BACKOFF="0", **env_extra)
    if agent is not None:
        env["STRONGROOM_AGENT"] = agent
    if as_nobody:
        return subprocess.run([sys.executable, "-c", AS_NOBODY, *args], env=env,
                              capture_output=True, text=True, cwd=data.parent, check=False)
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


def test_another_login_name_in_the_environment_is_still_the_same_person(
        stored: tuple[Path, Path, str, str]) -> None:
    """Defect: the person was taken from $USER (``getpass``), so the requester
    approved their own request by running ``USER=bob strongroom deaccession approve``."""
    data, replica, package_id, identifier = stored
    me = pwd.getpwuid(os.geteuid()).pw_name
    asked = cli(data, replica, "deaccession", "request", identifier, "--reason", "takedown",
                "--json", USER="alice", LOGNAME="alice")
    request = json.loads(asked.stdout)
    assert request["requested_by"]["name"] == me != "bob"

    posing = cli(data, replica, "deaccession", "approve", request["request_id"], "--json",
                 USER="bob", LOGNAME="bob")

    assert posing.returncode == 1
    assert json.loads(posing.stdout)["error"]["code"] == "DEACCESSION_SAME_PERSON"
    assert cli(data, replica, "show", package_id).returncode == 0


def test_a_deaccession_decision_under_another_agent_name_is_refused(
        stored: tuple[Path, Path, str, str]) -> None:
    """Defect: ``--agent bob`` (or STRONGROOM_AGENT) named the approver, so one
    person could request and approve."""
    data, replica, _, identifier = stored
    for agent in ("alice", "bob"):
        refused = cli(data, replica, "deaccession", "request", identifier, "--reason", "takedown",
                      agent=agent)
        assert refused.returncode == 2
        assert "without --agent or STRONGROOM_AGENT" in refused.stderr
    listed = json.loads(cli(data, replica, "deaccession", "list", "--json").stdout)
    assert listed["requests"] == []
    assert getpass.getuser()  # the machine has a login name: the refusal is not for want of one


def test_after_approval_show_and_fetch_say_when_and_why_and_exit_non_zero(
        stored: tuple[Path, Path, str, str], tmp_path: Path) -> None:
    data, replica, package_id, identifier = stored
    asked = cli(data, replica, "deaccession", "request", package_id, "--reason",
                "personal data of a living person", "--json")
    request_id = json.loads(asked.stdout)["request_id"]

    approved = cli(data, replica, "deaccession", "approve", request_id, as_nobody=True)

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
    assert error["deaccession"]["decided_by"]["name"] == "nobody"
    listed = json.loads(cli(data, replica, "deaccession", "list", "--json").stdout)["requests"]
    assert [(r["request_id"], r["state"]) for r in listed] == [(request_id, "deaccessioned")]
