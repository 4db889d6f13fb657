"""Deterministic corpora: batch folders of items filled with seeded random bytes.

The same seed gives the same bytes on every machine, so two runs of the bench
hash exactly the same data. Copies for bagit (which converts a folder in place)
are hard links: instant, no extra disk, and the same pages of the page cache.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path

MiB = 1024 * 1024
_BLOCK = 8 * MiB


def write_seeded(path: Path, size: int, seed: int) -> None:
    """Write ``size`` bytes of ``random.Random(seed)`` output to ``path``."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as out:
        left = size
        while left > 0:
            step = min(_BLOCK, left)
            out.write(rng.randbytes(step))
            left -= step


def write_record(folder: Path, identifier: str) -> None:
    """The smallest valid ``metadata.json`` of the default schema."""
    folder.mkdir(parents=True, exist_ok=True)
    record = {"identifier": identifier, "title": f"Benchmark item {identifier}", "date": "1951-06"}
    (folder / "metadata.json").write_text(json.dumps(record), encoding="utf-8")


def big_file_items(root: Path, count: int, size: int, seed: int) -> list[Path]:
    """``count`` item folders under ``root``, each with one ``size``-byte payload file."""
    folders = []
    for index in range(count):
        folder = root / f"item-{index:03d}"
        if not (folder / "payload.bin").exists():
            write_record(folder, f"bench-big-{seed}-{index:03d}")
            write_seeded(folder / "payload.bin", size, seed * 100_000 + index)
        folders.append(folder)
    return folders


def small_file_items(root: Path, count: int, files: int, size: int, seed: int) -> list[Path]:
    """``count`` item folders of ``files`` payload files of ``size`` bytes each."""
    rng = random.Random(seed)
    folders = []
    for index in range(count):
        folder = root / f"item-{index:03d}"
        if not folder.exists():
            write_record(folder, f"bench-small-{seed}-{index:03d}")
            for number in range(files):
                target = folder / "pages" / f"page-{number:02d}.bin"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(rng.randbytes(size))
        folders.append(folder)
    return folders


def linked_batch(items: list[Path], batch: Path, identifier_suffix: str = "") -> Path:
    """A batch folder whose items hard-link the payload of ``items``.

    With ``identifier_suffix`` every record gets a new identifier, so the same
    bytes are ingested again as new packages rather than found ``unchanged``.
    """
    batch.mkdir(parents=True, exist_ok=False)
    for item in items:
        target = batch / item.name
        link_tree(item, target)
        if identifier_suffix:
            record_file = target / "metadata.json"
            record = json.loads(record_file.read_text(encoding="utf-8"))
            record_file.unlink()  # a link: never rewrite the original's bytes
            record["identifier"] += identifier_suffix
            record_file.write_text(json.dumps(record), encoding="utf-8")
    return batch


def link_tree(source: Path, target: Path) -> None:
    """Recreate ``source`` at ``target`` with hard links to its files."""
    for folder, _dirs, names in os.walk(source):
        relative = Path(folder).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in names:
            os.link(Path(folder) / name, target / relative / name)


def warm(paths: list[Path]) -> None:
    """Read every file once so all sides start from the page cache."""
    for path in paths:
        for folder, _dirs, names in os.walk(path):
            for name in names:
                with open(Path(folder) / name, "rb") as source:
                    while source.read(_BLOCK):
                        pass
