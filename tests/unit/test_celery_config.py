"""The Celery app's reliability settings, its routes, and how the thin tasks map outcomes.

No broker is contacted: the tasks' bodies are called with a fake services object
and a pushed request (``retries``), which tests the mapping itself; a real worker
on a real broker is in tests/integration.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from celery.exceptions import Retry
from celery.signals import worker_process_init
from pytest import MonkeyPatch

import workers.celery_app as celery_app
import workers.tasks as tasks
from ingest.errors import CatalogUnavailable, NotFound, StorageUnavailable
from ingest.findings import Finding
from ingest.models import SOFTWARE_AGENT, BatchRecord, ItemRecord, ItemStatus, NewEvent
from ingest.pipeline import IngestResult
from strongroom.bootstrap import worker_settings
from strongroom.settings import KNOWN_VARIABLES, Settings, SettingsError
from workers.celery_app import create_app
from workers.celery_base import StrongroomCelery
from workers.reliability import (
    TASK_ANCHOR_AUDIT,
    TASK_ENQUEUE_DUE_FIXITY,
    TASK_INGEST_ITEM,
    TASK_REQUEUE_STUCK,
    TASK_VERIFY_VERSION,
    WorkerSettings,
    retry_delay,
)

App = StrongroomCelery
Sent = list[dict[str, Any]]

ROOT = Path(__file__).resolve().parents[2]
ITEM = "0b7c6a1e-3f4d-4c59-9e38-6f2d8f0a1b2c"
PACKAGE = "6f1c7a52-3b0e-5a8e-9d0c-2a4f1e7b9c31"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
#: A broker nobody listens on: creating an app never connects.
SETTINGS = WorkerSettings(broker_url="redis://127.0.0.1:1/13", max_attempts=4,
                          retry_backoff=2.0, visibility_timeout=600, stuck_after=120,
                          sweep_every=30)


@dataclass
class FakeCatalog:
    item: ItemRecord | Exception
    finished: list[tuple[str, ItemStatus, list[Finding]]] = field(default_factory=list)
    stuck: list[ItemRecord] = field(default_factory=list)
    requeued: list[list[str]] = field(default_factory=list)
    idle_before: list[datetime] = field(default_factory=list)

    def get_item(self, item_id: str) -> ItemRecord:
        if isinstance(self.item, Exception):
            raise self.item
        return self.item

    def finish_item(self, item_id: str, status: ItemStatus, findings: Any = (), **_: Any) -> bool:
        self.finished.append((item_id, status, list(findings)))
        return True

    def stuck_items(self, idle_before: datetime, limit: int = 1000,
                    begun: bool | None = None) -> list[ItemRecord]:
        self.idle_before.append(idle_before)
        return [i for i in self.stuck if begun is None or (i.attempts > 0) is begun][:limit]

    def get_batch(self, batch_id: str) -> BatchRecord:
        return BatchRecord(batch_id=batch_id, source="/batches/b", submitted_at=NOW)

    def record_requeue(self, item_ids: list[str], expired_before: datetime | None = None) -> int:
        self.requeued.append(list(item_ids))
        return len(item_ids)


def accepted(attempts: int = 0) -> ItemRecord:
    return ItemRecord(item_id=ITEM, batch_id="b", name="item", status=ItemStatus.ACCEPTED,
                      attempts=attempts, updated_at=NOW)


class CountedMetrics:
    """What the tasks tell the work metrics: each finished item's status."""

    def __init__(self) -> None:
        self.finished: list[str] = []

    def item_finished(self, status: str, payload_octets: int, seconds: float) -> None:
        self.finished.append(status)

    def copy_checked(self, tier: str, outcome: str, octets: int) -> None:
        pass


@dataclass(frozen=True)
class FakeServices:
    """The part of ``Services`` the tasks use (a dataclass: a task gives it its actor)."""

    catalog: Any
    clock: Any
    actor: Any = None
    metrics: Any = field(default_factory=lambda: CountedMetrics())

    def event(self, event_type: Any, outcome: Any, **fields: Any) -> NewEvent:
        fields.setdefault("detail", {})
        return NewEvent(event_type=event_type, outcome=outcome, agent=SOFTWARE_AGENT,
                        actor=self.actor, occurred_at=self.clock.now(), **fields)


