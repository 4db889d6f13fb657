"""The SQL catalog and audit log on PostgreSQL: the same behaviour as on SQLite.

The contract of ``tests/contract_sql_catalog.py`` (which
``tests/unit/test_sql_catalog.py`` runs on SQLite) runs here on a throwaway
PostgreSQL database, with PostgreSQL counterparts of the SQLite-only tests. Then
what only real processes can show: two processes racing for the same version number, and
two appending to the audit log at once.
"""

from __future__ import annotations

import multiprocessing
import socket
from datetime import timedelta
from typing import Any

import pytest

from ingest.audit import verify_chain
from ingest.errors import CatalogUnavailable, PackageBusy
from ingest.models import package_id_for
from storage.catalog import SqlCatalog
from tests.contract_sql_catalog import (
    IDENTIFIER,
    PACKAGE,
    SqlCatalogContract,
    event,
    item_ids,
    raw,
)


@pytest.fixture
def catalog_url(pg_url: str) -> str:
    return pg_url


@pytest.fixture
def logged(catalog: SqlCatalog) -> SqlCatalog:
    catalog.append([event(n=n) for n in range(1, 7)])
    return catalog


class TestSqlCatalogOnPostgres(SqlCatalogContract):
    """The contract, on the throwaway PostgreSQL database of ``catalog_url`` above."""


# --------------------------------------------------------------------------- PostgreSQL counterparts


def test_postgres_catalog_is_on_postgres(catalog: SqlCatalog) -> None:
    assert catalog.engine.dialect.name == "postgresql"


def test_unreachable_postgres_is_catalog_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(CatalogUnavailable) as caught:
        SqlCatalog.from_url(f"postgresql+psycopg://postgres@127.0.0.1:{port}/nowhere")
    assert caught.value.__cause__ is not None


def test_edited_event_time_is_named_on_postgres(logged: SqlCatalog) -> None:
    raw(logged, "UPDATE events SET occurred_at = occurred_at - :hour WHERE seq = 5",
        hour=timedelta(hours=1))
    assert verify_chain(logged.events()).first_bad_seq == 5


# --------------------------------------------------------------------------- processes


def _claim_in_rounds(url: str, items: list[str], rounds: int, barrier: Any, results: Any) -> None:
    """One worker process: claim package ``n`` in round ``n``, all at the barrier."""
    catalog = SqlCatalog.from_url(url, migrate=False)
    try:
        for n in range(rounds):
            package = package_id_for(f"{IDENTIFIER} #{n}")
            barrier.wait(timeout=30)
            try:
                results.put((n, catalog.reserve_version(package, f"{IDENTIFIER} #{n}", items[n])))
            except PackageBusy:
                results.put((n, "busy"))
            except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
                results.put((n, f"{type(exc).__name__}: {exc}"))
    finally:
        catalog.engine.dispose()


def test_two_processes_racing_for_a_version_get_one_claim(
        catalog: SqlCatalog, catalog_url: str) -> None:
    rounds = 10
    first = item_ids(catalog, *[f"first-{n}" for n in range(rounds)], batch_id="b1")
    second = item_ids(catalog, *[f"second-{n}" for n in range(rounds)], batch_id="b2")
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    workers = [context.Process(target=_claim_in_rounds,
                               args=(catalog_url, items, rounds, barrier, results))
               for items in (first, second)]
    for worker in workers:
        worker.start()
    outcomes: dict[int, list[object]] = {n: [] for n in range(rounds)}
    for _ in range(2 * rounds):
        n, outcome = results.get(timeout=60)
        outcomes[n].append(outcome)
    for worker in workers:
        worker.join(timeout=30)
        assert worker.exitcode == 0
    for n in range(rounds):
        assert sorted(outcomes[n], key=str) == [1, "busy"], (n, outcomes[n])


def _append_fifty(url: str, worker: int, barrier: Any) -> None:
    catalog = SqlCatalog.from_url(url, migrate=False)
    try:
        barrier.wait(timeout=30)
        for n in range(50):
            catalog.append([event(worker=worker, n=n)])
    finally:
        catalog.engine.dispose()


