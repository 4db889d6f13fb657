"""A received bag's files outside data/ are read into memory (to check them
against its tag manifests, and to carry them into the new bag), each up to
MAX_TAG_FILE_BYTES. Before, nothing bounded them together: a bag with many such
files just under that size had every one read, so that a small upload (a zip of
compressible files) made a worker hold gigabytes and die. Now, past
MAX_TAG_TOTAL_BYTES in all, the rest are not read and the item is refused with
RECEIVED_BAG_INVALID saying so; the payload (data/) may be as large as ever.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import bagit

from ingest.batch import MAX_TAG_FILE_BYTES, MAX_TAG_TOTAL_BYTES, scan_item

BAG_INFO = {"External-Identifier": "deposit-2024-018", "Title": "Tag files in bulk",
            "Bagging-Date": "2024-04-30"}


def _bag_with_large_tag_files(item: Path, count: int, size: int) -> None:
    (item / "scan").mkdir(parents=True)
    (item / "scan" / "page-01.txt").write_bytes(b"a page\n")
    bagit.make_bag(str(item), bag_info=dict(BAG_INFO), checksums=["sha256"])
    (item / "extra").mkdir()
    for n in range(count):
        with open(item / "extra" / f"tag-{n}.bin", "wb") as f:  # sparse: no disk used
            f.truncate(size)


def test_a_received_bag_whose_tag_files_are_too_large_in_all_is_refused_without_reading_them(
        tmp_path: Path) -> None:
    size = MAX_TAG_FILE_BYTES - 1  # each one under the limit of one file
    count = MAX_TAG_TOTAL_BYTES // size + 2
    item = tmp_path / "batch" / "deposit"
    _bag_with_large_tag_files(item, count, size)

    tracemalloc.start()
    try:
        scan = scan_item(item, within=item.parent)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    refused = [f for f in scan.findings if f.code == "RECEIVED_BAG_INVALID"
               and "in all" in f.message]
    assert refused, [f.to_dict() for f in scan.findings]
    assert str(MAX_TAG_TOTAL_BYTES) in refused[0].message or "MiB" in refused[0].message
    assert peak < MAX_TAG_TOTAL_BYTES + 16 * 1024 * 1024, f"{peak} bytes held while scanning"


def test_a_received_bag_with_tag_files_within_the_budget_is_read_as_before(tmp_path: Path) -> None:
    item = tmp_path / "batch" / "deposit"
    _bag_with_large_tag_files(item, 2, 1024)
    scan = scan_item(item, within=item.parent)
    assert not [f for f in scan.findings if f.severity == "error"], \
        [f.to_dict() for f in scan.findings]
    assert scan.received is not None
    assert sorted(p for p, _ in scan.received.other_tags if p.startswith("extra/")) == \
        ["extra/tag-0.bin", "extra/tag-1.bin"]
