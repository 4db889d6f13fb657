"""The measures that need real services: P3 distributed ingest vs raw PUT, P5 S3
verify vs a GET + SHA-256 + SHA-512 loop (and shallow verify vs a HEAD loop), P4
peak RSS with S3, P6 a catalog of a million packages.

Services are started the way the integration tests start them (a ``weed mini``
of our own, Redis and PostgreSQL on loopback), with a throwaway PostgreSQL
database, Redis database 14 (``STRONGROOM_BENCH_REDIS_DB`` chooses another; flushed
before and after) and a bucket of our own.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from bench.corpus import (
    MiB,
    big_file_items,
    linked_batch,
    warm,
    write_record,
    write_seeded,
)
from bench.measures import Log, Plan, rss_result, summary
from bench.timing import (
    alternate,
    clean_env,
    run_child,
    run_child_peak_rss,
    strongroom_command,
)

REDIS_DB = int(os.environ.get("STRONGROOM_BENCH_REDIS_DB", "14"))


@contextmanager
def services(work: Path) -> Iterator[dict[str, Any]]:
    """SeaweedFS, Redis db ``REDIS_DB``, a fresh PostgreSQL database and bucket; all removed after."""
    import redis

    from tests.integration.services import (
        REDIS_PORT,
        SeaweedServer,
        createdb,
        dropdb,
        ensure_postgres,
        ensure_redis,
        postgres_url,
        require_loopback,
    )

    ensure_redis()
    ensure_postgres()
    redis_url = require_loopback(f"redis://127.0.0.1:{REDIS_PORT}/{REDIS_DB}")
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    database = f"strongroom_bench_{uuid.uuid4().hex[:12]}"
    createdb(database)
    server = _start_seaweed(work, SeaweedServer)
    bucket = f"bench-{uuid.uuid4().hex[:12]}"
    try:
        client = server.endpoint.client()
        env = clean_env(
            STRONGROOM_DATABASE_URL=require_loopback(postgres_url(database)),
            STRONGROOM_STORAGE_URL=f"s3://{bucket}/packages",
            STRONGROOM_S3_ENDPOINT_URL=server.endpoint_url,
            STRONGROOM_BROKER_URL=redis_url,
            STRONGROOM_DATA_DIR=str(work / "distributed-data"),
            AWS_ACCESS_KEY_ID=server.access_key,
            AWS_SECRET_ACCESS_KEY=server.secret_key,
            AWS_EC2_METADATA_DISABLED="true",
            # To measure the S3 writer with another number of parts in flight (A B A B).
            **({"STRONGROOM_S3_PARTS_IN_FLIGHT": os.environ["STRONGROOM_BENCH_S3_PARTS_IN_FLIGHT"]}
               if os.environ.get("STRONGROOM_BENCH_S3_PARTS_IN_FLIGHT") else {}),
        )
        run_child([*strongroom_command(), "init", "--json"], env)
        yield {"env": env, "client": client, "bucket": bucket, "server": server,
               "database": database, "postgres_url": postgres_url}
    finally:
        server.stop()
        dropdb(database)
        connection.flushdb()
        connection.close()


def _start_seaweed(work: Path, server_class: Any) -> Any:
    """A started ``weed mini``; a second try in a fresh folder and ports if the
    first exits at start-up (a port taken between the check and the bind)."""
    for attempt in range(3):
        server = server_class(work / f"seaweed-{attempt}")
        try:
            server.start()
            return server
        except Exception:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


@contextmanager
def worker(env: dict[str, str], log_file: Path, concurrency: int = 2,
           name: str = "bench") -> Iterator[int]:
    """One ``strongroom worker`` in its own process group, stopped by its pid after;
    ``name`` makes its Celery node name (``name@host``) its own. Yields its pid."""
    with open(log_file, "ab") as out:
        process = subprocess.Popen(
            [*strongroom_command(), "worker", "--queues", "ingest,fixity", "--concurrency",
             str(concurrency), "--loglevel", "warning", "--without-gossip",
             "--without-mingle", "--without-heartbeat", f"--hostname={name}@%h"],
            env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True)
    try:
        yield process.pid
    finally:
        try:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
        except ProcessLookupError:
            pass


@contextmanager
def workers(env: dict[str, str], work: Path, count: int, concurrency: int,
            name: str) -> Iterator[list[int]]:
    """``count`` ``strongroom worker`` processes of ``concurrency`` pool processes
    each (node names ``{name}0@host`` …), given a few seconds to start (imports,
    connections: not the measured batch's). Yields their pids; stops them all after."""
    with ExitStack() as stack:
        pids = [stack.enter_context(worker(env, work / f"{name}-worker-{n}.log",
                                           concurrency=concurrency, name=f"{name}{n}"))
                for n in range(count)]
        time.sleep(3)
        yield pids


def p3_and_p5_s3(work: Path, plan: Plan, log: Log, svc: dict[str, Any],
                 verify: bool = True) -> list[dict[str, Any]]:
    """Distributed ingest vs raw put_object, then (with ``verify``) deep verify vs a
    GET + SHA-256 + SHA-512 loop."""
    items = big_file_items(work / "corpus" / "big", plan.s3_items, plan.big_size, seed=1)
    warm(items)
    env, client, bucket = svc["env"], svc["client"], svc["bucket"]
    total = plan.s3_items * plan.big_size
    root = work / "p3"
    submitted: list[list[str]] = []

    def put_one(args: tuple[str, Path]) -> None:
        key, path = args
        client.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())

    def raw_put(index: int) -> float:
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(put_one, [(f"raw/{index}/{item.name}", item / "payload.bin")
                                    for item in items]))
        return total / (time.perf_counter() - start) / 1e6

    tiny = big_file_items(work / "corpus" / "tiny", 1, 1024, seed=3)
    tiny_packages: list[str] = []

    def fixed_cost(index: int) -> float:
        """What one ``submit --wait`` costs whatever its size: start-up, the Celery
        hop, one item's catalog work and the polling."""
        batch = linked_batch(tiny, root / f"tiny-{index}", f"-tiny{index}")
        run = run_child([*strongroom_command(), "submit", str(batch), "--wait", "--json"], env)
        tiny_packages.extend(item["package_id"] for item in json.loads(run.stdout)["items"]
                             if item["status"] == "stored")
        return run.seconds

    def distributed(index: int, in_place: bool = False) -> float:
        suffix = "-inplace" if in_place else ""
        batch = linked_batch(items, root / f"batch-{index}{suffix}", f"-round{index}{suffix}")
        run = run_child([*strongroom_command(), "submit", str(batch), "--wait", "--json",
                         *(["--in-place"] if in_place else [])], env)
        report = json.loads(run.stdout)
        stored = [item["package_id"] for item in report["items"] if item["status"] == "stored"]
        if len(stored) != plan.s3_items:
            raise RuntimeError(f"P3: not every item was stored: {report['items']}")
        submitted.append(stored)
        return total / run.seconds / 1e6

    with worker(env, work / "worker.log"):
        # Warm-up: the worker's first task imports and connects; not timed.
        warm_batch = linked_batch(items[:1], root / "batch-warm", "-warm")
        run_child([*strongroom_command(), "submit", str(warm_batch), "--wait", "--json"], env)
        # Staged (the default with a broker: the batch goes up to the store's staging
        # area, then each worker reads it from there and writes the package) and in
        # place (the workers read the submitter's folder, a shared mount).
        ingest = alternate(plan.rounds, {"strongroom submit --wait": distributed,
                                         "raw put_object (2 threads)": raw_put,
                                         "fixed cost: submit --wait of one 1 KiB item":
                                             fixed_cost,
                                         "strongroom submit --wait --in-place":
                                             lambda index: distributed(index, in_place=True)},
                           log)
    in_place = ingest.pop("strongroom submit --wait --in-place")
    figures, ratios = _with_fixed_cost(ingest, total, "raw PUT")
    figures["strongroom submit --wait --in-place"] = summary(in_place, "MB/s")
    raw = ingest["raw put_object (2 threads)"]
    ratios["strongroom --in-place / raw PUT"] = summary(
        [ours / theirs for ours, theirs in zip(in_place, raw)], "x")
    # Staged, every byte goes to the store twice by design (the batch to the
    # staging area, then the package), and is read back once in between: held to
    # one raw PUT of the same bytes per store write, it is compared with two.
    ratios["strongroom (staged) / two raw PUTs"] = summary(
        [ours / (theirs / 2) for ours, theirs in zip(ingest["strongroom submit --wait"], raw)], "x")
    p3 = {
        "id": "P3", "title": f"distributed ingest (Celery worker, concurrency 2, Redis, "
                             f"PostgreSQL, SeaweedFS) of {plan.s3_items} x {plan.big_size // MiB} MiB",
        "figures": figures, "ratios": ratios, "target": ">= 0.8x raw PUT",
        "met": ratios["strongroom / raw PUT"]["median"] >= 0.8,
    }
    if not verify:
        return [p3]

    verify_env = {k: v for k, v in env.items() if k != "STRONGROOM_BROKER_URL"}
    packages = submitted[-1]
    keys = [obj["Key"] for package in packages
            for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=bucket, Prefix=f"packages/{package}/")
            for obj in page.get("Contents", [])]
    verified_bytes = sum(client.head_object(Bucket=bucket, Key=key)["ContentLength"] for key in keys)

    def strongroom_verify(_round: int) -> float:
        run = run_child([*strongroom_command(), "verify", *packages, "--json"], verify_env)
        return verified_bytes / run.seconds / 1e6

    def raw_get(_round: int) -> float:
        start = time.perf_counter()
        for key in keys:
            body = client.get_object(Bucket=bucket, Key=key)["Body"]
            while body.read(MiB):
                pass
        return verified_bytes / (time.perf_counter() - start) / 1e6

    def get_and_hash(_round: int) -> float:
        seconds = get_and_hash_limit(client, bucket, keys)
        return verified_bytes / seconds / 1e6

    def verify_fixed_cost(_round: int) -> float:
        return run_child([*strongroom_command(), "verify", tiny_packages[0], "--json"],
                         verify_env).seconds

    # The fair reference: a verify must hash what it reads (issue 18), so the loop
    # GETs every object and hashes it with SHA-256 and SHA-512, two objects at a
    # time on the two cores. A bare GET is shown beside it, for what moving the
    # bytes alone costs.
    verify = alternate(plan.rounds, {"strongroom verify": strongroom_verify,
                                     GET_AND_HASH: get_and_hash,
                                     "fixed cost: verify of one 1 KiB package":
                                         verify_fixed_cost,
                                     "raw get_object (sequential, no hashing)": raw_get}, log)
    bare = verify.pop("raw get_object (sequential, no hashing)")
    v_figures, v_ratios = _with_fixed_cost(verify, verified_bytes, "GET + hash loop")
    v_figures["raw get_object (sequential, no hashing)"] = summary(bare, "MB/s")
    v_ratios["strongroom / raw GET (no hashing)"] = summary(
        [ours / theirs for ours, theirs in zip(verify["strongroom verify"], bare)], "x")
    p5 = {
        "id": "P5 S3", "title": f"deep verify of {plan.s3_items} x {plan.big_size // MiB} MiB "
                                f"packages on SeaweedFS",
        "figures": v_figures, "ratios": v_ratios, "target": ">= 0.8x GET + hash loop",
        "met": v_ratios["strongroom / GET + hash loop"]["median"] >= 0.8,
    }
    shallow = p5_shallow(plan, log, verify_env, client, bucket, packages, keys, tiny_packages[0])
    return [p3, p5] if shallow is None else [p3, p5, shallow]