def services_with(catalog: FakeCatalog) -> FakeServices:
    return FakeServices(catalog=catalog, clock=SimpleNamespace(now=lambda: NOW))


def no_services() -> Any:
    raise AssertionError("these tests hand the task its services")


@pytest.fixture
def app() -> Iterator[StrongroomCelery]:
    app = create_app(SETTINGS, services_factory=no_services)
    yield app
    app.close()


@pytest.fixture
def retries_sent(app: App, monkeypatch: MonkeyPatch) -> Sent:
    """Records each ``self.retry(...)`` of the ingest and fixity tasks instead of
    sending a message, and raises Retry as Celery's would."""
    sent: list[dict[str, Any]] = []

    def fake_retry(**options: Any) -> Retry:
        sent.append(options)
        return Retry("retry", when=options.get("countdown"))

    for name in (TASK_INGEST_ITEM, TASK_VERIFY_VERSION):
        monkeypatch.setattr(app.tasks[name], "retry", fake_retry)
    return sent


def run_task(app: App, name: str, *args: Any, retries: int = 0, services: Any = None) -> Any:
    """Call a task's body as a worker would on delivery number ``retries + 1``."""
    task = app.tasks[name]
    if services is not None:
        app._services, app._services_pid = services, os.getpid()
    task.push_request(id="task-id", retries=retries, called_directly=False)
    try:
        return task.run(*args)
    finally:
        task.pop_request()


def fake_pipeline(monkeypatch: MonkeyPatch, outcome: str) -> list[bool]:
    """Make the ingest use case answer ``outcome``; returns the final_attempt flags it saw."""
    calls: list[bool] = []

    def ingest_item(item_id: str, services: Any, *, final_attempt: bool = False) -> IngestResult:
        calls.append(final_attempt)
        return IngestResult(outcome, item_id, reason="S3 down")  # type: ignore[arg-type]

    monkeypatch.setattr(tasks, "ingest_item", ingest_item)
    return calls


# --------------------------------------------------------------------------- configuration


def test_a_lost_worker_or_message_cannot_lose_an_item(app: App) -> None:
    conf = app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_connection_retry_on_startup is True
    # one visibility timeout, the same for the broker and any result backend
    assert conf.broker_transport_options == {"visibility_timeout": 600}
    assert conf.result_backend_transport_options == {"visibility_timeout": 600}
    # the catalog is the record of truth: no result backend, results ignored
    assert conf.result_backend is None and conf.task_ignore_result is True
    # running ingests are not cancelled when the broker connection drops
    assert conf.worker_cancel_long_running_tasks_on_connection_loss is False


def test_workers_accept_json_only(app: App) -> None:
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.result_accept_content == ["json"]


def test_ingest_fixity_and_beats_own_work_go_to_separate_queues(app: App) -> None:
    router = app.amqp.router
    assert router.route({}, TASK_INGEST_ITEM)["queue"].name == "ingest"
    assert router.route({}, TASK_VERIFY_VERSION)["queue"].name == "fixity"
    for housekeeping in (TASK_REQUEUE_STUCK, TASK_ENQUEUE_DUE_FIXITY, TASK_ANCHOR_AUDIT):
        assert router.route({}, housekeeping)["queue"].name == "housekeeping"
    assert {q.name for q in app.conf.task_queues} == {"ingest", "fixity", "housekeeping"}
    assert set(app.tasks) >= {TASK_INGEST_ITEM, TASK_VERIFY_VERSION, TASK_REQUEUE_STUCK}


def test_beat_sweeps_for_stuck_items_and_drops_a_sweep_that_waited_too_long(app: App) -> None:
    entry = app.conf.beat_schedule["requeue-stuck-items"]
    assert entry["task"] == TASK_REQUEUE_STUCK
    assert entry["schedule"] == timedelta(seconds=30)
    assert entry["options"]["expires"] == 30


