"""A crashed ingest does not block its package.

The trial: ``kill -9`` of a ``submit`` mid-ingest left a pending claim on
version 1; resubmitting failed after five attempts with a misleading
STORAGE_UNAVAILABLE "version 1 is being written by item <old id>", and the
reports said all was well while ``.staging/*.part`` files piled up. Here a real
``strongroom submit`` is killed with SIGKILL while it writes; once the stuck
interval has passed, the reports name the stuck item and the crash leftovers
with their size (exit 1), and a resubmission takes the claim over and stores
the item, the old item failing with CLAIM_TAKEN_OVER.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.clock import FixedClock
from ingest.errors import PackageBusy
from ingest.models import ItemStatus
from ingest.pipeline import ingest_item
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.submission import submit_batch
from storage.catalog import SqlCatalog
from tests.fakes import MemoryObjectStore
from tests.unit.test_pipeline import PACKAGE, write_item

STUCK_AFTER = 1.0
BIG = 160 * 1024 * 1024  # long enough to write that the kill lands mid-ingest


def strongroom(env: dict[str, str], *args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    exe = str(Path(sys.executable).with_name("strongroom"))
    return subprocess.run([exe, *args], env=env, capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("STRONGROOM_")}
    env["STRONGROOM_DATA_DIR"] = str(tmp_path / "data")
    env["STRONGROOM_STUCK_AFTER"] = str(STUCK_AFTER)
    return env


def pending_claims(database: Path) -> list[tuple[str, int]]:
    if not database.exists():
        return []
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=0.1) as db:
            return db.execute("select package_id, number from versions where state = 'pending'").fetchall()
    except sqlite3.OperationalError:
        return []


def kill_mid_ingest(env: dict[str, str], batch: Path) -> None:
    exe = str(Path(sys.executable).with_name("strongroom"))
    proc = subprocess.Popen([exe, "submit", str(batch)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    database = Path(env["STRONGROOM_DATA_DIR"]) / "catalog.sqlite3"
    staging = Path(env["STRONGROOM_DATA_DIR"]) / "objects" / ".staging"
    deadline = time.monotonic() + 120
    caught = False
    while not caught and time.monotonic() < deadline and proc.poll() is None:
        # Looked at with the submit stopped, so that what is seen is where it is
        # killed (on a busy machine, a look that took long saw a state gone by).
        os.kill(proc.pid, signal.SIGSTOP)
        try:
            parts = list(staging.glob("*.part")) if staging.exists() else []
            caught = bool(pending_claims(database)) and any(
                p.stat().st_size > 0 for p in parts if p.exists())
        finally:
            if not caught:
                os.kill(proc.pid, signal.SIGCONT)
        if not caught:
            time.sleep(0.005)
    assert caught and proc.poll() is None, "the submit finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def test_submit_killed_mid_ingest_is_reported_and_a_resubmission_takes_over(
        tmp_path: Path, env: dict[str, str]) -> None:
    batch = tmp_path / "killed_mid_ingest"
    item = write_item(batch, "letter")
    with open(item / "big.bin", "wb") as big:
        big.truncate(BIG)
    kill_mid_ingest(env, batch)
    time.sleep(STUCK_AFTER + 0.5)

    reconcile = strongroom(env, "fixity", "reconcile", "--json")
    assert reconcile.returncode == 1, reconcile.stdout + reconcile.stderr
    doc = json.loads(reconcile.stdout)
    assert [i["name"] for i in doc["stuck_items"]] == ["letter"]
    leftovers = doc["staging_leftovers"]
    assert leftovers and all(entry["size"] >= 0 for entry in leftovers)
    assert sum(entry["size"] for entry in leftovers) > 0
    report = strongroom(env, "fixity", "report")
    assert report.returncode == 1
    assert "stuck" in report.stdout and "letter" in report.stdout
    assert "STAGING_LEFTOVER" in report.stdout and " bytes)" in report.stdout
    verify = strongroom(env, "verify", "--all", "--json")
    assert verify.returncode == 1
    assert [i["name"] for i in json.loads(verify.stdout)["stuck_items"]] == ["letter"]
    status = strongroom(env, "status", doc["stuck_items"][0]["batch_id"], "--json")
    assert status.returncode == 1
    status_doc = json.loads(status.stdout)
    assert status_doc["stuck"] == 1 and status_doc["staging_leftovers"]

    again = strongroom(env, "submit", str(batch), "--json")

    assert again.returncode == 0, again.stdout + again.stderr
    (stored,) = json.loads(again.stdout)["items"]
    assert stored["status"] == "stored" and stored["version"] == 1
    catalog = SqlCatalog.from_url("sqlite:///" + env["STRONGROOM_DATA_DIR"] + "/catalog.sqlite3")
    try:
        taken = [e for e in catalog.events() if e.outcome == "failure"
                 and [f["code"] for f in e.detail.get("findings", [])] == ["CLAIM_TAKEN_OVER"]]
        assert len(taken) == 1 and taken[0].item_id != stored["item_id"]
        old = catalog.get_item(taken[0].item_id)
        assert old.status is ItemStatus.FAILED
        assert [f.code for f in old.findings] == ["CLAIM_TAKEN_OVER"]
        assert old.findings[0].params["by"] == stored["item_id"]
        assert [v.number for v in catalog.list_versions(PACKAGE)] == [1]
    finally:
        catalog.engine.dispose()


def test_claim_of_an_item_at_work_is_not_taken_over(tmp_path: Path) -> None:
    """A live writer touches its item: its claim stays its own, the other waits."""
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    services = Services(catalog=catalog, store=MemoryObjectStore(), schemas=SchemaSet.default(),
                        clock=FixedClock(datetime.now(UTC)), stuck_after=600)
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    (first,) = submit_batch(batch, services).items
    (second,) = submit_batch(batch, services).items
    catalog.reserve_version(PACKAGE, "letter-1952-03-sample", first.item_id)

    result = ingest_item(second.item_id, services)

    assert result.outcome == "retry" and "PackageBusy" in result.reason
    assert catalog.get_item(first.item_id).status is ItemStatus.ACCEPTED
    with pytest.raises(PackageBusy):
        catalog.reserve_version(PACKAGE, "letter-1952-03-sample", second.item_id)
    catalog.engine.dispose()


def test_claim_of_a_crashed_item_is_taken_over_by_the_next_submission(tmp_path: Path) -> None:
    """In one process: a claim left by an item nobody touched for the stuck interval."""
    take_over_a_crashed_claim("sqlite:///" + str(tmp_path / "catalog.sqlite"), tmp_path)


def take_over_a_crashed_claim(url: str, tmp_path: Path) -> None:
    catalog = SqlCatalog.from_url(url)
    later = datetime.now(UTC) + timedelta(seconds=700)  # the crashed item idles past 600 s
    services = Services(catalog=catalog, store=MemoryObjectStore(), schemas=SchemaSet.default(),
                        clock=FixedClock(later), stuck_after=600)
    batch = tmp_path / "batch"
    write_item(batch, "letter")
    (crashed,) = submit_batch(batch, services).items
    catalog.reserve_version(PACKAGE, "letter-1952-03-sample", crashed.item_id)  # then killed
    (again,) = submit_batch(batch, services).items

    result = ingest_item(again.item_id, services)

    assert (result.outcome, result.status) == ("done", ItemStatus.STORED)
    assert catalog.get_item(again.item_id).version == 1
    old = catalog.get_item(crashed.item_id)
    assert old.status is ItemStatus.FAILED
    assert [(f.code, f.params["version"], f.params["by"]) for f in old.findings] == [
        ("CLAIM_TAKEN_OVER", 1, again.item_id)]
    catalog.engine.dispose()