#: HEAD requests a shallow verify has in flight: two copies at once (STRONGROOM_CONCURRENCY's
#: default), each sending its files' HEADs up to eight at once (the S3 store's
#: requests_in_flight); the HEAD loop is given as many threads.
HEAD_THREADS = 2 * 8


def p5_shallow(plan: Plan, log: Log, env: dict[str, str], client: Any, bucket: str,
               packages: list[str], keys: list[str], tiny: str) -> dict[str, Any] | None:
    """Shallow verify (one HEAD per file, one listing per copy) of the P5 S3 packages
    vs a loop of HEAD requests over the same objects, on as many threads as the
    verify has requests in flight; None when this strongroom has no ``verify --shallow``."""
    if "--shallow" not in run_child([*strongroom_command(), "verify", "--help"], env).stdout:
        log("  P5 S3 shallow: this strongroom has no verify --shallow; not measured")
        return None

    def strongroom_shallow(_round: int) -> float:
        run = run_child([*strongroom_command(), "verify", "--shallow", *packages, "--json"], env)
        return len(keys) / run.seconds

    def head_loop(_round: int) -> float:
        return len(keys) / head_loop_seconds(client, bucket, keys)

    def shallow_fixed_cost(_round: int) -> float:
        return run_child([*strongroom_command(), "verify", "--shallow", tiny, "--json"],
                         env).seconds

    rounds = alternate(plan.rounds, {"strongroom verify --shallow": strongroom_shallow,
                                     f"HEAD loop ({HEAD_THREADS} threads)": head_loop,
                                     "fixed cost: verify --shallow of one 1 KiB package":
                                         shallow_fixed_cost}, log)
    figures, ratios = _with_fixed_cost(rounds, len(keys), "HEAD loop", scale=1, unit="objects/s")
    return {
        "id": "P5 S3 shallow",
        "title": f"shallow verify of the same {len(packages)} packages ({len(keys)} objects) "
                 f"on SeaweedFS",
        "figures": figures, "ratios": ratios, "target": "none (the store's HEAD rate, measured)",
        "met": True,
    }