def test_settings_reach_the_worker_and_a_missing_broker_is_refused() -> None:
    settings = Settings.from_env({"STRONGROOM_BROKER_URL": "redis://127.0.0.1:6379/3",
                                  "STRONGROOM_VISIBILITY_TIMEOUT": "7200",
                                  "STRONGROOM_STUCK_AFTER": "90", "STRONGROOM_SWEEP_EVERY": "15",
                                  "STRONGROOM_MAX_ATTEMPTS": "3",
                                  "STRONGROOM_WORKER_STALL_AFTER": "45"})
    assert worker_settings(settings) == WorkerSettings(
        broker_url="redis://127.0.0.1:6379/3", max_attempts=3, retry_backoff=1.0,
        visibility_timeout=7200, stuck_after=90, sweep_every=15, stall_after=45)
    with pytest.raises(SettingsError, match="STRONGROOM_BROKER_URL"):
        worker_settings(Settings.from_env({}))
    with pytest.raises(SettingsError, match="STRONGROOM_STUCK_AFTER"):
        Settings.from_env({"STRONGROOM_STUCK_AFTER": "0"})


@pytest.mark.parametrize("command", ["worker", "beat"])
@pytest.mark.parametrize("env, args, level", [
    ({}, [], "INFO"),
    ({"STRONGROOM_LOG_LEVEL": "debug"}, [], "DEBUG"),
    ({"STRONGROOM_LOG_LEVEL": "debug"}, ["--loglevel", "ERROR"], "ERROR"),  # the option wins
])
def test_strongroom_log_level_is_the_default_loglevel_of_worker_and_beat(
        tmp_path: Path, monkeypatch: MonkeyPatch, command: str, env: dict[str, str],
        args: list[str], level: str) -> None:
    from click.testing import CliRunner

    from strongroom.cli import main

    argv: list[list[str]] = []
    monkeypatch.setattr(celery_app, "run_command", lambda app, args: argv.append(args) or 0)
    result = CliRunner().invoke(main, [command, *args], env={
        "STRONGROOM_DATA_DIR": str(tmp_path / "data"),
        "STRONGROOM_BROKER_URL": "redis://127.0.0.1:1/13", **env})
    assert result.exit_code == 0, (result.output, result.exception)
    assert argv[0][0] == command and f"--loglevel={level}" in argv[0]


def test_every_worker_setting_is_documented() -> None:
    example = (ROOT / ".env.example").read_text()
    for name in ("STRONGROOM_STUCK_AFTER", "STRONGROOM_SWEEP_EVERY",
                 "STRONGROOM_WORKER_STALL_AFTER", "STRONGROOM_VISIBILITY_TIMEOUT",
                 "STRONGROOM_BROKER_URL", "STRONGROOM_LOG_LEVEL"):
        assert name in KNOWN_VARIABLES
        assert f"#{name}=" in example


@pytest.mark.parametrize("retries", [0, 1, 2, 5, 20])
def test_retry_delay_doubles_with_jitter_and_stays_below_the_visibility_timeout(
        retries: int) -> None:
    full = min(2.0 * 2 ** retries, 600 / 2)
    assert retry_delay(SETTINGS, retries, rng=lambda: 0.0) == full / 2
    assert retry_delay(SETTINGS, retries, rng=lambda: 0.999999) == pytest.approx(full, rel=1e-5)
    assert retry_delay(SETTINGS, retries) < SETTINGS.visibility_timeout


# --------------------------------------------------------------------------- services per process


def test_services_are_built_once_per_process_after_the_fork(monkeypatch: MonkeyPatch) -> None:
    built: list[int] = []

    def factory() -> Any:
        built.append(len(built))
        return SimpleNamespace(generation=len(built))

    app = create_app(SETTINGS, factory)
    try:
        assert built == []  # creating the app (in the parent) builds nothing
        worker_process_init.send(sender=None)  # a pool process has just forked
        assert built == [0]
        app.services()
        app.services()
        assert built == [0]
        # A process forked from this one must not reuse these connections.
        monkeypatch.setattr(celery_app.os, "getpid", lambda: -1)
        assert app.services().generation == 2
    finally:
        app.close()


