"""The embedded measures: P1 big files, P2 small files, P5 filesystem verify,
P7 fixed cost, P4 peak RSS (embedded), and the cost of fsync on small files."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.corpus import MiB, big_file_items, linked_batch, small_file_items, warm
from bench.sides import (
    bagit_make,
    bagit_validate,
    hash_and_copy_limit,
    hashing_limit,
    submit_embedded,
    verify_embedded,
)
from bench.timing import alternate, median, python, run_child, strongroom_command

Log = Callable[[str], None]


@dataclass(frozen=True)
class Plan:
    """Sizes and repetitions of one bench run."""

    rounds: int = 3
    big_size: int = 50 * MiB
    big_items: int = 20
    small_items: int = 100
    small_files: int = 20
    small_size: int = 8 * 1024
    huge_size: int = 2048 * MiB
    s3_items: int = 10
    catalog_packages: int = 1_000_000
    scale_items: int = 10_000
    batch_items: int = 10_000
    batch_big_items: int = 10
    shared_item_size: int = 1024 * MiB

    @classmethod
    def quick(cls, rounds: int = 2) -> Plan:
        # 24 MiB: above the S3 store's single-PUT threshold, so multipart is measured
        return cls(rounds=rounds, big_size=24 * MiB, big_items=6, small_items=20,
                   huge_size=256 * MiB, s3_items=4, catalog_packages=50_000, scale_items=200,
                   shared_item_size=64 * MiB, batch_items=300, batch_big_items=2)


def summary(values: list[float], unit: str) -> dict[str, Any]:
    return {"median": median(values), "runs": values, "unit": unit}


def _rmtree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


# --------------------------------------------------------------------------- P1 / P5


def p1_big_files(work: Path, plan: Plan, log: Log, keep: dict[str, Any]) -> dict[str, Any]:
    """Marginal ingest throughput of items of one big file vs make_bag and the hashing limit."""
    items = big_file_items(work / "corpus" / "big", plan.big_items, plan.big_size, seed=1)
    warm(items)
    root = work / "p1"
    batch_all = linked_batch(items, root / "batch-all")
    batch_two = linked_batch(items[:2], root / "batch-two")
    marginal_bytes = (plan.big_items - 2) * plan.big_size

    def strongroom(_round: int) -> float:
        _rmtree(root / "data-all")
        two = submit_embedded(batch_two, root / "data-two").seconds
        _rmtree(root / "data-two")
        everything = submit_embedded(batch_all, root / "data-all").seconds
        keep["p1_data"] = root / "data-all"  # verified by P5
        return marginal_bytes / (everything - two) / 1e6

    def bagit(processes: int) -> Callable[[int], float]:
        def side(_round: int) -> float:
            two, _ = bagit_make(items[:2], root / f"bagit{processes}-two", processes)
            everything, bags = bagit_make(items, root / f"bagit{processes}-all", processes)
            keep["p1_bags"] = bags
            return marginal_bytes / (everything - two) / 1e6
        return side

    def limit(_round: int) -> float:
        seconds, total = hashing_limit([item / "payload.bin" for item in items])
        return total / seconds / 1e6

    def copy_limit(_round: int) -> float:
        seconds, total = hash_and_copy_limit([item / "payload.bin" for item in items],
                                             root / "copies")
        return total / seconds / 1e6

    figures = alternate(plan.rounds, {"strongroom": strongroom, "bagit p=1": bagit(1),
                                      "bagit p=2": bagit(2), "hashing limit": limit,
                                      "hash + durable copy limit": copy_limit}, log)
    vs_bagit = [s / max(b1, b2) for s, b1, b2 in
                zip(figures["strongroom"], figures["bagit p=1"], figures["bagit p=2"])]
    vs_limit = [s / lim for s, lim in zip(figures["strongroom"], figures["hashing limit"])]
    vs_copy = [s / lim for s, lim in zip(figures["strongroom"], figures["hash + durable copy limit"])]
    return {
        "id": "P1", "title": f"embedded ingest, items of one {plan.big_size // MiB} MiB file "
                             f"(marginal, ({plan.big_items} items - 2) / {plan.big_items - 2})",
        "figures": {name: summary(values, "MB/s") for name, values in figures.items()},
        "ratios": {"strongroom / best bagit": summary(vs_bagit, "x"),
                   "strongroom / hashing limit": summary(vs_limit, "x"),
                   "strongroom / hash + durable copy limit": summary(vs_copy, "x")},
        "target": "strongroom / hashing limit >= 0.80",
        "met": median(vs_limit) >= 0.80,
    }


def p5_verify_filesystem(plan: Plan, log: Log, keep: dict[str, Any]) -> dict[str, Any]:
    """Deep verify of the P1 packages vs bagit's validate of the P1 bags."""
    data, bags = keep["p1_data"], keep["p1_bags"]

    figures = alternate(plan.rounds, {
        "strongroom verify --all": lambda _r: verify_embedded(data).seconds,
        "bagit validate p=1": lambda _r: bagit_validate(bags, 1),
        "bagit validate p=2": lambda _r: bagit_validate(bags, 2),
    }, log)
    ratios = [s / min(b1, b2) for s, b1, b2 in zip(*figures.values())]
    return {
        "id": "P5 fs", "title": f"deep verify of the P1 packages ({plan.big_items} x "
                                f"{plan.big_size // MiB} MiB), filesystem",
        "figures": {name: summary(values, "s") for name, values in figures.items()},
        "ratios": {"strongroom / best bagit (wall)": summary(ratios, "x")},
        "target": "wall <= 1.0x bagit", "met": median(ratios) <= 1.0,
    }


