"""What changed between two versions of a package, as a person reads it on the
package's timeline (and in ``show`` / ``GET /packages/{id}``)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.models import StoredFile, VersionRecord
from ingest.version_changes import compare_versions, field_label, version_history

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
RECORD = {"identifier": "telegram-1951-06-21", "title": "Telegram from Mao Zedong to I. V. Stalin",
          "date": "1951-06-21", "source": {"citation": "APRF, f. 45, op. 1, d. 339, ll. 64-65"},
          "subjects": ["Korean War, 1950-1953"]}


def stored(path: str, content: str) -> StoredFile:
    return StoredFile(path, len(content), content[:1] * 64, content[:1] * 128)


def version(number: int, files: tuple[StoredFile, ...], record: dict[str, object] | None = None,
            package_id: str = "p1") -> VersionRecord:
    return VersionRecord(package_id=package_id, number=number, identifier="telegram-1951-06-21",
                         title="Telegram", record=dict(record or RECORD), created_at=T0,
                         batch_id="b", item_id=f"i{number}",
                         files=(stored("bagit.txt", "tag"), stored(f"bag-info.txt{number}", str(number)),
                                *files))


def test_files_added_removed_changed_and_moved_are_told_apart() -> None:
    older = version(1, (stored("data/scan/page-01.tif", "aaaa"), stored("data/notes.txt", "bb"),
                        stored("data/old-name.txt", "cccc")))
    newer = version(2, (stored("data/scan/page-01.tif", "dddd!"), stored("data/new-name.txt", "cccc"),
                        stored("data/scan/page-02.tif", "eeee")))
    changes = compare_versions(older, newer)
    assert [(c.change, c.path) for c in changes.files] == [
        ("changed", "data/scan/page-01.tif"),
        ("moved", "data/new-name.txt"),
        ("added", "data/scan/page-02.tif"),
        ("removed", "data/notes.txt"),
    ]
    moved = changes.files[1]
    assert moved.before is not None and moved.before.path == "data/old-name.txt"
    changed = changes.files[0]
    assert changed.before is not None and changed.after is not None
    assert (changed.before.size, changed.after.size) == (4, 5)
    assert (changes.count("added"), changes.count("removed")) == (1, 1)


def test_tag_files_that_differ_in_every_version_are_not_changes() -> None:
    payload = (stored("data/telegram-en.txt", "text"),)
    changes = compare_versions(version(1, payload), version(2, payload))
    assert changes.unchanged and changes.files == () and changes.fields == ()


def test_record_fields_are_compared_by_pointer_and_named_as_the_schema_names_them() -> None:
    payload = (stored("data/telegram-en.txt", "text"),)
    record = {**RECORD, "date": "1951-06", "source": {"citation": "APRF, f. 45, op. 1, d. 339, l. 64"},
              "language": "en"}
    del record["subjects"]
    changes = compare_versions(version(1, payload), version(2, payload, record))
    assert [(f.change, f.pointer, f.label) for f in changes.fields] == [
        ("changed", "/date", "Date"),
        ("changed", "/source/citation", "Archival citation"),
        ("removed", "/subjects", "Subjects"),
        ("added", "/language", "Language"),
    ]
    assert changes.fields[0].before == "1951-06-21" and changes.fields[0].after == "1951-06"
    assert changes.to_dict()["metadata"][1]["label"] == "Archival citation"


def test_a_field_the_schema_does_not_name_keeps_its_own_name() -> None:
    assert field_label(["source", "shelf"]) == "shelf"
    assert field_label(["rights", "holder"]) == "Rights holder"


def test_versions_of_two_packages_are_not_compared() -> None:
    with pytest.raises(ValueError, match="two packages"):
        compare_versions(version(1, ()), version(2, (), package_id="p2"))


def test_history_gives_each_version_what_changed_since_the_one_before() -> None:
    v1 = version(1, (stored("data/a.txt", "aa"),))
    v2 = version(2, (stored("data/a.txt", "aa"), stored("data/b.txt", "bbb")))
    v3 = version(3, (stored("data/b.txt", "bbb"),), {**RECORD, "title": "Telegram (corrected)"})

    class Catalog:
        def list_versions(self, package_id: str) -> list[VersionRecord]:
            return [v1, v2, v3]

    steps = version_history(Catalog(), "p1")
    assert [s.version.number for s in steps] == [1, 2, 3]
    assert steps[0].changes is None
    assert steps[1].changes is not None and [c.path for c in steps[1].changes.files] == ["data/b.txt"]
    assert steps[2].changes is not None
    assert [(c.change, c.path) for c in steps[2].changes.files] == [("removed", "data/a.txt")]
    assert [f.label for f in steps[2].changes.fields] == ["Title"]
    assert (steps[1].payload_files, steps[1].payload_bytes) == (2, 5)
