"""P8: one batch of many mixed items, end to end, embedded and distributed.

The batch (``Plan.batch_items`` items, seeded random bytes): every item but
``Plan.batch_big_items`` holds one to four files of 4–64 KiB; those few hold
one ``Plan.big_size`` file each, spread through the batch. Both sides:

- **embedded**: ``strongroom submit BATCH`` with no broker (filesystem store,
  SQLite catalog; as P1 and P2 run it), against LOC bagit's ``make_bag``
  (``processes=1``) making the same bags on hard-linked copies of the same
  folders, one after the other (A B), each from the page cache;
- **distributed**: ``strongroom submit BATCH`` (no ``--wait``) to
  ``WORKERS`` ``strongroom worker --concurrency 1`` processes on Redis,
  PostgreSQL and SeaweedFS, started as P10 starts them
  (``bench.services.workers``); the batch is staged, as by default with a broker.

While a side runs, a sampler reads every ``SAMPLE_EVERY`` seconds the items
finished (from the catalog: SQLite read-only, or ``list_batches``' counts) and
the resident set (``VmRSS``) of every Strongroom process (the submitting CLI
and its children, or each worker and its pool process): memory must not grow
with the items done. Once every item is finished, ``strongroom status BATCH``
and ``strongroom list`` are each run ``QUERY_RUNS`` times as a user runs them
(the CLI, human output, a new process each time) and their median kept.
"""

from __future__ import annotations

import json
import random
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bench.corpus import MiB, link_tree, linked_batch, warm, write_record, write_seeded
from bench.measures import Log, Plan, summary
from bench.sides import bagit_make
from bench.timing import clean_env, median, run_child, strongroom_command

#: Seconds between two samples of progress and resident memory.
SAMPLE_EVERY = 2.0
#: Runs of ``strongroom status`` and ``strongroom list`` at the end (median kept).
QUERY_RUNS = 5
#: Distributed side: worker processes, each with one pool process (as P10).
WORKERS = 4
#: Small files: one to four per item, each of 4 to 64 KiB.
SMALL_FILES = (1, 4)
SMALL_SIZES = (4 * 1024, 64 * 1024)
#: Under 1 s at the batch's end, as the CLI a user runs.
QUERY_TARGET_S = 1.0


def mixed_items(root: Path, count: int, big_count: int, big_size: int, seed: int) -> list[Path]:
    """``count`` item folders under ``root``: ``big_count`` of them (spread evenly)
    hold one ``big_size``-byte file, the others one to four files of 4–64 KiB."""
    rng = random.Random(seed)
    every = count // big_count if big_count else count + 1
    folders = []
    for index in range(count):
        folder = root / f"item-{index:05d}"
        big = big_count > 0 and index % every == every // 2 and index // every < big_count
        files = [] if big else [rng.randint(*SMALL_SIZES) for _ in range(rng.randint(*SMALL_FILES))]
        if not (folder / "metadata.json").exists():
            write_record(folder, f"bench-mixed-{seed}-{index:05d}")
            if big:
                write_seeded(folder / "video" / "master.bin", big_size, seed * 100_000 + index)
            for number, size in enumerate(files):
                target = folder / "pages" / f"page-{number:02d}.bin"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(rng.randbytes(size))
        folders.append(folder)
    return folders


# --------------------------------------------------------------------------- memory


def _children(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            text = (task / "children").read_text()
            found.extend(int(child) for child in text.split())
    except OSError:
        pass
    return found


def _rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(pids: list[int]) -> dict[int, int]:
    """The resident set (KiB, ``VmRSS``) of each of ``pids`` and of every
    descendant of theirs, by pid (Linux ``/proc``; a process gone reads 0)."""
    sizes: dict[int, int] = {}
    todo = list(pids)
    while todo:
        pid = todo.pop()
        if pid not in sizes:
            sizes[pid] = _rss_kib(pid)
            todo.extend(_children(pid))
    return sizes


# --------------------------------------------------------------------------- sampling


class Sampler:
    """Progress and resident memory of one side, every ``SAMPLE_EVERY`` seconds."""

    def __init__(self, total: int, done: Callable[[], int | None], pids: Callable[[], list[int]],
                 log: Log, label: str) -> None:
        self.total, self._done, self._pids, self._log, self._label = total, done, pids, log, label
        self.samples: list[dict[str, Any]] = []
        self.started = time.perf_counter()

    def sample(self) -> int:
        sizes = tree_rss_kib(self._pids())
        done = self._done()
        at = time.perf_counter() - self.started
        if done is None:  # the catalog is not there yet
            done = 0
        if not any(sizes.values()):  # every process has exited: nothing to read
            if self.samples:
                self.samples[-1]["done"] = max(self.samples[-1]["done"], done)
            return done
        self.samples.append({"t": round(at, 2), "done": done,
                             "rss_mib": round(sum(sizes.values()) / 1024, 1),
                             "largest_process_mib": round(max(sizes.values(), default=0) / 1024, 1),
                             "processes": len(sizes)})
        if len(self.samples) % 15 == 1 or done >= self.total:
            self._log(f"  P8 {self._label} t={at:.0f}s done={done}/{self.total} "
                      f"RSS {self.samples[-1]['rss_mib']} MiB in {len(sizes)} processes")
        return done

    def at_fractions(self) -> dict[str, dict[str, Any]]:
        """The sample at which 10 %, 50 % and 100 % of the items were done, with
        the largest RSS of any sample up to it (memory flat: the three agree)."""
        out: dict[str, dict[str, Any]] = {}
        for fraction in (0.1, 0.5, 1.0):
            reached = [s for s in self.samples if s["done"] >= fraction * self.total]
            if not reached:
                continue
            first = reached[0]
            upto = [s for s in self.samples if s["t"] <= first["t"]]
            out[f"{int(fraction * 100)} %"] = {
                "t": first["t"], "done": first["done"], "rss_mib": first["rss_mib"],
                "peak_rss_so_far_mib": max(s["rss_mib"] for s in upto),
                "largest_process_peak_so_far_mib": max(s["largest_process_mib"] for s in upto)}
        return out


def _sqlite_done(database: Path) -> Callable[[], int | None]:
    def done() -> int | None:
        if not database.exists():
            return None
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=1) as db:
                row = db.execute("SELECT count(*) FROM items WHERE status != 'accepted'").fetchone()
            return int(row[0])
        except sqlite3.Error:
            return None
    return done