# --------------------------------------------------------------------------- P2


def p2_small_files(work: Path, plan: Plan, log: Log) -> dict[str, Any]:
    """Wall time of ingesting many small files vs make_bag on the same folders."""
    items = small_file_items(work / "corpus" / "small", plan.small_items, plan.small_files,
                             plan.small_size, seed=2)
    warm(items)
    root = work / "p2"
    batch = linked_batch(items, root / "batch")

    # Every round writes to folders of its own, all removed at the end: files
    # deleted just before a round slow its creating of files (ext4 passes over
    # every inode freed in the last 5 to 300 seconds for each new one), which
    # weighed on whichever side came after a deletion, most on the one that
    # creates most files.
    def strongroom(round_: int) -> float:
        return submit_embedded(batch, root / f"data-{round_}").seconds

    figures = alternate(plan.rounds, {
        "strongroom": strongroom,
        "bagit p=1": lambda r: bagit_make(items, root / f"bagit1-{r}", 1)[0],
        "bagit p=2": lambda r: bagit_make(items, root / f"bagit2-{r}", 2)[0],
        "copy floor": lambda r: copy_floor(items, root / f"copies-{r}", tag_files=6),
    }, log)
    for round_ in range(plan.rounds):
        for name in ("data", "bagit1", "bagit2", "copies"):
            _rmtree(root / f"{name}-{round_}")
    ratios = [s / min(b1, b2) for s, b1, b2 in
              zip(figures["strongroom"], figures["bagit p=1"], figures["bagit p=2"])]
    floor_ratios = [f / min(b1, b2) for f, b1, b2 in
                    zip(figures["copy floor"], figures["bagit p=1"], figures["bagit p=2"])]
    objects = plan.small_items * (plan.small_files + 6)  # payload + 6 tag files per bag
    probe = fsync_probe(work / "p2-fsync", objects)
    return {
        "id": "P2", "title": f"embedded ingest of {plan.small_items} items x "
                             f"{plan.small_files} files of {plan.small_size // 1024} KiB",
        "figures": {name: summary(values, "s") for name, values in figures.items()},
        "ratios": {"strongroom / best bagit (wall)": summary(ratios, "x"),
                   "copy floor / best bagit (wall)": summary(floor_ratios, "x")},
        "target": "wall <= 2.0x bagit", "met": median(ratios) <= 2.0,
        "fsync_probe": probe,
    }


def copy_floor(items: list[Path], scratch: Path, tag_files: int) -> float:
    """Seconds to copy every file of ``items`` into new files under ``scratch`` and
    write ``tag_files`` small files beside each: what any ingest that keeps its
    own copy of a bag must do on this filesystem, with no hashing, no fsync and
    no catalog (make_bag, working in place, moves the files it is given). The
    caller removes ``scratch``."""
    start = time.perf_counter()
    for item in items:
        target = scratch / item.name
        for folder, _dirs, files in os.walk(item):
            relative = Path(folder).relative_to(item)
            (target / "data" / relative).mkdir(parents=True, exist_ok=True)
            for name in files:
                with open(Path(folder) / name, "rb") as source, \
                        open(target / "data" / relative / name, "xb") as copy:
                    copy.write(source.read())
        for index in range(tag_files):
            with open(target / f"tag-{index}.txt", "xb") as tag:
                tag.write(b"x" * 200)
    return time.perf_counter() - start


