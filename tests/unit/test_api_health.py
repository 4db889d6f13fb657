"""GET /healthz and GET /readyz: no token, the per-part answer, nothing sensitive."""

from __future__ import annotations

import shutil
from pathlib import Path

from storage.filesystem import FilesystemObjectStore
from tests.unit.api_support import make_api


def test_healthz_answers_ok_without_a_token(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")

    reply = api.client.get("/healthz")

    assert (reply.status_code, reply.json()) == (200, {"status": "ok"})


def test_readyz_answers_200_with_every_part_when_all_are_reachable(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data", STRONGROOM_REPLICAS=(tmp_path / "replica").as_uri())

    reply = api.client.get("/readyz")

    assert reply.status_code == 200
    assert reply.json() == {"status": "ready", "parts": [
        {"part": "catalog", "ok": True}, {"part": "storage", "ok": True},
        {"part": "replica 1", "ok": True}]}


def test_readyz_answers_503_naming_the_unreachable_replica_and_no_path(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data", STRONGROOM_REPLICAS=(tmp_path / "replica").as_uri())
    replica = api.services.replicas[0]
    assert isinstance(replica, FilesystemObjectStore)
    shutil.rmtree(replica.root)

    reply = api.client.get("/readyz")

    assert reply.status_code == 503
    assert reply.headers["content-type"] == "application/problem+json"
    body = reply.json()
    assert body["parts"] == [
        {"part": "catalog", "ok": True}, {"part": "storage", "ok": True},
        {"part": "replica 1", "ok": False, "problem": "Storage replica 1 cannot be reached."}]
    assert body["status"] == 503 and "replica 1" in body["detail"]
    assert str(tmp_path) not in reply.text


def test_readyz_names_an_unreachable_broker_without_its_password(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data", STRONGROOM_BROKER_URL="redis://:s3cret-pw@127.0.0.1:1/0")

    reply = api.client.get("/readyz")

    assert reply.status_code == 503
    assert reply.json()["parts"][-1] == {
        "part": "broker", "ok": False,
        "problem": "The broker (the workers' queue) cannot be reached."}
    assert "s3cret-pw" not in reply.text and "127.0.0.1" not in reply.text


def test_health_probes_set_no_anchoring_going(tmp_path: Path) -> None:
    api = make_api(tmp_path / "data")
    anchorer = api.app.state.strongroom.anchorer
    pokes: list[None] = []
    anchorer.poke = lambda: pokes.append(None)

    api.client.get("/healthz")
    api.client.get("/readyz")
    assert pokes == []
    api.client.get("/packages", headers=api.auth("reader"))
    assert len(pokes) == 1
