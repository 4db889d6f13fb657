"""Audit anchoring through the real ``strongroom`` command: ``submit`` anchors the head,
``audit verify`` checks the log against its anchors, a trial rebuild keeps to its own."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path

from tests.cli_runner import EXAMPLES, cli_env, run_cli
from tests.unit.test_anchoring import truncate_log


def cli(data: Path, *args: str, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess[str]:
    environ = cli_env(STRONGROOM_DATA_DIR=str(data), STRONGROOM_RETRY_BACKOFF="0", **(env or {}))
    return run_cli(*args, env=environ, cwd=data.parent)


def test_submit_anchors_the_head_and_audit_verify_catches_a_truncated_log(tmp_path: Path) -> None:
    data = tmp_path / "data"
    submitted = cli(data, "submit", str(EXAMPLES), "--json")
    assert submitted.returncode == 1  # the example's bad item
    [log] = (data / "objects" / "_audit" / "logs").iterdir()
    anchors = sorted((log / "anchors").iterdir())
    assert len(anchors) == 1
    anchored = json.loads(anchors[0].read_text())

    fine = cli(data, "audit", "verify", "--json")
    assert fine.returncode == 0, fine.stdout
    document = json.loads(fine.stdout)
    assert {"ok", "count", "head", "first_bad_seq", "reason"} <= set(document)
    assert document["anchors"]["count"] == 1 and document["anchors"]["findings"] == []

    with sqlite3.connect(data / "catalog.sqlite3") as db:
        truncate_log(db, anchored["seq"] - 1)
    broken = cli(data, "audit", "verify", "--json")

    assert broken.returncode == 1
    document = json.loads(broken.stdout)
    assert document["ok"] is False and document["first_bad_seq"] is None  # the chain is whole
    [finding] = document["anchors"]["findings"]
    assert finding["code"] == "ANCHORED_EVENT_MISSING"
    assert finding["params"]["seq"] == anchored["seq"]
    human = cli(data, "audit", "verify")
    assert f"audit event {anchored['seq']} was anchored" in human.stdout


def test_a_trial_rebuild_into_another_catalog_never_disturbs_the_real_logs_verification(
        tmp_path: Path) -> None:
    """A rebuild into a scratch database and one ``verify`` there (whose events are
    anchored) once made the real catalog fail ``audit verify`` for ever with
    ANCHORED_EVENT_CHANGED: both logs wrote their anchors to the same place."""
    data = tmp_path / "data"
    cli(data, "submit", str(EXAMPLES), "--json")
    assert cli(data, "audit", "verify", "--json").returncode == 0

    other = {"STRONGROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'other.sqlite3'}"}
    rebuilt = cli(data, "catalog", "rebuild", "--json", env=other)
    assert rebuilt.returncode == 0, rebuilt.stdout + rebuilt.stderr
    assert json.loads(rebuilt.stdout)["anchors"]  # the real log's anchors, found and recorded
    assert cli(data, "verify", "--all", "--json", env=other).returncode == 0
    trial = cli(data, "audit", "verify", "--json", env=other)
    assert trial.returncode == 0, trial.stdout

    real = cli(data, "audit", "verify", "--json")

    assert real.returncode == 0, real.stdout
    document = json.loads(real.stdout)
    assert document["ok"] is True and document["anchors"]["findings"] == []
    assert document["log_id"] != json.loads(trial.stdout)["log_id"]
    # each log anchored under its own identity
    logs = sorted(p.name for p in (data / "objects" / "_audit" / "logs").iterdir())
    assert logs == sorted([document["log_id"], json.loads(trial.stdout)["log_id"]])