def head_loop_seconds(client: Any, bucket: str, keys: list[str],
                      threads: int = HEAD_THREADS) -> float:
    """Seconds for ``threads`` threads to HEAD every one of ``keys`` (with the
    checksum, as the store's ``stat`` asks)."""
    def one(key: str) -> int:
        return int(client.head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
                   ["ContentLength"])

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, keys))
    return time.perf_counter() - start


GET_AND_HASH = "GET + SHA-256 + SHA-512 loop (2 threads)"


def get_and_hash_limit(client: Any, bucket: str, keys: list[str], threads: int = 2) -> float:
    """Seconds for ``threads`` threads to GET every one of ``keys`` (one object at a
    time each) and hash its bytes with SHA-256 and SHA-512 per 1 MiB read: the
    least a deep verify must do, on the same cores (``bench.sides.hashing_limit``
    with the bytes coming from the store)."""
    def one(key: str) -> int:
        sha256, sha512 = hashlib.sha256(), hashlib.sha512()
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        size = 0
        while chunk := body.read(MiB):
            sha256.update(chunk)
            sha512.update(chunk)
            size += len(chunk)
        sha256.hexdigest(), sha512.hexdigest()
        return size

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, keys))
    return time.perf_counter() - start


def _with_fixed_cost(rounds: dict[str, list[float]], octets: int, other: str,
                     scale: float = 1e6, unit: str = "MB/s",
                     ) -> tuple[dict[str, Any], dict[str, Any]]:
    """Figures and per-round ratios of a measure whose sides are, in order, ours
    (MB/s, or ``octets`` per second / ``scale`` in ``unit``), the other side (the
    same) and our fixed cost (seconds): the ratio as measured, and the ratio with
    the same round's fixed cost taken out."""
    (ours_name, ours), (other_name, theirs), (fixed_name, fixed) = rounds.items()
    ratios, beyond = [], []
    for mbps, other_mbps, fixed_seconds in zip(ours, theirs, fixed):
        ratios.append(mbps / other_mbps)
        seconds = octets / (mbps * scale)
        beyond.append(octets / max(seconds - fixed_seconds, 1e-9) / scale / other_mbps)
    figures = {ours_name: summary(ours, unit), other_name: summary(theirs, unit),
               fixed_name: summary(fixed, "s")}
    return figures, {f"strongroom / {other}": summary(ratios, "x"),
                     f"strongroom without its fixed cost / {other}": summary(beyond, "x")}


