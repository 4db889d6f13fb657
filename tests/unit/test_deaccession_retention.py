"""A deaccession of objects that S3 Object Lock still retains is refused before
anything changes, naming the object and the date (OBJECT_RETAINED).

The replica is a folder that says some keys are retained, as an S3 store with
Object Lock answers ``retained_until``; the rest is the real pipeline and catalog.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.deaccession import approve_deaccession, request_deaccession
from ingest.errors import DeaccessionRefused
from ingest.ports import ObjectStore
from ingest.tombstones import DEACCESSIONED, REQUESTED
from tests.unit.test_deaccession import ALICE, BOB, REASON, as_, keys, two_versions
from tests.unit.test_replication import IDENTIFIER, PACKAGE, Archive, open_archive

UNTIL = datetime(2036, 12, 6, 19, 43, 24, tzinfo=UTC)


class RetainingStore:
    """A location whose ``retained`` keys S3 Object Lock would keep until ``UNTIL``."""

    def __init__(self, inner: ObjectStore, retained: set[str]) -> None:
        self.inner = inner
        self.location = inner.location
        self.retained = retained

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)

    def retained_until(self, key: str) -> datetime | None:
        return UNTIL if key in self.retained else None


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def test_a_deaccession_of_a_retained_object_is_refused_naming_the_date_and_nothing_changes(
        archive: Archive) -> None:
    archive.ingest()
    retained_key = f"{PACKAGE}/v1/data/transcription/telegram-en.txt"
    services = replace(archive.services,
                       replicas=(RetainingStore(archive.replica, {retained_key}),))  # type: ignore[arg-type]
    request = request_deaccession(as_(services, ALICE), IDENTIFIER, None, REASON)
    before = [keys(store) for store in archive.services.locations]

    with pytest.raises(DeaccessionRefused) as refused:
        approve_deaccession(as_(services, BOB), request.request_id)

    finding = refused.value.finding
    assert finding.code == "OBJECT_RETAINED"
    assert finding.path == retained_key and finding.location == archive.replica.location
    assert finding.found == "2036-12-06T19:43:24+00:00"
    assert "retained by S3 Object Lock until 6 December 2036, 19:43:24 UTC" in finding.message
    assert "nothing was deleted" in finding.message
    assert services.catalog.get_deaccession_request(request.request_id).state == REQUESTED
    assert services.catalog.get_version(PACKAGE, 1).number == 1  # still readable
    assert [keys(store) for store in archive.services.locations] == before


def test_a_version_deaccession_is_not_refused_for_objects_only_other_versions_hold(
        archive: Archive) -> None:
    two_versions(archive)
    # retained, but part of version 2, which the request leaves
    services = replace(archive.services, replicas=(
        RetainingStore(archive.replica, {f"{PACKAGE}/v2/data/scan/page-02.txt"}),))  # type: ignore[arg-type]
    request = request_deaccession(as_(services, ALICE), PACKAGE, 1, REASON)

    outcome = approve_deaccession(as_(services, BOB), request.request_id)

    assert outcome.request.state == DEACCESSIONED