def fsync_probe(root: Path, objects: int) -> dict[str, Any]:
    """What durability costs: ``objects`` small objects written through the
    filesystem store, 26 per version prefix as in a bag of 20 files, each prefix
    made durable by ``sync`` as the pipeline does before a commit, vs the same
    writes with no fsync at all, on one thread."""
    from storage.filesystem import FilesystemObjectStore

    data = os.urandom(8 * 1024)
    _rmtree(root)
    store = FilesystemObjectStore(root / "store")
    start = time.perf_counter()
    for index in range(objects):
        store.put_bytes(f"p{index // 26}/v1/data/f{index % 26}.bin", data, "")
        if index % 26 == 25 or index == objects - 1:
            store.sync(f"p{index // 26}/")
    durable = time.perf_counter() - start
    plain_root = root / "plain"
    start = time.perf_counter()
    for index in range(objects):
        folder = plain_root / f"p{index // 26}" / "v1" / "data"
        folder.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=plain_root)
        os.write(fd, data)
        os.close(fd)
        os.replace(name, folder / f"f{index % 26}.bin")
    plain = time.perf_counter() - start
    _rmtree(root)
    return {"objects": objects, "store_seconds": durable, "no_fsync_seconds": plain,
            "fsync_ms_per_object": (durable - plain) / objects * 1000}


# --------------------------------------------------------------------------- P7 / P4


def p7_fixed_cost(work: Path, plan: Plan, log: Log) -> dict[str, Any]:
    """Start-up and one-item submit cost vs an empty Python and bagit.py --help."""
    root = work / "p7"
    item = big_file_items(root / "corpus", 1, 1024, seed=7)
    data = root / "data"
    submit_embedded(linked_batch(item, root / "batch-warm", "-warm"), data)  # creates the catalog
    bagit_script = str(Path(python()).parent / "bagit.py")

    def one_item(index: int) -> float:
        batch = linked_batch(item, root / f"batch-{index}", f"-{index}")
        return submit_embedded(batch, data).seconds

    figures = alternate(max(plan.rounds, 5), {
        "python -c pass": lambda _r: run_child([python(), "-c", "pass"]).seconds,
        "strongroom --help": lambda _r: run_child([*strongroom_command(), "--help"]).seconds,
        "bagit.py --help": lambda _r: run_child([python(), bagit_script, "--help"]).seconds,
        "strongroom submit (1 item)": one_item,
    }, log)
    return {
        "id": "P7", "title": "fixed cost of one command",
        "figures": {name: summary(values, "s") for name, values in figures.items()},
        "ratios": {"strongroom --help / bagit.py --help": summary(
            [s / b for s, b in zip(figures["strongroom --help"], figures["bagit.py --help"])], "x")},
        "target": "strongroom --help < 0.3 s", "met": median(figures["strongroom --help"]) < 0.3,
    }


def p4_rss_embedded(work: Path, plan: Plan, log: Log) -> dict[str, Any]:
    """Peak RSS of the ingesting process for one small and one huge file (embedded)."""
    from bench.corpus import write_record, write_seeded

    root = work / "p4"
    figures: dict[str, float] = {}
    for label, size in (("small", 50 * MiB), ("huge", plan.huge_size)):
        item = root / f"batch-{label}" / f"item-{label}"
        write_record(item, f"bench-rss-{label}")
        if not (item / "payload.bin").exists():
            write_seeded(item / "payload.bin", size, seed=40 + len(label))
        run = submit_embedded(item.parent, root / f"data-{label}", peak_rss=True)
        figures[label] = run.max_rss_kib / 1024
        log(f"  P4 embedded {label} ({size // MiB} MiB): peak RSS {figures[label]:.1f} MiB, "
            f"{run.seconds:.1f} s")
        _rmtree(root / f"data-{label}")
    return rss_result("P4 embedded", plan, figures)


def rss_result(name: str, plan: Plan, figures: dict[str, float]) -> dict[str, Any]:
    ratio = figures["huge"] / figures["small"]
    return {
        "id": name, "title": f"peak RSS of the ingesting process: one {plan.huge_size // MiB} MiB "
                             f"file vs one 50 MiB file",
        "figures": {"50 MiB file": summary([figures["small"]], "MiB"),
                    f"{plan.huge_size // MiB} MiB file": summary([figures["huge"]], "MiB")},
        "ratios": {"huge / small": summary([ratio], "x")},
        "target": "ratio <= 1.2 and <= 150 MiB",
        "met": ratio <= 1.2 and figures["huge"] <= 150,
    }
