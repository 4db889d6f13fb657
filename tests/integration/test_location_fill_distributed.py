"""Filling a new location on the workers: one task per version, with real processes.

`strongroom locations fill` ran in one process a version at a time, however
many workers the archive had: at a million versions, days of one host's work.
With a broker it now sends one task per version lacking to the fixity queue,
each noted queued in the catalog first, and returns; `strongroom locations`
counts what is still queued and lacking. A real `strongroom worker` (Celery,
prefork) on Redis does the copying, with PostgreSQL as the catalog and
SeaweedFS holding both locations.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bagit
import redis

from tests.integration.test_distributed import (  # noqa: F401 (workers: a fixture)
    EXAMPLES,
    Strongroom,
    download_bag,
    wait_for,
    workers,
)


def _row(strongroom: Strongroom, location: str) -> dict[str, Any]:
    rows = strongroom.json("locations", expect=None)["locations"]
    return next(row for row in rows if row["location"] == location)


def test_a_new_location_is_filled_by_the_workers_a_task_per_version(
        distributed_env: dict[str, str], workers: Any, tmp_path: Path,  # noqa: F811
        s3_server: Any, aws_credentials: None) -> None:
    before = Strongroom(distributed_env, tmp_path)
    before.json("init")
    stored = workers("ingest", env=distributed_env)
    report = before.json("submit", str(EXAMPLES), "--wait", "--timeout", "120", expect=1)
    packages = {i["package_id"] for i in report["items"] if i["status"] == "stored"}
    assert len(packages) == 2
    stored.stop()

    primary = distributed_env["STRONGROOM_STORAGE_URL"]
    replica = primary.rsplit("/", 1)[0] + "/replica"  # the same bucket, another prefix
    env = {**distributed_env, "STRONGROOM_REPLICAS": replica}  # named on every host
    sr = Strongroom(env, tmp_path)
    assert _row(sr, replica)["lacking"] == 2

    # No worker runs yet: the tasks wait in the queue, noted queued in the catalog.
    sent = sr.json("locations", "fill", replica)
    assert sent == {"location": replica, "queued": True, "sent": 2, "already_queued": 0}
    again = sr.json("locations", "fill", replica)  # sends none twice
    assert again["sent"] == 0 and again["already_queued"] == 2
    # Messages a broker lost (Redis restarted) are not waited for twelve hours:
    # --again sends the versions still queued once more.
    with redis.Redis.from_url(env["STRONGROOM_BROKER_URL"]) as broker:
        broker.delete("fixity")  # the queue's messages gone, as after a restart
    resent = sr.json("locations", "fill", replica, "--again")
    assert resent["sent"] == 2 and resent["already_queued"] == 0
    row = _row(sr, replica)
    assert row["queued"] == 2 and row["lacking"] == 2
    assert "2 queued to be filled" in sr.run("locations", expect=1).stdout

    filler = workers("fill", env=env)
    wait_for(lambda: (row := _row(sr, replica))["lacking"] == 0 and row["queued"] == 0, 120,
             "the workers to fill the new location")

    events = sr.json("audit", "log")["events"]
    fills = [e for e in events if e["event_type"] == "replication"
             and (e.get("detail") or {}).get("reason") == "fill"]
    assert sorted(e["package_id"] for e in fills) == sorted(packages)
    for event in fills:
        assert event["outcome"] == "success"
        assert event["detail"]["location"] == replica and event["detail"]["source"] == primary
        assert event["actor"] and event["actor"]["name"]  # who asked for the fill
    # each version read in its source and, after writing, in the new copy: no more
    checked = [(e["package_id"], e["detail"]["location"], e["detail"]["outcome"])
               for e in events if e["event_type"] == "fixity check"]
    assert sorted(checked) == sorted(
        [(p, loc, "ok") for p in packages for loc in (primary, replica)])

    assert sr.json("locations", "fill", replica)["sent"] == 0  # nothing lacks any more
    assert sr.run("verify", "--all").returncode == 0
    bucket, _, prefix = replica[len("s3://"):].partition("/")
    for package_id in packages:
        bag = download_bag(s3_server.client(), bucket, f"{prefix}/{package_id}/v1/",
                           tmp_path / package_id)
        bagit.Bag(str(bag)).validate()

    # The same from the API: an admin's POST /locations/fill sends the tasks, and
    # the workers' events name the token that asked.
    from fastapi.testclient import TestClient

    from strongroom.api.app import create_app
    from strongroom.settings import Settings

    filler.stop()
    second = primary.rsplit("/", 1)[0] + "/replica-2"
    env = {**env, "STRONGROOM_REPLICAS": f"{replica},{second}"}
    sr = Strongroom(env, tmp_path)
    token = sr.json("token", "create", "--name", "ops-desk", "--role", "admin")["token"]
    with TestClient(create_app(Settings.from_env(env))) as client:
        answer = client.post("/locations/fill", json={"location": second},
                             headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 202, answer.text
    assert answer.json() == {"location": second, "dispatch": "queued", "sent": 2,
                             "already_queued": 0}
    workers("fill-2", env=env)
    wait_for(lambda: (row := _row(sr, second))["lacking"] == 0 and row["queued"] == 0, 120,
             "the workers to fill the location named from the API")
    asked = [e["actor"] for e in sr.json("audit", "log")["events"]
             if e["event_type"] == "replication" and e["detail"]["location"] == second]
    assert len(asked) == 2 and all("ops-desk" in json.dumps(actor) for actor in asked), asked

