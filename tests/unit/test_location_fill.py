"""Filling a location reads only what each version needs (``ingest.location_fill``).

Before: ``strongroom locations fill`` repaired each version as ``repair`` does,
deep-verifying every copy in every location, so filling a third location read
the second one's bytes again for nothing (at a million versions, the whole
archive once more per location); and its lines named package ids, which no
archivist knows a record by.

The CLI runs in process (``CliRunner``) on the embedded catalog with folder
locations, as in test_storage_locations.
"""

from __future__ import annotations

from typing import Any

import bagit

from tests.unit import test_storage_locations
from tests.unit.test_storage_locations import EXIT_OK, EXIT_PROBLEMS, Archive, _bags

#: the same archive: two records stored in the primary location
archive = test_storage_locations.archive


def _events_after(archive: Archive, seq: int) -> list[dict[str, Any]]:
    return [e for e in archive.json("audit", "log")["events"] if e["seq"] > seq]


def _last_seq(archive: Archive) -> int:
    return max(e["seq"] for e in archive.json("audit", "log")["events"])


def _deep_checks(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(location, outcome) of each deep fixity check among ``events``."""
    return [(e["detail"]["location"], e["detail"]["outcome"]) for e in events
            if e["event_type"] == "fixity check" and e["detail"]["tier"] == "deep"]


def test_filling_a_location_reads_only_the_copy_it_copies_from_not_every_copy(
        archive: Archive) -> None:
    primary = (archive.data / "objects").as_uri()
    other = archive.filled_replica("replica-a")
    new = archive.replica("replica-b")
    archive.replicas.append(new)
    before = _last_seq(archive)

    filled = archive.json("locations", "fill", new.as_uri())

    assert len(filled["made"]) == 2 and not filled["failed"]
    events = _events_after(archive, before)
    # each version: its source (the primary, first in the settings) checked
    # once, and the new copy after writing; replica-a is not read at all
    assert sorted(_deep_checks(events)) == sorted(
        [(primary, "ok"), (new.as_uri(), "ok")] * 2)
    assert other.as_uri() not in {where for where, _ in _deep_checks(events)}
    copies = [e for e in events if e["event_type"] == "replication"]
    assert len(copies) == 2
    for event in copies:
        assert event["detail"]["reason"] == "fill"
        assert event["detail"]["location"] == new.as_uri()
        assert event["detail"]["source"] == primary
        assert event["actor"] and event["actor"]["name"]  # who filled it
    for bag in _bags(new):
        bagit.Bag(str(bag)).validate()
    assert archive.run("verify", "--all").exit_code == EXIT_OK


def test_fill_names_each_version_by_its_records_identifier(archive: Archive) -> None:
    identifiers = {p["package_id"]: p["identifier"]
                   for p in archive.json("list")["packages"]}
    new = archive.replica("new-replica")
    archive.replicas.append(new)

    said = archive.run("locations", "fill", new.as_uri()).output

    made = sorted(line.split()[1:] for line in said.splitlines() if line.startswith("made"))
    assert made == sorted([identifier, "v1"] for identifier in identifiers.values())
    assert not any(package_id in said for package_id in identifiers)
    document = archive.json("locations", "fill", new.as_uri())  # nothing left to make
    assert document["made"] == [] and document["failed"] == []


def test_a_damaged_source_is_passed_over_for_the_next_location_as_repair_would(
        archive: Archive) -> None:
    primary = (archive.data / "objects").as_uri()
    other = archive.filled_replica("replica-a")
    new = archive.replica("replica-b")
    archive.replicas.append(new)
    for bag in _bags(archive.data / "objects"):
        page = next(p for p in sorted((bag / "data").rglob("*"))
                    if p.is_file() and p.stat().st_size)
        page.write_bytes(b"x" * page.stat().st_size)  # damaged where no check has seen it
    before = _last_seq(archive)

    filled = archive.json("locations", "fill", new.as_uri())

    assert len(filled["made"]) == 2 and not filled["failed"]
    checks = _deep_checks(_events_after(archive, before))
    assert sorted(checks) == sorted(
        [(primary, "failed"), (other.as_uri(), "ok"), (new.as_uri(), "ok")] * 2)
    for bag in _bags(new):
        bagit.Bag(str(bag)).validate()
    rows = {r["location"]: r for r in archive.json("locations", expect=EXIT_PROBLEMS)["locations"]}
    assert rows[primary]["damaged"] == 2  # the damage found on the way is on record
    assert rows[new.as_uri()]["lacking"] == 0


def test_a_copy_noted_damaged_in_the_location_is_mended_where_it_is_damaged(
        archive: Archive) -> None:
    new = archive.filled_replica("replica-b")
    bag = _bags(new)[0]
    page = next(p for p in sorted((bag / "data").rglob("*")) if p.is_file() and p.stat().st_size)
    good = page.read_bytes()
    page.write_bytes(b"x" * len(good))
    archive.run("verify", "--all", expect=EXIT_PROBLEMS)  # the check that notes it
    before = _last_seq(archive)

    filled = archive.json("locations", "fill", new.as_uri())

    assert len(filled["made"]) == 1 and not filled["failed"]
    assert page.read_bytes() == good
    events = _events_after(archive, before)
    [event] = [e for e in events if e["event_type"] == "replication"]
    assert event["detail"]["reason"] == "fill" and event["package_id"] == bag.parent.name
    assert event["detail"]["rewritten"] == [str(page.relative_to(bag))]  # that file alone
    primary = (archive.data / "objects").as_uri()
    assert sorted(_deep_checks(events)) == sorted(
        [(new.as_uri(), "failed"), (primary, "ok"), (new.as_uri(), "ok")])
    assert archive.run("verify", "--all").exit_code == EXIT_OK


def test_filling_a_location_nothing_can_be_copied_from_fails_and_says_so(
        archive: Archive) -> None:
    new = archive.replica("replica-b")
    archive.replicas.append(new)
    for bag in _bags(archive.data / "objects"):
        for page in (bag / "data").rglob("*"):
            if page.is_file():
                page.unlink()  # the only copy lost

    filled = archive.json("locations", "fill", new.as_uri(), expect=EXIT_PROBLEMS)

    assert filled["made"] == [] and len(filled["failed"]) == 2
    for failed in filled["failed"]:
        mine = failed["copies"][-1]
        assert mine["location"] == new.as_uri() and mine["status"] == "damaged"
        assert "no stored object gave the recorded bytes of data/" in mine["detail"]
    said = archive.run("locations", "fill", new.as_uri(), expect=EXIT_PROBLEMS).output
    assert "failed" in said and "no stored object gave the recorded bytes" in said
    assert archive.json("locations", expect=EXIT_PROBLEMS)["locations"][1]["lacking"] == 2
