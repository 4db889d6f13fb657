"""A new version that silently drops fields, or silently undoes a correction.

A correction sent without the batch.json that gave the package its collection
and rights became a version without them, said only as "stored"; an older copy
of a batch sent again put back the title a later version had corrected, said
as "1 stored". Both are stored as submitted (a person may mean it), with a
warning on the item that says what happened and what to do."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.unit.test_replication import PACKAGE, Archive, open_archive, record


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    yield from open_archive(tmp_path)


def warnings_of(archive: Archive, item_id: str) -> dict[str, dict[str, Any]]:
    item = archive.services.catalog.get_item(item_id)
    return {f.code: {**f.params, "message": f.message} for f in item.findings}


def test_a_correction_that_drops_the_rights_statement_is_stored_with_a_warning_saying_so(
        archive: Archive) -> None:
    archive.ingest("first")
    without_rights = {k: v for k, v in record(title="Telegram, 21 June 1951 (corrected)").items()
                      if k != "rights"}

    [item] = archive.ingest("corrected", metadata=without_rights)

    assert archive.services.catalog.latest_version(PACKAGE).number == 2
    found = warnings_of(archive, item)["RECORD_FIELDS_REMOVED"]
    assert (found["version"], found["fields"]) == (1, "Rights")
    assert "batch.json" in found["message"]


def test_an_old_copy_of_a_record_sent_again_is_said_to_undo_the_correction(
        archive: Archive) -> None:
    archive.ingest("first")
    archive.ingest("corrected", metadata=record(title="Telegram, 21 June 1951 (corrected)"))

    [item] = archive.ingest("old copy", metadata=record())

    assert archive.services.catalog.latest_version(PACKAGE).number == 3
    found = warnings_of(archive, item)["RECORD_AS_EARLIER_VERSION"]
    assert (found["earlier"], found["latest"]) == (1, 2) and "Title" in found["fields"]


def test_a_plain_correction_carries_no_such_warning(archive: Archive) -> None:
    archive.ingest("first")
    [item] = archive.ingest("corrected", metadata=record(title="Telegram (corrected)"))
    assert not {"RECORD_FIELDS_REMOVED", "RECORD_AS_EARLIER_VERSION"} & set(warnings_of(archive, item))