# --------------------------------------------------------------------------- the CLI at the end


def _human(args: list[str], env: Mapping[str, str]) -> float:
    """Seconds of one CLI command with human output (exit 0 or 1: a batch with a
    finding exits 1), its output read as a terminal would."""
    return run_child([*strongroom_command(), *args], env, ok=(0, 1)).seconds


def time_queries(batch_id: str, env: Mapping[str, str], log: Log, label: str) -> dict[str, list[float]]:
    """``strongroom status BATCH`` and ``strongroom list``, ``QUERY_RUNS`` times each, in turn."""
    times: dict[str, list[float]] = {"status": [], "list": []}
    for _ in range(QUERY_RUNS):
        times["status"].append(_human(["status", batch_id], env))
        times["list"].append(_human(["list"], env))
    log(f"  P8 {label}: strongroom status {median(times['status']):.2f} s, "
        f"strongroom list {median(times['list']):.2f} s (median of {QUERY_RUNS})")
    return times


# --------------------------------------------------------------------------- the two sides


@contextmanager
def _started(args: list[str], env: Mapping[str, str]) -> Iterator[tuple[subprocess.Popen[bytes], Any]]:
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        process = subprocess.Popen(args, env=dict(env), stdout=out, stderr=err,
                                   stdin=subprocess.DEVNULL)
        try:
            yield process, (out, err)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _sample_until_exit(process: subprocess.Popen[bytes], sampler: Sampler) -> None:
    """Sample every ``SAMPLE_EVERY`` seconds until ``process`` has exited."""
    while process.poll() is None:
        sampler.sample()
        try:
            process.wait(timeout=SAMPLE_EVERY)
        except subprocess.TimeoutExpired:
            pass


def _embedded(batch: Path, data: Path, total: int, log: Log) -> tuple[float, Sampler, str]:
    """``strongroom submit BATCH --json`` (no broker) sampled while it runs."""
    env = clean_env(STRONGROOM_DATA_DIR=str(data))
    with _started([*strongroom_command(), "submit", str(batch), "--json"], env) as (process, (out, err)):
        sampler = Sampler(total, _sqlite_done(data / "catalog.sqlite3"), lambda: [process.pid],
                          log, "embedded")
        _sample_until_exit(process, sampler)
        seconds = time.perf_counter() - sampler.started
        sampler.sample()
        out.seek(0)
        err.seek(0)
        if process.returncode not in (0, 1):
            raise RuntimeError(f"P8 embedded: submit exited {process.returncode}: "
                               f"{err.read().decode(errors='replace')[-2000:]}")
        report = json.loads(out.read())
    _check_stored(report["counts"], total, "embedded")
    return seconds, sampler, report["batch_id"]


def _check_stored(counts: Mapping[str, int], total: int, label: str) -> None:
    if counts.get("stored", 0) != total:
        raise RuntimeError(f"P8 {label}: {counts.get('stored', 0)} of {total} items stored: {counts}")


def _bagit(items: list[Path], scratch: Path) -> float:
    return bagit_make(items, scratch, 1)[0]


def p8_embedded(work: Path, plan: Plan, log: Log) -> dict[str, Any]:
    """Embedded ``submit`` of the mixed batch vs ``make_bag`` (p=1) of the same folders."""
    items = mixed_corpus(work, plan)
    warm(items)
    root = work / "p8"
    batch = linked_batch(items, root / "batch")
    data = root / "data"
    seconds, sampler, batch_id = _embedded(batch, data, plan.batch_items, log)
    log(f"  P8 embedded: {plan.batch_items} items in {seconds:.1f} s")
    bagit_seconds = _bagit(items, root / "bagit1")
    log(f"  P8 bagit p=1: {plan.batch_items} bags in {bagit_seconds:.1f} s")
    queries = time_queries(batch_id, clean_env(STRONGROOM_DATA_DIR=str(data)), log, "embedded")
    ours, theirs = plan.batch_items / seconds, plan.batch_items / bagit_seconds
    return _result("P8 embedded", "embedded submit (filesystem store, SQLite catalog) vs "
                                  "make_bag p=1", plan, sampler, queries,
                   {"strongroom submit": summary([ours], "items/s"),
                    "bagit make_bag p=1": summary([theirs], "items/s")},
                   {"strongroom / bagit p=1": summary([ours / theirs], "x")})