def test_two_processes_appending_form_one_unbroken_chain(
        catalog: SqlCatalog, catalog_url: str) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    workers = [context.Process(target=_append_fifty, args=(catalog_url, w, barrier))
               for w in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    events = list(catalog.events())
    assert [e.seq for e in events] == list(range(1, 101))
    assert verify_chain(events).ok
    for worker in range(2):
        assert [e.detail["n"] for e in events if e.detail["worker"] == worker] == list(range(50))


def test_catalog_of_one_package_claims_across_connections(catalog: SqlCatalog,
                                                          catalog_url: str) -> None:
    # A second engine (another worker process's pool) sees the first one's claim.
    first, second = item_ids(catalog, "a", "b")
    other = SqlCatalog.from_url(catalog_url, migrate=False)
    try:
        assert catalog.reserve_version(PACKAGE, IDENTIFIER, first) == 1
        with pytest.raises(PackageBusy):
            other.reserve_version(PACKAGE, IDENTIFIER, second)
    finally:
        other.engine.dispose()



def test_two_processes_anchoring_the_same_head_at_once_both_succeed(catalog: SqlCatalog,
                                                                     catalog_url: str) -> None:
    """Defect: ``record_anchor`` read the anchor row, then inserted it. Another
    process anchoring the same head between the two (``requeue --wait`` while
    the workers anchor) made the insert fail on the primary key, and the
    command exited 1 after its work was done."""
    from datetime import UTC, datetime

    from sqlalchemy import event as sa_event

    other = SqlCatalog.from_url(catalog_url)
    anchored_at = datetime(2026, 12, 6, 19, 30, tzinfo=UTC)
    raced: list[bool] = []

    def the_other_anchors_in_between(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not raced and statement.lstrip().startswith("INSERT INTO audit_anchors"):
            raced.append(True)
            other.record_anchor(7, "b" * 64, anchored_at)

    sa_event.listen(catalog.engine, "before_cursor_execute", the_other_anchors_in_between)
    try:
        catalog.record_anchor(7, "b" * 64, anchored_at)
    finally:
        sa_event.remove(catalog.engine, "before_cursor_execute", the_other_anchors_in_between)
        other.engine.dispose()
    assert raced, "the other process's anchor was not made in between"
    assert catalog.last_anchor() == (7, "b" * 64)


def _hold_the_audit_head_then_pause(url: str, idle_seconds: float, held: Any) -> None:
    """A worker paused (SIGSTOP) in the middle of an append: its transaction holds
    the audit head's row lock, and its connection stays up."""
    import os
    import signal

    from sqlalchemy import text

    import storage.database

    storage.database.POSTGRES_IDLE_IN_WRITE_SECONDS = idle_seconds
    catalog = SqlCatalog.from_url(url)
    with catalog._write() as session:  # the lock an append takes
        session.execute(text("SELECT seq FROM audit_head WHERE id = 1 FOR UPDATE"))
        held.set()
        os.kill(os.getpid(), signal.SIGSTOP)


def test_a_worker_paused_inside_an_append_does_not_stall_every_other_writer(
        catalog: SqlCatalog, catalog_url: str) -> None:
    """Before, the paused worker's transaction held the audit head's lock for as
    long as it was paused (a frozen VM: until TCP gave up, hours), and every
    other worker's commit waited behind it. The server now ends a writing
    transaction left idle, and the lock with it."""
    import signal
    import time

    catalog.append([event()])
    context = multiprocessing.get_context("fork")
    held = context.Event()
    child = context.Process(target=_hold_the_audit_head_then_pause, args=(catalog_url, 2.0, held))
    child.start()
    try:
        assert held.wait(timeout=30), "the paused worker never took the lock"
        started = time.monotonic()
        catalog.append([event()])  # waits for the lock until the server ends the idle one
        waited = time.monotonic() - started
        assert waited < 20, f"the append waited {waited:.1f} s behind a paused worker"
        assert verify_chain(catalog.events()).ok
    finally:
        if child.pid is not None:
            import os

            os.kill(child.pid, signal.SIGKILL)
        child.join(timeout=10)
