"""``strongroom repair`` through the real command, on a filesystem store with a replica."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cli_runner import EXAMPLES, cli_env, run_cli


def cli(data: Path, replica: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(STRONGROOM_DATA_DIR=str(data), STRONGROOM_REPLICAS=replica.as_uri(),
                  STRONGROOM_RETRY_BACKOFF="0")
    return run_cli(*args, env=env, cwd=data.parent)


@pytest.fixture
def stored(tmp_path: Path) -> tuple[Path, Path, str]:
    """An embedded archive with a replica folder holding the example telegram."""
    data, replica = tmp_path / "data", tmp_path / "replica"
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES, batch)
    shutil.rmtree(batch / "bad-record-missing-title")
    for extra in [p for p in batch.iterdir() if p.is_dir() and not p.name.startswith("telegram")]:
        shutil.rmtree(extra)
    done = cli(data, replica, "submit", str(batch), "--json")
    assert done.returncode == 0, done.stderr
    [item] = json.loads(done.stdout)["items"]
    return data, replica, item["package_id"]


def test_repair_command_restores_a_deleted_replica_object(stored: tuple[Path, Path, str]) -> None:
    data, replica, package_id = stored
    bag = replica / package_id / "v1"
    victim = next(p for p in sorted((bag / "data").rglob("*")) if p.is_file())
    good = victim.read_bytes()
    victim.unlink()

    done = cli(data, replica, "repair", package_id, "--json")

    assert done.returncode == 0, done.stdout + done.stderr
    [result] = json.loads(done.stdout)["results"]
    assert result["status"] == "repaired"
    assert victim.read_bytes() == good
    again = cli(data, replica, "verify", package_id, "--json")
    assert again.returncode == 0


def test_repair_command_refuses_with_exit_1_when_no_copy_is_good(
        stored: tuple[Path, Path, str]) -> None:
    data, replica, package_id = stored
    files = sum(1 for p in (data / "objects" / package_id / "v1").rglob("*") if p.is_file())
    for root in (data / "objects", replica):
        victim = next(p for p in sorted((root / package_id / "v1" / "data").rglob("*"))
                      if p.is_file())
        victim.unlink()

    done = cli(data, replica, "repair", package_id, "--json")

    assert done.returncode == 1
    [result] = json.loads(done.stdout)["results"]
    assert result["status"] == "refused"
    assert {c["status"] for c in result["copies"]} == {"damaged"}
    assert {f["code"] for c in result["copies"] for f in c["findings"]} == {"FILE_MISSING", "TAG_MISMATCH"}
    had = f"{files - 1} of {files} files as recorded; missing: data/"
    assert all(c["had"].startswith(had) for c in result["copies"])
    human = cli(data, replica, "repair", package_id)
    assert human.returncode == 1 and "no copy verified good" in human.stdout
    # which copies were checked, and what each had
    assert f"2 copies checked: {(data / 'objects').as_uri()} (damaged), {replica.as_uri()} (damaged)" \
        in human.stdout
    assert human.stdout.count(f"had {had}") == 2



def test_repair_command_mends_from_another_package_holding_the_same_bytes(
        stored: tuple[Path, Path, str], tmp_path: Path) -> None:
    """Every copy of the telegram's transcription damaged in place (size kept);
    a second package, a copy of the telegram under its own identifier, holds the
    same bytes: repair takes them from there and says so."""
    data, replica, package_id = stored
    batch = tmp_path / "copies"
    item = next(p for p in sorted((tmp_path / "batch").iterdir()) if p.is_dir())
    shutil.copytree(item, batch / "telegram-copy")
    shutil.copy(tmp_path / "batch" / "batch.json", batch / "batch.json")
    record = json.loads((batch / "telegram-copy" / "metadata.json").read_text(encoding="utf-8"))
    record["identifier"] = "telegram-copy-for-the-reading-room"
    (batch / "telegram-copy" / "metadata.json").write_text(json.dumps(record), encoding="utf-8")
    done = cli(data, replica, "submit", str(batch), "--json")
    assert done.returncode == 0, done.stderr
    [copy] = json.loads(done.stdout)["items"]
    path = "data/transcription/telegram-en.txt"
    good = (data / "objects" / package_id / "v1" / path).read_bytes()
    for root in (data / "objects", replica):
        victim = root / package_id / "v1" / path
        victim.write_bytes(bytes([good[0] ^ 0xFF]) + good[1:])

    done = cli(data, replica, "repair", package_id)

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{path}: bytes from {copy['package_id']}/v1/{path} at {(data / 'objects').as_uri()}" \
        in done.stdout
    for root in (data / "objects", replica):
        assert (root / package_id / "v1" / path).read_bytes() == good
    again = cli(data, replica, "verify", package_id, "--json")
    assert again.returncode == 0, again.stdout
    report = cli(data, replica, "fixity", "report", "--json")
    assert json.loads(report.stdout)["failures_total"] == 0