def test_a_sending_only_app_has_no_services() -> None:
    app = create_app(SETTINGS)
    try:
        with pytest.raises(RuntimeError, match="only sends"):
            app.services()
    finally:
        app.close()


# --------------------------------------------------------------------------- ingest_item


def test_done_returns_and_is_not_retried(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch) -> None:
    calls = fake_pipeline(monkeypatch, "done")
    outcome = run_task(app, TASK_INGEST_ITEM, ITEM, services=services_with(FakeCatalog(accepted())))
    assert outcome == "done"
    assert calls == [False] and retries_sent == []


def test_transient_failure_is_retried_with_growing_delay_up_to_the_attempt_bound(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch) -> None:
    calls = fake_pipeline(monkeypatch, "retry")
    services = services_with(FakeCatalog(accepted()))
    for retries in range(SETTINGS.max_attempts - 1):
        with pytest.raises(Retry):
            run_task(app, TASK_INGEST_ITEM, ITEM, retries=retries, services=services)
    assert calls == [False, False, False]  # none of these was the last attempt
    assert [r["max_retries"] for r in retries_sent] == [3, 3, 3]
    for retries, sent in enumerate(retries_sent):
        full = 2.0 * 2 ** retries
        assert full / 2 <= sent["countdown"] <= full


def test_the_last_attempt_fails_the_item_instead_of_retrying(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch) -> None:
    calls = fake_pipeline(monkeypatch, "failed")
    outcome = run_task(app, TASK_INGEST_ITEM, ITEM, retries=SETTINGS.max_attempts - 1,
                       services=services_with(FakeCatalog(accepted(attempts=3))))
    assert outcome == "failed"
    assert calls == [True]  # the use case was told: fail with STORAGE_UNAVAILABLE
    assert retries_sent == []


def test_a_redelivered_message_for_a_final_item_does_nothing(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch) -> None:
    calls = fake_pipeline(monkeypatch, "done")
    stored = replace(accepted(), status=ItemStatus.STORED, package_id=PACKAGE, version=1)
    catalog = FakeCatalog(stored)
    assert run_task(app, TASK_INGEST_ITEM, ITEM, services=services_with(catalog)) == "done"
    assert calls == [] and catalog.finished == [] and retries_sent == []


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "", None, 42, ["a"], {"id": ITEM}])
def test_a_message_with_an_unusable_id_is_dropped_without_touching_anything(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch, bad_id: Any) -> None:
    calls = fake_pipeline(monkeypatch, "done")
    catalog = FakeCatalog(accepted())
    assert run_task(app, TASK_INGEST_ITEM, bad_id, services=services_with(catalog)) == "refused"
    assert calls == [] and catalog.finished == [] and retries_sent == []


def test_a_message_for_an_unknown_item_is_dropped(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch) -> None:
    fake_pipeline(monkeypatch, "done")
    catalog = FakeCatalog(NotFound(f"no item {ITEM}"))
    assert run_task(app, TASK_INGEST_ITEM, ITEM, services=services_with(catalog)) == "unknown"
    assert retries_sent == []


def test_an_unreachable_catalog_is_retried_then_left_to_the_sweep(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch) -> None:
    fake_pipeline(monkeypatch, "done")
    services = services_with(FakeCatalog(CatalogUnavailable("connection refused")))
    with pytest.raises(Retry):
        run_task(app, TASK_INGEST_ITEM, ITEM, retries=0, services=services)
    assert len(retries_sent) == 1
    last = run_task(app, TASK_INGEST_ITEM, ITEM, retries=SETTINGS.max_attempts - 1,
                    services=services)
    assert last == "gave-up" and len(retries_sent) == 1


