"""The real ``strongroom`` command with the broker unreachable: nothing is lost."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.cli_runner import EXAMPLES, cli_env, run_cli


def test_submit_with_the_broker_down_keeps_items_accepted_and_requeue_finishes_them(
        tmp_path: Path) -> None:
    """Enqueue happens after commit: when the broker cannot be reached, the batch is
    registered, its items stay accepted, the report says so, and `requeue` (here in
    process, the broker setting removed) ingests them."""
    env = cli_env(STRONGROOM_DATA_DIR=str(tmp_path / "data"), STRONGROOM_RETRY_BACKOFF="0",
                  STRONGROOM_BROKER_URL="redis://127.0.0.1:1/13")

    def run(*args: str, expect: int) -> dict[str, Any]:
        done = run_cli(*args, "--json", env=env, timeout=120)
        assert done.returncode == expect, (done.stdout, done.stderr)
        return json.loads(done.stdout)

    report = run("submit", str(EXAMPLES), expect=1)
    assert "broker cannot be reached" in report["enqueue_error"]
    assert {i["status"] for i in report["items"]} == {"accepted"}

    status = run("status", report["batch_id"], "--stuck-after", "0", expect=1)
    assert status["stuck"] == 3 and all(i["stuck"] for i in status["items"])

    del env["STRONGROOM_BROKER_URL"]
    again = run("requeue", report["batch_id"], expect=1)  # one item is rejected on its merits
    assert again["requeued"] == 3
    assert sorted(i["status"] for i in again["items"]) == ["rejected", "stored", "stored"]
    assert run("status", report["batch_id"], "--stuck-after", "0", expect=1)["stuck"] == 0

