"""A package deaccessioned as a whole while a correction of it is being ingested.

Two admins withdrew the package; an ingest that had looked before their decision
went on and committed its new version after it: the package answered again, as
version 2, and its record and files were back in the archive. The decision is
now asked again under the package's lock when a version is claimed and when it
is committed: the item is rejected (PACKAGE_DEACCESSIONED) and what it wrote
goes.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

import ingest.pipeline as pipeline
from ingest.deaccession import approve_deaccession, request_deaccession
from ingest.errors import Deaccessioned
from ingest.models import Actor, ItemStatus
from ingest.pipeline import ingest_item
from ingest.submission import submit_batch
from tests.unit.test_replication import PACKAGE, PAYLOAD, Archive, open_archive, record, write_item

ALICE = Actor("alice", kind="person", role="admin")
BOB = Actor("bob", kind="person", role="admin")


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def _decide(archive: Archive, decided: list[str]) -> None:
    if not decided:
        asked = request_deaccession(replace(archive.services, actor=ALICE), PACKAGE, None,
                                    "the depositor withdrew the deposit")
        approve_deaccession(replace(archive.services, actor=BOB), asked.request_id)
        decided.append(asked.request_id)


def _correction(archive: Archive, payload: dict[str, bytes]) -> str:
    batch = archive.root / "batch-correction"
    write_item(batch, "telegram", payload=payload,
               metadata=record(title="Telegram, 21 June 1951 (corrected)"))
    [item] = submit_batch(batch, archive.services).items
    return item.item_id


def _nothing_came_back(archive: Archive, result: Any) -> None:
    assert result.status is ItemStatus.REJECTED, result
    assert "PACKAGE_DEACCESSIONED" in [f.code for f in result.findings]
    with pytest.raises(Deaccessioned):
        archive.services.catalog.get_version(PACKAGE)
    for store in archive.services.locations:  # nothing of the correction left behind
        assert not [o.key for o in store.list(f"{PACKAGE}/v2/")]


def test_a_package_deaccessioned_while_its_correction_is_written_gets_no_new_version(
        archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    archive.ingest()
    item = _correction(archive, {"scan/other-page.txt": b"another page altogether\n"})
    real = pipeline.put_all_everywhere
    decided: list[str] = []

    def decided_meanwhile(*args: Any, **kwargs: Any) -> Any:
        _decide(archive, decided)  # the admins decide while the tag files are written
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "put_all_everywhere", decided_meanwhile)
    result = ingest_item(item, archive.services)
    assert decided
    _nothing_came_back(archive, result)


def test_a_package_deaccessioned_after_its_correction_was_looked_at_gets_no_version_claimed(
        archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    archive.ingest()
    item = _correction(archive, {**PAYLOAD, "scan/page-02.txt": b"page two\n"})
    real = pipeline.correction_findings
    decided: list[str] = []

    def decided_meanwhile(*args: Any, **kwargs: Any) -> Any:
        found = real(*args, **kwargs)
        _decide(archive, decided)  # after the ingest compared it with version 1
        return found

    monkeypatch.setattr(pipeline, "correction_findings", decided_meanwhile)
    result = ingest_item(item, archive.services)
    assert decided
    _nothing_came_back(archive, result)
