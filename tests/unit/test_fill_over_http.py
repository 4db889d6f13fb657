"""Filling a new location from the API and the console, not only at the terminal.

Before, a location that lacked versions could be filled only by a person at the
terminal (`strongroom locations fill`); the Preservation page and `GET
/locations` said so and stopped there. `POST /locations/fill` (an admin) now does
what the command does: sent to the workers with a broker, in the background here
without one. The browser test of the page is tests/browser/test_preservation.py.
"""

from __future__ import annotations

from pathlib import Path

import bagit
import pytest
from fastapi.testclient import TestClient

from strongroom.api.app import create_app
from strongroom.settings import Settings
from tests.unit.test_storage_locations import EXIT_PROBLEMS, Archive, _bags, archive  # noqa: F401


def _client(archive: Archive, new: Path) -> TestClient:
    app = create_app(Settings.from_env({"STRONGROOM_DATA_DIR": str(archive.data),
                                        "STRONGROOM_REPLICAS": new.as_uri()}))
    return TestClient(app)


def _token(archive: Archive, role: str) -> dict[str, str]:
    token = archive.json("token", "create", "--name", role, "--role", role)["token"]
    return {"Authorization": f"Bearer {token}"}


def test_an_admin_fills_a_new_location_over_http_and_it_holds_every_version_whole(
        archive: Archive) -> None:
    new = archive.replica("new-replica")
    archive.replicas.append(new)
    admin = _token(archive, "admin")
    with _client(archive, new) as client:
        lacking = {r["location"]: r["lacking"] for r in
                   client.get("/locations", headers=admin).json()["locations"]}
        assert lacking[new.as_uri()] == 2
        started = client.post("/locations/fill", json={"location": new.as_uri()}, headers=admin)
        assert started.status_code == 202, started.text
        assert started.json() == {"location": new.as_uri(), "dispatch": "in-process",
                                  "sent": None, "already_queued": None}
        client.app.state.strongroom.wait(timeout=120)
        rows = {r["location"]: r for r in client.get("/locations", headers=admin).json()["locations"]}
    assert (rows[new.as_uri()]["lacking"], rows[new.as_uri()]["copies"]) == (0, 2)
    for bag in _bags(new):
        bagit.Bag(str(bag)).validate()
    assert len(_bags(new)) == 2
    writes = [e for e in archive.json("audit", "log")["events"]
              if e["event_type"] == "replication" and e["detail"].get("location") == new.as_uri()]
    assert {e["actor"]["name"] for e in writes} == {"admin"}  # the events name who asked


@pytest.mark.parametrize("role", ["auditor", "submitter", "reader"])
def test_only_an_admin_may_fill_a_location(archive: Archive, role: str) -> None:
    new = archive.replica("new-replica")
    archive.replicas.append(new)
    with _client(archive, new) as client:
        refused = client.post("/locations/fill", json={"location": new.as_uri()},
                              headers=_token(archive, role))
    assert refused.status_code == 403
    assert _bags(new) == []


def test_a_location_not_configured_or_not_usable_is_a_problem_saying_why_and_nothing_starts(
        archive: Archive) -> None:
    new = archive.replica("new-replica")
    archive.replicas.append(new)
    admin = _token(archive, "admin")
    with _client(archive, new) as client:
        unknown = client.post("/locations/fill", json={"location": "file:///srv/elsewhere"},
                              headers=admin)
        assert unknown.status_code == 404
        assert "not a location the settings name" in unknown.json()["detail"]
        new.rmdir()  # a disk not mounted
        gone = client.post("/locations/fill", json={"location": new.as_uri()}, headers=admin)
        assert gone.status_code == 503
        assert "is gone" in gone.json()["detail"]
    assert not new.exists()
