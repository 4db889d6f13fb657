"""P11: what a new version of a package stores (versions share unchanged bytes).

Not a speed: bytes and objects, counted in the object store after real
``strongroom submit`` runs on the embedded default. Two cases the issue names:

- a metadata-only correction of a 1 GiB item (eight files of 128 MiB): the
  bytes the second version adds to the store, against 1 MiB;
- a resubmission that changes one file of twenty (same size, other bytes): the
  payload files the second version writes, against one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.corpus import MiB, write_record, write_seeded
from bench.sides import submit_embedded

Log = Callable[[str], None]


def _stored_under(objects: Path, version: int) -> tuple[int, int, int]:
    """(bytes, objects, payload objects) under every ``{package}/v{version}/``."""
    octets = count = payload = 0
    for package in objects.iterdir():
        folder = package / f"v{version}"
        if not folder.is_dir() or package.name.startswith("_"):
            continue
        for root, _dirs, names in os.walk(folder):
            for name in names:
                octets += (Path(root) / name).stat().st_size
                count += 1
                payload += Path(root, name).relative_to(folder).parts[0] == "data"
    return octets, count, payload


def _retitle(item: Path, title: str) -> None:
    record_file = item / "metadata.json"
    record = json.loads(record_file.read_text(encoding="utf-8"))
    record["title"] = title
    record_file.write_text(json.dumps(record), encoding="utf-8")


def _submit(batch: Path, data: Path) -> None:
    report = json.loads(submit_embedded(batch, data).stdout)
    statuses = [item["status"] for item in report["items"]]
    if statuses != ["stored"]:
        raise RuntimeError(f"P11: the item was not stored: {report['items']}")


def p11_versions_share_bytes(work: Path, item_size: int, log: Log) -> dict[str, Any]:
    """Submit an item, correct its title, submit again; then twenty files, one changed."""
    root = work / "p11"
    data = root / "data"
    volume = root / "volume" / "scanned-volume"
    write_record(volume, "bench-p11-volume")
    files = 8
    for n in range(files):
        write_seeded(volume / "scans" / f"page-{n:02}.tif", item_size // files, seed=1100 + n)
    log(f"P11 version 1: one item of {files} x {item_size // files // MiB} MiB")
    _submit(root / "volume", data)
    v1_octets, _, _ = _stored_under(data / "objects", 1)
    _retitle(volume, "Benchmark volume (title corrected)")
    log("P11 version 2: the title corrected")
    _submit(root / "volume", data)
    v2_octets, v2_objects, v2_payload = _stored_under(data / "objects", 2)

    letters = root / "letters" / "letters"
    write_record(letters, "bench-p11-letters")
    for n in range(20):
        write_seeded(letters / "pages" / f"page-{n:02}.bin", 256 * 1024, seed=1200 + n)
    _submit(root / "letters", data)
    write_seeded(letters / "pages" / "page-07.bin", 256 * 1024, seed=1299)  # same size
    log("P11 version 2 of twenty files, one changed")
    _submit(root / "letters", data)
    _, _, twenty_payload = _stored_under(data / "objects", 2)
    changed_payload = twenty_payload - v2_payload
    return {
        "id": "P11", "title": f"what version 2 stores: a metadata-only correction of a "
                              f"{item_size // MiB} MiB item; one file of twenty changed",
        "figures": {
            "version 1 stored": {"median": v1_octets / MiB, "runs": [v1_octets / MiB], "unit": "MiB"},
            "version 2 (title corrected) stored": {"median": v2_octets / 1024,
                                                   "runs": [v2_octets / 1024], "unit": "KiB"},
            "version 2 (title corrected) objects": {"median": v2_objects, "runs": [v2_objects],
                                                    "unit": "objects"},
            "version 2 (one of twenty changed) payload files written": {
                "median": changed_payload, "runs": [changed_payload], "unit": "files"},
        },
        "ratios": {},
        "target": "< 1 MiB; 1 file",
        "met": v2_octets < MiB and v2_payload == 0 and changed_payload == 1,
    }
