"""Reconciliation of the catalog with every location, both ways, on in-memory stores."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.clock import FixedClock
from ingest.models import package_id_for
from ingest.pipeline import ingest_item
from ingest.reconciliation import reconcile, reconcile_location, version_of_key
from ingest.record_schema import SchemaSet
from ingest.services import Services
from ingest.submission import submit_batch
from storage.catalog import SqlCatalog
from tests.fakes import MemoryObjectStore

AT = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
PACKAGE = package_id_for("letter-1")
X_SHA256 = hashlib.sha256(b"x").hexdigest()


def write_item(batch: Path, identifier: str) -> None:
    item = batch / identifier
    item.mkdir(parents=True)
    (item / "metadata.json").write_text(json.dumps(
        {"identifier": identifier, "title": "A letter", "date": "1952-03"}))
    (item / "page.txt").write_bytes(b"Dear Sir,\n")


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    catalog = SqlCatalog.from_url("sqlite:///" + str(tmp_path / "catalog.sqlite"))
    services = Services(catalog=catalog, store=MemoryObjectStore("memory://primary"),
                        replicas=(MemoryObjectStore("memory://replica"),),
                        clock=FixedClock(AT), schemas=SchemaSet.default())
    write_item(tmp_path / "batch", "letter-1")
    (item,) = submit_batch(tmp_path / "batch", services).items
    assert ingest_item(item.item_id, services).outcome == "done"
    yield services
    catalog.engine.dispose()


def codes(services: Services) -> list[tuple[str, list[tuple[str, str | None]],
                                            list[tuple[str, str | None]]]]:
    return [(r.location, [(f.code, f.path) for f in r.findings],
             [(f.code, f.path) for f in r.leftovers])
            for r in reconcile(services.catalog, services.locations)]


def test_a_whole_archive_reconciles_cleanly_in_every_location(services: Services) -> None:
    results = reconcile(services.catalog, services.locations)
    assert [(r.location, r.status, r.findings, r.leftovers) for r in results] == [
        ("memory://primary", "ok", (), ()), ("memory://replica", "ok", (), ())]
    assert results[0].objects == 9  # one payload file, seven tag files, the commit record
    assert [(r.commit_records_missing, r.commit_records_written) for r in results] == [(0, 0)] * 2


def test_an_object_of_no_version_is_untracked_and_anchors_are_ours(services: Services) -> None:
    primary = services.store
    primary.put_bytes("notes/readme.txt", b"x", X_SHA256)
    primary.put_bytes("not-a-uuid/v1/data/x", b"x", X_SHA256)
    primary.put_bytes("_audit/anchors/0000000001.json", b"x", X_SHA256)
    assert codes(services)[0] == ("memory://primary", [
        ("UNTRACKED_OBJECT", "not-a-uuid/v1/data/x"),
        ("UNTRACKED_OBJECT", "notes/readme.txt")], [])


def test_a_missing_object_is_reported_in_its_location_only(services: Services) -> None:
    del services.replicas[0].objects[f"{PACKAGE}/v1/data/page.txt"]  # type: ignore[attr-defined]
    assert codes(services) == [
        ("memory://primary", [], []),
        ("memory://replica", [("FILE_MISSING", f"{PACKAGE}/v1/data/page.txt")], []),
    ]


def test_an_object_inside_a_committed_version_but_not_in_the_catalog_is_unexpected(
        services: Services) -> None:
    services.store.objects[f"{PACKAGE}/v1/data/extra.txt"] = b"extra"  # type: ignore[attr-defined]
    assert codes(services)[0][1] == [("UNEXPECTED_FILE", f"{PACKAGE}/v1/data/extra.txt")]


def test_leftovers_of_crashed_ingests_are_reported_apart_from_strangers(
        services: Services, tmp_path: Path) -> None:
    # An item that claimed version 1 of another package and crashed mid-upload ...
    write_item(tmp_path / "second", "letter-2")
    (item,) = submit_batch(tmp_path / "second", services).items
    other = package_id_for("letter-2")
    assert services.catalog.reserve_version(other, "letter-2", item.item_id) == 1
    services.store.objects[f"{other}/v1/data/page.txt"] = b"half"  # type: ignore[attr-defined]
    # ... and an upload whose claim was dropped since (no version row at all).
    services.store.objects[f"{PACKAGE}/v2/bagit.txt"] = b"BagIt"  # type: ignore[attr-defined]
    _, findings, leftovers = codes(services)[0]
    assert findings == []
    assert leftovers == [("INGEST_LEFTOVER", f"{PACKAGE}/v2/bagit.txt"),
                         ("INGEST_LEFTOVER", f"{other}/v1/data/page.txt")]
    assert reconcile_location(services.catalog, services.store).status == "ok"


def test_only_keys_shaped_like_a_version_name_one() -> None:
    assert version_of_key(f"{PACKAGE}/v12/data/a/b.txt") == (PACKAGE, 12, "data/a/b.txt")
    for key in (f"{PACKAGE}/v0/x", f"{PACKAGE}/v01/x", f"{PACKAGE.upper()}/v1/x",
                f"{PACKAGE}/version1/x", f"{PACKAGE}/v1/"):
        assert version_of_key(key) is None, key


@pytest.mark.parametrize("tier", ["deep", "shallow"])
def test_a_lost_commit_record_is_written_again_by_the_fixity_check_or_is_a_finding(
        services: Services, tier: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Before, verify, repair and the fixity report all said ok about a location
    that had lost a version's commit record; the first to notice was a catalog
    rebuilt from it, which left the version out. A check now writes it back (the
    catalog holds the version committed), and says so when it cannot."""
    from ingest.commit_records import commit_record_key
    from ingest.errors import ObjectNotFound, StorageUnavailable
    from ingest.fixity_audit import shallow_check, verify_version

    check = verify_version if tier == "deep" else shallow_check
    key = commit_record_key(PACKAGE, 1)
    services.store.delete(key)

    assert check(services, PACKAGE, 1).findings == ()
    assert services.store.stat(key).size > 0  # written again

    services.store.delete(key)

    def refuse(*args: object, **kwargs: object) -> None:
        raise StorageUnavailable("memory://primary: read-only for a while")
    monkeypatch.setattr(services.store, "put_bytes", refuse)
    [finding] = check(services, PACKAGE, 1).findings
    assert (finding.code, finding.path, finding.location) == ("COMMIT_RECORD_MISSING", key,
                                                                "memory://primary")
    assert "fixity reconcile" in finding.message
    with pytest.raises(ObjectNotFound):
        services.store.stat(key)
