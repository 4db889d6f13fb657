"""The two sides of every comparison: Strongroom's CLI, and the reference it is held to.

Every side runs in a child process of its own (Strongroom's CLI, a Python
running bagit), except the hashing limit, which is the bench's own loop.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.corpus import MiB, link_tree
from bench.timing import (
    Run,
    clean_env,
    python,
    run_child,
    run_child_peak_rss,
    strongroom_command,
)

_MAKE_BAGS = ("import sys, logging, bagit\n"
              "logging.disable(logging.CRITICAL)\n"
              "for folder in sys.argv[2:]:\n"
              "    bagit.make_bag(folder, checksums=['sha256', 'sha512'], processes=int(sys.argv[1]))\n")
_VALIDATE_BAGS = ("import sys, logging, bagit\n"
                  "logging.disable(logging.CRITICAL)\n"
                  "for folder in sys.argv[2:]:\n"
                  "    bagit.Bag(folder).validate(processes=int(sys.argv[1]))\n")


def submit_embedded(batch: Path, data_dir: Path, *, concurrency: int | None = None,
                    peak_rss: bool = False) -> Run:
    """``strongroom submit BATCH`` with the embedded catalog and store in ``data_dir``
    (with ``peak_rss``, its peak RSS measured apart from this harness's own)."""
    extra = {"STRONGROOM_DATA_DIR": str(data_dir)}
    if concurrency is not None:
        extra["STRONGROOM_CONCURRENCY"] = str(concurrency)
    run = run_child_peak_rss if peak_rss else run_child
    return run([*strongroom_command(), "submit", str(batch), "--json"], clean_env(**extra))


def verify_embedded(data_dir: Path) -> Run:
    """``strongroom verify --all`` over the embedded catalog and store in ``data_dir``."""
    return run_child([*strongroom_command(), "verify", "--all", "--json"],
                     clean_env(STRONGROOM_DATA_DIR=str(data_dir)))


def bagit_make(items: list[Path], scratch: Path, processes: int) -> tuple[float, list[Path]]:
    """``make_bag`` (sha256 + sha512) on hard-linked copies of ``items`` in ``scratch``;
    the copying is not timed. Returns the seconds and the bag folders."""
    if scratch.exists():
        shutil.rmtree(scratch)
    copies = []
    for item in items:
        link_tree(item, scratch / item.name)
        copies.append(scratch / item.name)
    run = run_child([python(), "-c", _MAKE_BAGS, str(processes), *map(str, copies)])
    return run.seconds, copies


def bagit_validate(bags: list[Path], processes: int) -> float:
    """``bagit.Bag(...).validate()`` (every digest of every file) over ``bags``."""
    return run_child([python(), "-c", _VALIDATE_BAGS, str(processes), *map(str, bags)]).seconds


def _hash_whole_file(path: Path) -> int:
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    buffer = bytearray(MiB)
    view = memoryview(buffer)
    size = 0
    with open(path, "rb", buffering=0) as source:
        while count := source.readinto(buffer):
            chunk = view[:count]
            sha256.update(chunk)
            sha512.update(chunk)
            size += count
    sha256.hexdigest(), sha512.hexdigest()
    return size


def hashing_limit(files: list[Path], threads: int = 2) -> tuple[float, int]:
    """The hashing limit: ``threads`` threads, each hashing whole files with sha256
    and sha512 over 1 MiB chunks (hashlib releases the GIL). Returns seconds, bytes."""
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        total = sum(pool.map(_hash_whole_file, files))
    return time.perf_counter() - start, total


def _hash_and_copy(job: tuple[Path, Path]) -> int:
    source_path, target_path = job
    sha256, sha512 = hashlib.sha256(), hashlib.sha512()
    buffer = bytearray(MiB)
    view = memoryview(buffer)
    size = 0
    with open(source_path, "rb", buffering=0) as source, open(target_path, "wb", buffering=0) as target:
        while count := source.readinto(buffer):
            chunk = view[:count]
            sha256.update(chunk)
            sha512.update(chunk)
            target.write(chunk)
            size += count
        os.fsync(target.fileno())
    sha256.hexdigest(), sha512.hexdigest()
    return size


def hash_and_copy_limit(files: list[Path], scratch: Path, threads: int = 2) -> tuple[float, int]:
    """The same loop as ``hashing_limit`` that also writes each file's copy and
    fsyncs it: the least any ingest that keeps a durable copy must do."""
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    jobs = [(path, scratch / f"copy-{index}") for index, path in enumerate(files)]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        total = sum(pool.map(_hash_and_copy, jobs))
    seconds = time.perf_counter() - start
    shutil.rmtree(scratch, ignore_errors=True)
    return seconds, total
