"""`status` tells items waiting in a long queue from items whose worker is gone.

In a backlog every item queued for over a minute was called "stuck" with advice
to `strongroom requeue` it, which queued every one of them a second time (and
beat's sweep did the same each minute). Now an item no worker has begun is
"waiting" while messages are queued, and "stuck" only when an attempt began and
stopped, or when nothing is queued (its message was lost)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from ingest.models import BatchRecord
from storage.catalog import SqlCatalog
from strongroom.cli import batches as cli_batches
from strongroom.cli import main
from tests.unit.test_catalog_startup import EXAMPLE_BATCH


@pytest.fixture
def queued_batch(tmp_path: Path) -> tuple[dict[str, str], str]:
    """A batch registered an hour ago in a distributed setup: one item no worker
    has begun, one begun and then left (its lease lapsed)."""
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"),
           "STRONGROOM_BROKER_URL": "redis://127.0.0.1:6379/15"}
    (tmp_path / "data").mkdir()
    catalog = SqlCatalog.from_url(f"sqlite:///{tmp_path / 'data' / 'catalog.sqlite3'}")
    hour_ago = datetime.now(UTC) - timedelta(hours=1)
    try:
        batch = BatchRecord(batch_id="b-queued", source=EXAMPLE_BATCH, submitted_at=hour_ago)
        items = {i.name: i for i in catalog.create_batch(batch, ["waiting", "begun"])}
        catalog.count_attempt(items["begun"].item_id)
        with catalog.engine.begin() as connection:
            connection.execute(text("UPDATE items SET updated_at = :at"), {"at": hour_ago})
    finally:
        catalog.engine.dispose()
    return env, "b-queued"


def status(env: dict[str, str], batch_id: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["status", batch_id, "--json"], env=env)
    return result.exit_code, json.loads(result.output)


def test_an_item_queued_behind_other_work_is_waiting_not_stuck(
        queued_batch: tuple[dict[str, str], str], monkeypatch: pytest.MonkeyPatch) -> None:
    env, batch_id = queued_batch
    monkeypatch.setattr(cli_batches, "_ingest_queue_holds_messages", lambda _url: True)
    code, report = status(env, batch_id)
    by_name = {i["name"]: i for i in report["items"]}
    assert (by_name["waiting"]["waiting"], by_name["waiting"]["stuck"]) == (True, False)
    assert (by_name["begun"]["waiting"], by_name["begun"]["stuck"]) == (False, True)
    assert (report["stuck"], report["waiting"]) == (1, 1)
    assert code == 1  # the begun one needs a person

    text_out = CliRunner().invoke(main, ["status", batch_id], env=env).output
    assert "1 waiting for a worker" in text_out and "1 stuck (begun" in text_out


def test_an_item_never_begun_while_nothing_is_queued_is_stuck_its_message_lost(
        queued_batch: tuple[dict[str, str], str], monkeypatch: pytest.MonkeyPatch) -> None:
    env, batch_id = queued_batch
    monkeypatch.setattr(cli_batches, "_ingest_queue_holds_messages", lambda _url: False)
    _code, report = status(env, batch_id)
    assert (report["stuck"], report["waiting"]) == (2, 0)
