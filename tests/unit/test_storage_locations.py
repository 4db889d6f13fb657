"""Moving an archive to new storage: a location added later is filled, an old one retired.

Before ``strongroom locations``: a replica named in the settings after versions
were stored held none of them and nothing but ``repair``, one package at a
time, would copy them there; and a location taken out of the settings stayed
"not configured" in every fixity report (exit 1 for good), with no way to say
it was retired once its copies were held elsewhere.

The CLI runs in process (``CliRunner``) on the embedded catalog with folder
locations; every copy made is also validated by LOC ``bagit``.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import bagit
import pytest
from click.testing import CliRunner, Result

from strongroom.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "batch"
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class Archive:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        self.replicas: list[Path] = []

    def url(self, folder: Path) -> str:
        return folder.as_uri()

    def run(self, *args: str, expect: int | None = EXIT_OK) -> Result:
        env = {"STRONGROOM_DATA_DIR": str(self.data), "STRONGROOM_RETRY_BACKOFF": "0",
               "STRONGROOM_REPLICAS": ",".join(self.url(r) for r in self.replicas) or None}
        result = CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)
        if expect is not None:
            assert result.exit_code == expect, (result.exit_code, result.output)
        return result

    def json(self, *args: str, expect: int | None = EXIT_OK) -> dict[str, Any]:
        out = self.run(*args, "--json", expect=expect).stdout
        return json.loads(out)

    def replica(self, name: str) -> Path:
        folder = self.root / name
        folder.mkdir()
        return folder

    def filled_replica(self, name: str) -> Path:
        """A replica named in the settings and filled with every version."""
        folder = self.replica(name)
        self.replicas.append(folder)
        self.run("locations", "fill", folder.as_uri())
        return folder


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    archive = Archive(tmp_path)
    batch = tmp_path / "batch"
    shutil.copytree(EXAMPLES, batch)
    shutil.rmtree(batch / "bad-record-missing-title")
    archive.run("submit", str(batch))
    return archive


def _bags(folder: Path) -> list[Path]:
    return sorted(p.parent for p in folder.glob("*/v*/bagit.txt"))


def test_a_replica_named_after_versions_were_stored_is_filled_by_one_command(archive: Archive) -> None:
    versions = archive.json("locations")["versions"]
    assert versions == 2
    new = archive.replica("new-replica")
    archive.replicas.append(new)

    listing = archive.json("locations", expect=EXIT_PROBLEMS)  # the new location lacks both
    rows = {row["location"]: row for row in listing["locations"]}
    assert rows[new.as_uri()]["role"] == "replica"
    assert rows[new.as_uri()]["lacking"] == 2

    filled = archive.json("locations", "fill", new.as_uri())
    assert len(filled["made"]) == 2 and not filled["failed"]
    for bag in _bags(new):
        bagit.Bag(str(bag)).validate()  # every bag made there is whole to LOC bagit too
    assert len(_bags(new)) == 2

    rows = {row["location"]: row for row in archive.json("locations")["locations"]}
    assert rows[new.as_uri()]["lacking"] == 0 and rows[new.as_uri()]["copies"] == 2
    again = archive.json("locations", "fill", new.as_uri())  # safe to run again: nothing to do
    assert again["made"] == [] and again["failed"] == []
    report = archive.json("fixity", "report")
    assert report["failures_total"] == 0
    assert archive.run("verify", "--all").exit_code == EXIT_OK


def test_a_location_taken_out_of_the_settings_can_be_retired_once_its_versions_are_held_elsewhere(
        archive: Archive) -> None:
    old = archive.filled_replica("old-replica")
    new = archive.replica("new-replica")
    archive.replicas[:] = [new]  # the old one taken out of the settings, the new one in

    # Before: the old location was "not configured" in every report, exit 1 for good.
    report = archive.json("fixity", "report", expect=EXIT_PROBLEMS)
    assert [u["location"] for u in report["unconfigured_locations"]] == [old.as_uri()]

    refused = archive.json("locations", "retire", old.as_uri(), "--reason", "end of life",
                           expect=EXIT_PROBLEMS)
    assert refused["retired"] is False and refused["gaps_total"] == 2
    assert {tuple(g["lacking"]) for g in refused["gaps"]} == {(new.as_uri(),)}

    archive.run("locations", "fill", new.as_uri())
    retired = archive.json("locations", "retire", old.as_uri(), "--reason", "disk array end of life")
    assert retired["retired"] is True and retired["copies"] == 2

    report = archive.json("fixity", "report")  # exit 0: nothing out of sight any more
    assert report["unconfigured_locations"] == []
    rows = {row["location"]: row for row in archive.json("locations")["locations"]}
    assert rows[old.as_uri()]["role"] == "retired"
    assert rows[old.as_uri()]["retired"]["reason"] == "disk array end of life"
    assert _bags(old), "retiring deletes nothing"

    event = next(e for e in archive.json("audit", "log")["events"]
                 if (e.get("detail") or {}).get("action") == "location retired")
    assert event["detail"]["location"] == old.as_uri()
    assert event["detail"]["reason"] == "disk array end of life"
    assert event["actor"] and event["actor"]["name"]  # who retired it
    assert archive.run("audit", "verify").exit_code == EXIT_OK


def test_a_location_is_not_retired_while_a_configured_copy_of_its_versions_is_damaged(
        archive: Archive) -> None:
    old = archive.filled_replica("old-replica")
    archive.replicas.clear()  # only the primary stays
    primary_bag = _bags(archive.data / "objects")[0]
    page = next(p for p in (primary_bag / "data").rglob("*") if p.is_file())
    page.write_bytes(b"x" * page.stat().st_size)  # damaged, size kept
    archive.run("verify", "--all", expect=EXIT_PROBLEMS)  # the check that finds it

    refused = archive.json("locations", "retire", old.as_uri(), "--reason", "moving",
                           expect=EXIT_PROBLEMS)
    assert refused["retired"] is False and refused["gaps_total"] == 1


def test_a_configured_or_unknown_location_is_not_retired(archive: Archive) -> None:
    primary = (archive.data / "objects").as_uri()
    said = archive.run("locations", "retire", primary, "--reason", "x", expect=EXIT_USAGE).output
    assert "still named in the settings" in said
    said = archive.run("locations", "retire", "file:///nowhere", "--reason", "x",
                       expect=None)
    assert said.exit_code != EXIT_OK and "notes no copy" in said.output
    said = archive.run("locations", "fill", "file:///nowhere", expect=None)
    assert said.exit_code != EXIT_OK and "not a location the settings name" in said.output


def test_an_auditor_reads_the_locations_through_the_api_as_the_terminal_gives_them(
        archive: Archive) -> None:
    from fastapi.testclient import TestClient

    from strongroom.api.app import create_app
    from strongroom.settings import Settings

    new = archive.replica("new-replica")
    archive.replicas.append(new)
    token = archive.json("token", "create", "--name", "auditor", "--role", "auditor")["token"]
    terminal = archive.json("locations", expect=EXIT_PROBLEMS)
    app = create_app(Settings.from_env({"STRONGROOM_DATA_DIR": str(archive.data),
                                        "STRONGROOM_REPLICAS": new.as_uri()}))
    with TestClient(app) as client:
        answer = client.get("/locations", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert answer.json() == terminal



def test_a_fill_asked_to_stop_stops_between_versions_and_says_so(archive: Archive) -> None:
    from ingest.storage_locations import fill_location
    from strongroom.bootstrap import build_services
    from strongroom.settings import Settings

    new = archive.replica("new-replica")
    services = build_services(Settings.from_env({"STRONGROOM_DATA_DIR": str(archive.data),
                                                 "STRONGROOM_REPLICAS": new.as_uri()}))
    services.stop.request()  # Ctrl-C, SIGTERM
    stopped = fill_location(services, new.as_uri())
    assert stopped.stopped and stopped.made == [] and stopped.has_problems
    archive.replicas.append(new)
    assert len(archive.json("locations", "fill", new.as_uri())["made"]) == 2  # run again: goes on


def test_a_location_is_not_retired_while_a_configured_copy_was_refused_on_its_way_out(
        archive: Archive) -> None:
    old = archive.filled_replica("old-replica")
    archive.replicas.clear()  # only the primary stays
    bag = next(b for b in _bags(archive.data / "objects") if (b / "data" / "scan").exists())
    page = next(p for p in (bag / "data").rglob("*") if p.is_file() and p.stat().st_size)
    raw = bytearray(page.read_bytes())
    raw[0] ^= 1
    page.write_bytes(bytes(raw))  # damaged, size kept; no deep check has run since
    package = bag.parent.name
    archive.run("fetch", package, "--to", str(archive.root / "out"), expect=EXIT_PROBLEMS)

    refused = archive.json("locations", "retire", old.as_uri(), "--reason", "moving",
                           expect=EXIT_PROBLEMS)
    assert refused["retired"] is False
    assert [g["package_id"] for g in refused["gaps"]] == [package]


def test_a_copy_failing_its_shallow_check_is_counted_damaged_where_it_lies(archive: Archive) -> None:
    bag = _bags(archive.data / "objects")[0]
    page = next(p for p in (bag / "data").rglob("*") if p.is_file())
    page.unlink()  # gone: a shallow look sees it
    archive.run("verify", "--all", "--shallow", expect=EXIT_PROBLEMS)
    rows = {row["location"]: row for row in archive.json("locations", expect=EXIT_PROBLEMS)["locations"]}
    primary = rows[(archive.data / "objects").as_uri()]
    assert primary["damaged"] == 1 and primary["lacking"] == 1  # it said "0 damaged, lacks 0"


def test_a_location_is_not_retired_while_a_configured_copy_lost_files_since_its_last_check(
        archive: Archive) -> None:
    # The configured copies were whole when last checked; since then a file went
    # from every one of them (a lifecycle rule, a mistaken delete). Retiring
    # trusted the catalog's notes and forgot the one location still holding it.
    old = archive.filled_replica("old-replica")
    archive.replicas.clear()  # only the primary stays
    primary_bag = _bags(archive.data / "objects")[0]
    lost = next(p for p in (primary_bag / "data").rglob("*") if p.is_file())
    lost.unlink()

    refused = archive.json("locations", "retire", old.as_uri(), "--reason", "moving",
                           expect=EXIT_PROBLEMS)
    assert refused["retired"] is False and refused["gaps_total"] == 1
    assert refused["gaps"][0]["lacking"] == [(archive.data / "objects").as_uri()]
    rows = {row["location"]: row for row in archive.json("locations", expect=EXIT_PROBLEMS)["locations"]}
    assert rows[old.as_uri()]["role"] == "not configured"  # still noted, still in sight
    assert rows[(archive.data / "objects").as_uri()]["damaged"] == 1  # the look was recorded


def test_a_fill_into_a_location_that_cannot_be_used_stops_at_once_saying_why(
        archive: Archive) -> None:
    """A replica named in the settings whose folder is not there (a disk not mounted)
    failed every version in turn, each with the same two lines and each counted
    'damaged': a million lines for a million versions, and a fixity failure
    recorded for each. The location is tried once, first; nothing is checked,
    written or recorded."""
    missing = archive.root / "not-mounted"
    archive.replicas.append(missing)
    events_before = archive.json("audit", "log")

    result = archive.run("locations", "fill", missing.as_uri(), expect=EXIT_PROBLEMS)

    [said] = result.output.strip().splitlines()[-1:]
    assert said.startswith("strongroom: ") and "is gone" in said, result.output
    assert "letter-1952-03-sample" not in result.output
    assert "damaged" not in result.output
    assert not missing.exists()
    assert archive.json("audit", "log") == events_before


def test_a_refused_retirement_says_how_to_mend_what_only_that_location_holds_and_it_works(
        archive: Archive) -> None:
    # The advice was "fill them first: strongroom locations fill PRIMARY", which
    # cannot work: a fill copies only from the locations the settings name, and
    # the one whole copy is in the location taken out of them.
    old = archive.filled_replica("old-replica")
    archive.replicas.clear()
    primary = archive.data / "objects"
    lost = next(p for p in (_bags(primary)[0] / "data").rglob("*") if p.is_file())
    lost.unlink()

    said = archive.run("locations", "retire", old.as_uri(), "--reason", "moving",
                       expect=EXIT_PROBLEMS).output
    assert f"STRONGROOM_REPLICAS={old.as_uri()}" in said, said

    # As it says: named again for the fill, taken out again, retired.
    archive.replicas.append(old)
    archive.run("locations", "fill", primary.as_uri())
    assert lost.exists()
    rows = {row["location"]: row for row in archive.json("locations")["locations"]}
    assert rows[primary.as_uri()]["damaged"] == 0  # mended, and found whole after
    archive.replicas.clear()
    archive.run("locations", "retire", old.as_uri(), "--reason", "moving")


# --------------------------------------------------------------------------- filling over HTTP
# Before, a location that lacked versions could be filled only by a person at the
# terminal; the Preservation page and `GET /locations` said so and stopped there.
# `POST /locations/fill` (an admin) now does what the command does: sent to the
# workers with a broker, in the background here without one (the page's browser
# test: tests/browser/test_preservation.py).


def _client(archive: Archive, new: Path) -> Any:
    from fastapi.testclient import TestClient

    from strongroom.api.app import create_app
    from strongroom.settings import Settings

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
        shutil.rmtree(new)  # a disk not mounted
        gone = client.post("/locations/fill", json={"location": new.as_uri()}, headers=admin)
        assert gone.status_code == 503  # why is in the operator's log, not in the answer
        assert gone.json()["type"] == "urn:strongroom:problem:storage-unavailable"
    assert not new.exists()
