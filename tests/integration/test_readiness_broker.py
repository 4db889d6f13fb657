"""Readiness with a real Redis broker: reachable, the API says ready and
``strongroom doctor`` exits 0; the probe puts nothing on the broker."""

from __future__ import annotations

import json
from pathlib import Path

import redis
from click.testing import CliRunner

from strongroom.cli import main
from tests.unit.api_support import make_api
from workers.health import BrokerProbe


def test_reachable_broker_is_ready_and_left_untouched(tmp_path: Path, redis_url: str) -> None:
    BrokerProbe(redis_url)()
    api = make_api(tmp_path / "data", STRONGROOM_BROKER_URL=redis_url)

    reply = api.client.get("/readyz")

    assert reply.status_code == 200, reply.text
    assert reply.json()["parts"][-1] == {"part": "broker", "ok": True}
    assert redis.Redis.from_url(redis_url).dbsize() == 0


def test_doctor_with_a_reachable_broker_exits_0(tmp_path: Path, redis_url: str) -> None:
    env = {"STRONGROOM_DATA_DIR": str(tmp_path / "data"), "STRONGROOM_BROKER_URL": redis_url}
    made = CliRunner().invoke(main, ["init"], env=env)  # doctor never makes an archive itself
    assert made.exit_code == 0, made.output

    result = CliRunner().invoke(main, ["doctor", "--json"], env=env)

    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["parts"][-1] == {
        "part": "broker", "ok": True, "where": redis_url, "detail": None}