def test_an_unexpected_error_never_escapes_the_task(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch) -> None:
    def broken(*_: Any, **__: Any) -> IngestResult:
        raise KeyError("a defect of ours")

    monkeypatch.setattr(tasks, "ingest_item", broken)
    outcome = run_task(app, TASK_INGEST_ITEM, ITEM, services=services_with(FakeCatalog(accepted())))
    assert outcome == "error" and retries_sent == []


def test_an_item_that_keeps_killing_its_worker_is_failed_not_redelivered_for_ever(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch) -> None:
    calls = fake_pipeline(monkeypatch, "done")
    catalog = FakeCatalog(accepted(attempts=2 * SETTINGS.max_attempts))
    services = services_with(catalog)
    assert run_task(app, TASK_INGEST_ITEM, ITEM, services=services) == "failed"
    assert calls == []
    ((item_id, status, findings),) = catalog.finished
    assert (item_id, status) == (ITEM, ItemStatus.FAILED)
    assert [f.code for f in findings] == ["INGEST_FAILED"]
    # counted among finished items (items_finished_total), as every final status is
    assert services.metrics.finished == ["failed"]

    # one attempt fewer is still an ordinary attempt
    calls.clear()
    catalog = FakeCatalog(accepted(attempts=2 * SETTINGS.max_attempts - 1))
    assert run_task(app, TASK_INGEST_ITEM, ITEM, services=services_with(catalog)) == "done"
    assert calls == [False] and catalog.finished == []


# --------------------------------------------------------------------------- verify_version


def test_fixity_check_maps_ok_retry_and_give_up(
        app: App, retries_sent: Sent, monkeypatch: MonkeyPatch) -> None:
    answers: list[Any] = [SimpleNamespace(status="ok"), StorageUnavailable("S3 down"),
                          StorageUnavailable("S3 down")]
    seen: list[tuple[str, int]] = []

    def verify_version(services: Any, package_id: str, number: int) -> Any:
        seen.append((package_id, number))
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(tasks, "verify_version", verify_version)
    services = services_with(FakeCatalog(accepted()))
    assert run_task(app, TASK_VERIFY_VERSION, PACKAGE, 2, services=services) == "ok"
    with pytest.raises(Retry):
        run_task(app, TASK_VERIFY_VERSION, PACKAGE, 2, retries=1, services=services)
    assert run_task(app, TASK_VERIFY_VERSION, PACKAGE, 2, retries=SETTINGS.max_attempts - 1,
                    services=services) == "gave-up"
    assert seen == [(PACKAGE, 2)] * 3 and len(retries_sent) == 1
    assert run_task(app, TASK_VERIFY_VERSION, PACKAGE, "2", services=services) == "refused"


# --------------------------------------------------------------------------- the sweep


def test_sweep_sends_stuck_items_again_and_notes_it(app: App, monkeypatch: MonkeyPatch) -> None:
    other = "5d1f0a3e-8b7c-4e2d-9a61-0c3b2d4e5f60"
    catalog = FakeCatalog(accepted(), stuck=[accepted(attempts=1), replace(accepted(), item_id=other)])
    sent: list[tuple[str, list[str], str]] = []
    monkeypatch.setattr(app, "send_task",
                        lambda name, args, queue, **_: sent.append((name, args, queue)))
    monkeypatch.setattr(tasks, "ingest_queue_is_empty", lambda _url: True)  # the message was lost
    count = run_task(app, TASK_REQUEUE_STUCK, services=services_with(catalog))
    assert count == 2
    assert sent == [(TASK_INGEST_ITEM, [ITEM], "ingest"), (TASK_INGEST_ITEM, [other], "ingest")]
    assert catalog.requeued == [[ITEM, other]]
    assert catalog.idle_before == [NOW - timedelta(seconds=120)] * 2