def p4_rss_s3(work: Path, plan: Plan, log: Log, svc: dict[str, Any]) -> dict[str, Any]:
    """Peak RSS of an in-process ingest (no broker) writing to S3."""
    root = work / "p4"
    env = {k: v for k, v in svc["env"].items()
           if k not in ("STRONGROOM_BROKER_URL", "STRONGROOM_DATABASE_URL")}
    figures: dict[str, float] = {}
    for label, size in (("small", 50 * MiB), ("huge", plan.huge_size)):
        item = root / f"batch-{label}" / f"item-{label}"
        write_record(item, f"bench-rss-{label}")
        if not (item / "payload.bin").exists():
            write_seeded(item / "payload.bin", size, seed=40 + len(label))
        data = root / f"s3-data-{label}"
        run = run_child_peak_rss([*strongroom_command(), "submit", str(item.parent), "--json"],
                                 {**env, "STRONGROOM_DATA_DIR": str(data),
                                  "STRONGROOM_STORAGE_URL": f"s3://{svc['bucket']}/rss-{label}"})
        figures[label] = run.max_rss_kib / 1024
        log(f"  P4 S3 {label} ({size // MiB} MiB): peak RSS {figures[label]:.1f} MiB, "
            f"{run.seconds:.1f} s")
    return rss_result("P4 S3", plan, figures)