def p8_distributed(work: Path, plan: Plan, log: Log, svc: dict[str, Any]) -> dict[str, Any]:
    """``submit`` (staged) of the mixed batch to ``WORKERS`` workers; sampled until done."""
    from bench.services import workers
    from storage.catalog import SqlCatalog

    env = svc["env"]
    items = mixed_corpus(work, plan)
    warm(items)
    root = work / "p8-distributed"
    batch = root / "batch"
    if not batch.exists():
        for item in items:
            link_tree(item, batch / item.name)
    catalog = SqlCatalog.from_url(env["STRONGROOM_DATABASE_URL"], migrate=False)
    batch_id: list[str] = []

    def done() -> int | None:
        if not batch_id:
            return None
        for summary_ in catalog.list_batches(limit=10):
            if summary_.batch.batch_id == batch_id[0]:
                return plan.batch_items - summary_.items.get("accepted", 0)
        return None

    try:
        with workers(env, work, WORKERS, concurrency=1, name="p8") as pids:
            sampler = Sampler(plan.batch_items, done, lambda: pids, log, "distributed")
            with _started([*strongroom_command(), "submit", str(batch), "--json"],
                          env) as (process, (out, err)):
                _sample_until_exit(process, sampler)
                submit_seconds = time.perf_counter() - sampler.started
                out.seek(0)
                err.seek(0)
                if process.returncode != 0:
                    raise RuntimeError(f"P8 distributed: submit exited {process.returncode}: "
                                       f"{err.read().decode(errors='replace')[-2000:]}")
                batch_id.append(json.loads(out.read())["batch_id"])
            log(f"  P8 distributed: submit returned in {submit_seconds:.1f} s")
            while sampler.sample() < plan.batch_items:
                time.sleep(SAMPLE_EVERY)
            seconds = sampler.samples[-1]["t"]
        counts = next(s.items for s in catalog.list_batches(limit=10)
                      if s.batch.batch_id == batch_id[0])
    finally:
        catalog.engine.dispose()
    _check_stored(counts, plan.batch_items, "distributed")
    log(f"  P8 distributed: {plan.batch_items} items in {seconds:.1f} s")
    queries = time_queries(batch_id[0], env, log, "distributed")
    return _result("P8 distributed", f"submit (staged) to {WORKERS} strongroom worker "
                                     f"--concurrency 1 (Redis, PostgreSQL, SeaweedFS)",
                   plan, sampler, queries,
                   {"strongroom submit, to the last item stored": summary(
                       [plan.batch_items / seconds], "items/s"),
                    "submit (returns once every item is staged, registered and sent)":
                       summary([submit_seconds], "s")}, {})


def mixed_corpus(work: Path, plan: Plan) -> list[Path]:
    return mixed_items(work / "corpus" / "mixed", plan.batch_items, plan.batch_big_items,
                       plan.big_size, seed=8)


def _result(name: str, how: str, plan: Plan, sampler: Sampler, queries: dict[str, list[float]],
            figures: dict[str, Any], ratios: dict[str, Any]) -> dict[str, Any]:
    fractions = sampler.at_fractions()
    for label, point in fractions.items():
        figures[f"RSS of the strongroom processes at {label} of the items"] = summary(
            [point["rss_mib"]], "MiB")
    peaks = [s["rss_mib"] for s in sampler.samples]
    figures["peak RSS over the run (all strongroom processes)"] = summary([max(peaks)], "MiB")
    figures["strongroom status BATCH (CLI)"] = summary(queries["status"], "s")
    figures["strongroom list (CLI)"] = summary(queries["list"], "s")
    at_half = fractions.get("50 %", {}).get("peak_rss_so_far_mib", float("nan"))
    growth = max(peaks) / at_half if at_half else float("nan")
    ratios["peak RSS over the run / peak RSS up to 50 % of the items"] = summary([growth], "x")
    slowest = max(median(queries["status"]), median(queries["list"]))
    return {
        "id": name,
        "title": f"{plan.batch_items:,} items ({plan.batch_items - plan.batch_big_items:,} of 1–4 "
                 f"files of 4–64 KiB, {plan.batch_big_items} of one {plan.big_size // MiB} MiB "
                 f"file), {how}",
        "figures": figures, "ratios": ratios,
        "target": "RSS flat (<= 1.2x); status and list < 1 s",
        "met": growth <= 1.2 and slowest < QUERY_TARGET_S,
        "samples": sampler.samples, "rss_at": fractions,
    }