def test_the_sweep_does_not_queue_again_items_still_waiting_behind_a_backlog(
        app: App, monkeypatch: MonkeyPatch) -> None:
    """Every item of a long backlog, waiting its turn, was sent once more each
    stuck_after seconds (the queue grew with duplicates), and `status` called them
    stuck. An item an attempt began and whose lease lapsed is still sent again."""
    waiting = "5d1f0a3e-8b7c-4e2d-9a61-0c3b2d4e5f60"
    catalog = FakeCatalog(accepted(), stuck=[accepted(attempts=1),
                                             replace(accepted(), item_id=waiting)])
    sent: list[list[str]] = []
    monkeypatch.setattr(app, "send_task", lambda name, args, queue, **_: sent.append(args))
    monkeypatch.setattr(tasks, "ingest_queue_is_empty", lambda _url: False)
    assert run_task(app, TASK_REQUEUE_STUCK, services=services_with(catalog)) == 1
    assert sent == [[ITEM]] and catalog.requeued == [[ITEM]]


def test_the_sweep_finds_items_idle_too_long_in_a_real_catalog(tmp_path: Path) -> None:
    """The catalog queries the sweep relies on, on the embedded SQLite catalog: only
    accepted items idle since before the cut-off, and an item sent again or attempted
    is no longer idle."""
    from storage.catalog import SqlCatalog

    catalog = SqlCatalog.from_url(f"sqlite:///{tmp_path / 'catalog.sqlite3'}")
    try:
        before = datetime.now(UTC)
        time.sleep(0.01)
        batch = BatchRecord(batch_id="b-1", source=str(tmp_path), submitted_at=before)
        a, b, c = catalog.create_batch(batch, ["a", "b", "c"])
        catalog.finish_item(b.item_id, ItemStatus.REJECTED)
        time.sleep(0.01)
        cut = datetime.now(UTC)
        time.sleep(0.01)
        assert {i.name for i in catalog.stuck_items(cut)} == {"a", "c"}
        assert catalog.stuck_items(before) == []
        assert len(catalog.stuck_items(cut, limit=1)) == 1

        assert catalog.record_requeue([a.item_id, b.item_id]) == 1  # b is final
        assert [i.name for i in catalog.stuck_items(cut)] == ["c"]
        assert [i.name for i in catalog.stuck_items(cut, begun=False)] == ["c"]
        assert catalog.stuck_items(cut, begun=True) == []
        catalog.count_attempt(c.item_id)  # a worker started on it: progress
        assert catalog.stuck_items(cut) == []
    finally:
        catalog.engine.dispose()


def test_a_failed_sweep_does_not_note_items_as_sent(app: App, monkeypatch: MonkeyPatch) -> None:
    catalog = FakeCatalog(accepted(), stuck=[accepted(attempts=1)])

    def broker_down(*_: Any, **__: Any) -> None:
        raise ConnectionError("broker down")

    monkeypatch.setattr(app, "send_task", broker_down)
    assert run_task(app, TASK_REQUEUE_STUCK, services=services_with(catalog)) == 0
    assert catalog.requeued == []  # still stuck: the next sweep tries again


def test_a_finished_ingest_anchors_the_audit_head_and_beat_anchors_at_intervals(
        app: App, monkeypatch: MonkeyPatch) -> None:
    anchored: list[Any] = []
    monkeypatch.setattr(tasks, "anchor_audit_head", anchored.append)
    fake_pipeline(monkeypatch, "done")
    services = services_with(FakeCatalog(accepted()))
    run_task(app, TASK_INGEST_ITEM, ITEM, services=services)
    assert anchored == [services]

    entry = app.conf.beat_schedule["anchor-audit-head"]
    assert entry["task"] == "strongroom.anchor_audit_head"
    assert entry["task"] in app.tasks
    assert run_task(app, entry["task"], services=services) is False  # recorded, returned None
    assert len(anchored) == 2


def test_a_retried_ingest_does_not_anchor(app: App, monkeypatch: MonkeyPatch,
                                          retries_sent: Sent) -> None:
    anchored: list[Any] = []
    monkeypatch.setattr(tasks, "anchor_audit_head", anchored.append)
    fake_pipeline(monkeypatch, "retry")
    with pytest.raises(Retry):
        run_task(app, TASK_INGEST_ITEM, ITEM, services=services_with(FakeCatalog(accepted())))
    assert anchored == []
