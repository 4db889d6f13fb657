"""P9: server time of each console page on a catalog of 100,000 packages in PostgreSQL.

The catalog is generated as for P6 (``bench.catalog_scale.generate``), plus
batches of items and three audit events per package. Each page is asked for
through the app in this process (the ASGI app, no network), signed in as an
administrator, so that the figure is the server's own time: routing, the use
cases' queries and the template, not the browser's.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from bench.measures import Log, Plan, summary

#: batches of 100 items, the items naming generated packages
_BATCHES = """
INSERT INTO batches (batch_id, source, submitted_at, submitter, collection, schema, findings, submitted_by)
SELECT md5('b' || b)::uuid::text, 'upload:' || b, now() - b * interval '1 hour', NULL,
       'Collection ' || (b % 7), 'archival-record/v1', '[]'::json,
       '{"name": "Bench Submitter", "kind": "person", "role": "submitter"}'::json
FROM generate_series(1, :batches) AS b
"""
_ITEMS = """
INSERT INTO items (item_id, batch_id, name, status, package_id, version, findings, attempts, updated_at)
SELECT md5('i' || i)::uuid::text, md5('b' || (1 + (i - 1) / 100))::uuid::text, 'item-' || i,
       CASE WHEN i % 50 = 0 THEN 'rejected' ELSE 'stored' END,
       CASE WHEN i % 50 = 0 THEN NULL ELSE md5('p' || i)::uuid::text END,
       CASE WHEN i % 50 = 0 THEN NULL ELSE 1 END,
       CASE WHEN i % 50 = 0
            THEN '[{"code": "METADATA_INVALID", "pointer": "/date", "params": {"detail": "x"}}]'::json
            ELSE '[]'::json END,
       1, now() - i * interval '1 second'
FROM generate_series(1, :items) AS i
"""
#: three events per package; their hashes are not a chain (no page here verifies it)
_EVENTS = """
INSERT INTO events (seq, event_id, event_type, outcome, agent, occurred_at, batch_id, item_id,
                    package_id, version, detail, prev_hash, hash, actor)
SELECT e, md5('e' || e)::uuid::text,
       (ARRAY['accession', 'ingestion', 'fixity check'])[1 + e % 3], 'success', 'strongroom',
       now() - e * interval '1 second', NULL, NULL, md5('p' || (1 + e / 3))::uuid::text, 1,
       '{}'::json, encode(sha256(('h' || (e - 1))::bytea), 'hex'), encode(sha256(('h' || e)::bytea), 'hex'),
       '{"name": "Bench Submitter", "kind": "person", "role": "submitter"}'::json
FROM generate_series(1, :events) AS e
"""
_HEAD = "UPDATE audit_head SET seq = :events, hash = encode(sha256(('h' || :events)::bytea), 'hex') WHERE id = 1"

TARGET_MS = 200.0


def p9_console(plan: Plan, log: Log, packages: int = 100_000) -> dict[str, Any]:
    """Median server time of each console page, signed in as an administrator."""
    from fastapi.testclient import TestClient
    from sqlalchemy import text

    from bench.catalog_scale import generate
    from ingest.accounts import create_account
    from storage.catalog import SqlCatalog
    from strongroom.asgi import create_app
    from strongroom.settings import Settings
    from tests.integration.services import createdb, dropdb, ensure_postgres, postgres_url

    ensure_postgres()
    database = f"strongroom_bench_{uuid.uuid4().hex[:12]}"
    createdb(database)
    objects = plan_dir = None
    try:
        import tempfile
        from pathlib import Path

        plan_dir = Path(tempfile.mkdtemp(prefix="strongroom-p9-"))
        objects = plan_dir / "objects"
        url = postgres_url(database)
        catalog = SqlCatalog.from_url(url, migrate=True)
        start = time.perf_counter()
        generate(catalog, packages)
        items = packages
        with catalog._write() as session:
            session.execute(text(_BATCHES), {"batches": items // 100})
            session.execute(text(_ITEMS), {"items": items})
            session.execute(text(_EVENTS), {"events": 3 * packages})
            session.execute(text(_HEAD), {"events": 3 * packages})
        with catalog._write() as session:
            session.execute(text("ANALYZE"))
        log(f"  P9: {packages:,} packages, {items // 100:,} batches, {3 * packages:,} events generated in "
            f"{time.perf_counter() - start:.1f} s")
        catalog.engine.dispose()
        create_account(SqlCatalog.from_url(url, migrate=False), "Bench Admin", "admin",
                       "bench admin password", _now())
        settings = Settings.from_env({"STRONGROOM_DATABASE_URL": url,
                                      "STRONGROOM_STORAGE_URL": objects.as_uri(),
                                      "STRONGROOM_DATA_DIR": str(plan_dir)})
        app = create_app(settings)
        figures: dict[str, Any] = {}
        with TestClient(app, base_url="http://localhost") as client:
            page = client.get("/console/sign-in").text
            token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
            signed = client.post("/console/sign-in", follow_redirects=False,
                                 data={"name": "Bench Admin", "password": "bench admin password",
                                       "csrf": token, "next": "/console/"})
            assert signed.status_code == 303, signed.text
            some_package = _package_id(packages // 2)
            some_batch = _batch_id(items // 200)
            for label, path in _pages(some_package, some_batch):
                first = client.get(path)
                if first.status_code == 404 and "Not Found" in first.text[:200]:
                    continue  # a page this version of the console does not have
                assert first.status_code == 200, (path, first.status_code, first.text[:500])
                figures[label] = summary(_timed_ms(lambda p=path: client.get(p), plan.rounds * 5), "ms")
        met = bool(figures) and all(f["median"] < TARGET_MS for f in figures.values())
    finally:
        dropdb(database)
        if plan_dir is not None:
            import shutil

            shutil.rmtree(plan_dir, ignore_errors=True)
    return {"id": "P9", "title": f"console pages on a catalog of {packages:,} packages (PostgreSQL)",
            "figures": figures, "ratios": {}, "target": f"each < {TARGET_MS:.0f} ms median", "met": met,
            "notes": ["server time in process: routing, queries and template, signed in as an administrator"]}


def _pages(package_id: str, batch_id: str) -> list[tuple[str, str]]:
    return [
        ("home", "/console/"),
        ("packages, first page", "/console/packages"),
        ("packages, title words", "/console/packages?title=package+4242"),
        ("packages, creator", "/console/packages?creator=m%C3%BCller"),
        ("packages, collection", "/console/packages?collection=collection+42"),
        ("packages, date range", "/console/packages?date_from=1951-01-01&date_to=1951-12-31"),
        ("package", f"/console/packages/{package_id}"),
        ("batch of 100 items", f"/console/batches/{batch_id}"),
        ("preservation", "/console/preservation"),
        ("audit log, first page", "/console/audit"),
        ("audit log, one package", f"/console/audit?package={package_id}"),
        ("admin", "/console/admin"),
    ]


def _package_id(i: int) -> str:
    import hashlib

    return str(uuid.UUID(hashlib.md5(f"p{i}".encode()).hexdigest()))


def _batch_id(b: int) -> str:
    import hashlib

    return str(uuid.UUID(hashlib.md5(f"b{b}".encode()).hexdigest()))


def _timed_ms(action: Any, repeats: int) -> list[float]:
    values = []
    for _ in range(repeats):
        start = time.perf_counter()
        action()
        values.append((time.perf_counter() - start) * 1000)
    return values


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
