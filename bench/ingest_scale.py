"""P10: 10,000 small items across four worker processes, distributed mode.

One batch of ``Plan.scale_items`` items (one 4 KiB payload file and a record
each) is submitted with ``strongroom submit`` (no ``--wait``) to four
``strongroom worker --concurrency 1`` processes on Redis, PostgreSQL and
SeaweedFS, all on this machine. While the workers run, a sampler looks every
``SAMPLE_EVERY`` seconds at:

- the ingest queue's depth (``LLEN`` of its Redis lists, as
  ``workers.queue_depth`` reads it: messages no worker has taken yet);
- items finished so far (from the catalog), hence items per second over the
  last interval;
- how long the catalog's reads take while the workers write: the batch status
  (``strongroom status``: the batch, its counts and every item), the recent
  batches with their counts (the console's batches page) and one page of the
  package listing (keyset, 50 rows), each through ``SqlCatalog`` as the CLI and
  the API call it.

At the end it reads each table's size with ``pg_total_relation_size`` and its
rows, for ``docs/scaling.md``. There is no other side: this measure has no
reference tool and no target; it shows what one machine sustains and where the
time goes as the catalog fills.
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from pathlib import Path
from typing import Any

from bench.corpus import write_record
from bench.measures import Log, Plan, summary
from bench.timing import run_child, strongroom_command

#: Seconds between two samples of queue depth, progress and query times.
SAMPLE_EVERY = 5.0
#: Worker processes, each with one pool process.
WORKERS = 4
#: Bytes of each item's one payload file.
PAYLOAD_SIZE = 4096


def scale_items(root: Path, count: int) -> Path:
    """A batch folder of ``count`` items, each a record and one 4 KiB file."""
    batch = root / "batch"
    if batch.exists():
        return batch
    for index in range(count):
        folder = batch / f"item-{index:05d}"
        write_record(folder, f"bench-scale-{index:05d}")
        # Distinct bytes per item (the index in the first bytes), no RNG cost.
        (folder / "page.bin").write_bytes(index.to_bytes(8, "big") * (PAYLOAD_SIZE // 8))
    return batch


def _ms(action: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    value = action()
    return (time.perf_counter() - start) * 1000, value


def p10_ten_thousand(work: Path, plan: Plan, log: Log, svc: dict[str, Any]) -> dict[str, Any]:
    """Submit ``plan.scale_items`` small items to four workers; sample while they run."""
    import redis

    from bench.services import workers
    from storage.catalog import SqlCatalog
    from storage.catalog_access import PackageQuery
    from strongroom.reports import batch_report
    from workers.queue_depth import queue_depths

    env = svc["env"]
    root = work / "p10"
    batch = scale_items(root, plan.scale_items)
    catalog = SqlCatalog.from_url(env["STRONGROOM_DATABASE_URL"], migrate=False)
    broker = env["STRONGROOM_BROKER_URL"]
    samples: list[dict[str, Any]] = []
    with workers(env, work, WORKERS, concurrency=1, name="scale"):
        submitted_at = time.perf_counter()
        run = run_child([*strongroom_command(), "submit", str(batch), "--json"], env)
        submit_seconds = run.seconds
        batch_id = json.loads(run.stdout)["batch_id"]
        log(f"  P10: submit of {plan.scale_items} items returned in {submit_seconds:.1f} s")
        done_before, at_before = 0, submitted_at
        stop = threading.Event()
        while not stop.is_set():
            depth = queue_depths(broker)["ingest"]
            status_ms, report = _ms(lambda: batch_report(catalog, batch_id))
            batches_ms, _ = _ms(lambda: catalog.list_batches(limit=50))
            page_ms, _ = _ms(lambda: catalog.search_packages(PackageQuery(), limit=50))
            now = time.perf_counter()
            counts = report["counts"]
            done = plan.scale_items - counts["accepted"]
            samples.append({
                "t": round(now - submitted_at, 2), "queue_depth": depth, "done": done,
                "stored": counts["stored"], "failed": counts["failed"],
                "rejected": counts["rejected"],
                "items_per_s": round((done - done_before) / (now - at_before), 2),
                "status_ms": round(status_ms, 1), "batches_ms": round(batches_ms, 1),
                "page_ms": round(page_ms, 1)})
            log(f"  P10 t={samples[-1]['t']:.0f}s done={done} queue={depth} "
                f"{samples[-1]['items_per_s']}/s status {status_ms:.0f} ms "
                f"batches {batches_ms:.0f} ms page {page_ms:.0f} ms")
            done_before, at_before = done, now
            if done >= plan.scale_items:
                break
            stop.wait(SAMPLE_EVERY)
        finished_at = samples[-1]["t"]
    sizes = table_sizes(catalog)
    catalog.engine.dispose()
    redis.Redis.from_url(broker).close()
    stored = samples[-1]["stored"]
    if stored != plan.scale_items:
        raise RuntimeError(f"P10: {stored} of {plan.scale_items} items stored: {samples[-1]}")
    # While the queue held work: what the workers sustain, without the tail.
    steady = [s for s in samples if s["queue_depth"] > 0 and s["t"] > submit_seconds] or samples
    figures = {
        "submit (returns once every item is registered and sent)": summary([submit_seconds], "s"),
        "whole run, submit to last item stored": summary([finished_at], "s"),
        "items per second, whole run": summary([plan.scale_items / finished_at], "items/s"),
        "items per second, per sample while the queue was not empty": summary(
            [s["items_per_s"] for s in steady], "items/s"),
        "ingest queue depth (LLEN), per sample": summary([s["queue_depth"] for s in samples],
                                                         "messages"),
        "batch status (every item of the batch)": summary([s["status_ms"] for s in samples], "ms"),
        "recent batches with counts": summary([s["batches_ms"] for s in samples], "ms"),
        "one page of the package listing": summary([s["page_ms"] for s in samples], "ms"),
    }
    return {"id": "P10", "title": f"{plan.scale_items:,} items of one 4 KiB file, "
                                  f"{WORKERS} worker processes (Redis, PostgreSQL, SeaweedFS)",
            "figures": figures, "ratios": {}, "target": "none (measured for docs/scaling.md)",
            "met": True, "samples": samples, "table_sizes": sizes,
            "notes": [f"peak queue depth {max(s['queue_depth'] for s in samples):,}; "
                      f"median of the samples taken while the queue was not empty: "
                      f"{statistics.median([s['items_per_s'] for s in steady]):.1f} items/s"]}


def table_sizes(catalog: Any) -> dict[str, dict[str, int]]:
    """Rows and ``pg_total_relation_size`` (table, indexes, TOAST) of each catalog table."""
    from sqlalchemy import text

    with catalog._read() as session:
        names = [row[0] for row in session.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"))]
        sizes = {}
        for name in names:
            rows = session.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            total, indexes = session.execute(text(
                "SELECT pg_total_relation_size(CAST(:t AS regclass)), "
                "pg_indexes_size(CAST(:t AS regclass))"), {"t": f'"{name}"'}).one()
            if rows:
                sizes[name] = {"rows": int(rows), "bytes": int(total), "index_bytes": int(indexes)}
    return sizes
